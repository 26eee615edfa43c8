package turnrest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/streamwire/streamwire/internal/httpserver"
	"github.com/streamwire/streamwire/internal/logstr"
)

// Format selects the JSON shape a Handler answers with.
type Format int

const (
	// FormatREST is the draft-uberti-behave-turn-rest-00 response:
	// {"username":...,"password":...,"ttl":86400,"uris":[...]}.
	FormatREST Format = iota
	// FormatICE is the browser shape of AppRTC's /v1alpha/iceconfig:
	// {"lifetimeDuration":"86400.000s","iceServers":[{"urls":[...],"username":...,"credential":...}]}.
	FormatICE
)

// valid reports whether f is one of the Formats above.
func (f Format) valid() bool { return f == FormatREST || f == FormatICE }

// maxBody bounds a POST form body; Janus sends a few dozen bytes.
const maxBody = 4 << 10

// Handler serves TURN credentials over HTTP in one Format.
//
// It answers GET and POST (Janus POSTs its parameters both in the query and as
// a form body; AppRTC clients POST with no body) and OPTIONS (CORS
// preflight); any other method gets 405. Parameters:
//
//   - service: must be "turn" when present. AppRTC's legacy TURN_URL_TEMPLATE
//     ("turn?username=%s&key=%s") sends none, so a missing one is accepted.
//   - username: optional user id, put after the expiry timestamp; printable
//     ASCII without spaces or the separator, at most MaxUsernameLen-11 bytes.
//   - key or api: the API key, when Config.APIKeys is set (also accepted as
//     "Authorization: Bearer <key>").
//
// FormatREST reads parameters from the query and from an
// application/x-www-form-urlencoded POST body of up to 4 KiB; FormatICE reads
// only the query and ignores any body. Errors are JSON {"error":"..."} with
// 400 (bad parameter or body), 401 (API key), 405 (method), 408 (body sent
// too slowly for the server's read time-out) or 413 (body over 4 KiB, or
// over the cap of the server in front, such as internal/httpserver's). A
// body that cannot be read is answered through httpserver.BodyStatus, so
// the answer names no socket address.
// Every response carries Cache-Control: no-store. Log lines quote the method,
// path, reason and user id through logstr, so a client cannot write more
// than logstr.MaxLen bytes of its own into one.
//
// Make a Handler with NewHandler or Minter.Handler: the zero Handler answers
// every request with 500 and {"error":"turnrest: handler not configured"}.
type Handler struct {
	m      *Minter
	format Format
}

// NewHandler returns a Handler for a new Minter built from cfg: the one-call
// way to mount a TURN REST endpoint, e.g.
//
//	h, err := turnrest.NewHandler(turnrest.Config{Secrets: []string{secret}, URIs: uris}, turnrest.FormatREST)
//	mux.Handle("/turn", h)
//
// A format other than FormatREST and FormatICE gives an error wrapping
// ErrBadConfig; so do the errors of New.
func NewHandler(cfg Config, format Format) (*Handler, error) {
	if !format.valid() {
		return nil, fmt.Errorf("%w: unknown Format %d (want FormatREST or FormatICE)", ErrBadConfig, int(format))
	}
	m, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return m.Handler(format), nil
}

// Handler returns an http.Handler that mints credentials with m in format.
// A format other than FormatREST and FormatICE makes it answer every request
// with 500 and {"error":"turnrest: unknown Format"} (NewHandler refuses one
// with an error instead).
func (m *Minter) Handler(format Format) *Handler {
	return &Handler{m: m, format: format}
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h == nil || h.m.ready() != nil {
		h.fail(w, r, http.StatusInternalServerError, "turnrest: handler not configured", "")
		return
	}
	if !h.format.valid() {
		h.fail(w, r, http.StatusInternalServerError, "turnrest: unknown Format", "")
		return
	}
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	if o := h.m.origin; o != "" {
		hdr.Set("Access-Control-Allow-Origin", o)
		if o != "*" {
			hdr.Add("Vary", "Origin")
		}
	}
	switch r.Method {
	case http.MethodGet, http.MethodPost:
	case http.MethodOptions:
		hdr.Set("Allow", "GET, POST, OPTIONS")
		if h.m.origin != "" {
			hdr.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			hdr.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			hdr.Set("Access-Control-Max-Age", "600")
		}
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		hdr.Set("Allow", "GET, POST, OPTIONS")
		h.fail(w, r, http.StatusMethodNotAllowed, "method "+logstr.Bound(r.Method)+" not allowed; use GET or POST", "")
		return
	}

	params, status, err := h.params(w, r)
	if err != nil {
		h.fail(w, r, status, err.Error(), "")
		return
	}
	user := params.Get("username")
	if !h.authorized(r, params) {
		hdr.Set("WWW-Authenticate", `Bearer realm="turnrest"`)
		h.fail(w, r, http.StatusUnauthorized, "missing or invalid API key", "")
		return
	}
	// Janus repeats every parameter (query and body), so check each value.
	for _, s := range params["service"] {
		if s != "turn" {
			h.fail(w, r, http.StatusBadRequest, `service must be "turn"`, "")
			return
		}
	}
	cred, err := h.m.Mint(user)
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, ErrBadUser) {
			status = http.StatusBadRequest
			user = "" // it failed validation, so keep it out of the log
		}
		h.fail(w, r, status, "username parameter: "+err.Error(), user)
		return
	}

	var body any = cred
	if h.format == FormatICE {
		body = cred.ICEConfig()
	}
	hdr.Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(body); err != nil {
		h.m.log.Warn("turnrest: write response", "remote", r.RemoteAddr, "err", err)
		return
	}
	h.m.log.Info("turnrest: credential issued", logstr.Attr("method", r.Method), logstr.Attr("path", r.URL.Path),
		"remote", r.RemoteAddr, logstr.Attr("user", user), "expires", cred.Expires.Unix())
}

// params returns the request parameters: the query, plus for FormatREST a
// form-encoded POST body, with body values first as in http.Request.Form.
func (h *Handler) params(w http.ResponseWriter, r *http.Request) (url.Values, int, error) {
	if h.format == FormatICE || r.Method != http.MethodPost {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf("bad query string: %v", err)
		}
		return q, 0, nil
	}
	body := &readErrBody{ReadCloser: http.MaxBytesReader(w, r.Body, maxBody)}
	r.Body = body
	if err := r.ParseForm(); err != nil {
		if body.err != nil {
			// The body could not be read: too large (here or at the
			// server's cap), too slow, or cut. BodyStatus keeps the read
			// error's text, which names socket addresses, out of the answer.
			status, reason := httpserver.BodyStatus(body.err)
			return nil, status, errors.New(reason)
		}
		return nil, http.StatusBadRequest, fmt.Errorf("bad form parameters: %s", logstr.Bound(err.Error()))
	}
	return r.Form, 0, nil
}

// readErrBody records the error of a failed read of a request body, so that
// a read failure is told apart from a parse failure of what was read.
type readErrBody struct {
	io.ReadCloser
	err error
}

func (b *readErrBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// authorized reports whether the request carries one of the API keys (or
// none are configured). Keys are compared as SHA-256 digests with
// subtle.ConstantTimeCompare, so neither content nor length leaks by timing,
// and every configured key is compared.
func (h *Handler) authorized(r *http.Request, params url.Values) bool {
	if len(h.m.apiKeys) == 0 {
		return true
	}
	var offered []string
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "Bearer ") {
		offered = append(offered, strings.TrimSpace(a[7:]))
	}
	offered = append(offered, params["key"]...)
	offered = append(offered, params["api"]...)
	ok := 0
	for _, o := range offered {
		od := sha256.Sum256([]byte(o))
		for _, k := range h.m.apiKeys {
			kd := sha256.Sum256([]byte(k))
			ok |= subtle.ConstantTimeCompare(od[:], kd[:])
		}
	}
	return ok == 1
}

// fail writes a JSON error. msg never holds a secret, password or API key.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, msg, user string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Error string `json:"error"`
	}{msg})
	var m *Minter
	if h != nil {
		m = h.m
	}
	m.logger().Warn("turnrest: request refused", logstr.Attr("method", r.Method), logstr.Attr("path", r.URL.Path),
		"remote", r.RemoteAddr, "status", status, logstr.Attr("reason", msg), logstr.Attr("user", user))
}
