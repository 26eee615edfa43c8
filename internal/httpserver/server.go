package httpserver

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/streamwire/streamwire/internal/connlimit"
	"github.com/streamwire/streamwire/internal/logstr"
)

// ErrServerClosed is returned by Serve after its context was cancelled or
// Close was called, once the server has shut down.
var ErrServerClosed = errors.New("httpserver: server closed")

// Server is an http.Server with the time-outs, caps and shutdown of Config.
// Make one with New; it serves one listener once.
type Server struct {
	cfg    Config
	hs     *http.Server
	closed chan struct{}
	once   sync.Once

	limiter *connlimit.Limiter
}

// Stats are a Server's connection counters.
type Stats struct {
	// Open is the number of connections open now, hijacked ones included.
	Open int
	// RefusedPerIP counts the connections closed at accept by MaxConnsPerIP.
	RefusedPerIP uint64
	// RefusedTotal counts the connections closed at accept by MaxConns.
	RefusedTotal uint64
}

// New returns a Server for cfg; the zero Config works (see its fields).
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:    cfg,
		closed: make(chan struct{}),
		// connlimit's caps are "none" at zero or below, as Config's are
		// after withDefaults.
		limiter: &connlimit.Limiter{MaxConns: cfg.MaxConns, MaxConnsPerIP: cfg.MaxConnsPerIP},
	}
	s.hs = &http.Server{
		Handler:           LimitBody(cfg.Handler, cfg.MaxBodyBytes),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		TLSConfig:         cfg.TLS,
		ErrorLog:          log.New(errorLog{cfg.Logger}, "", 0),
	}
	return s
}

// Serve accepts connections on ln and serves them until ctx is cancelled or
// Close is called. It then shuts down gracefully: ln is closed, idle
// connections are closed, requests in flight get ShutdownTimeout to finish,
// and every connection still open after that (hijacked ones included) is
// closed. It returns ErrServerClosed then, or an accept failure of ln
// wrapped with %w. Request contexts carry ctx's values, not its
// cancellation: a request in flight finishes during the shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.hs.BaseContext = func(net.Listener) context.Context { return context.WithoutCancel(ctx) }
	served := make(chan error, 1)
	go func() { served <- s.serve(s.capListener(ln)) }()
	select {
	case err := <-served:
		s.limiter.CloseTracked()
		if errors.Is(err, http.ErrServerClosed) {
			return ErrServerClosed
		}
		return fmt.Errorf("httpserver: serve: %w", err)
	case <-ctx.Done():
	case <-s.closed:
	}
	s.shutdown()
	<-served
	return ErrServerClosed
}

func (s *Server) serve(ln net.Listener) error {
	if s.cfg.TLS != nil {
		return s.hs.ServeTLS(ln, "", "")
	}
	return s.hs.Serve(ln)
}

// shutdown is net/http's Shutdown bounded by ShutdownTimeout, which also
// waits for hijacked connections and closes whatever is left at the end.
func (s *Server) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := s.hs.Shutdown(ctx); err == nil {
		s.waitConns(ctx)
	}
	_ = s.hs.Close()
	s.limiter.CloseTracked()
}

// waitConns waits until no connection is open or ctx is done.
func (s *Server) waitConns(ctx context.Context) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for s.Stats().Open > 0 {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Close makes Serve shut down as if its context had been cancelled. It
// returns at once; Serve returns when the shutdown is done. Close before
// Serve makes Serve return ErrServerClosed at once.
func (s *Server) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}

// RegisterOnShutdown registers f to be called, on its own goroutine, when
// the shutdown starts: WebSocket and long-poll handlers use it to end their
// exchanges before ShutdownTimeout closes the connections.
func (s *Server) RegisterOnShutdown(f func()) { s.hs.RegisterOnShutdown(f) }

// Stats returns the connection counters.
func (s *Server) Stats() Stats {
	st := s.limiter.Stats()
	return Stats{Open: st.Open, RefusedPerIP: st.RefusedPerIP, RefusedTotal: st.RefusedTotal}
}

// errorLog carries net/http's own error lines (TLS handshake failures,
// panics in handlers, Accept errors) to slog. They can quote what a client
// sent, so they are bounded; failed TLS handshakes, which any scanner
// causes at will, go to Debug and the rest to Warn.
type errorLog struct{ log *slog.Logger }

func (e errorLog) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	level := slog.LevelWarn
	if strings.HasPrefix(msg, "http: TLS handshake error") {
		level = slog.LevelDebug
	}
	e.log.Log(context.Background(), level, "httpserver: net/http", logstr.Attr("msg", msg))
	return len(p), nil
}
