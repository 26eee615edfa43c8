// Package connlimit caps a server's open connections, in total and per remote
// IP address, at accept: a connection over a cap is closed before the server
// spends a goroutine, a buffer or a handshake on it. internal/httpserver and
// rtmp.Server count their connections here, so that both refuse the same way
// and report the same counters.
//
// A Limiter only counts (Acquire, Release). Servers that hand accepted
// connections to code which must see their concrete type (rtmp reads
// *net.TCPConn through internal/sockio, and needs *tls.Conn as it is) call
// Acquire and Release themselves; servers that can take a wrapped connection
// (net/http) use Listener, whose connections give their slot back on Close
// and which Limiter.CloseTracked closes at shutdown.
package connlimit

import (
	"errors"
	"net"
	"net/netip"
	"sync"
)

// Errors of Acquire, Track and Listener's refusals. Test with errors.Is.
var (
	// ErrMaxConns: the server already holds MaxConns connections.
	ErrMaxConns = errors.New("connlimit: server connection cap reached")
	// ErrMaxConnsPerIP: the peer's address already holds MaxConnsPerIP
	// connections.
	ErrMaxConnsPerIP = errors.New("connlimit: per-IP connection cap reached")
)

// Stats are a Limiter's counters.
type Stats struct {
	// Open is the number of connections acquired and not yet released.
	Open int
	// RefusedPerIP counts the connections refused by MaxConnsPerIP.
	RefusedPerIP uint64
	// RefusedTotal counts the connections refused by MaxConns.
	RefusedTotal uint64
}

// Limiter counts open connections against two caps. Set the caps before
// the first Acquire; the zero Limiter has no caps and only counts. Its
// methods are safe for concurrent use.
type Limiter struct {
	// MaxConns caps the open connections; zero or negative means no cap.
	MaxConns int
	// MaxConnsPerIP caps the open connections of one remote IP address
	// (see RemoteIP); zero or negative means no cap.
	MaxConnsPerIP int

	mu           sync.Mutex
	open         int
	perIP        map[netip.Addr]int
	tracked      map[*Conn]struct{}
	refusedPerIP uint64
	refusedTotal uint64
}

// Acquire counts one more connection from ip, or returns ErrMaxConns or
// ErrMaxConnsPerIP (and counts the refusal) when that would pass a cap.
// Every nil return must be matched by one Release(ip).
func (l *Limiter) Acquire(ip netip.Addr) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.MaxConns > 0 && l.open >= l.MaxConns:
		l.refusedTotal++
		return ErrMaxConns
	case l.MaxConnsPerIP > 0 && l.perIP[ip] >= l.MaxConnsPerIP:
		l.refusedPerIP++
		return ErrMaxConnsPerIP
	}
	if l.perIP == nil {
		l.perIP = make(map[netip.Addr]int)
	}
	l.open++
	l.perIP[ip]++
	return nil
}

// Release gives back a connection from ip that Acquire admitted.
func (l *Limiter) Release(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.release(ip)
}

func (l *Limiter) release(ip netip.Addr) {
	l.open--
	if l.perIP[ip]--; l.perIP[ip] <= 0 {
		delete(l.perIP, ip)
	}
}

// Stats returns the counters.
func (l *Limiter) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return Stats{Open: l.open, RefusedPerIP: l.refusedPerIP, RefusedTotal: l.refusedTotal}
}

// RemoteIP is the key of the per-IP cap: the peer's address, IPv4-mapped
// IPv6 addresses folded into IPv4. A peer that is not TCP/IP (a Unix
// socket, a pipe in a test) gets the zero Addr, one bucket for all of them.
func RemoteIP(c net.Conn) netip.Addr {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}
