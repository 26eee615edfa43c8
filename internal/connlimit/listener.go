package connlimit

import (
	"net"
	"net/netip"
	"sync"
)

// Conn is a connection admitted by Track: it gives its slot back on its
// first Close, whoever calls it (net/http, or the handler that hijacked it).
type Conn struct {
	net.Conn
	l    *Limiter
	ip   netip.Addr
	once sync.Once
}

// Close closes the connection and releases its slot once.
func (c *Conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.tracked, c)
		c.l.release(c.ip)
		c.l.mu.Unlock()
	})
	return err
}

// Track acquires a slot for c (as Acquire with RemoteIP(c)) and returns c
// wrapped so that closing it releases the slot; CloseTracked closes it at
// shutdown. It returns ErrMaxConns or ErrMaxConnsPerIP, leaving c open,
// when a cap is reached.
func (l *Limiter) Track(c net.Conn) (*Conn, error) {
	ip := RemoteIP(c)
	if err := l.Acquire(ip); err != nil {
		return nil, err
	}
	tc := &Conn{Conn: c, l: l, ip: ip}
	l.mu.Lock()
	if l.tracked == nil {
		l.tracked = make(map[*Conn]struct{})
	}
	l.tracked[tc] = struct{}{}
	l.mu.Unlock()
	return tc, nil
}

// CloseTracked closes every connection returned by Track that is still
// open, hijacked ones included.
func (l *Limiter) CloseTracked() {
	l.mu.Lock()
	open := make([]*Conn, 0, len(l.tracked))
	for c := range l.tracked {
		open = append(open, c)
	}
	l.mu.Unlock()
	for _, c := range open {
		c.Close()
	}
}

// Listener admits the connections of its inner listener through Limiter:
// Accept returns them as *Conn, and closes those over a cap at once, after
// calling OnRefuse (if not nil) with the peer's address and ErrMaxConns or
// ErrMaxConnsPerIP.
type Listener struct {
	net.Listener
	// Limiter counts the admitted connections; it must not be nil.
	Limiter *Limiter
	// OnRefuse, if not nil, is told of each refused connection: the peer's
	// address (RemoteIP) and ErrMaxConns or ErrMaxConnsPerIP.
	OnRefuse func(ip netip.Addr, err error)
}

// Accept returns the next admitted connection, or the inner listener's
// error.
func (l Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		tc, err := l.Limiter.Track(c)
		if err == nil {
			return tc, nil
		}
		if l.OnRefuse != nil {
			l.OnRefuse(RemoteIP(c), err)
		}
		c.Close()
	}
}
