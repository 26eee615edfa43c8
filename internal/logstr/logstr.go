// Package logstr bounds strings that a remote peer controls before they
// reach a log line. Every package of this module that logs a client-supplied
// value (an RTMP app or stream name, a tcUrl, a STUN USERNAME, a TURN REST
// user id, an SDP line) passes it through Bound or Attr, so that one peer
// cannot write megabytes into the log.
package logstr

import (
	"log/slog"
	"strconv"
	"unicode/utf8"
)

// MaxLen is the number of bytes of a client-supplied string that is kept in
// a log line. 128 bytes hold any real stream name, app, ufrag or tcUrl.
const MaxLen = 128

// Bound returns s unchanged when it is at most MaxLen bytes long; otherwise
// its first MaxLen bytes (cut at a UTF-8 boundary) followed by
// "…(+N bytes)", where N is the number of bytes left out.
func Bound(s string) string { return BoundN(s, MaxLen) }

// BoundN is Bound with a caller-chosen limit of n bytes (n >= 0).
func BoundN(s string, n int) string {
	if n < 0 {
		n = 0
	}
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…(+" + strconv.Itoa(len(s)-cut) + " bytes)"
}

// Attr is slog.String(key, Bound(value)).
func Attr(key, value string) slog.Attr { return slog.String(key, Bound(value)) }
