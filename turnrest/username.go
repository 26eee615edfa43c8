package turnrest

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// MaxUsernameLen is the longest TURN username, in bytes, that Mint produces.
// RFC 8489 §14.3 requires USERNAME to be fewer than 509 bytes, and browsers
// reject an RTCIceServer whose username is longer (InvalidAccessError).
const MaxUsernameLen = 508

// MaxParsedUsernameLen is the longest username, in bytes, that ParseUsername
// (and so Verify, Keys and FindKey) accepts: RFC 5389 §15.3 allowed fewer
// than 513 bytes, and coturn reads up to 513 (STUN_MAX_USERNAME_SIZE), so a
// credential that a peer minted under the older limit still verifies here
// as it does in coturn.
const MaxParsedUsernameLen = 513

// DefaultSeparator is coturn's default rest-api-separator.
const DefaultSeparator = ':'

// Username is a TURN REST username taken apart the way coturn does it.
type Username struct {
	// Expiry is the Unix time (seconds) after which the credential is refused.
	// Timestamps too large for int64 saturate at math.MaxInt64, as atol does.
	Expiry int64
	// User is the user id part (coturn's "real username"), empty when the
	// username is a timestamp alone.
	User string
}

// Expires returns Expiry as a time.Time.
func (u Username) Expires() time.Time { return time.Unix(u.Expiry, 0) }

// ParseUsername finds the expiry timestamp in a TURN REST username with the
// rules of coturn's get_rest_api_timestamp (src/apps/relay/userdb.c), sep being
// coturn's rest-api-separator:
//
//   - "<digits><sep><rest>": the timestamp comes first (the draft's format);
//     User is rest.
//   - "<non-digits><sep><digits>...": the timestamp follows the first separator
//     (the "user:timestamp" order); User is the part before it.
//   - "<sep><digits>": the timestamp follows the separator; User is empty.
//   - no separator: the whole username is the timestamp (pion's
//     GenerateLongTermCredentials format); User is empty.
//
// Only the first separator counts. Like atol, the timestamp is the run of
// decimal digits at the start of its field and anything after that run is
// ignored. Where coturn's atol finds no digits it yields 0, a timestamp that is
// always expired; ParseUsername returns ErrMalformedUsername instead (it also
// refuses the leading white space and sign that atol would skip).
// Usernames that are empty or longer than MaxParsedUsernameLen are malformed
// too.
func ParseUsername(username string, sep byte) (Username, error) {
	if username == "" {
		return Username{}, fmt.Errorf("%w: empty", ErrMalformedUsername)
	}
	if len(username) > MaxParsedUsernameLen {
		return Username{}, fmt.Errorf("%w: %d bytes, more than %d", ErrMalformedUsername, len(username), MaxParsedUsernameLen)
	}
	field, user := username, ""
	if i := strings.IndexByte(username, sep); i == 0 {
		field = username[1:]
	} else if i > 0 {
		if allDigits(username[:i]) {
			field, user = username[:i], username[i+1:]
		} else {
			field, user = username[i+1:], username[:i]
		}
	}
	ts, ok := leadingInt(field)
	if !ok {
		return Username{}, fmt.Errorf("%w: no timestamp where coturn looks for one", ErrMalformedUsername)
	}
	return Username{Expiry: ts, User: user}, nil
}

// allDigits reports whether s is non-empty and holds only ASCII decimal digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// leadingInt parses the decimal digits at the start of s, saturating at
// math.MaxInt64 as glibc's atol does. ok is false when s starts with no digit.
func leadingInt(s string) (n int64, ok bool) {
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		d := int64(s[i] - '0')
		if n > (math.MaxInt64-d)/10 {
			n = math.MaxInt64
		} else {
			n = n*10 + d
		}
		ok = true
	}
	return n, ok
}

// maxAhead is how far ahead of now an expiry may lie. coturn compares the
// timestamp with its clock as 32-bit serial numbers (ns_turn_defs.h
// turn_time_before), so it refuses a timestamp 2^31 s (68 years) or more ahead.
const maxAhead = 1 << 31

// checkExpiry accepts ts iff ts >= now (coturn: !turn_time_before(ts, now)) and
// ts is less than 2^31 s ahead, where coturn's 32-bit comparison would wrap.
func checkExpiry(ts int64, now time.Time) error {
	n := now.Unix()
	if ts < n {
		return fmt.Errorf("%w: expired at %d, now %d", ErrExpired, ts, n)
	}
	if ts-n >= maxAhead {
		return fmt.Errorf("%w: expiry %d is 2^31 s or more ahead of %d, which coturn reads as the past", ErrExpired, ts, n)
	}
	return nil
}

// validUser checks a user id for Mint: printable ASCII other than space and
// the separator, and short enough that "<timestamp><sep><user>" stays within
// MaxUsernameLen with a timestamp of up to 10 digits (until year 2286).
func validUser(user string, sep byte) error {
	if max := MaxUsernameLen - 11; len(user) > max {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrBadUser, len(user), max)
	}
	for i := 0; i < len(user); i++ {
		c := user[i]
		if c == sep {
			return fmt.Errorf("%w: contains the separator %q", ErrBadUser, sep)
		}
		if c <= ' ' || c > '~' {
			return fmt.Errorf("%w: byte 0x%02x at %d is not printable ASCII", ErrBadUser, c, i)
		}
	}
	return nil
}
