package apprtc

import (
	"fmt"
	"io"
)

// MaxIDLen caps room and client ids, in bytes. AppRTC's routes take any
// length of [a-zA-Z0-9_-]; its web UI makes 9-digit room names and its
// server 8-digit client ids, and 64 holds a UUID with a prefix.
const MaxIDLen = 64

// ValidID reports whether s is a room or client id AppRTC's routes accept
// ([a-zA-Z0-9_-]+, apprtc.py) no longer than MaxIDLen.
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > MaxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// clientIDLen is the length of the client ids the room server makes:
// generate_random(8) in apprtc.py.
const clientIDLen = 8

// newClientID returns 8 uniformly random decimal digits read from r (bytes
// at or above 250 are skipped so that each digit is uniform).
func newClientID(r io.Reader) (string, error) {
	var id [clientIDLen]byte
	var buf [16]byte
	n := 0
	for tries := 0; n < len(id); tries++ {
		if tries == 64 { // 64 reads of 16 bytes all >= 250: a broken source
			return "", fmt.Errorf("apprtc: client id: random source gives no usable bytes")
		}
		if _, err := io.ReadFull(r, buf[:]); err != nil {
			return "", fmt.Errorf("apprtc: client id: %w", err)
		}
		for _, b := range buf {
			if b < 250 && n < len(id) {
				id[n] = '0' + b%10
				n++
			}
		}
	}
	return string(id[:]), nil
}
