package httpserver

import (
	"net"
	"net/netip"
	"sync"
)

// capListener enforces the connection caps at accept: a connection over a cap
// is closed before net/http sees it, so it costs no goroutine, no buffer and
// no TLS handshake.
//
// nginx's limit_conn counts a connection only while it has a request in
// progress and answers the excess request 503: idle keep-alives, the fault
// this package exists for, are not counted there. coturn caps allocations
// (user-quota, total-quota, 486 Allocation Quota Reached), not connections.
// Counting every open connection, idle and hijacked ones included, is what
// bounds the memory one address can park here.
type capListener struct {
	net.Listener
	s *Server
}

func (l capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if tc := l.s.admit(c); tc != nil {
			return tc, nil
		}
		c.Close()
	}
}

// trackedConn gives its slot back when it is closed, by net/http or, for a
// hijacked connection, by the handler that took it over.
type trackedConn struct {
	net.Conn
	s    *Server
	ip   netip.Addr
	once sync.Once
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.s.release(c) })
	return err
}

// remoteIP is the key of the per-IP cap: the peer's address, IPv4-mapped
// IPv6 addresses folded into IPv4. A peer that is not TCP/IP (a Unix socket,
// a pipe in a test) gets the zero Addr, one bucket for all of them.
func remoteIP(c net.Conn) netip.Addr {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// admit counts c in and returns it tracked, or returns nil when a cap is
// reached.
func (s *Server) admit(c net.Conn) *trackedConn {
	ip := remoteIP(c)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.cfg.MaxConns > 0 && len(s.conns) >= s.cfg.MaxConns:
		s.refusedTotal++
		s.cfg.Logger.Debug("httpserver: connection refused: server cap", "remote", ip, "cap", s.cfg.MaxConns)
		return nil
	case s.cfg.MaxConnsPerIP > 0 && s.perIP[ip] >= s.cfg.MaxConnsPerIP:
		s.refusedPerIP++
		s.cfg.Logger.Debug("httpserver: connection refused: per-IP cap", "remote", ip, "cap", s.cfg.MaxConnsPerIP)
		return nil
	}
	tc := &trackedConn{Conn: c, s: s, ip: ip}
	s.perIP[ip]++
	s.conns[tc] = struct{}{}
	return tc
}

func (s *Server) release(c *trackedConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	if s.perIP[c.ip]--; s.perIP[c.ip] <= 0 {
		delete(s.perIP, c.ip)
	}
}

// closeConns closes every connection still open, hijacked ones included.
func (s *Server) closeConns() {
	s.mu.Lock()
	open := make([]*trackedConn, 0, len(s.conns))
	for c := range s.conns {
		open = append(open, c)
	}
	s.mu.Unlock()
	for _, c := range open {
		c.Close()
	}
}
