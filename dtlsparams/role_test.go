package dtlsparams

import (
	"errors"
	"testing"
)

func TestSelectRole(t *testing.T) {
	cases := []struct {
		side      Side
		remote    Setup
		policy    RolePolicy
		wantRole  Role
		wantSetup Setup
		wantErr   error
	}{
		// Answerer (RFC 5763 §5: answer active or passive; active recommended).
		{Answerer, SetupActpass, RolePolicy{}, RoleClient, SetupActive, nil},
		{Answerer, SetupActpass, RolePolicy{AnswerPassive: true}, RoleServer, SetupPassive, nil},
		{Answerer, SetupActive, RolePolicy{}, RoleServer, SetupPassive, nil},
		{Answerer, SetupActive, RolePolicy{AnswerPassive: true}, RoleServer, SetupPassive, nil},
		{Answerer, SetupPassive, RolePolicy{}, RoleClient, SetupActive, nil},
		{Answerer, SetupPassive, RolePolicy{AnswerPassive: true}, RoleClient, SetupActive, nil},
		{Answerer, SetupNone, RolePolicy{}, RoleServer, SetupPassive, nil}, // absent = active (RFC 4145 §4)
		{Answerer, SetupHoldconn, RolePolicy{}, 0, SetupNone, ErrRoleConflict},
		// Offerer with the default actpass offer.
		{Offerer, SetupActive, RolePolicy{}, RoleServer, SetupActpass, nil},
		{Offerer, SetupPassive, RolePolicy{}, RoleClient, SetupActpass, nil},
		{Offerer, SetupNone, RolePolicy{}, RoleServer, SetupActpass, nil},
		{Offerer, SetupActpass, RolePolicy{}, 0, SetupNone, ErrRoleConflict},
		{Offerer, SetupHoldconn, RolePolicy{}, 0, SetupNone, ErrRoleConflict},
		// Offerer that offered a fixed role.
		{Offerer, SetupPassive, RolePolicy{Offer: SetupActive}, RoleClient, SetupActive, nil},
		{Offerer, SetupActive, RolePolicy{Offer: SetupActive}, 0, SetupNone, ErrRoleConflict},
		{Offerer, SetupActive, RolePolicy{Offer: SetupPassive}, RoleServer, SetupPassive, nil},
		{Offerer, SetupPassive, RolePolicy{Offer: SetupPassive}, 0, SetupNone, ErrRoleConflict},
		{Offerer, SetupActive, RolePolicy{Offer: SetupHoldconn}, 0, SetupNone, ErrRoleConflict},
		// Invalid input.
		{Offerer, Setup(42), RolePolicy{}, 0, SetupNone, ErrBadSetup},
		{Offerer, SetupActive, RolePolicy{Offer: Setup(42)}, 0, SetupNone, ErrBadSetup},
		{Answerer, Setup(42), RolePolicy{}, 0, SetupNone, ErrBadSetup},
		{Side(0), SetupActive, RolePolicy{}, 0, SetupNone, ErrBadRole},
	}
	for _, c := range cases {
		role, setup, err := SelectRole(c.side, c.remote, c.policy)
		if !errors.Is(err, c.wantErr) || (c.wantErr == nil && err != nil) {
			t.Errorf("SelectRole(%v, %q, %+v): err %v, want %v", c.side, c.remote, c.policy, err, c.wantErr)
			continue
		}
		if role != c.wantRole || setup != c.wantSetup {
			t.Errorf("SelectRole(%v, %q, %+v) = %v, %q; want %v, %q", c.side, c.remote, c.policy, role, setup, c.wantRole, c.wantSetup)
		}
	}
}

// Both ends of an exchange, each deciding alone, must end up in opposite roles.
func TestSelectRoleAgreement(t *testing.T) {
	for _, offered := range []Setup{SetupActpass, SetupActive, SetupPassive} {
		for _, passive := range []bool{false, true} {
			answerRole, answer, err := SelectRole(Answerer, offered, RolePolicy{AnswerPassive: passive})
			if err != nil {
				t.Fatal(err)
			}
			offerRole, ours, err := SelectRole(Offerer, answer, RolePolicy{Offer: offered})
			if err != nil {
				t.Fatalf("offer %v, answer %v: %v", offered, answer, err)
			}
			if ours != offered || offerRole == answerRole {
				t.Fatalf("offer %v answer %v: offerer %v, answerer %v", offered, answer, offerRole, answerRole)
			}
		}
	}
}

func TestParseSetup(t *testing.T) {
	for s, want := range map[string]Setup{
		"actpass": SetupActpass, "ACTIVE": SetupActive, " passive ": SetupPassive,
		"holdconn": SetupHoldconn, "": SetupNone,
	} {
		got, err := ParseSetup(s)
		if err != nil || got != want {
			t.Errorf("ParseSetup(%q) = %v, %v; want %v", s, got, err, want)
		}
		if want != SetupNone {
			if back, _ := ParseSetup(got.String()); back != want {
				t.Errorf("String round trip of %v gave %v", want, back)
			}
		}
	}
	for _, s := range []string{"act pass", "activ", "server", "actpass;"} {
		if _, err := ParseSetup(s); !errors.Is(err, ErrBadSetup) {
			t.Errorf("ParseSetup(%q): %v, want ErrBadSetup", s, err)
		}
	}
}

func FuzzParseSetup(f *testing.F) {
	for _, s := range []string{"actpass", "active", "passive", "holdconn", "", "ACTPASS", " active\r\n", "activ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseSetup(s)
		if err != nil {
			if !errors.Is(err, ErrBadSetup) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		back, err := ParseSetup(v.String())
		if err != nil || back != v {
			t.Fatalf("%q -> %v -> %v, %v", s, v, back, err)
		}
		// Every accepted value yields a role decision or a classified error.
		for _, side := range []Side{Offerer, Answerer} {
			if _, _, err := SelectRole(side, v, RolePolicy{}); err != nil && !errors.Is(err, ErrRoleConflict) {
				t.Fatalf("SelectRole(%v, %v): %v", side, v, err)
			}
		}
	})
}
