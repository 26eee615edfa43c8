package dtlssrtp

import (
	"net"
	"os"
	"sync"
	"time"
)

// This file holds the in-memory transport the handshake tests run on: a
// pair of datagram endpoints, each demultiplexing what it receives with
// Classify the way an ICE socket would, into a DTLS net.Conn (given to
// Handshake) and a media queue (RTP and RTCP, read by the test).

const pipeQueue = 256

// pipeEnd is one side of a pipe.
type pipeEnd struct {
	dtls  *dgramConn  // DTLS view: what Handshake reads and writes
	media chan []byte // SRTP and SRTCP received from the peer
	peer  *pipeEnd

	mu      sync.Mutex
	dropped int // datagrams no class claimed, or a full queue
}

// newPipe returns two connected ends.
func newPipe() (a, b *pipeEnd) {
	a = &pipeEnd{media: make(chan []byte, pipeQueue)}
	b = &pipeEnd{media: make(chan []byte, pipeQueue)}
	a.peer, b.peer = b, a
	a.dtls = newDgramConn(a, "a", "b")
	b.dtls = newDgramConn(b, "b", "a")
	return a, b
}

// send delivers one datagram to the peer, demultiplexed by its first byte
// (RFC 7983). Like UDP it never blocks: a full queue drops the datagram.
func (e *pipeEnd) send(p []byte) {
	p = append([]byte(nil), p...)
	var q chan []byte
	switch Classify(p) {
	case ClassDTLS:
		q = e.peer.dtls.in
	case ClassRTP, ClassRTCP:
		q = e.peer.media
	}
	if q != nil {
		select {
		case q <- p:
			return
		default:
		}
	}
	e.peer.mu.Lock()
	e.peer.dropped++
	e.peer.mu.Unlock()
}

// recvMedia waits up to d for an SRTP or SRTCP datagram.
func (e *pipeEnd) recvMedia(d time.Duration) ([]byte, bool) {
	select {
	case p := <-e.media:
		return p, true
	case <-time.After(d):
		return nil, false
	}
}

// dgramConn is a net.Conn over a datagram queue, with working read
// deadlines, as pion/dtls needs to cancel its reads.
type dgramConn struct {
	end           *pipeEnd
	in            chan []byte
	local, remote pipeAddr

	mu       sync.Mutex
	deadline time.Time
	changed  chan struct{} // closed when deadline changes
	closed   chan struct{}
	once     sync.Once
}

func newDgramConn(end *pipeEnd, local, remote string) *dgramConn {
	return &dgramConn{
		end: end, in: make(chan []byte, pipeQueue),
		local: pipeAddr(local), remote: pipeAddr(remote),
		changed: make(chan struct{}), closed: make(chan struct{}),
	}
}

func (c *dgramConn) Read(b []byte) (int, error) {
	for {
		c.mu.Lock()
		dl, changed := c.deadline, c.changed
		c.mu.Unlock()
		n, retry, err := c.readOnce(b, dl, changed)
		if !retry {
			return n, err
		}
	}
}

func (c *dgramConn) readOnce(b []byte, dl time.Time, changed chan struct{}) (n int, retry bool, err error) {
	var expired <-chan time.Time
	if !dl.IsZero() {
		d := time.Until(dl)
		if d <= 0 {
			return 0, false, os.ErrDeadlineExceeded
		}
		t := time.NewTimer(d)
		defer t.Stop()
		expired = t.C
	}
	select {
	case p := <-c.in:
		return copy(b, p), false, nil
	case <-c.closed:
		return 0, false, net.ErrClosed
	case <-expired:
		return 0, false, os.ErrDeadlineExceeded
	case <-changed:
		return 0, true, nil
	}
}

func (c *dgramConn) Write(b []byte) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	c.end.send(b)
	return len(b), nil
}

func (c *dgramConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

func (c *dgramConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	return nil
}

func (c *dgramConn) SetDeadline(t time.Time) error { return c.SetReadDeadline(t) }

// SetWriteDeadline is a no-op: writes never block.
func (c *dgramConn) SetWriteDeadline(time.Time) error { return nil }

func (c *dgramConn) LocalAddr() net.Addr  { return c.local }
func (c *dgramConn) RemoteAddr() net.Addr { return c.remote }

type pipeAddr string

func (a pipeAddr) Network() string { return "pipe" }
func (a pipeAddr) String() string  { return string(a) }

// udpConn is a net.Conn over a loopback UDP socket that talks to one peer
// and ignores datagrams from anyone else.
type udpConn struct {
	*net.UDPConn
	peer *net.UDPAddr
}

func (c *udpConn) Read(b []byte) (int, error) {
	for {
		n, from, err := c.ReadFromUDP(b)
		if err != nil {
			return n, err
		}
		if from.AddrPort() == c.peer.AddrPort() {
			return n, nil
		}
	}
}

func (c *udpConn) Write(b []byte) (int, error) { return c.WriteToUDP(b, c.peer) }
func (c *udpConn) RemoteAddr() net.Addr        { return c.peer }
