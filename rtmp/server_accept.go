package rtmp

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/streamwire/streamwire/internal/connlimit"
)

// DefaultMaxConns caps the connections a Server serves at once
// (ServerConfig.MaxConns): 16,384, as internal/httpserver's. An idle RTMP
// connection costs a goroutine and a read buffer (about 10 KiB), a
// publisher at most its reassembly budget (DefaultMaxBufferedBytes, and all
// of them together DefaultServerMaxBufferedBytes), so the cap bounds what a
// flood of connections can hold to a few hundred MiB, above the few
// thousand streams one server process carries.
const DefaultMaxConns = 16384

// ErrNilListener: Serve was given a nil net.Listener.
var ErrNilListener = errors.New("rtmp: Serve: nil listener")

// ErrNilConn: ServeConn was given a nil net.Conn.
var ErrNilConn = errors.New("rtmp: ServeConn: nil connection")

// ServerStats are a Server's connection counters (Server.Stats).
type ServerStats struct {
	// Open is the number of connections served now, by Serve and by
	// ServeConn.
	Open int
	// RefusedTotal counts the connections that Serve closed at accept
	// because MaxConns connections were open.
	RefusedTotal uint64
	// RefusedPerIP counts the connections that Serve closed at accept
	// because their IP address had MaxConnsPerIP connections open.
	RefusedPerIP uint64
	// AcceptRetries counts the temporary accept errors (EMFILE, ENFILE,
	// ENOBUFS, ENOMEM, ECONNABORTED, time-outs) that Serve waited out.
	AcceptRetries uint64
}

// Stats returns the connection counters.
func (s *Server) Stats() ServerStats {
	s.init()
	lim := s.limiter.Stats()
	s.mu.Lock()
	open := len(s.conns)
	s.mu.Unlock()
	return ServerStats{Open: open, RefusedTotal: lim.RefusedTotal, RefusedPerIP: lim.RefusedPerIP,
		AcceptRetries: s.acceptRetries.Load()}
}

// newLimiter returns the connection caps of cfg (after withDefaults).
// connlimit reads zero and negative caps as none.
func newLimiter(cfg *ServerConfig) *connlimit.Limiter {
	return &connlimit.Limiter{MaxConns: cfg.MaxConns, MaxConnsPerIP: cfg.MaxConnsPerIP}
}

// acceptRetry and nextAcceptDelay are connlimit's RetryAccept and
// NextAcceptDelay, which judge temporary accept errors and pace the
// retries as net/http's Server.Serve does.
var (
	acceptRetry     = connlimit.RetryAccept
	nextAcceptDelay = connlimit.NextAcceptDelay
)

// waitAccept logs the temporary accept error err and waits d, or until
// ctx is done; it reports whether Serve may go on.
func (s *Server) waitAccept(ctx context.Context, err error, d time.Duration) bool {
	s.acceptRetries.Add(1)
	s.cfg.Logger.Warn("rtmp: accept failed; retrying", errAttr(err), "retry_in", d)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// admit acquires a connection slot for nc, or closes nc and reports false
// when a cap is reached. The caller releases the slot of an admitted nc.
func (s *Server) admit(nc net.Conn) (netip.Addr, bool) {
	ip := connlimit.RemoteIP(nc)
	err := s.limiter.Acquire(ip)
	if err == nil {
		return ip, true
	}
	nc.Close()
	capacity := s.cfg.MaxConns
	if errors.Is(err, connlimit.ErrMaxConnsPerIP) {
		capacity = s.cfg.MaxConnsPerIP
	}
	s.cfg.Logger.Debug("rtmp: connection refused", "remote", ip, "reason", err.Error(), "cap", capacity)
	return ip, false
}
