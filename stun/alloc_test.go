package stun

import (
	"net/netip"
	"testing"
)

// The hot paths of an ICE-lite server must not allocate.

func TestAllocsDecodeVerify(t *testing.T) {
	raw := unhex(t, rfc5769Request)
	integ := NewShortTermIntegrity(rfc5769Password)
	var m Message
	var unknown [4]AttrType
	n := testing.AllocsPerRun(200, func() {
		if err := m.Decode(raw); err != nil {
			t.Fatal(err)
		}
		if err := integ.Verify(&m); err != nil {
			t.Fatal(err)
		}
		if err := m.VerifyFingerprint(); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Username(); err != nil {
			t.Fatal(err)
		}
		if _, err := m.ICEControlling(); err != ErrAttributeNotFound {
			t.Fatal(err)
		}
		_ = m.UseCandidate()
		_ = m.AppendUnknown(unknown[:0])
	})
	if n != 0 {
		t.Errorf("decode+verify: %v allocs, want 0", n)
	}
	bad := NewShortTermIntegrity("wrong")
	n = testing.AllocsPerRun(200, func() {
		if err := bad.Verify(&m); err != ErrIntegrity {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("failed verify: %v allocs, want 0", n)
	}
}

func TestAllocsBuildResponse(t *testing.T) {
	integ := NewShortTermIntegrity(rfc5769Password)
	buf := make([]byte, 0, 1500)
	from := netip.MustParseAddrPort("192.0.2.1:32853")
	from6 := netip.MustParseAddrPort("[2001:db8::5]:32853")
	n := testing.AllocsPerRun(200, func() {
		for _, a := range []netip.AddrPort{from, from6} {
			var b Builder
			b.Start(buf[:0], BindingSuccess, rfc5769ID)
			b.AddXORMappedAddress(a)
			b.AddMessageIntegrity(integ)
			b.AddFingerprint()
			if _, err := b.Finish(); err != nil {
				t.Fatal(err)
			}
		}
	})
	if n != 0 {
		t.Errorf("build: %v allocs, want 0", n)
	}
}
