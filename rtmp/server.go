package rtmp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streamwire/streamwire/internal/connlimit"
	"github.com/streamwire/streamwire/rtmp/amf0"
)

// Errors a Handler returns to reject a publish or play; the server answers
// with the matching NetStream status (see Handler). Test with errors.Is.
var (
	// ErrUnauthorized: the request lacks a valid key or token
	// (NetStream.Publish.Unauthorized / NetStream.Play.Unauthorized).
	ErrUnauthorized = errors.New("rtmp: unauthorized")
	// ErrBadName: the stream name is invalid or already published
	// (NetStream.Publish.BadName).
	ErrBadName = errors.New("rtmp: bad stream name")
	// ErrStreamNotFound: nothing is published under the name
	// (NetStream.Play.StreamNotFound).
	ErrStreamNotFound = errors.New("rtmp: stream not found")
	// ErrServerClosed: Serve returns it after its context was cancelled
	// or Close was called; ServeConn and Serve return it after Close.
	ErrServerClosed = errors.New("rtmp: server closed")
	// ErrRejected: the peer answered a command with an error status; the
	// wrapping error carries its code.
	ErrRejected = errors.New("rtmp: rejected by peer")
	// ErrProtocol: the peer broke the command sequence (e.g. publish before
	// connect, too many streams).
	ErrProtocol = errors.New("rtmp: protocol violation")
)

// StreamRequest describes a publish or play request to a Handler.
type StreamRequest struct {
	// App is the application of connect, e.g. "live" (at most
	// MaxNameLength bytes).
	App string
	// TCURL is the tcUrl of connect, e.g. "rtmp://host/live" (at most
	// MaxNameLength bytes).
	TCURL string
	// Name is the stream name of publish or play without its query, e.g.
	// "cam1".
	Name string
	// Query is parsed from "name?key=..."; never nil.
	Query url.Values
	// PublishType is the publishing type of publish: "live", "record" or
	// "append" (§7.2.2.6); empty for play.
	PublishType string
	// RemoteAddr is the client's address.
	RemoteAddr net.Addr
	// Connect is the command object of connect as the client sent it
	// (flashVer, swfUrl, capabilities, fourCcList...).
	Connect amf0.Object
}

// Path returns "App/Name", the usual key of a live stream.
func (r *StreamRequest) Path() string { return r.App + "/" + r.Name }

// Handler decides what happens to publish and play requests. Return an error
// to reject: errors wrapping ErrUnauthorized, ErrBadName or
// ErrStreamNotFound select the NetStream status code sent to the client
// (any other error sends NetStream.Publish.BadName for publish and
// NetStream.Play.Failed for play); the connection is then closed.
//
// The client gets the code's standard description ("Publishing is not
// authorized.", "No such stream.", as FMS, SRS and nginx-rtmp word them),
// never the error's text, which may name internals (a key, a path, a
// database error); the full error goes to ServerConfig.Logger, bounded.
// To tell the client why, return or wrap a *StatusError: its Code, if
// set, replaces the one the sentinels select, and its Description, if
// set, is sent as it is, e.g.
//
//	return nil, &rtmp.StatusError{Code: rtmp.CodePublishUnauthorized, Description: "Stream key expired."}
//
// Both methods are called from the connection's read goroutine and should
// not block for long.
type Handler interface {
	Publish(ctx context.Context, req *StreamRequest) (MediaSink, error)
	Play(ctx context.Context, req *StreamRequest) (MediaSource, error)
}

// ServerConfig configures a Server. The zero value works, except that
// without a Handler every publish and play is rejected.
type ServerConfig struct {
	// Handler authorizes and serves publish and play requests. Nil
	// rejects every publish and play with NetStream.*.Unauthorized.
	Handler Handler
	// Handshake configures the handshake (digest handshake by default).
	// Its zero Timeout means DefaultHandshakeTimeout (10 s).
	Handshake HandshakeConfig
	// Reader limits what a client can make the server buffer, per
	// connection (see ReaderConfig.MaxBufferedBytes).
	Reader ReaderConfig
	// MaxBufferedBytes is the server-wide budget for reassembly buffers,
	// in bytes: all connections' partially received messages together
	// (each connection is also held to Reader.MaxBufferedBytes). Zero
	// means DefaultServerMaxBufferedBytes (512 MiB). A connection whose
	// next chunk would pass it is closed with ErrBudget.
	MaxBufferedBytes int64
	// IdleTimeout closes a connection that sends nothing for this long,
	// except while it plays (players may stay silent). Zero means
	// DefaultIdleTimeout (60 s).
	IdleTimeout time.Duration
	// WriteTimeout bounds each write. Zero means DefaultWriteTimeout
	// (30 s).
	WriteTimeout time.Duration
	// MaxStreams is the number of createStream calls allowed per
	// connection. Zero means DefaultMaxStreams (8).
	MaxStreams int
	// ChunkSize is announced with Set Chunk Size after connect, in bytes
	// (§5.4.1). Zero means DefaultAnnouncedChunkSize (4096, which is
	// SharedChunkSize); other values disable shared media chunks.
	ChunkSize uint32
	// WindowAckSize is the Window Acknowledgement Size sent after
	// connect, in bytes (§5.4.4). Zero means DefaultWindowAckSize
	// (2,500,000, as nginx-rtmp and SRS).
	WindowAckSize uint32
	// PeerBandwidth is the window of the Set Peer Bandwidth sent after
	// connect, in bytes (§5.4.5), with limit type dynamic. Zero means
	// DefaultPeerBandwidth (2,500,000, as nginx-rtmp and SRS).
	PeerBandwidth uint32
	// PlayWriteInterval, when positive, turns on merged writes: every
	// player is written once per interval (on one clock shared by the
	// server) with everything queued meanwhile, in one vectored write
	// (SRS's mw_latency). 0, the default, writes each message as soon as
	// it is published: plain TCP players directly from the publisher's
	// goroutine with non-blocking writes, like nginx-rtmp. Merged writes
	// add up to the interval to the latency and cut the server's CPU per
	// player about 2.3 times at 100 ms and 4 times at 350 ms (see
	// bench/rtmp_fanout_test.go).
	PlayWriteInterval time.Duration
	// MaxConns caps the connections Serve serves at once; one over the
	// cap is closed as soon as it is accepted (before the handshake),
	// counted in Stats and logged at Debug. Zero means DefaultMaxConns
	// (16,384); negative means no cap. Connections given to ServeConn
	// are not capped: their caller accepted them.
	MaxConns int
	// MaxConnsPerIP caps the connections Serve serves at once from one
	// IP address (IPv4-mapped IPv6 folded into IPv4), refused as
	// MaxConns. Zero or negative means no cap, the default because one
	// address legitimately holds many RTMP connections: an edge or relay
	// (nginx-rtmp's push, SRS's forward) pulls and pushes every stream
	// it carries over its own connection, a studio's encoders share one
	// NAT address, and load tests connect from loopback. Set it on a
	// server that only takes publishers from the Internet.
	MaxConnsPerIP int
	// Logger receives connection events. Nil means none. Client-supplied
	// strings in its lines are bounded with internal/logstr.
	Logger *slog.Logger
}

func (c ServerConfig) withDefaults() ServerConfig {
	if c.Handshake.Timeout == 0 {
		c.Handshake.Timeout = DefaultHandshakeTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.MaxStreams <= 0 {
		c.MaxStreams = DefaultMaxStreams
	}
	if c.ChunkSize == 0 {
		c.ChunkSize = DefaultAnnouncedChunkSize
	}
	if c.WindowAckSize == 0 {
		c.WindowAckSize = DefaultWindowAckSize
	}
	if c.PeerBandwidth == 0 {
		c.PeerBandwidth = DefaultPeerBandwidth
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MaxBufferedBytes <= 0 {
		c.MaxBufferedBytes = DefaultServerMaxBufferedBytes
	}
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	return c
}

// Server accepts RTMP connections (plain or TLS) and runs their sessions:
// connect, createStream, publish, play and the stream commands of the Adobe
// RTMP specification 1.0 §7.2, answered as nginx-rtmp and SRS answer them.
// The zero Server is a server with a zero ServerConfig (no Handler: every
// publish and play is rejected); NewServer sets the config.
type Server struct {
	cfg    ServerConfig
	clock  *flushClock   // merged writes; nil when PlayWriteInterval is 0
	budget *sharedBudget // cfg.MaxBufferedBytes, charged by every connection's reader
	// limiter holds cfg.MaxConns and cfg.MaxConnsPerIP for Serve.
	limiter       *connlimit.Limiter
	acceptRetries atomic.Uint64 // temporary accept errors waited out

	initOnce sync.Once
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	closed   bool
	done     chan struct{} // closed by Close
	wg       sync.WaitGroup
}

// NewServer returns a server with cfg.
func NewServer(cfg ServerConfig) *Server {
	s := &Server{cfg: cfg}
	s.init()
	return s
}

// init applies the config's defaults once, for NewServer and for a zero
// Server.
func (s *Server) init() {
	s.initOnce.Do(func() {
		s.cfg = s.cfg.withDefaults()
		s.conns = make(map[net.Conn]struct{})
		s.done = make(chan struct{})
		s.budget = &sharedBudget{limit: s.cfg.MaxBufferedBytes}
		s.cfg.Reader.shared = s.budget
		s.limiter = newLimiter(&s.cfg)
		if s.cfg.PlayWriteInterval > 0 {
			s.clock = newFlushClock(s.cfg.PlayWriteInterval)
		}
	})
}

// Close stops the server as net/http's Server.Close does: every Serve
// call closes its listener and returns ErrServerClosed, every connection
// is closed, and Close returns once their sessions have ended. Serve and
// ServeConn called after Close return ErrServerClosed at once.
func (s *Server) Close() error {
	s.init()
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
	s.mu.Unlock()
	s.closeAll()
	return nil
}

// ListenAndServe listens on the TCP address addr and serves RTMP until ctx
// is cancelled.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("rtmp: listen: %w", err)
	}
	return s.Serve(ctx, l)
}

// ListenAndServeTLS listens on addr and serves RTMPS (RTMP over TLS) with
// tlsConfig until ctx is cancelled.
func (s *Server) ListenAndServeTLS(ctx context.Context, addr string, tlsConfig *tls.Config) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("rtmp: listen: %w", err)
	}
	return s.Serve(ctx, tls.NewListener(l, tlsConfig))
}

// Serve accepts connections on l until ctx is cancelled, Close is called
// or l fails. It closes l, closes every connection it accepted, waits for
// their sessions to end, and returns ErrServerClosed after a cancellation
// or Close; any other failure of Accept is returned wrapped. A temporary
// accept error (out of descriptors: EMFILE, ENFILE; out of buffers:
// ENOBUFS, ENOMEM; ECONNABORTED; a time-out) does not stop it: as
// net/http's Server.Serve, it logs the error at Warn, waits 5 ms, doubling
// up to 1 s while the errors go on, and accepts again, serving the
// connections it has meanwhile. Connections over MaxConns or
// MaxConnsPerIP are closed at accept. A nil l returns ErrNilListener.
// Wrap l with tls.NewListener to serve RTMPS.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	if l == nil {
		return ErrNilListener
	}
	s.init()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-ctx.Done():
		case <-s.done:
			cancel()
		}
		l.Close()
	}()
	defer s.closeAll()
	var delay time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return ErrServerClosed
			}
			if !acceptRetry(err) {
				return fmt.Errorf("rtmp: accept: %w", err)
			}
			delay = nextAcceptDelay(delay)
			if !s.waitAccept(ctx, err, delay) {
				return ErrServerClosed
			}
			continue
		}
		delay = 0
		s.serveAccepted(ctx, nc)
	}
}

// serveAccepted serves nc on its own goroutine, if the caps admit it.
func (s *Server) serveAccepted(ctx context.Context, nc net.Conn) {
	ip, ok := s.admit(nc)
	if !ok {
		return
	}
	if !s.track(nc) {
		s.limiter.Release(ip)
		nc.Close()
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.limiter.Release(ip)
		defer s.untrack(nc)
		if err := s.ServeConn(ctx, nc); err != nil {
			s.cfg.Logger.Debug("rtmp: connection ended", "remote", nc.RemoteAddr().String(), errAttr(err))
		}
	}()
}

func (s *Server) track(nc net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[nc] = struct{}{}
	return true
}

func (s *Server) untrack(nc net.Conn) {
	s.mu.Lock()
	delete(s.conns, nc)
	s.mu.Unlock()
}

func (s *Server) closeAll() {
	s.mu.Lock()
	for nc := range s.conns {
		nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// ServeConn runs one RTMP session on nc (handshake included) until the peer
// leaves, a protocol error occurs, ctx is cancelled or Close is called,
// and closes nc. It returns nil when the peer closed the connection
// cleanly, ErrServerClosed after Close, and ErrNilConn for a nil nc.
func (s *Server) ServeConn(ctx context.Context, nc net.Conn) error {
	if nc == nil {
		return ErrNilConn
	}
	defer nc.Close()
	s.init()
	if !s.track(nc) {
		return ErrServerClosed
	}
	defer s.untrack(nc)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	if _, err := ServerHandshake(ctx, nc, s.cfg.Handshake); err != nil {
		return fmt.Errorf("rtmp: handshake with %v: %w", nc.RemoteAddr(), err)
	}
	ss := newServerSession(s, nc)
	return ss.run(ctx)
}

// parseStreamName splits "name?query" as ffmpeg and OBS send it.
func parseStreamName(raw string) (string, url.Values) {
	name, query, _ := strings.Cut(raw, "?")
	q, err := url.ParseQuery(query)
	if err != nil || q == nil {
		q = url.Values{}
	}
	return name, q
}
