package turnrest

import (
	"crypto/hmac"
	"encoding/hex"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func minter(t *testing.T, now time.Time, secrets ...string) *Minter {
	t.Helper()
	m, err := New(Config{Secrets: secrets, Now: func() time.Time { return now }})
	require.NoError(t, err)
	return m
}

func TestVerifyExpiryBoundary(t *testing.T) {
	m := minter(t, fixedNow(), "north")
	u, err := m.Verify("1700000000:alice", "Cd/49soE35ICqcJF/bCTn8Z4OyE=")
	require.NoError(t, err, "ts == now is accepted (coturn: !turn_time_before(ts, now))")
	assert.Equal(t, Username{Expiry: 1700000000, User: "alice"}, u)

	m = minter(t, fixedNow().Add(time.Second), "north")
	_, err = m.Verify("1700000000:alice", "Cd/49soE35ICqcJF/bCTn8Z4OyE=")
	assert.ErrorIs(t, err, ErrExpired, "ts == now-1 is refused")

	// Sub-second clock: 1700000000.999 still has Unix() == 1700000000.
	m = minter(t, fixedNow().Add(999*time.Millisecond), "north")
	_, err = m.Verify("1700000000:alice", "Cd/49soE35ICqcJF/bCTn8Z4OyE=")
	assert.NoError(t, err)
}

func TestVerifyRotation(t *testing.T) {
	now := fixedNow().Add(-time.Hour)
	north := minter(t, now, "north")
	south := minter(t, now, "south")
	both := minter(t, now, "south", "north")
	cn, err := north.Mint("alice")
	require.NoError(t, err)
	cs, err := south.Mint("alice")
	require.NoError(t, err)
	assert.Equal(t, "1700082800:alice", cn.Username) // now + 24 h
	for _, c := range []Credential{cn, cs} {
		_, err := both.Verify(c.Username, c.Password)
		assert.NoError(t, err, "a minter with both secrets accepts either")
	}
	_, err = north.Verify(cs.Username, cs.Password)
	assert.ErrorIs(t, err, ErrMismatch, "a retired secret's credential is refused")
	_, err = south.Verify(cn.Username, cn.Password)
	assert.ErrorIs(t, err, ErrMismatch)
}

func TestVerifyTampered(t *testing.T) {
	m := minter(t, fixedNow(), "north")
	good := "Cd/49soE35ICqcJF/bCTn8Z4OyE="
	for _, p := range []string{"", "Cd/49soE35ICqcJF/bCTn8Z4OyE", "Dd/49soE35ICqcJF/bCTn8Z4OyE=", good + "=", "CWyHi3zCeWqXBir9thl4m+iZPRY="} {
		_, err := m.Verify("1700000000:alice", p)
		assert.ErrorIs(t, err, ErrMismatch, "%q", p)
	}
	// The HMAC covers the whole username: a later timestamp or another user fails.
	for _, u := range []string{"1700000001:alice", "1700000000:mallory", "1700000000", "alice:1700000000"} {
		_, err := m.Verify(u, good)
		assert.ErrorIs(t, err, ErrMismatch, "%q", u)
	}
	_, err := m.Verify("alice", good)
	assert.ErrorIs(t, err, ErrMalformedUsername)
}

func TestVerifyAlternativeOrders(t *testing.T) {
	m := minter(t, fixedNow(), "north")
	for _, c := range []struct {
		username string
		want     Username
	}{
		{"1700000000:alice", Username{1700000000, "alice"}},
		{"alice:1700000000", Username{1700000000, "alice"}},
		{":1700000000", Username{1700000000, ""}},
		{"1700000000", Username{1700000000, ""}},
		{"1700000000:12345", Username{1700000000, "12345"}},
		{"1700000000:a:b", Username{1700000000, "a:b"}},
	} {
		u, err := m.Verify(c.username, Password("north", c.username))
		require.NoError(t, err, c.username)
		assert.Equal(t, c.want, u, c.username)
	}
	// A numeric user id in user:timestamp order is read as the timestamp: "12345" < now.
	_, err := m.Verify("12345:1800000000", Password("north", "12345:1800000000"))
	assert.ErrorIs(t, err, ErrExpired)
}

func TestVerifySeparator(t *testing.T) {
	m, err := New(Config{Secrets: []string{"s"}, Separator: "@", Now: fixedNow})
	require.NoError(t, err)
	for _, u := range []string{"1700000001@alice", "alice@1700000001", "@1700000001", "1700000001", "1700000001@a:b"} {
		_, err := m.Verify(u, Password("s", u))
		assert.NoError(t, err, u)
	}
	// With '@' as separator, "1700000001:alice" has none: atol reads 1700000001.
	_, err = m.Verify("1700000001:alice", Password("s", "1700000001:alice"))
	assert.NoError(t, err)
	// and "alice:1700000001" has no leading digits at all.
	_, err = m.Verify("alice:1700000001", Password("s", "alice:1700000001"))
	assert.ErrorIs(t, err, ErrMalformedUsername)
}

func TestVerifyFarFuture(t *testing.T) {
	m := minter(t, fixedNow(), "s")
	ok := strconv.FormatInt(1700000000+(1<<31)-1, 10)
	_, err := m.Verify(ok, Password("s", ok))
	assert.NoError(t, err)
	for _, ts := range []int64{1700000000 + 1<<31, math.MaxInt64} {
		u := strconv.FormatInt(ts, 10)
		_, err := m.Verify(u, Password("s", u))
		assert.ErrorIs(t, err, ErrExpired, u)
	}
	_, err = m.Verify("99999999999999999999999", Password("s", "99999999999999999999999"))
	assert.ErrorIs(t, err, ErrExpired, "saturated timestamp")
}

// Known answer computed with OpenSSL when this test was written:
//
//	P=$(echo -n '1700000000:alice' | openssl dgst -sha1 -hmac 'north' -binary | base64)
//	echo -n "1700000000:alice:streamwire.test:$P" | openssl dgst -md5
//	echo -n "1700000000:alice:streamwire.test:$P" | openssl dgst -sha256
//	echo -n 'user:realm:pass' | openssl dgst -md5
func TestLongTermKeyKnownAnswers(t *testing.T) {
	p := "Cd/49soE35ICqcJF/bCTn8Z4OyE="
	assert.Equal(t, "aa2e13eff5310afe9b14115eef0b4158", hex.EncodeToString(LongTermKey("1700000000:alice", "streamwire.test", p)))
	assert.Equal(t, "c57dd0abd79916ccc71f1a76cfbafd7bebaf0f14e6c2543525afcb1fa2cc147f", hex.EncodeToString(LongTermKeySHA256("1700000000:alice", "streamwire.test", p)))
	assert.Equal(t, "8493fbc53ba582fb4c044c456bdc40eb", hex.EncodeToString(LongTermKey("user", "realm", "pass")))
}

func TestKeysAndFindKey(t *testing.T) {
	m := minter(t, fixedNow(), "south", "north")
	keys, err := m.Keys("1700000000:alice", "streamwire.test")
	require.NoError(t, err)
	require.Len(t, keys, 2)
	assert.Equal(t, "aa2e13eff5310afe9b14115eef0b4158", hex.EncodeToString(keys[1]), "second secret's key")
	assert.Equal(t, LongTermKey("1700000000:alice", "streamwire.test", Password("south", "1700000000:alice")), keys[0])

	want := keys[1]
	calls := 0
	k, err := m.FindKey("1700000000:alice", "streamwire.test", func(key []byte) bool {
		calls++
		return hmac.Equal(key, want)
	})
	require.NoError(t, err)
	assert.Equal(t, want, k)
	assert.Equal(t, 2, calls)

	_, err = m.FindKey("1700000000:alice", "streamwire.test", func([]byte) bool { return false })
	assert.ErrorIs(t, err, ErrMismatch)
	_, err = m.Keys("1699999999:alice", "r")
	assert.ErrorIs(t, err, ErrExpired)
	_, err = m.FindKey("", "r", func([]byte) bool { return true })
	assert.ErrorIs(t, err, ErrMalformedUsername)
}
