package connlimit

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
)

var (
	ipA = netip.MustParseAddr("192.0.2.1")
	ipB = netip.MustParseAddr("192.0.2.2")
)

// TestCaps: the total and per-IP caps refuse with their sentinels, count
// the refusals, and admit again after a Release.
func TestCaps(t *testing.T) {
	l := &Limiter{MaxConns: 3, MaxConnsPerIP: 2}
	for i, ip := range []netip.Addr{ipA, ipA} {
		if err := l.Acquire(ip); err != nil {
			t.Fatalf("acquire %d: %v", i, err)
		}
	}
	if err := l.Acquire(ipA); !errors.Is(err, ErrMaxConnsPerIP) {
		t.Fatalf("third from one IP: %v, want ErrMaxConnsPerIP", err)
	}
	if err := l.Acquire(ipB); err != nil {
		t.Fatalf("first from another IP: %v", err)
	}
	if err := l.Acquire(ipB); !errors.Is(err, ErrMaxConns) {
		t.Fatalf("fourth in all: %v, want ErrMaxConns", err)
	}
	if got, want := l.Stats(), (Stats{Open: 3, RefusedPerIP: 1, RefusedTotal: 1}); got != want {
		t.Fatalf("stats %+v, want %+v", got, want)
	}
	l.Release(ipA)
	if err := l.Acquire(ipA); err != nil {
		t.Fatalf("after a release: %v", err)
	}
	l.Release(ipA)
	l.Release(ipA)
	l.Release(ipB)
	if st := l.Stats(); st.Open != 0 || len(l.perIP) != 0 {
		t.Fatalf("after releasing all: %+v, %d per-IP entries left", st, len(l.perIP))
	}
}

// TestZeroLimiter: no caps, only counts; negative caps mean none too.
func TestZeroLimiter(t *testing.T) {
	for _, l := range []*Limiter{{}, {MaxConns: -1, MaxConnsPerIP: -1}} {
		for i := 0; i < 1000; i++ {
			if err := l.Acquire(ipA); err != nil {
				t.Fatal(err)
			}
		}
		if st := l.Stats(); st.Open != 1000 {
			t.Fatalf("stats %+v", st)
		}
	}
}

// TestConcurrent: the counts hold under concurrent Acquire and Release
// (run with -race).
func TestConcurrent(t *testing.T) {
	l := &Limiter{MaxConns: 50, MaxConnsPerIP: 50}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				if l.Acquire(ipA) == nil {
					l.Release(ipA)
				}
			}
		}()
	}
	wg.Wait()
	if st := l.Stats(); st.Open != 0 {
		t.Fatalf("open %d after all released", st.Open)
	}
}

// TestRemoteIP folds IPv4-mapped addresses and gives non-IP peers the zero
// Addr.
func TestRemoteIP(t *testing.T) {
	c := fakeConn{remote: &net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.1"), Port: 1}}
	if got := RemoteIP(c); got != ipA {
		t.Errorf("RemoteIP(mapped) = %v, want %v", got, ipA)
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if got := RemoteIP(a); got.IsValid() {
		t.Errorf("RemoteIP(pipe) = %v, want the zero Addr", got)
	}
}

// TestListener: over-cap connections are closed at accept and reported to
// OnRefuse; admitted ones give their slot back on their first Close only;
// CloseTracked closes what is still open.
func TestListener(t *testing.T) {
	lim := &Limiter{MaxConnsPerIP: 1}
	var refused []error
	inner := &queueListener{conns: []*fakeConn{newFake(ipA), newFake(ipA), newFake(ipB)}}
	ln := Listener{Listener: inner, Limiter: lim, OnRefuse: func(ip netip.Addr, err error) {
		if ip != ipA {
			t.Errorf("refused %v", ip)
		}
		refused = append(refused, err)
	}}
	c1, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c2, err := ln.Accept() // the second from ipA is refused, ipB's returned
	if err != nil {
		t.Fatal(err)
	}
	if RemoteIP(c2) != ipB {
		t.Fatalf("second Accept returned a conn from %v, want %v", RemoteIP(c2), ipB)
	}
	if len(refused) != 1 || !errors.Is(refused[0], ErrMaxConnsPerIP) || !inner.conns[1].isClosed() {
		t.Fatalf("refused %v, second conn closed %v", refused, inner.conns[1].isClosed())
	}
	c1.Close()
	c1.Close() // a second Close releases nothing more
	if st := lim.Stats(); st.Open != 1 {
		t.Fatalf("open %d after closing one of two, twice", st.Open)
	}
	lim.CloseTracked()
	if !inner.conns[2].isClosed() || lim.Stats().Open != 0 {
		t.Fatalf("CloseTracked left %d open", lim.Stats().Open)
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept on an empty inner listener: %v", err)
	}
}

type fakeConn struct {
	net.Conn
	remote net.Addr
	mu     *sync.Mutex
	closed *bool
}

func newFake(ip netip.Addr) *fakeConn {
	return &fakeConn{remote: net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, 1935)), mu: new(sync.Mutex), closed: new(bool)}
}

func (c fakeConn) RemoteAddr() net.Addr { return c.remote }
func (c fakeConn) Close() error {
	c.mu.Lock()
	*c.closed = true
	c.mu.Unlock()
	return nil
}
func (c *fakeConn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return *c.closed
}

// queueListener returns its connections in order, then net.ErrClosed.
type queueListener struct {
	net.Listener
	conns []*fakeConn
	next  int
}

func (l *queueListener) Accept() (net.Conn, error) {
	if l.next == len(l.conns) {
		return nil, net.ErrClosed
	}
	l.next++
	return l.conns[l.next-1], nil
}
