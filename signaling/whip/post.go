package whip

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"

	"github.com/streamwire/streamwire/internal/logstr"
)

// post answers a WHIP or WHEP POST (RFC 9725 §4.2).
func (h *Handler) post(w http.ResponseWriter, r *http.Request, res resource) {
	if !h.authorized(w, r, res) {
		return
	}
	if !hasType(r, typeSDP) {
		w.Header().Set("Accept-Post", typeSDP)
		h.refuse(w, r, res, &Error{Status: http.StatusUnsupportedMediaType, Reason: "the offer must be Content-Type: " + typeSDP})
		return
	}
	body, ok := h.readBody(w, r, res)
	if !ok {
		return
	}
	if len(body) == 0 {
		h.refuse(w, r, res, &Error{Reason: "empty offer: the client must offer (no server-offer flow)", Err: ErrBadOffer})
		return
	}
	if err := h.admit(); err != nil {
		h.refuse(w, r, res, err)
		return
	}
	e, answer, err := h.open(r, res, body)
	if err != nil {
		h.release()
		h.refuse(w, r, res, err)
		return
	}
	if !h.insert(e) {
		e.sess.Close()
		h.refuse(w, r, res, ErrClosed)
		return
	}
	go h.watch(e)
	hd := w.Header()
	hd.Set("Location", h.location(r, res, e.id))
	hd.Set("ETag", e.etag)
	hd.Set("Content-Type", typeSDP)
	hd.Set("Content-Length", strconv.Itoa(len(answer)))
	h.addLinks(hd)
	w.WriteHeader(http.StatusCreated)
	w.Write(answer)
	h.log.Info("whip: session started", "kind", res.kind.String(), logstr.Attr("stream", res.stream.String()),
		"session", e.logID(), "remote", r.RemoteAddr, logstr.Attr("user_agent", r.UserAgent()))
}

// open asks the backend for a session.
func (h *Handler) open(r *http.Request, res resource, body []byte) (*entry, []byte, error) {
	id, err := h.random(idBytes)
	if err != nil {
		return nil, nil, err
	}
	etag, err := h.newETag()
	if err != nil {
		return nil, nil, err
	}
	offer := &Offer{
		Kind:       res.kind,
		Stream:     res.stream,
		SDP:        body,
		LogID:      id[:logIDLen],
		RemoteAddr: r.RemoteAddr,
		UserAgent:  logstr.BoundN(r.UserAgent(), logstr.MaxLen),
	}
	ufrag := offerUfrag(body) // before the backend, which owns body after the call
	var sess Session
	var answer []byte
	if res.kind == KindWHIP {
		sess, answer, err = h.backend.Publish(r.Context(), offer)
	} else {
		sess, answer, err = h.backend.Play(r.Context(), offer)
	}
	switch {
	case err != nil:
		return nil, nil, err
	case sess == nil || !bytes.HasPrefix(answer, []byte("v=")):
		// ffmpeg rejects an answer that does not start with "v=", and OBS
		// one without "v=0": a backend bug, caught here rather than there.
		if sess != nil {
			sess.Close()
		}
		return nil, nil, fmt.Errorf("whip: backend returned no session or an answer not starting with v= (%q)", logstr.BoundN(string(answer), 16))
	case r.Context().Err() != nil: // the client left while the backend worked
		sess.Close()
		return nil, nil, fmt.Errorf("whip: client went away during setup: %w", r.Context().Err())
	}
	return &entry{
		id: id, kind: res.kind, stream: res.stream, sess: sess, gone: make(chan struct{}),
		etag: etag, ufrag: ufrag, remote: r.RemoteAddr, candidates: answerCandidates(answer),
	}, answer, nil
}

// random draws n bytes of Config.Rand as base64url text.
func (h *Handler) random(n int) (string, error) {
	h.randMu.Lock()
	defer h.randMu.Unlock()
	return randomToken(h.rand, n)
}

// newETag returns a fresh strong entity tag, quotes included.
func (h *Handler) newETag() (string, error) {
	t, err := h.random(etagBytes)
	return `"` + t + `"`, err
}

// admit reserves room for one more session, or fails with ErrClosed or
// ErrOverloaded.
func (h *Handler) admit() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrClosed
	}
	if h.maxSessions > 0 && len(h.sessions)+h.reserved >= h.maxSessions {
		return &Error{Reason: "session limit reached", Err: ErrOverloaded}
	}
	h.reserved++
	return nil
}

// release gives back a reservation of admit.
func (h *Handler) release() {
	h.mu.Lock()
	h.reserved--
	h.mu.Unlock()
}

// insert turns the reservation of admit into e; it fails after Close.
func (h *Handler) insert(e *entry) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reserved--
	if h.closed {
		return false
	}
	h.sessions[e.id] = e
	h.watchers.Add(1)
	return true
}
