package turnrest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fixedNow is 2023-11-14T22:13:20Z, Unix 1700000000.
func fixedNow() time.Time { return time.Unix(1700000000, 0) }

// Known answers computed independently with OpenSSL when this test was written:
//
//	echo -n '1456904882:1231244' | openssl dgst -sha1 -hmac 'streamwire-secret' -binary | base64
//	echo -n '1700000000:alice'   | openssl dgst -sha1 -hmac 'north' -binary | base64
//	echo -n '1700000000:alice'   | openssl dgst -sha1 -hmac 'south' -binary | base64
//	echo -n '1700000000'         | openssl dgst -sha1 -hmac 'north' -binary | base64
func TestPasswordKnownAnswers(t *testing.T) {
	cases := []struct{ secret, username, want string }{
		{"streamwire-secret", "1456904882:1231244", "EhRQ/GWWcVEf5exeLHa6qG3VPjM="},
		{"north", "1700000000:alice", "Cd/49soE35ICqcJF/bCTn8Z4OyE="},
		{"south", "1700000000:alice", "FJeNoC0yJtNekwCa5JT/sW/1Ls4="},
		{"north", "1700000000", "CWyHi3zCeWqXBir9thl4m+iZPRY="},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, Password(c.secret, c.username), "%s / %s", c.secret, c.username)
	}
}

func TestMintKnownAnswer(t *testing.T) {
	m, err := New(Config{
		Secrets: []string{"north", "south"},
		TTL:     time.Nanosecond * 0, // default 24 h
		URIs:    []string{"turn:127.0.0.1:3478?transport=udp"},
		Now:     func() time.Time { return fixedNow().Add(-DefaultTTL) },
	})
	require.NoError(t, err)
	c, err := m.Mint("alice")
	require.NoError(t, err)
	assert.Equal(t, "1700000000:alice", c.Username)
	assert.Equal(t, "Cd/49soE35ICqcJF/bCTn8Z4OyE=", c.Password) // signed with the first secret
	assert.Equal(t, int64(86400), c.TTL)
	assert.Equal(t, []string{"turn:127.0.0.1:3478?transport=udp"}, c.URIs)
	assert.True(t, c.Expires.Equal(fixedNow()))

	c, err = m.Mint("")
	require.NoError(t, err)
	assert.Equal(t, "1700000000", c.Username, "no user: timestamp alone")
	assert.Equal(t, "CWyHi3zCeWqXBir9thl4m+iZPRY=", c.Password)
}

func TestMintSeparatorAndTTL(t *testing.T) {
	m, err := New(Config{Secrets: []string{"s"}, Separator: "|", TTL: 90*time.Second + 500*time.Millisecond, Now: fixedNow})
	require.NoError(t, err)
	c, err := m.Mint("bob:x")
	require.NoError(t, err, "':' is an ordinary character when the separator is '|'")
	assert.Equal(t, "1700000090|bob:x", c.Username)
	assert.Equal(t, int64(90), c.TTL, "TTL truncated to whole seconds")
	assert.Equal(t, Password("s", "1700000090|bob:x"), c.Password)
	_, err = m.Mint("bob|x")
	assert.ErrorIs(t, err, ErrBadUser)
}

func TestMintRejectsBadUsers(t *testing.T) {
	m, err := New(Config{Secrets: []string{"s"}, Now: fixedNow})
	require.NoError(t, err)
	for _, u := range []string{"a:b", "with space", "tab\t", "nl\n", "nul\x00", "é", "\x7f", strings.Repeat("a", MaxUsernameLen-10)} {
		_, err := m.Mint(u)
		assert.ErrorIs(t, err, ErrBadUser, "%q", u)
	}
	long := strings.Repeat("a", MaxUsernameLen-11)
	c, err := m.Mint(long)
	require.NoError(t, err)
	assert.Len(t, c.Username, MaxUsernameLen, "10-digit timestamp + ':' + longest user")
	for _, u := range []string{"alice", "alice@example.com", "1234", "a-b_c.d~e+f=g/h"} {
		_, err := m.Mint(u)
		assert.NoError(t, err, "%q", u)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	cases := []struct {
		cfg  Config
		want error
	}{
		{Config{}, ErrNoSecret},
		{Config{Secrets: []string{"a", ""}}, ErrNoSecret},
		{Config{Secrets: []string{"a"}, TTL: -time.Second}, ErrBadConfig},
		{Config{Secrets: []string{"a"}, TTL: time.Millisecond}, ErrBadConfig},
		{Config{Secrets: []string{"a"}, TTL: 1 << 31 * time.Second}, ErrBadConfig},
		{Config{Secrets: []string{"a"}, Separator: "::"}, ErrBadConfig},
		{Config{Secrets: []string{"a"}, Separator: "7"}, ErrBadConfig},
		{Config{Secrets: []string{"a"}, Separator: " "}, ErrBadConfig},
		{Config{Secrets: []string{"a"}, URIs: []string{"http://x"}}, ErrBadConfig},
		{Config{Secrets: []string{"a"}, URIs: []string{"turn:"}}, ErrBadConfig},
		{Config{Secrets: []string{"a"}, APIKeys: []string{""}}, ErrBadConfig},
	}
	for i, c := range cases {
		_, err := New(c.cfg)
		assert.True(t, errors.Is(err, c.want), "case %d: got %v, want %v", i, err, c.want)
	}
	_, err := New(Config{Secrets: []string{"a"}, URIs: []string{"TURN:h:3478", "turns:h:5349?transport=tcp", "stun:h:3478", "stuns:h"}})
	assert.NoError(t, err)
}

func TestICEConfigShape(t *testing.T) {
	c := Credential{Username: "1700000000:a", Password: "p", TTL: 600,
		URIs: []string{"stun:s:3478", "turn:t:3478?transport=udp", "turns:t:5349?transport=tcp"}}
	ic := c.ICEConfig()
	assert.Equal(t, "600.000s", ic.LifetimeDuration)
	require.Len(t, ic.ICEServers, 2)
	assert.Equal(t, ICEServer{URLs: []string{"turn:t:3478?transport=udp", "turns:t:5349?transport=tcp"}, Username: "1700000000:a", Credential: "p"}, ic.ICEServers[0])
	assert.Equal(t, ICEServer{URLs: []string{"stun:s:3478"}}, ic.ICEServers[1])
	assert.NotNil(t, Credential{}.ICEConfig().ICEServers, "encodes as [] not null")
}

func TestLinkHeaders(t *testing.T) {
	c := Credential{Username: `1700000000:a"b\c`, Password: "p+/=", TTL: 600,
		URIs: []string{"stun:s.example:3478", "turn:t.example:3478?transport=udp", "turns:t.example:5349?transport=tcp"}}
	assert.Equal(t, []string{
		`<stun:s.example:3478>; rel="ice-server"`,
		`<turn:t.example:3478?transport=udp>; rel="ice-server"; username="1700000000:a\"b\\c"; credential="p+/="; credential-type="password"`,
		`<turns:t.example:5349?transport=tcp>; rel="ice-server"; username="1700000000:a\"b\\c"; credential="p+/="; credential-type="password"`,
	}, c.LinkHeaders())
	assert.Empty(t, Credential{}.LinkHeaders())
}

func TestNewRejectsUnsafeURIs(t *testing.T) {
	for _, u := range []string{"turn:h:3478>; rel=x", "turn:h 3478", "turn:h\r\nX: y", `turn:"h"`, "turn:h\\x", "turn:hé"} {
		_, err := New(Config{Secrets: []string{"a"}, URIs: []string{u}})
		assert.ErrorIs(t, err, ErrBadConfig, "%q", u)
	}
}
