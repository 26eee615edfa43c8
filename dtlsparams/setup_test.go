package dtlsparams

import (
	"errors"
	"testing"
)

// TestSetupZero: the zero Setup is SetupNone, the absent attribute, which
// is written as nothing, read back from an empty value, and counts as
// active when a role is chosen (RFC 4145 §4).
func TestSetupZero(t *testing.T) {
	var s Setup
	if s != SetupNone || s.String() != "" {
		t.Fatalf("zero Setup is %d %q", s, s)
	}
	if got, err := ParseSetup(" \r\n"); err != nil || got != SetupNone {
		t.Errorf("ParseSetup(blank) = %v, %v", got, err)
	}
	for _, side := range []Side{Offerer, Answerer} {
		r0, s0, err0 := SelectRole(side, SetupNone, RolePolicy{})
		r1, s1, err1 := SelectRole(side, SetupActive, RolePolicy{})
		if r0 != r1 || s0 != s1 || err0 != nil || err1 != nil {
			t.Errorf("%v: absent gives %v %v %v, active gives %v %v %v", side, r0, s0, err0, r1, s1, err1)
		}
	}
	if Setup(7).String() != "Setup(7)" || Role(0).String() != "Role(0)" || Side(0).String() != "Side(0)" {
		t.Errorf("out-of-range names: %v %v %v", Setup(7), Role(0), Side(0))
	}
	// The zero RolePolicy offers actpass, as RFC 5763 §5 requires.
	if got := (RolePolicy{}).OfferSetup(); got != SetupActpass {
		t.Errorf("zero RolePolicy offers %v", got)
	}
}

func TestRolePolicyCheck(t *testing.T) {
	for s := Setup(0); s < 8; s++ {
		err := RolePolicy{Offer: s}.Check()
		ok := s == SetupNone || s == SetupActpass || s == SetupActive || s == SetupPassive
		if ok != (err == nil) || (err != nil && !errors.Is(err, ErrBadSetup)) {
			t.Errorf("Check(Offer %v) = %v", s, err)
		}
		if ok {
			if got := (RolePolicy{Offer: s}).OfferSetup(); got == SetupNone || got == SetupHoldconn {
				t.Errorf("OfferSetup(%v) = %v", s, got)
			}
		}
	}
}
