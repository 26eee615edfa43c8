package ice

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestNewCredentials(t *testing.T) {
	// Byte i maps to iceChars[i&63]: the mapping is exact and uses 6 bits per byte.
	src := make([]byte, UfragLen+PwdLen)
	for i := range src {
		src[i] = byte(i + 64*(i%4)) // high bits must not matter
	}
	c, err := NewCredentials(bytes.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if c.Ufrag != iceChars[:UfragLen] || c.Pwd != iceChars[UfragLen:UfragLen+PwdLen] {
		t.Fatalf("NewCredentials = %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	// RFC 8445 §5.3: at least 24 bits of ufrag and 128 bits of password.
	if UfragLen*6 < 24 || PwdLen*6 < 128 || UfragLen < MinUfragLen || PwdLen < MinPwdLen {
		t.Fatal("generated lengths below RFC 8445 §5.3 / RFC 8839 §5.4")
	}
	// crypto/rand: distinct, valid credentials.
	seen := map[string]bool{}
	for range 100 {
		c, err := NewCredentials(nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err != nil || seen[c.Ufrag] || seen[c.Pwd] {
			t.Fatalf("NewCredentials(nil) = %+v, %v (seen before: %v)", c, err, seen[c.Ufrag] || seen[c.Pwd])
		}
		seen[c.Ufrag], seen[c.Pwd] = true, true
	}
	if _, err := NewCredentials(bytes.NewReader(src[:5])); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short Rand: %v, want io.ErrUnexpectedEOF wrapped", err)
	}
}

// The credentials real peers send (from the captured offers) are accepted.
func TestValidateFieldCredentials(t *testing.T) {
	for _, c := range []Credentials{
		{"Pfad", "IcB6H0Z30fnds7NLjCTq8/QW"},                                     // Chromium: 4 and 24 chars
		{"PT+G", "rCTVsJSJN5kr/f7Q5Xzkpadd"},                                     // Chromium, with '+' and '/'
		{"189b6b7d", "62f4cca0e12a89884d15ad8a5cc138ae"},                         // Firefox: 8 and 32 hex digits
		{"3f9a1c0e", "8d5e0b7c2a914f36b1e07d9c4a2f8e65"},                         // ffmpeg 8 WHIP: 8 and 32 hex digits
		{"Wd3h", "gSxvF0sY3ZLfXk1MkO0V2q"},                                       // OBS 30 (libjuice): 4 and 22, the minimum
		{"vlARmeOs", "TNjLFSHmI79ONJEoIhWYZaomAokJtaw5"},                         // SRS: 8 and 32
		{"Yr9J9nVkbgR9O9Vr0Dx8cmeUXWUwbwvl", "NJdaVAaoeAmSOcgqzAXWBt7Z38JrYbSS"}, // GStreamer (libnice): 32 and 32
		{strings.Repeat("a", 256), strings.Repeat("b", 256)},
	} {
		if err := c.Validate(); err != nil {
			t.Errorf("Validate(%+v): %v", c, err)
		}
	}
}

func TestValidateCredentialsErrors(t *testing.T) {
	const pwd = "IcB6H0Z30fnds7NLjCTq8/QW"
	for _, tc := range []struct {
		c    Credentials
		want error
	}{
		{Credentials{"abc", pwd}, ErrUfrag},
		{Credentials{"", pwd}, ErrUfrag},
		{Credentials{strings.Repeat("a", 257), pwd}, ErrUfrag},
		{Credentials{"ab:c", pwd}, ErrUfrag}, // ':' separates ufrags in USERNAME
		{Credentials{"abc def", pwd}, ErrUfrag},
		{Credentials{"abcd", "short"}, ErrPwd},
		{Credentials{"abcd", pwd[:21]}, ErrPwd},
		{Credentials{"abcd", strings.Repeat("a", 257)}, ErrPwd},
		{Credentials{"abcd", pwd[:23] + "\n"}, ErrPwd},
	} {
		err := tc.c.Validate()
		if !errors.Is(err, tc.want) {
			t.Errorf("Validate(%q) = %v, want %v", tc.c, err, tc.want)
		}
		if tc.want == ErrPwd && err != nil && len(tc.c.Pwd) > 4 && strings.Contains(err.Error(), tc.c.Pwd[:5]) {
			t.Errorf("the error quotes the password: %v", err)
		}
	}
	if err := ValidateUfrag(strings.Repeat("é", 200)); err == nil || len(err.Error()) > 200 {
		t.Errorf("error not bounded: %v", err)
	}
}
