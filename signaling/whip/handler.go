package whip

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/streamwire/streamwire/internal/httpserver"
	"github.com/streamwire/streamwire/internal/logstr"
)

// Media types of the bodies WHIP and WHEP exchange.
const (
	typeSDP     = "application/sdp"                 // RFC 9725 §4.2
	typeSDPFrag = "application/trickle-ice-sdpfrag" // RFC 8840 §9, RFC 9725 §4.3.1
)

// Methods each kind of resource allows, for Allow (RFC 9110 §10.2.1).
const (
	endpointMethods = "POST, OPTIONS, GET, HEAD"
	sessionMethods  = "PATCH, DELETE, OPTIONS, GET, HEAD"
)

// Handler serves WHIP (RFC 9725) and WHEP (draft-ietf-wish-whep) endpoints
// and sessions over one http.Handler; the server mounts it at both prefixes
// (Config.WHIPPath, Config.WHEPPath). What it answers:
//
//	POST    P/APP/NAME      application/sdp offer → 201 Created, absolute Location
//	                        P/APP/NAME/ID, ETag, application/sdp answer, one Link
//	                        header per ICE server; 401, 409 (+Retry-After), 413,
//	                        415, 422, 503 (+Retry-After) otherwise
//	OPTIONS P/APP/NAME      200, Accept-Post: application/sdp, Links unless a CORS
//	                        preflight
//	PATCH   P/APP/NAME/ID   application/trickle-ice-sdpfrag → 204 (candidates) or
//	                        200 + new ETag + the server's fragment (ICE restart);
//	                        400, 404, 412, 415, 422, 428 (strict mode) otherwise
//	DELETE  P/APP/NAME/ID   200, the session closed (OBS logs anything else as a
//	                        failure)
//	GET, HEAD               204 without content (RFC 9725 §4.1); HEAD on a WHEP
//	                        endpoint 200 with Content-Type: application/sdp
//	                        (draft-ietf-wish-whep, discoverability)
//	other methods           405 with Allow; other paths 404
//
// Every answer, errors included, carries the CORS headers: any origin by
// default (Config.AllowOrigins), methods POST, PATCH, DELETE, OPTIONS,
// request headers Authorization, Content-Type, If-Match, and
// Access-Control-Expose-Headers: Location, Link, ETag, Retry-After, without
// which a page cannot read the session URL or the back-off.
//
// POST and non-preflight OPTIONS are authorized by bearer token (Config).
// PATCH and DELETE are authorized by the session ID in their URL, 192 random
// bits, whether or not they repeat the token.
//
// A trickle PATCH without If-Match is accepted, unlike RFC 9725 §4.3.1's 428,
// because medooze's whep.js and other players never send one; a PATCH with
// an If-Match that does not match gets 412 either way, and
// Config.StrictIfMatch restores the 428. A PATCH whose credentials are those
// of an ICE session replaced by a restart is a late trickle (RFC 8840 drops
// it): it gets 204 and does not reach the Session.
//
// Each live session costs one parked goroutine, which watches Session.Done
// and the connect diagnostic. Make a Handler with NewHandler.
type Handler struct {
	backend             Backend
	whipPath            string
	whepPath            string
	links               []string // Link values of Config.ICEServers
	turn                CredentialMinter
	authorize           func(Kind, Stream, string) bool
	anyOrigin           bool
	origins             map[string]bool
	publicURL           string
	trustProto          bool
	strict              bool
	maxSessions         int
	maxBody             int64
	retry               time.Duration
	connectTimeout      time.Duration
	hint                string
	log                 *slog.Logger
	randMu              sync.Mutex // Config.Rand need not be safe for concurrent use
	rand                io.Reader
	mu                  sync.Mutex
	sessions            map[string]*entry
	reserved            int  // POSTs admitted and not yet in sessions
	closed              bool // after Close
	watchers            sync.WaitGroup
	publishKey, playKey *[sha256.Size]byte // digests of PublishToken and PlayToken
}

// NewHandler checks cfg and returns a Handler. Errors wrap ErrConfig.
func NewHandler(cfg Config) (*Handler, error) {
	if cfg.Backend == nil {
		return nil, fmt.Errorf("%w: Backend is required", ErrConfig)
	}
	h := &Handler{
		backend:        cfg.Backend,
		whipPath:       or(cfg.WHIPPath, DefaultWHIPPath),
		whepPath:       or(cfg.WHEPPath, DefaultWHEPPath),
		turn:           cfg.TURN,
		authorize:      cfg.Authorize,
		anyOrigin:      len(cfg.AllowOrigins) == 0,
		origins:        map[string]bool{},
		publicURL:      strings.TrimSuffix(cfg.PublicURL, "/"),
		trustProto:     cfg.TrustForwardedProto,
		strict:         cfg.StrictIfMatch,
		maxSessions:    cfg.MaxSessions,
		maxBody:        cfg.MaxOfferSize,
		retry:          cfg.RetryAfter,
		connectTimeout: cfg.ConnectTimeout,
		hint:           or(cfg.ConnectHint, DefaultConnectHint),
		log:            cfg.Logger,
		rand:           cfg.Rand,
		sessions:       map[string]*entry{},
	}
	if err := h.checkPaths(); err != nil {
		return nil, err
	}
	for _, s := range cfg.ICEServers {
		if err := checkICEServer(s); err != nil {
			return nil, err
		}
		h.links = append(h.links, s.linkValue())
	}
	for _, o := range cfg.AllowOrigins {
		h.anyOrigin = h.anyOrigin || o == "*"
		h.origins[o] = true
	}
	if h.publicURL != "" && !strings.HasPrefix(h.publicURL, "http://") && !strings.HasPrefix(h.publicURL, "https://") {
		return nil, fmt.Errorf("%w: PublicURL %q is not an http or https URL", ErrConfig, cfg.PublicURL)
	}
	if cfg.PublishToken != "" {
		d := sha256.Sum256([]byte(cfg.PublishToken))
		h.publishKey = &d
	}
	if cfg.PlayToken != "" {
		d := sha256.Sum256([]byte(cfg.PlayToken))
		h.playKey = &d
	}
	h.setDefaults()
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h, nil
}

// checkPaths checks WHIPPath and WHEPPath.
func (h *Handler) checkPaths() error {
	if err := checkPath("WHIPPath", h.whipPath); err != nil {
		return err
	}
	if err := checkPath("WHEPPath", h.whepPath); err != nil {
		return err
	}
	if strings.HasPrefix(h.whipPath, h.whepPath) || strings.HasPrefix(h.whepPath, h.whipPath) {
		return fmt.Errorf("%w: WHIPPath %q and WHEPPath %q overlap", ErrConfig, h.whipPath, h.whepPath)
	}
	return nil
}

// setDefaults fills in the numeric defaults.
func (h *Handler) setDefaults() {
	if h.maxSessions == 0 {
		h.maxSessions = DefaultMaxSessions
	}
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxOfferSize
	}
	if h.retry <= 0 {
		h.retry = DefaultRetryAfter
	}
	if h.connectTimeout == 0 {
		h.connectTimeout = DefaultConnectTimeout
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ServeHTTP answers one WHIP or WHEP request; see Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.backend == nil {
		http.Error(w, "whip: handler not configured (use NewHandler)", http.StatusInternalServerError)
		return
	}
	h.cors(w, r)
	res, err := h.resolve(r)
	if err != nil {
		h.refuse(w, r, res, &Error{Status: http.StatusNotFound, Reason: "no WHIP or WHEP resource here: endpoints are " +
			h.whipPath + "APP/NAME and " + h.whepPath + "APP/NAME", Err: err})
		return
	}
	if res.id != "" {
		h.serveSession(w, r, res)
		return
	}
	switch r.Method {
	case http.MethodPost:
		h.post(w, r, res)
	case http.MethodOptions:
		h.options(w, r, res)
	case http.MethodGet, http.MethodHead:
		if res.kind == KindWHEP && r.Method == http.MethodHead {
			w.Header().Set("Content-Type", typeSDP)
			w.WriteHeader(http.StatusOK)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		h.notAllowed(w, r, res, endpointMethods)
	}
}

// options answers OPTIONS on an endpoint (RFC 9725 §4.2, §4.6).
func (h *Handler) options(w http.ResponseWriter, r *http.Request, res resource) {
	hd := w.Header()
	hd.Set("Accept-Post", typeSDP)
	hd.Set("Allow", endpointMethods)
	if !isPreflight(r) {
		if !h.authorized(w, r, res) {
			return
		}
		h.addLinks(hd)
	}
	w.WriteHeader(http.StatusOK)
}

// addLinks adds one Link header line per ICE server (RFC 9725 §4.6): one per
// line, since OBS reads only the first link of a line and GStreamer keeps one
// per rel and line.
func (h *Handler) addLinks(hd http.Header) {
	for _, l := range h.links {
		hd.Add("Link", l)
	}
	if h.turn == nil {
		return
	}
	cred, err := h.turn.Mint("")
	if err != nil {
		h.log.Error("whip: cannot mint TURN credentials; answering without them", "err", err)
		return
	}
	for _, l := range cred.LinkHeaders() {
		hd.Add("Link", l)
	}
}

// readBody reads a POST or PATCH body up to MaxOfferSize, answering 413, 408
// or 400 (httpserver.BodyStatus) when it cannot.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request, res resource) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		status, reason := httpserver.BodyStatus(err)
		h.refuse(w, r, res, &Error{Status: status, Reason: reason, Err: err})
		return nil, false
	}
	return b, true
}

// hasType reports whether the Content-Type of r is typ, parameters aside.
func hasType(r *http.Request, typ string) bool {
	v := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(v)
	if err != nil {
		mt, _, _ = strings.Cut(v, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
	}
	return mt == typ
}

// notAllowed answers 405 with Allow.
func (h *Handler) notAllowed(w http.ResponseWriter, r *http.Request, res resource, allow string) {
	w.Header().Set("Allow", allow)
	h.refuse(w, r, res, &Error{Status: http.StatusMethodNotAllowed, Reason: "allowed: " + allow})
}

// refuse answers err (see classify) in plain text and logs it: server
// errors as errors, refusals at debug or info level.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, res resource, err error) {
	a := classify(err, h.retry)
	level := slog.LevelDebug
	switch {
	case a.status >= 500:
		level = slog.LevelError
	case errors.Is(err, ErrNotPublished):
		// A player waiting for a stream retries every few seconds: a
		// line each time would fill the log.
	case a.status == http.StatusUnauthorized || a.status == http.StatusConflict || a.status == http.StatusUnprocessableEntity:
		level = slog.LevelInfo
	}
	if h.log.Enabled(r.Context(), level) {
		h.log.Log(r.Context(), level, "whip: request refused", "method", r.Method, logstr.Attr("path", r.URL.Path),
			"status", a.status, "remote", r.RemoteAddr, "err", logstr.BoundN(fmt.Sprint(err), 512))
	}
	hd := w.Header()
	if a.retry > 0 {
		hd.Set("Retry-After", retryAfterValue(a.retry))
	}
	hd.Set("Content-Type", "text/plain; charset=utf-8")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(a.status)
	io.WriteString(w, a.reason+"\n")
}

// Sessions returns the number of live sessions of kind, or of both kinds for
// kind 0.
func (h *Handler) Sessions(kind Kind) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if kind == 0 {
		return len(h.sessions)
	}
	n := 0
	for _, e := range h.sessions {
		if e.kind == kind {
			n++
		}
	}
	return n
}

// Close closes every session, as a server shutting down does, and waits
// until the handler's goroutines have ended. POSTs after Close get 503 with
// Retry-After (ErrClosed). It returns the errors of Session.Close, joined.
func (h *Handler) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	entries := make([]*entry, 0, len(h.sessions))
	for id, e := range h.sessions {
		entries = append(entries, e)
		close(e.gone)
		delete(h.sessions, id)
	}
	h.mu.Unlock()
	var errs []error
	for _, e := range entries {
		if err := e.sess.Close(); err != nil {
			errs = append(errs, fmt.Errorf("whip: close session %s: %w", e.logID(), err))
		}
		h.log.Info("whip: session ended", "kind", e.kind.String(), logstr.Attr("stream", e.stream.String()),
			"session", e.logID(), "reason", "handler closed")
	}
	h.watchers.Wait()
	return errors.Join(errs...)
}
