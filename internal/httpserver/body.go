package httpserver

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// LimitBody returns h with request bodies capped at max bytes (no cap when
// max is negative). A request whose Content-Length is over the cap gets
// 413 Content Too Large (RFC 9110 §15.5.14) without reaching h. A body
// without a length (chunked) is cut by http.MaxBytesReader: h's read
// returns an *http.MaxBytesError, which BodyError answers with 413, and the
// connection is closed after the response.
func LimitBody(h http.Handler, max int64) http.Handler {
	if max < 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			w.Header().Set("Connection", "close") // the body stays unread
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, max)
		h.ServeHTTP(w, r)
	})
}

// BodyError answers a request whose body could not be read with err: 413
// when the body was over the cap (LimitBody), 408 Request Timeout when the
// client was too slow to send it (ReadTimeout), 400 otherwise.
func BodyError(w http.ResponseWriter, err error) {
	var tooLarge *http.MaxBytesError
	var ne net.Error
	switch {
	case errors.As(err, &tooLarge):
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
	case errors.As(err, &ne) && ne.Timeout():
		http.Error(w, "request body too slow", http.StatusRequestTimeout)
	default:
		http.Error(w, "bad request body", http.StatusBadRequest)
	}
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
