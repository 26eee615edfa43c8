package rtmp

import (
	"errors"
	"log/slog"
	"strconv"
	"strings"

	"github.com/streamwire/streamwire/internal/logstr"
	"github.com/streamwire/streamwire/rtmp/amf0"
)

// Standard descriptions of the error statuses a Server answers refused
// requests with, phrased as FMS, SRS and nginx-rtmp phrase theirs. The
// error that caused the refusal stays in the server's log: a Handler's
// reason ("bad key for ...", "token expired at ...") names internals the
// peer must not learn, unless the Handler chose to tell it (a
// *StatusError, see Handler).
var statusDescriptions = map[string]string{
	CodeConnectRejected:     "Connection rejected.",
	CodeCallFailed:          "Call failed.",
	CodePublishUnauthorized: "Publishing is not authorized.",
	CodePublishBadName:      "Stream name is invalid or already published.",
	CodePublishFailed:       "Publishing failed.",
	CodePlayUnauthorized:    "Playing is not authorized.",
	CodePlayStreamNotFound:  "No such stream.",
	CodePlayFailed:          "Playing failed.",
}

// refusal returns the info object (level "error", code, description) that
// answers a request refused with err, code being the code chosen from
// err's sentinel. A
// *StatusError in err's chain overrides both with its own (non-empty) Code
// and Description: the Handler chose them for the peer. A name over
// MaxNameLength, which the server refuses itself, says so and gives the
// limit. Any other error gets the code's standard description.
func refusal(code string, err error) amf0.Object {
	code, desc := refusalStatus(code, err)
	return statusInfo(LevelError, code, desc)
}

// onStatusRefused is the onStatus command that answers a publish or play
// refused with err (see refusal).
func onStatusRefused(code string, err error) Command {
	return Command{Name: "onStatus", Args: []any{refusal(code, err)}}
}

// refusalStatus returns refusal's code and description.
func refusalStatus(code string, err error) (string, string) {
	var se *StatusError
	if errors.As(err, &se) {
		if se.Code != "" {
			code = se.Code
		}
		if se.Description != "" {
			return code, se.Description
		}
	}
	if errors.Is(err, ErrNameTooLong) {
		what := "Stream name"
		if code == CodeConnectRejected {
			what = "App or tcUrl"
		}
		return code, what + " too long (limit " + strconv.Itoa(MaxNameLength) + " bytes)."
	}
	if d, ok := statusDescriptions[code]; ok {
		return code, d
	}
	return code, "Request refused."
}

// redactQuery returns a stream name ("cam?key=s3cret&token") with every
// value of its query replaced by "…" ("cam?key=…&…"), bounded for a log
// line or an error text: the query of a publish or play name usually
// carries the stream key.
func redactQuery(name string) string {
	base, query, ok := strings.Cut(name, "?")
	if !ok {
		return logstr.Bound(name)
	}
	var b strings.Builder
	b.WriteString(base)
	b.WriteByte('?')
	for i, part := range strings.Split(query, "&") {
		if i > 0 {
			b.WriteByte('&')
		}
		if key, _, hasValue := strings.Cut(part, "="); hasValue {
			b.WriteString(key)
			b.WriteByte('=')
		}
		if part != "" {
			b.WriteString("…")
		}
	}
	return logstr.Bound(b.String())
}

// redactedAttr is a log attribute with redactQuery(value): an app may
// carry connect arguments ("live?token=..."), as nginx-rtmp's clients send
// them.
func redactedAttr(key, value string) slog.Attr { return slog.String(key, redactQuery(value)) }

// redactURL is redactQuery for a whole URL, whose user info (a password)
// is redacted too.
func redactURL(raw string) string {
	if scheme, rest, ok := strings.Cut(raw, "://"); ok {
		host, path, hasPath := strings.Cut(rest, "/")
		if i := strings.LastIndexByte(host, '@'); i >= 0 {
			host = "…" + host[i:]
		}
		if hasPath {
			host += "/"
		}
		raw = scheme + "://" + host + path
	}
	return redactQuery(raw)
}
