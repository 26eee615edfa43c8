package dtlsparams

import (
	"fmt"
)

// Setup is the value of the SDP a=setup attribute (RFC 4145 §4), which
// decides the DTLS role in WebRTC (RFC 5763 §5, RFC 8842 §5).
//
// The zero value SetupNone means the attribute was absent. It is kept apart
// from SetupActive so that a parsed description says what the peer wrote;
// SelectRole applies RFC 4145 §4, which makes an absent attribute mean
// active. A zero Setup in a configuration therefore always means "not
// chosen", never a role.
type Setup uint8

// The a=setup values.
const (
	SetupNone     Setup = iota // attribute absent; RFC 4145 §4 makes this mean active
	SetupActpass               // "actpass": either role, offer only
	SetupActive                // "active": this side opens the connection (DTLS client)
	SetupPassive               // "passive": this side waits (DTLS server)
	SetupHoldconn              // "holdconn": no connection yet; not usable for new DTLS sessions
)

// String returns the SDP token ("actpass", "active", "passive",
// "holdconn"), "" for SetupNone, or "Setup(N)" for a value outside the
// constants.
func (s Setup) String() string {
	switch s {
	case SetupNone:
		return ""
	case SetupActpass:
		return "actpass"
	case SetupActive:
		return "active"
	case SetupPassive:
		return "passive"
	case SetupHoldconn:
		return "holdconn"
	}
	return fmt.Sprintf("Setup(%d)", uint8(s))
}

// valid reports whether s is one of the constants.
func (s Setup) valid() bool { return s <= SetupHoldconn }

// ParseSetup parses the value of an a=setup attribute. Tokens are
// case-insensitive (in ASCII only) and surrounding white space is ignored;
// an empty value gives SetupNone, as if the attribute were absent. Anything
// else fails with ErrBadSetup.
func ParseSetup(s string) (Setup, error) {
	s = trimSpace(s)
	if s == "" {
		return SetupNone, nil
	}
	for v := SetupActpass; v <= SetupHoldconn; v++ {
		if equalFoldASCII(s, v.String()) {
			return v, nil
		}
	}
	return SetupNone, fmt.Errorf("%w: %q", ErrBadSetup, clip(s))
}

// clip shortens a peer-supplied string for an error message, so a hostile
// value cannot make errors (and the logs they reach) arbitrarily long.
func clip(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

// equalFoldASCII compares case-insensitively in ASCII only, so that SDP
// tokens do not match through Unicode folding ("ſha-1" is not "sha-1").
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
