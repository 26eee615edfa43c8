package stun

import (
	"fmt"
	"net/netip"
	"testing"
)

// Per-step costs; bench/stun_codec_test.go compares the whole paths with
// pion/stun.

func BenchmarkDecode(b *testing.B) {
	raw := loadChromiumCaptures(b)[1].raw
	var m Message
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if err := m.Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIntegrityVerify(b *testing.B) {
	c := loadChromiumCaptures(b)[1]
	var m Message
	if err := m.Decode(c.raw); err != nil {
		b.Fatal(err)
	}
	integ := NewShortTermIntegrity(c.pwd)
	b.ReportAllocs()
	for b.Loop() {
		if err := integ.Verify(&m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIntegrityVerifyKeys verifies the checks of n sessions,
// round-robin, each with its session's Integrity, as a server with n ICE
// sessions does: with many sessions the keyed state is cold in the cache.
func BenchmarkIntegrityVerifyKeys(b *testing.B) {
	for _, n := range []int{1, 1000, 10000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			keys := make([]*Integrity, n)
			msgs := make([]Message, n)
			for j := range n {
				keys[j] = NewShortTermIntegrity(fmt.Sprintf("sessionPassword%09d", j))
				var bld Builder
				bld.Start(nil, BindingRequest, rfc5769ID)
				bld.AddUsername(fmt.Sprintf("%08d:remote01", j))
				bld.AddICEControlling(uint64(j))
				bld.AddPriority(1853817087)
				bld.AddMessageIntegrity(keys[j])
				bld.AddFingerprint()
				raw, err := bld.Finish()
				if err != nil {
					b.Fatal(err)
				}
				if err := msgs[j].Decode(raw); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			j := 0
			for b.Loop() {
				if err := keys[j].Verify(&msgs[j]); err != nil {
					b.Fatal(err)
				}
				if j++; j == n {
					j = 0
				}
			}
		})
	}
}

// BenchmarkNewShortTermIntegrity is the key schedule that Integrity saves on
// every message.
func BenchmarkNewShortTermIntegrity(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = NewShortTermIntegrity("asd88fgpdd777uzjYhagZg")
	}
}

func BenchmarkVerifyFingerprint(b *testing.B) {
	raw := loadChromiumCaptures(b)[1].raw
	var m Message
	if err := m.Decode(raw); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := m.VerifyFingerprint(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuildBindingSuccess(b *testing.B) {
	integ := NewShortTermIntegrity("asd88fgpdd777uzjYhagZg")
	buf := make([]byte, 0, 1500)
	from := netip.MustParseAddrPort("203.0.113.9:54321")
	b.ReportAllocs()
	for b.Loop() {
		var bld Builder
		bld.Start(buf[:0], BindingSuccess, rfc5769ID)
		bld.AddXORMappedAddress(from)
		bld.AddMessageIntegrity(integ)
		bld.AddFingerprint()
		if _, err := bld.Finish(); err != nil {
			b.Fatal(err)
		}
	}
}
