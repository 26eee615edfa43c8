package httpserver

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// LimitBody returns h with request bodies capped at max bytes (no cap when
// max is negative). The handler decides how to answer a body over the cap,
// so that a JSON API can answer in JSON: a request whose Content-Length is
// over the cap reaches h with a body whose first Read fails, before a byte
// of it is read, with an *http.MaxBytesError, and with "Connection: close"
// set on the response, since the body stays unread. A body without a length
// (chunked) is cut by http.MaxBytesReader: h's read returns an
// *http.MaxBytesError too, and net/http closes the connection after the
// response. Either way BodyStatus gives 413 Content Too Large (RFC 9110
// §15.5.14), which BodyError answers in plain text. A handler that does not
// read the body answers as it would without one.
func LimitBody(h http.Handler, max int64) http.Handler {
	if max < 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			w.Header().Set("Connection", "close")
			r.Body = overCap{r.Body, max}
		} else {
			r.Body = http.MaxBytesReader(w, r.Body, max)
		}
		h.ServeHTTP(w, r)
	})
}

// overCap is the body of a request announced over the cap: reading it fails
// at once; closing it closes the real one.
type overCap struct {
	io.ReadCloser
	max int64
}

func (b overCap) Read([]byte) (int, error) { return 0, &http.MaxBytesError{Limit: b.max} }

// BodyStatus classifies err, the failure to read a request body, into the
// status to answer and a reason fit for the client: 413 Content Too Large
// ("request body over N bytes") when the body was over a cap (LimitBody or
// http.MaxBytesReader), 408 Request Timeout ("request body too slow") when
// the client was too slow to send it (ReadTimeout), 400 ("bad request
// body") otherwise. The reason never holds err's text, which may name
// socket addresses.
func BodyStatus(err error) (status int, reason string) {
	var tooLarge *http.MaxBytesError
	var ne net.Error
	switch {
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge, "request body over " + strconv.FormatInt(tooLarge.Limit, 10) + " bytes"
	case errors.As(err, &ne) && ne.Timeout():
		return http.StatusRequestTimeout, "request body too slow"
	}
	return http.StatusBadRequest, "bad request body"
}

// BodyError answers a request whose body could not be read with err, in
// plain text, with the status and reason of BodyStatus.
func BodyError(w http.ResponseWriter, err error) {
	status, reason := BodyStatus(err)
	http.Error(w, reason, status)
}

// Extend moves both deadlines of the connection that carries w's request to
// d from now, for an exchange that outlives ReadTimeout and WriteTimeout: a
// long poll, a streamed response. The read deadline matters too: net/http
// keeps reading the connection in the background to notice a client that
// goes away, and cancels the request's context when that read times out.
// A handler may call Extend again to extend further. It returns the
// ResponseController's error (http.ErrNotSupported for a writer that cannot
// set deadlines) wrapped with %w.
func Extend(w http.ResponseWriter, d time.Duration) error {
	rc := http.NewResponseController(w)
	t := time.Now().Add(d)
	if err := rc.SetReadDeadline(t); err != nil {
		return fmt.Errorf("httpserver: extend read deadline: %w", err)
	}
	if err := rc.SetWriteDeadline(t); err != nil {
		return fmt.Errorf("httpserver: extend write deadline: %w", err)
	}
	return nil
}
