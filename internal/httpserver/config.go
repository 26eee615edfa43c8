package httpserver

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"time"
)

// Defaults of Config's fields. Each is sized for the endpoints that mount on
// this server: small JSON and SDP requests, long polls and WebSockets that
// extend their own deadlines (see the package overview).
const (
	// DefaultReadHeaderTimeout bounds the reading of a request's line and
	// header: 5 s is ample for any client on a real network and cuts a
	// slowloris client early.
	DefaultReadHeaderTimeout = 5 * time.Second
	// DefaultReadTimeout bounds the reading of a whole request, header and
	// body. A body at DefaultMaxBodyBytes arrives in about 8 s at 1 Mbit/s,
	// a slow mobile uplink; SDP offers and JSON bodies take milliseconds.
	DefaultReadTimeout = 15 * time.Second
	// DefaultWriteTimeout bounds the time from the end of a request's header
	// to the end of its response, handler included. A WHIP answer takes a
	// second or two to build; long polls call Extend.
	DefaultWriteTimeout = 15 * time.Second
	// DefaultIdleTimeout is how long a keep-alive connection waits for its
	// next request. Pages and signaling clients send their next request
	// within seconds; 30 s reclaims parked connections (about 18 KiB and one
	// goroutine each) well before nginx's 75 s would.
	DefaultIdleTimeout = 30 * time.Second
	// DefaultMaxHeaderBytes caps a request's line and header: 32 KiB, as
	// nginx's large_client_header_buffers (4 x 8 KiB). A SigV4-presigned
	// WebSocket URL with a session token is about 3 KiB.
	DefaultMaxHeaderBytes = 32 << 10
	// DefaultMaxBodyBytes caps a request body: 1 MiB, nginx's
	// client_max_body_size. An SDP offer is 5 to 20 KiB.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultMaxConnsPerIP caps the open connections from one IP address.
	// Browsers open up to 6 per host and offices share one address behind a
	// NAT, each viewer holding a WebSocket; 256 leaves room for that while
	// bounding what one host can park (256 x ~18 KiB).
	DefaultMaxConnsPerIP = 256
	// DefaultMaxConns caps the open connections of the whole server, 16,384:
	// above the 10,000 WebSockets of the signaling load test, and about
	// 300 MiB of parked connections at most.
	DefaultMaxConns = 16384
	// DefaultShutdownTimeout bounds a graceful shutdown: requests in flight
	// get 5 s to finish, then every connection still open is closed.
	DefaultShutdownTimeout = 5 * time.Second
)

// Config configures a Server. The zero value works: every zero field takes
// its DefaultXxx constant.
type Config struct {
	// Handler answers the requests. Nil answers 404 to every request.
	// Bodies reach it capped by LimitBody at MaxBodyBytes.
	Handler http.Handler

	// ReadHeaderTimeout bounds the reading of a request's header.
	// Zero means DefaultReadHeaderTimeout (5 s).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds the reading of a whole request, body included.
	// Zero means DefaultReadTimeout (15 s).
	ReadTimeout time.Duration
	// WriteTimeout bounds the time from the end of a request's header to the
	// end of its response; long polls call Extend. Zero means
	// DefaultWriteTimeout (15 s).
	WriteTimeout time.Duration
	// IdleTimeout bounds a keep-alive connection's wait for its next request.
	// Zero means DefaultIdleTimeout (30 s).
	IdleTimeout time.Duration
	// MaxHeaderBytes caps a request's line and header, in bytes.
	// Zero means DefaultMaxHeaderBytes (32 KiB).
	MaxHeaderBytes int
	// MaxBodyBytes caps a request's body, in bytes: reading a larger one
	// fails with an *http.MaxBytesError, answered with 413 (LimitBody). Zero means DefaultMaxBodyBytes (1 MiB); negative means no cap.
	MaxBodyBytes int64
	// MaxConnsPerIP caps the open connections from one IP address; a
	// connection over the cap is closed as soon as it is accepted, and
	// counted in Stats. Zero means DefaultMaxConnsPerIP (256); negative means
	// no cap (load tests, which all connect from loopback).
	MaxConnsPerIP int
	// MaxConns caps the open connections of the server, closed at accept as
	// MaxConnsPerIP. Zero means DefaultMaxConns (16,384); negative means no cap.
	MaxConns int
	// ShutdownTimeout bounds a graceful shutdown, after which every
	// connection still open, hijacked ones included, is closed.
	// Zero means DefaultShutdownTimeout (5 s).
	ShutdownTimeout time.Duration

	// TLS, when not nil, makes Serve speak HTTPS (HTTP/2 and HTTP/1.1 by
	// ALPN) on the listener it is given; it needs a certificate.
	TLS *tls.Config

	// Logger receives refused connections (Debug) and net/http's own error
	// lines (Warn), bounded by internal/logstr. Nil means slog.Default().
	Logger *slog.Logger
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	c.ReadHeaderTimeout = positiveOr(c.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	c.ReadTimeout = positiveOr(c.ReadTimeout, DefaultReadTimeout)
	c.WriteTimeout = positiveOr(c.WriteTimeout, DefaultWriteTimeout)
	c.IdleTimeout = positiveOr(c.IdleTimeout, DefaultIdleTimeout)
	c.MaxHeaderBytes = positiveOr(c.MaxHeaderBytes, DefaultMaxHeaderBytes)
	c.ShutdownTimeout = positiveOr(c.ShutdownTimeout, DefaultShutdownTimeout)
	c.MaxBodyBytes = zeroOr(c.MaxBodyBytes, DefaultMaxBodyBytes)
	c.MaxConnsPerIP = zeroOr(c.MaxConnsPerIP, DefaultMaxConnsPerIP)
	c.MaxConns = zeroOr(c.MaxConns, DefaultMaxConns)
	if c.Handler == nil {
		c.Handler = http.NotFoundHandler()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// positiveOr is v when it is positive, else def: for fields where a
// negative value has no meaning.
func positiveOr[T int | int64 | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// zeroOr is def when v is zero, else v: for caps where negative means none.
func zeroOr[T int | int64](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}
