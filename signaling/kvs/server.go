package kvs

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/streamwire/streamwire/internal/connlimit"
	"github.com/streamwire/streamwire/internal/wsconn"
)

// wsPath is the WebSocket's path below the prefix: the WSS ResourceEndpoint
// is wss://HOST/PREFIX/ws.
const wsPath = "/ws"

// Server is an AWS KVS-compatible signaling service in one http.Handler:
// the control plane, the signaling data plane and the WebSocket, under
// Config.Prefix (see the package overview). Make one with New, mount it on
// Pattern, and call Close at shutdown (from internal/httpserver's
// RegisterOnShutdown) to send GO_AWAY and close the WebSockets.
type Server struct {
	cfg            Config
	store          Store
	ownStore       bool
	verify         *verifier
	publicHostport string
	perIP          *connlimit.Limiter

	accepted, frames, statuses, refused atomic.Uint64

	conns     wsconn.Set[*wsConn] // the WebSockets whose handlers run
	closeDone chan struct{}       // closed when Close has finished
	closeErr  error
}

// Stats are a Server's counters.
type Stats struct {
	// Open is the number of WebSockets open now.
	Open int
	// Accepted counts the WebSockets accepted since New.
	Accepted uint64
	// Frames counts the client frames handled (routed or answered).
	Frames uint64
	// StatusResponses counts the STATUS_RESPONSE frames sent.
	StatusResponses uint64
	// Refused counts the WebSocket handshakes refused.
	Refused uint64
}

// New returns a Server for cfg; the zero Config works. It fails when
// PublicURL is not an absolute http or https URL or Prefix does not start
// with a slash.
func New(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	cfg.Prefix = strings.TrimSuffix(cfg.Prefix, "/")
	if !strings.HasPrefix(cfg.Prefix, "/") {
		return nil, fmt.Errorf("kvs: Prefix %q does not start with a slash", cfg.Prefix)
	}
	s := &Server{cfg: cfg, store: cfg.Store, verify: newVerifier(cfg),
		perIP:     &connlimit.Limiter{MaxConnsPerIP: cfg.MaxConnsPerIP},
		closeDone: make(chan struct{})}
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("kvs: PublicURL %q is not an absolute http or https URL", cfg.PublicURL)
		}
		s.publicHostport = u.Host
	}
	if s.store == nil {
		s.store, s.ownStore = NewMemoryStore(cfg), true
	}
	return s, nil
}

// Pattern is the ServeMux pattern to mount the Server on: Prefix + "/".
func (s *Server) Pattern() string { return s.cfg.Prefix + "/" }

// ServeHTTP implements http.Handler: GET PREFIX/ws is the WebSocket, any
// other path below PREFIX a REST operation.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rel, ok := strings.CutPrefix(r.URL.Path, s.cfg.Prefix)
	if !ok || !strings.HasPrefix(rel, "/") {
		rel = r.URL.Path
	}
	if rel == wsPath && r.Method == http.MethodGet {
		s.serveWS(w, r)
		return
	}
	s.serveREST(w, r, rel)
}

// Stats returns the Server's counters.
func (s *Server) Stats() Stats {
	return Stats{Open: s.conns.Len(), Accepted: s.accepted.Load(), Frames: s.frames.Load(),
		StatusResponses: s.statuses.Load(), Refused: s.refused.Load()}
}

// ReconnectICEServer sends RECONNECT_ICE_SERVER to every WebSocket of the
// channel called name ("" for every channel): the ICE servers changed (a
// TURN secret was rotated) and clients should call GetIceServerConfig
// again. The KVS JS SDK ignores it (signaling.md §3.6); the C SDK acts on
// it.
func (s *Server) ReconnectICEServer(name string) {
	s.conns.Each(func(c *wsConn) {
		if name == "" || c.channel == name {
			c.event(MessageReconnectICEServer)
		}
	})
}

// Close shuts the Server down as AWS ends a connection: every WebSocket
// gets GO_AWAY, and those still open GoAwayGrace later (measured by the
// system clock, whatever Config.Clock) are closed with status 1001 (going
// away). It waits for their handlers to return, then closes the Store when
// New made it. Requests after Close get 503 ServiceUnavailableException.
// Every call returns once the first one has finished, with its result.
func (s *Server) Close() error {
	if !s.conns.Close(func(c *wsConn) { c.event(MessageGoAway) }) {
		<-s.closeDone
		return s.closeErr
	}
	gone := make(chan struct{})
	go func() { s.conns.Wait(); close(gone) }()
	grace := time.NewTimer(s.cfg.GoAwayGrace)
	defer grace.Stop()
	select {
	case <-gone:
	case <-grace.C:
		s.conns.Each(func(c *wsConn) { c.CloseWith(websocket.StatusGoingAway, "server shutting down") })
		<-gone
	}
	if s.ownStore {
		s.closeErr = s.store.Close()
	}
	close(s.closeDone)
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
