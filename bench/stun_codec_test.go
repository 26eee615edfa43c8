package bench

// Side-by-side codec benchmarks of streamwire/stun and pion/stun v3 on the
// two hot paths of an ICE-lite server: checking a Binding request and
// building the success response.
//
//	cd bench && go test -run '^$' -bench 'Binding' -benchmem -count 3 .

import (
	"net"
	"net/netip"
	"testing"

	pstun "github.com/pion/stun/v3"

	"github.com/streamwire/streamwire/stun"
)

const (
	benchPwd  = "asd88fgpdd777uzjYhagZg" // 22-character ice-pwd, as browsers use
	benchUser = "f0Xq:L2tB"              // remote-ufrag:local-ufrag
)

var benchID = stun.TransactionID{0x4a, 0x1f, 0x2b, 0x3c, 0x4d, 0x5e, 0x6f, 0x70, 0x81, 0x92, 0xa3, 0xb4}

// bindingRequest builds a Chromium-like ICE check: USERNAME,
// GOOG-NETWORK-INFO, ICE-CONTROLLING, USE-CANDIDATE, PRIORITY,
// MESSAGE-INTEGRITY, FINGERPRINT (100 bytes).
func bindingRequest(tb testing.TB) []byte {
	var b stun.Builder
	b.Start(nil, stun.BindingRequest, benchID)
	b.AddUsername(benchUser)
	b.AddGoogNetworkInfo(1, 10)
	b.AddICEControlling(0x932ff9b151263b36)
	b.AddUseCandidate()
	b.AddPriority(1853824767)
	b.AddMessageIntegrity(stun.NewShortTermIntegrity(benchPwd))
	b.AddFingerprint()
	raw, err := b.Finish()
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

func BenchmarkBindingRequestVerify(b *testing.B) {
	raw := bindingRequest(b)
	b.Run("impl=streamwire", func(b *testing.B) {
		integ := stun.NewShortTermIntegrity(benchPwd) // once per ICE session
		var m stun.Message
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			if err := m.Decode(raw); err != nil {
				b.Fatal(err)
			}
			if err := integ.Verify(&m); err != nil {
				b.Fatal(err)
			}
			if err := m.VerifyFingerprint(); err != nil {
				b.Fatal(err)
			}
			if u, err := m.Username(); err != nil || len(u) != len(benchUser) {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=pion", func(b *testing.B) {
		integ := pstun.NewShortTermIntegrity(benchPwd)
		m := new(pstun.Message)
		var u pstun.Username
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			if err := pstun.Decode(raw, m); err != nil {
				b.Fatal(err)
			}
			if err := integ.Check(m); err != nil {
				b.Fatal(err)
			}
			if err := pstun.Fingerprint.Check(m); err != nil {
				b.Fatal(err)
			}
			if err := u.GetFrom(m); err != nil || len(u) != len(benchUser) {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkBindingResponseBuild(b *testing.B) {
	from := netip.MustParseAddrPort("203.0.113.9:54321")
	b.Run("impl=streamwire", func(b *testing.B) {
		integ := stun.NewShortTermIntegrity(benchPwd)
		buf := make([]byte, 0, 1500)
		b.ReportAllocs()
		for b.Loop() {
			var bld stun.Builder
			bld.Start(buf[:0], stun.BindingSuccess, benchID)
			bld.AddXORMappedAddress(from)
			bld.AddMessageIntegrity(integ)
			bld.AddFingerprint()
			out, err := bld.Finish()
			if err != nil || len(out) != 64 {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=pion", func(b *testing.B) {
		integ := pstun.NewShortTermIntegrity(benchPwd)
		addr := &pstun.XORMappedAddress{IP: net.IP(from.Addr().AsSlice()), Port: int(from.Port())}
		id := pstun.NewTransactionIDSetter(benchID)
		m := new(pstun.Message)
		b.ReportAllocs()
		for b.Loop() {
			// Message.Build on a reused Message is pion's zero-allocation
			// form of stun.Build.
			if err := m.Build(pstun.BindingSuccess, id, addr, integ, pstun.Fingerprint); err != nil {
				b.Fatal(err)
			}
			if len(m.Raw) != 64 {
				b.Fatal(len(m.Raw))
			}
		}
	})
	b.Run("impl=pion-stun.Build", func(b *testing.B) {
		// The package-level helper, which allocates a new Message each time.
		integ := pstun.NewShortTermIntegrity(benchPwd)
		addr := &pstun.XORMappedAddress{IP: net.IP(from.Addr().AsSlice()), Port: int(from.Port())}
		id := pstun.NewTransactionIDSetter(benchID)
		b.ReportAllocs()
		for b.Loop() {
			m, err := pstun.Build(pstun.BindingSuccess, id, addr, integ, pstun.Fingerprint)
			if err != nil || len(m.Raw) != 64 {
				b.Fatal(err)
			}
		}
	})
}
