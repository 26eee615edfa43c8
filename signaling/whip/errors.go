package whip

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/streamwire/streamwire/sdp"
)

// Sentinel errors. A Backend returns them (wrapped or in an *Error) to choose
// the status of an answer; Client returns an *Error that matches the one of
// its status.
var (
	// ErrConfig reports an invalid Config.
	ErrConfig = errors.New("whip: invalid config")
	// ErrNotPublished reports a WHEP request for a stream that nobody
	// publishes: 409 Conflict with Retry-After (draft-ietf-wish-whep,
	// "Session Management").
	ErrNotPublished = errors.New("whip: stream is not published")
	// ErrPublisherExists reports a WHIP request for a stream that already has
	// a publisher: 409 Conflict.
	ErrPublisherExists = errors.New("whip: stream already has a publisher")
	// ErrOverloaded reports a server at its limits: 503 Service Unavailable
	// with Retry-After (RFC 9725 §4.5).
	ErrOverloaded = errors.New("whip: server overloaded")
	// ErrClosed reports a request to a Handler after Close: 503 with
	// Retry-After, as a server restarting would answer.
	ErrClosed = errors.New("whip: handler closed")
	// ErrBadOffer reports an offer that is not a usable SDP offer: 400 Bad
	// Request (RFC 9725 §4.2).
	ErrBadOffer = errors.New("whip: malformed offer")
	// ErrUnsupported reports what the server cannot do: an offer with tracks,
	// codecs or a DTLS role it does not take (RFC 9725 §4.4: "reject the HTTP
	// POST request with an 422 Unprocessable Content"), or a trickle or ICE
	// restart PATCH it does not support (RFC 9725 §4.3.1): 422.
	ErrUnsupported = errors.New("whip: not supported by this server")
	// ErrForbidden reports a client that is known but not allowed: 403.
	ErrForbidden = errors.New("whip: forbidden")
	// ErrUnauthorized reports a missing or wrong bearer token: 401 with
	// WWW-Authenticate: Bearer (RFC 9725 §4.7, RFC 6750 §3).
	ErrUnauthorized = errors.New("whip: unauthorized")
	// ErrNoSession reports a session URL that names no live session: 404.
	ErrNoSession = errors.New("whip: no such session")
	// ErrBadName reports a stream path that no WHIP or WHEP URL can name
	// (see Stream and ParseStream); a URL with one gets 404.
	ErrBadName = errors.New("whip: bad stream name")
	// ErrBadLink reports a Link header that does not parse (RFC 8288 §3).
	ErrBadLink = errors.New("whip: malformed Link header")
	// ErrBadResponse reports an answer of a WHIP or WHEP server that breaks the
	// protocol (Client): a 201 without Location or without an SDP answer.
	ErrBadResponse = errors.New("whip: malformed server response")
)

// statuses maps errors to the status they are answered with, in the order
// they are tried. The sdp package's sentinels are here so that a backend can
// return sdp.Answer's errors as they are.
var statuses = []struct {
	err    error
	status int
	own    bool // a sentinel of this package, which Error.Is matches by status
}{
	{ErrNotPublished, http.StatusConflict, true},
	{ErrPublisherExists, http.StatusConflict, true},
	{ErrOverloaded, http.StatusServiceUnavailable, true},
	{ErrClosed, http.StatusServiceUnavailable, false}, // a 503 means ErrOverloaded to a client
	{ErrBadOffer, http.StatusBadRequest, true},
	{ErrUnsupported, http.StatusUnprocessableEntity, true},
	{ErrForbidden, http.StatusForbidden, true},
	{ErrUnauthorized, http.StatusUnauthorized, true},
	{ErrNoSession, http.StatusNotFound, true},
	{sdp.ErrTooLarge, http.StatusRequestEntityTooLarge, false},
	{sdp.ErrParse, http.StatusBadRequest, false},
	{sdp.ErrBadSDPFrag, http.StatusBadRequest, false},
	{sdp.ErrRemoteICE, http.StatusBadRequest, false},
	{sdp.ErrRemoteFingerprint, http.StatusBadRequest, false},
	{sdp.ErrNoMedia, http.StatusUnprocessableEntity, false},
	{sdp.ErrSetup, http.StatusUnprocessableEntity, false},
}

// Error is an HTTP error answer of a WHIP or WHEP exchange. A Backend returns
// one to choose the status, Retry-After or reason itself, for example
//
//	&whip.Error{Err: whip.ErrOverloaded, RetryAfter: 30 * time.Second}
//
// and Client returns one for every answer other than the success it expects.
// errors.Is matches Err (through Unwrap) and the sentinel of this package
// that Status stands for: a 503 matches ErrOverloaded, a 409 both
// ErrNotPublished and ErrPublisherExists, a 404 ErrNoSession.
type Error struct {
	// Status is the HTTP status, 400 to 599. Zero means the status of Err
	// (ErrOverloaded: 503, ...; 500 for an error this package does not know).
	Status int
	// RetryAfter is sent as Retry-After in whole seconds, rounded up (RFC
	// 9110 §10.2.3). Zero means Config.RetryAfter for 503 and for
	// ErrNotPublished's 409, and no header otherwise.
	RetryAfter time.Duration
	// Reason is the text of the answer's body, for the client to read: it
	// must not hold secrets. Empty means the text of the sentinel that Err
	// matches, or the status text.
	Reason string
	// Err is the cause: it is logged and matched by errors.Is, never sent.
	Err error
}

// Error returns "whip: <status> <status text>[: reason][: cause]".
func (e *Error) Error() string {
	status := e.Status
	if status == 0 { // the status Err stands for, as the handler answers it
		status = classify(e.Err, 0).status
	}
	s := "whip: " + strconv.Itoa(status) + " " + http.StatusText(status)
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is a sentinel of this package that stands for
// e.Status.
func (e *Error) Is(target error) bool {
	for _, s := range statuses {
		if s.own && s.err == target && s.status == e.Status {
			return true
		}
	}
	return false
}

// answer is how the handler answers an error: status, Retry-After (zero for
// none) and the text of the body.
type answer struct {
	status int
	retry  time.Duration
	reason string
}

// classify turns err into an answer. Only this package's sentinel texts and
// an *Error's Reason reach the client; unknown errors become "internal
// error", since their text may name addresses or files.
func classify(err error, defaultRetry time.Duration) answer {
	a := answer{status: http.StatusInternalServerError, reason: "internal error"}
	for _, s := range statuses {
		if errors.Is(err, s.err) {
			a.status, a.reason = s.status, s.err.Error()
			break
		}
	}
	var e *Error
	if errors.As(err, &e) {
		if e.Status >= 400 && e.Status <= 599 {
			a.status = e.Status
			if a.reason == "internal error" {
				a.reason = http.StatusText(e.Status)
			}
		}
		if e.Reason != "" {
			a.reason = e.Reason
		}
		a.retry = e.RetryAfter
	}
	if a.retry == 0 && (a.status == http.StatusServiceUnavailable || errors.Is(err, ErrNotPublished)) {
		a.retry = defaultRetry
	}
	return a
}

// retryAfterValue formats d as delay-seconds (RFC 9110 §10.2.3), rounded up,
// at least 1.
func retryAfterValue(d time.Duration) string {
	s := (d + time.Second - 1) / time.Second
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(int64(s), 10)
}
