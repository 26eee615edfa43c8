package turnrest

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseUsername(t *testing.T) {
	cases := []struct {
		in   string
		sep  byte
		want Username
	}{
		{"1700000000:alice", ':', Username{1700000000, "alice"}},
		{"1700000000:", ':', Username{1700000000, ""}},
		{"alice:1700000000", ':', Username{1700000000, "alice"}},
		{"alice:1700000000:x", ':', Username{1700000000, "alice"}},
		{"alice:1700000000abc", ':', Username{1700000000, "alice"}},
		{":1700000000", ':', Username{1700000000, ""}},
		{"1700000000", ':', Username{1700000000, ""}},
		{"1700000000abc", ':', Username{1700000000, ""}},
		{"0", ':', Username{0, ""}},
		{"1700000000|bob", '|', Username{1700000000, "bob"}},
		{"a1:1700000000", ':', Username{1700000000, "a1"}},
		{"99999999999999999999:u", ':', Username{math.MaxInt64, "u"}},
	}
	for _, c := range cases {
		got, err := ParseUsername(c.in, c.sep)
		require.NoError(t, err, c.in)
		assert.Equal(t, c.want, got, c.in)
	}
	for _, bad := range []string{"", "alice", "alice:", "alice:bob", ":", ":x1", " 1700000000", "-1", "+1700000000", strings.Repeat("1", MaxParsedUsernameLen+1)} {
		_, err := ParseUsername(bad, ':')
		assert.ErrorIs(t, err, ErrMalformedUsername, "%q", bad)
	}
	u, err := ParseUsername("1700000000:a", ':')
	require.NoError(t, err)
	assert.True(t, u.Expires().Equal(fixedNow()))
}

// coturnTimestamp transliterates coturn's get_rest_api_timestamp
// (src/apps/relay/userdb.c), including glibc atol (leading white space, sign,
// saturation at LONG_MAX) and the cast to the 32-bit turn_time_t, so that the
// parser can be compared with it.
func coturnTimestamp(usname string, sep byte) uint32 {
	if col := strings.IndexByte(usname, sep); col > 0 {
		for i := 0; i < col; i++ {
			if usname[i] < '0' || usname[i] > '9' {
				return uint32(atol(usname[col+1:]))
			}
		}
		return uint32(atol(usname[:col]))
	} else if col == 0 {
		usname = usname[1:]
	}
	return uint32(atol(usname))
}

func atol(s string) int64 {
	i := 0
	for i < len(s) && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	var n int64
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		d := int64(s[i] - '0')
		if n > (math.MaxInt64-d)/10 {
			if neg {
				return math.MinInt64
			}
			return math.MaxInt64
		}
		n = n*10 + d
	}
	if neg {
		return -n
	}
	return n
}

// coturnAccepts is coturn's expiry decision: !turn_time_before(ts, now).
func coturnAccepts(ts uint32, now int64) bool { return int32(ts-uint32(now)) >= 0 }

// checkAgainstCoturn asserts that ParseUsername and the expiry check agree with
// the transliteration of coturn wherever ParseUsername accepts the username.
func checkAgainstCoturn(t *testing.T, username string, sep byte, now int64) {
	u, err := ParseUsername(username, sep)
	if err != nil {
		return
	}
	ts := coturnTimestamp(username, sep)
	if uint32(u.Expiry) != ts {
		t.Fatalf("%q sep %q: expiry %d, coturn reads %d", username, sep, u.Expiry, ts)
	}
	ours := checkExpiry(u.Expiry, time.Unix(now, 0)) == nil
	// coturn's 32-bit comparison wraps for expiries 2^32 s or more ahead; we
	// refuse those, so compare only where the 64-bit distance fits.
	if d := u.Expiry - now; d < 1<<32 && ours != coturnAccepts(ts, now) {
		t.Fatalf("%q now %d: accept=%v, coturn accept=%v", username, now, ours, !ours)
	}
}

func TestParseUsernameMatchesCoturn(t *testing.T) {
	now := fixedNow().Unix()
	for _, u := range []string{
		"1700000000:alice", "1699999999:alice", "alice:1700000000", "alice:1699999999",
		":1700000000", ":1699999999", "1700000000", "1699999999", "3847483647:x", "3847483648:x",
		"4294967295", "4294967296", "5994967296", "1700000000abc", "a:1700000000:1",
		"99999999999999999999999", "0:0", "00000001700000000:z",
	} {
		checkAgainstCoturn(t, u, ':', now)
	}
}

// FuzzParseUsername checks that ParseUsername never panics, agrees with a
// transliteration of coturn's parser, and that Verify accepts a username with
// its right password exactly when the expiry check passes.
func FuzzParseUsername(f *testing.F) {
	for _, s := range []string{"1700000000:alice", "alice:1700000000", ":1700000000", "1700000000", "1456904882:1231244"} {
		f.Add(s, byte(':'), int64(1700000000))
	}
	f.Fuzz(func(t *testing.T, username string, sep byte, now int64) {
		if now < 0 || now > 1<<40 {
			now = 1700000000
		}
		checkAgainstCoturn(t, username, sep, now)
		u, err := ParseUsername(username, sep)
		if err != nil {
			return
		}
		if len(u.User) > len(username) {
			t.Fatalf("user %q longer than username %q", u.User, username)
		}
		if u.Expiry < 0 {
			t.Fatalf("negative expiry %d", u.Expiry)
		}
		if sep != ':' {
			return
		}
		m, err := New(Config{Secrets: []string{"k1", "k2"}, Now: func() time.Time { return time.Unix(now, 0) }})
		if err != nil {
			t.Fatal(err)
		}
		_, verr := m.Verify(username, Password("k2", username))
		if cerr := checkExpiry(u.Expiry, time.Unix(now, 0)); (verr == nil) != (cerr == nil) {
			t.Fatalf("%q: Verify %v, expiry check %v", username, verr, cerr)
		}
	})
}
