package apprtc

import (
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/streamwire/streamwire/internal/wsconn"
)

// ColliderPrefix is the path under which the Collider is served: its
// WebSocket at ColliderPrefix+"/ws", its POST and DELETE at
// ColliderPrefix+"/{room}/{client}", its status at ColliderPrefix+"/status".
// wss_url and wss_post_url point here.
const ColliderPrefix = "/collider"

// Paths returns the path patterns a Server answers, to mount it on a mux
// next to other handlers:
//
//	for _, p := range apprtc.Paths() {
//		mux.Handle(p, srv)
//	}
//
// They are "/join/", "/message/", "/leave/", "/params", "/r/" (the room
// server, at AppRTC's fixed paths) and "/collider/" (the Collider).
func Paths() []string {
	return []string{"/join/", "/message/", "/leave/", "/params", "/r/", ColliderPrefix + "/"}
}

// Server is an AppRTC room server and a Collider in one http.Handler (see
// the package overview for the URL layout and the wire format). Make one
// with New; mount it with Paths; call Close at shutdown (for instance from
// internal/httpserver's RegisterOnShutdown) to close its WebSockets with
// "going away" and stop its timers.
type Server struct {
	cfg      Config
	public   *url.URL // Config.PublicURL, parsed; nil when empty
	store    Store
	ownStore bool
	mux      *http.ServeMux
	page     callPage
	started  time.Time

	totalWS, wsErrors, httpErrors atomic.Uint64
	frames                        atomic.Uint64
	openWS                        atomic.Int64

	conns    wsconn.Set[*wsConn] // the WebSockets whose handlers run
	closeErr error
	done     chan struct{} // closed when Close has finished
}

// Stats are a Server's counters, the fields of Collider's /status.
type Stats struct {
	// Uptime is the time since New.
	Uptime time.Duration
	// OpenWS is the number of registered WebSockets on this Server.
	OpenWS int
	// TotalWS counts the registrations since New.
	TotalWS uint64
	// WSErrors counts the error frames sent.
	WSErrors uint64
	// HTTPErrors counts the Collider HTTP requests answered with an error.
	HTTPErrors uint64
	// Frames counts the client frames handled (answered, delivered or
	// queued).
	Frames uint64
}

// New returns a Server for cfg; the zero Config works. It fails when
// PublicURL is not an absolute http or https URL.
func New(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, store: cfg.Store, started: time.Now(), done: make(chan struct{})}
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("apprtc: PublicURL %q is not an absolute http or https URL", cfg.PublicURL)
		}
		s.public = &url.URL{Scheme: u.Scheme, Host: u.Host}
	}
	if s.store == nil {
		s.store, s.ownStore = NewMemoryStore(cfg), true
	}
	page, err := newCallPage()
	if err != nil {
		return nil, err
	}
	s.page = page
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST /join/{room}", s.join)
	s.mux.HandleFunc("POST /message/{room}/{client}", s.message)
	s.mux.HandleFunc("POST /leave/{room}/{client}", s.leave)
	s.mux.HandleFunc("GET /params", s.paramsPage)
	s.mux.HandleFunc("GET /r/{room}", s.roomPage)
	s.mux.HandleFunc(ColliderPrefix+"/ws", s.serveWS)
	s.mux.HandleFunc(ColliderPrefix+"/status", s.colliderStatus)
	s.mux.HandleFunc(ColliderPrefix+"/", s.colliderHTTP)
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Stats returns the Server's counters.
func (s *Server) Stats() Stats {
	return Stats{
		Uptime:     time.Since(s.started),
		OpenWS:     int(s.openWS.Load()),
		TotalWS:    s.totalWS.Load(),
		WSErrors:   s.wsErrors.Load(),
		HTTPErrors: s.httpErrors.Load(),
		Frames:     s.frames.Load(),
	}
}

// Close closes every WebSocket with status 1001 (going away), waits for
// their handlers to return, and closes the Store when New made it. Requests
// after Close get 503 (WebSocket) or result ERROR. Every call returns once
// the first one has finished, with its result.
func (s *Server) Close() error {
	if !s.conns.Close(func(c *wsConn) { c.CloseWith(websocket.StatusGoingAway, "server shutting down") }) {
		<-s.done
		return s.closeErr
	}
	s.conns.Wait()
	if s.ownStore {
		s.closeErr = s.store.Close()
	}
	close(s.done)
	return s.closeErr
}

// track adds c to the open WebSockets; it fails after Close.
func (s *Server) track(c *wsConn) error {
	if !s.conns.Add(c) {
		return ErrClosed
	}
	return nil
}

// untrack removes c from the open WebSockets.
func (s *Server) untrack(c *wsConn) { s.conns.Remove(c) }

// isClosed reports whether Close was called.
func (s *Server) isClosed() bool { return s.conns.Closed() }
