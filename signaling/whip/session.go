package whip

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/streamwire/streamwire/internal/logstr"
	"github.com/streamwire/streamwire/sdp"
)

// maxOldUfrags bounds the ICE usernames remembered from before restarts, to
// recognize late trickle PATCHes of replaced ICE sessions.
const maxOldUfrags = 8

// entry is one live session in the handler's table.
type entry struct {
	id         string
	kind       Kind
	stream     Stream
	sess       Session
	gone       chan struct{} // closed when the entry leaves the table
	remote     string        // the POST's client address, for logs
	candidates string        // the answer's candidates, for the connect diagnostic

	mu        sync.Mutex // serializes PATCHes: a restart changes what follows
	etag      string     // of the current ICE session, quotes included
	ufrag     string     // the client's current ice-ufrag; "" when its offer had none we could read
	oldUfrags []string   // the client's ice-ufrags before restarts, newest last
}

// logID is the loggable prefix of the session ID.
func (e *entry) logID() string { return e.id[:logIDLen] }

// isGone reports whether e has left the table (DELETE, Done, Close).
func (e *entry) isGone() bool {
	select {
	case <-e.gone:
		return true
	default:
		return false
	}
}

// serveSession answers a request on a session URL.
func (h *Handler) serveSession(w http.ResponseWriter, r *http.Request, res resource) {
	switch r.Method {
	case http.MethodPatch:
		h.patch(w, r, res)
	case http.MethodDelete:
		h.delete(w, r, res)
	case http.MethodOptions:
		w.Header().Set("Accept-Patch", typeSDPFrag) // RFC 5789 §3.1
		w.Header().Set("Allow", sessionMethods)
		w.WriteHeader(http.StatusOK)
	case http.MethodGet, http.MethodHead:
		if h.lookup(res) == nil {
			h.refuse(w, r, res, ErrNoSession)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		h.notAllowed(w, r, res, sessionMethods)
	}
}

// lookup returns the live session that res names, or nil. The stream and kind
// of the URL must be the session's.
func (h *Handler) lookup(res resource) *entry {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.sessions[res.id]
	if e == nil || e.kind != res.kind || e.stream != res.stream {
		return nil
	}
	return e
}

// remove takes e out of the table; false if it was gone already.
func (h *Handler) remove(e *entry) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sessions[e.id] != e {
		return false
	}
	delete(h.sessions, e.id)
	close(e.gone)
	return true
}

// delete answers DELETE (RFC 9725 §4.2): 200 and the session closed. An
// If-Match is ignored, as RFC 9725 §4.3.1 says.
func (h *Handler) delete(w http.ResponseWriter, r *http.Request, res resource) {
	e := h.lookup(res)
	if e == nil || !h.remove(e) {
		h.refuse(w, r, res, ErrNoSession)
		return
	}
	if err := e.sess.Close(); err != nil {
		h.log.Warn("whip: closing a session", "session", e.logID(), "err", err)
	}
	w.WriteHeader(http.StatusOK)
	h.ended(e, "DELETE")
}

// ended logs the end of a session.
func (h *Handler) ended(e *entry, reason string) {
	h.log.Info("whip: session ended", "kind", e.kind.String(), logstr.Attr("stream", e.stream.String()),
		"session", e.logID(), "reason", reason)
}

// patch answers PATCH application/trickle-ice-sdpfrag (RFC 9725 §4.3).
func (h *Handler) patch(w http.ResponseWriter, r *http.Request, res resource) {
	e := h.lookup(res)
	if e == nil {
		h.refuse(w, r, res, ErrNoSession)
		return
	}
	if !hasType(r, typeSDPFrag) {
		w.Header().Set("Accept-Patch", typeSDPFrag) // RFC 5789 §2.2
		h.refuse(w, r, res, &Error{Status: http.StatusUnsupportedMediaType, Reason: "PATCH takes Content-Type: " + typeSDPFrag})
		return
	}
	body, ok := h.readBody(w, r, res)
	if !ok {
		return
	}
	frag, err := sdp.ParseSDPFrag(body)
	if err != nil {
		// sdp's message quotes the client's own fragment, clipped: it helps
		// the client and reveals nothing of the server.
		h.refuse(w, r, res, &Error{Status: http.StatusBadRequest, Reason: logstr.BoundN(err.Error(), 256), Err: err})
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.isGone() {
		h.refuse(w, r, res, ErrNoSession)
		return
	}
	if !h.preconditions(w, r, res, e) {
		return
	}
	var first *sdp.FragMedia
	if len(frag.Media) > 0 {
		first = &frag.Media[0]
	}
	ufrag, _ := frag.Credentials(first)
	switch {
	case ufrag == e.ufrag || ufrag == "":
		h.trickle(w, r, res, e, frag)
	case e.ufrag == "": // the offer's ufrag was not found: learn it now
		e.ufrag = ufrag
		h.trickle(w, r, res, e, frag)
	case slices.Contains(e.oldUfrags, ufrag):
		// RFC 8840 §4.4 discards it; a 204 keeps clients that sent it before
		// the restart answer arrived from failing.
		h.log.Debug("whip: trickle for a replaced ICE session dropped", "session", e.logID())
		w.WriteHeader(http.StatusNoContent)
	default:
		h.restart(w, r, res, e, frag, ufrag)
	}
}

// preconditions checks If-Match (RFC 9725 §4.3.1, RFC 9110 §13.1.1): 412
// when it does not match the current ICE session's entity tag, 428 when it is
// missing and StrictIfMatch is set.
func (h *Handler) preconditions(w http.ResponseWriter, r *http.Request, res resource, e *entry) bool {
	present, match, err := ifMatch(r.Header.Values("If-Match"), e.etag)
	switch {
	case err != nil:
		h.refuse(w, r, res, &Error{Status: http.StatusBadRequest, Reason: "malformed If-Match", Err: err})
	case present && !match:
		h.refuse(w, r, res, &Error{Status: http.StatusPreconditionFailed, Reason: "If-Match does not match the current ICE session's entity tag"})
	case !present && h.strict:
		h.refuse(w, r, res, &Error{Status: http.StatusPreconditionRequired, Reason: `PATCH needs If-Match: the ETag of the 201, or "*" for an ICE restart`})
	default:
		return true
	}
	return false
}

// trickle hands candidates to the session: 204, no body, no ETag (RFC 9725
// §4.3.2).
func (h *Handler) trickle(w http.ResponseWriter, r *http.Request, res resource, e *entry, frag *sdp.SDPFrag) {
	if err := e.sess.Trickle(r.Context(), frag); err != nil {
		h.refuse(w, r, res, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// restart performs an ICE restart: 200, a new ETag and the server's
// fragment (RFC 9725 §4.3.3). On failure the old ICE session and its ETag
// stay.
func (h *Handler) restart(w http.ResponseWriter, r *http.Request, res resource, e *entry, frag *sdp.SDPFrag, ufrag string) {
	etag, err := h.newETag()
	if err != nil {
		h.refuse(w, r, res, err)
		return
	}
	local, err := e.sess.Restart(r.Context(), frag)
	if err == nil && local == nil {
		err = fmt.Errorf("whip: backend restarted ICE without a fragment to answer")
	}
	if err != nil {
		h.refuse(w, r, res, err)
		return
	}
	if len(e.oldUfrags) == maxOldUfrags {
		e.oldUfrags = slices.Delete(e.oldUfrags, 0, 1)
	}
	e.oldUfrags = append(e.oldUfrags, e.ufrag)
	e.ufrag, e.etag = ufrag, etag
	body := local.AppendTo(nil)
	hd := w.Header()
	hd.Set("ETag", etag)
	hd.Set("Content-Type", typeSDPFrag)
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
	h.log.Info("whip: ICE restart", "kind", e.kind.String(), logstr.Attr("stream", e.stream.String()), "session", e.logID())
}

// watch follows one session until it leaves the table: it removes the
// session when it ends on its own, and logs it once if no ICE check arrives
// within ConnectTimeout.
func (h *Handler) watch(e *entry) {
	defer h.watchers.Done()
	connected := e.sess.Connected()
	var timeout <-chan time.Time
	if h.connectTimeout > 0 && connected != nil {
		t := time.NewTimer(h.connectTimeout)
		defer t.Stop()
		timeout = t.C
	}
	done := e.sess.Done()
	for {
		select {
		case <-e.gone:
			return
		case <-done:
			if h.remove(e) {
				e.sess.Close()
				reason := "ended by the media side"
				if err := e.sess.Err(); err != nil {
					reason += ": " + logstr.BoundN(err.Error(), 512)
				}
				h.ended(e, reason)
			}
			return
		case <-connected:
			connected, timeout = nil, nil
		case <-timeout:
			timeout = nil
			h.log.Warn("whip: no ICE connectivity check from the client", "kind", e.kind.String(),
				logstr.Attr("stream", e.stream.String()), "session", e.logID(), "after", h.connectTimeout,
				"remote", e.remote, "candidates", e.candidates, "hint", h.hint)
		}
	}
}

// offerUfrag returns the first a=ice-ufrag of an offer: the client's ICE
// username, at session level (OBS) or in the first m-section (browsers); under
// BUNDLE every section has the same.
func offerUfrag(offer []byte) string {
	for line := range bytes.Lines(offer) {
		if v, ok := bytes.CutPrefix(line, []byte("a=ice-ufrag:")); ok {
			return string(bytes.TrimSpace(v))
		}
	}
	return ""
}

// answerCandidates lists the distinct candidates of an answer, for the log
// line of an unreachable session.
func answerCandidates(answer []byte) string {
	var seen []string
	for line := range bytes.Lines(answer) {
		v, ok := bytes.CutPrefix(bytes.TrimSpace(line), []byte("a=candidate:"))
		if c := string(v); ok && !slices.Contains(seen, c) {
			seen = append(seen, c)
		}
	}
	if len(seen) == 0 {
		return "none"
	}
	return logstr.BoundN(strings.Join(seen, "; "), 1024)
}
