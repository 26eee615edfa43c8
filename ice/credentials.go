package ice

import (
	"crypto/rand"
	"fmt"
	"io"

	"github.com/streamwire/streamwire/internal/logstr"
)

// iceChars is the ice-char alphabet of RFC 8839 §5.4: ALPHA / DIGIT / "+" /
// "/". It has 64 characters, so one random byte masked to 6 bits picks one
// uniformly.
const iceChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// Lengths of generated and accepted credentials, in ice-chars (6 bits each).
const (
	// UfragLen is the length of a generated ufrag: 8 chars, 48 random bits,
	// twice the 24 bits RFC 8445 §5.3 asks for, so that ufrags of many
	// sessions on one port rarely collide.
	UfragLen = 8
	// PwdLen is the length of a generated password: 24 chars, 144 random
	// bits (RFC 8445 §5.3 asks for at least 128), as Chromium sends.
	PwdLen = 24
	// MinUfragLen and MaxUfragLen bound an ice-ufrag (RFC 8839 §5.4).
	MinUfragLen, MaxUfragLen = 4, 256
	// MinPwdLen and MaxPwdLen bound an ice-pwd (RFC 8839 §5.4).
	MinPwdLen, MaxPwdLen = 22, 256
)

// Credentials are the ICE username fragment and password of one agent
// (RFC 8445 §5.3), written as a=ice-ufrag and a=ice-pwd (RFC 8839 §5.4).
// The STUN USERNAME of a check is "<receiver ufrag>:<sender ufrag>", and the
// receiver's Pwd keys its MESSAGE-INTEGRITY (RFC 8445 §7.2.2).
type Credentials struct {
	Ufrag string
	Pwd   string
}

// NewCredentials draws a UfragLen-char ufrag and a PwdLen-char password from
// r (nil means crypto/rand.Reader) with one read of UfragLen+PwdLen bytes.
// The error wraps r's error.
func NewCredentials(r io.Reader) (Credentials, error) {
	if r == nil {
		r = rand.Reader
	}
	var b [UfragLen + PwdLen]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return Credentials{}, fmt.Errorf("ice: read random credentials: %w", err)
	}
	for i, v := range b {
		b[i] = iceChars[v&63]
	}
	return Credentials{Ufrag: string(b[:UfragLen]), Pwd: string(b[UfragLen:])}, nil
}

// Validate checks both fields with ValidateUfrag and ValidatePwd.
func (c Credentials) Validate() error {
	if err := ValidateUfrag(c.Ufrag); err != nil {
		return err
	}
	return ValidatePwd(c.Pwd)
}

// validateSet is Validate for the fields that are not empty.
func (c Credentials) validateSet() error {
	if c.Ufrag != "" {
		if err := ValidateUfrag(c.Ufrag); err != nil {
			return err
		}
	}
	if c.Pwd != "" {
		return ValidatePwd(c.Pwd)
	}
	return nil
}

// ValidateUfrag checks that s is an ice-ufrag: 4-256 ice-chars (RFC 8839
// §5.4). Every peer seen in the field passes: Chromium (4 chars), Firefox (8
// hex digits), ffmpeg, OBS (libjuice) and GStreamer (libnice, 32 chars). The
// error wraps ErrUfrag and quotes at most 64 bytes of s.
func ValidateUfrag(s string) error {
	return validateICEString(s, MinUfragLen, MaxUfragLen, ErrUfrag)
}

// ValidatePwd checks that s is an ice-pwd: 22-256 ice-chars (RFC 8839 §5.4).
// Chromium sends 24 chars, Firefox 32 hex digits. The error wraps ErrPwd and
// never quotes s, which is a secret.
func ValidatePwd(s string) error {
	return validateICEString(s, MinPwdLen, MaxPwdLen, ErrPwd)
}

func validateICEString(s string, minLen, maxLen int, sentinel error) error {
	if len(s) < minLen || len(s) > maxLen {
		return fmt.Errorf("%w: %d chars, want %d-%d (RFC 8839 §5.4)", sentinel, len(s), minLen, maxLen)
	}
	if i := indexNotICEChar(s); i >= 0 {
		if sentinel == ErrPwd {
			return fmt.Errorf("%w: byte %d is not an ice-char (RFC 8839 §5.4)", sentinel, i)
		}
		return fmt.Errorf("%w: %q: byte %d is not an ice-char (RFC 8839 §5.4)", sentinel, logstr.BoundN(s, 64), i)
	}
	return nil
}

// indexNotICEChar returns the index of the first byte of s outside the
// ice-char alphabet, or -1.
func indexNotICEChar(s string) int {
	for i := 0; i < len(s); i++ {
		if !isICEChar(s[i]) {
			return i
		}
	}
	return -1
}

func isICEChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '/'
}
