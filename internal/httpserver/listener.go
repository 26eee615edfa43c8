package httpserver

import (
	"errors"
	"net"
	"net/netip"

	"github.com/streamwire/streamwire/internal/connlimit"
)

// capListener enforces the connection caps at accept (internal/connlimit): a
// connection over a cap is closed before net/http sees it, so it costs no
// goroutine, no buffer and no TLS handshake.
//
// nginx's limit_conn counts a connection only while it has a request in
// progress and answers the excess request 503: idle keep-alives, the fault
// this package exists for, are not counted there. coturn caps allocations
// (user-quota, total-quota, 486 Allocation Quota Reached), not connections.
// Counting every open connection, idle and hijacked ones included, is what
// bounds the memory one address can park here.
func (s *Server) capListener(ln net.Listener) net.Listener {
	return connlimit.Listener{Listener: ln, Limiter: s.limiter, OnRefuse: s.refused}
}

// refused logs a connection closed at accept.
func (s *Server) refused(ip netip.Addr, err error) {
	if errors.Is(err, connlimit.ErrMaxConns) {
		s.cfg.Logger.Debug("httpserver: connection refused: server cap", "remote", ip, "cap", s.cfg.MaxConns)
		return
	}
	s.cfg.Logger.Debug("httpserver: connection refused: per-IP cap", "remote", ip, "cap", s.cfg.MaxConnsPerIP)
}
