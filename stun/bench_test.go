package stun

import (
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
