package peer

import (
	"net"
	"os"
	"sync"
	"time"

	"github.com/streamwire/streamwire/ice"
	"github.com/streamwire/streamwire/internal/deadline"
)

// dtlsQueueLen bounds the DTLS records waiting for pion/dtls's reader: a
// handshake flight is a few records, so more means a flood, and the
// newest are dropped as a full socket buffer drops them.
const dtlsQueueLen = 32

// dtlsConn is the net.Conn that dtlssrtp.Handshake runs on: it yields
// only the DTLS records the read loop hands it (RFC 7983) and writes to
// the ICE session. DTLS is rare after the handshake, so each record is
// copied into a buffer of its own.
type dtlsConn struct {
	ice     *ice.Session
	in      chan []byte
	closed  chan struct{}
	once    sync.Once
	readDL  deadline.Deadline
	writeDL deadline.Deadline
}

func newDTLSConn(s *ice.Session) *dtlsConn {
	return &dtlsConn{ice: s, in: make(chan []byte, dtlsQueueLen), closed: make(chan struct{})}
}

// deliver queues a copy of the record b for Read; it never blocks.
func (c *dtlsConn) deliver(b []byte) {
	select {
	case c.in <- append([]byte(nil), b...):
	default:
	}
}

// Read returns the next DTLS record, truncated to len(b) as a datagram is.
func (c *dtlsConn) Read(b []byte) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	select {
	case r := <-c.in:
		return copy(b, r), nil
	case <-c.closed:
		return 0, net.ErrClosed
	case <-c.readDL.Wait():
		return 0, os.ErrDeadlineExceeded
	}
}

// Write sends one DTLS record to the selected ICE pair.
func (c *dtlsConn) Write(b []byte) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	case <-c.writeDL.Wait():
		return 0, os.ErrDeadlineExceeded
	default:
	}
	return c.ice.Write(b)
}

// Close stops Read and Write; the ICE session stays, the Peer closes it.
func (c *dtlsConn) Close() error {
	c.once.Do(func() {
		close(c.closed)
		c.readDL.Stop()
		c.writeDL.Stop()
	})
	return nil
}

func (c *dtlsConn) LocalAddr() net.Addr  { return c.ice.LocalAddr() }
func (c *dtlsConn) RemoteAddr() net.Addr { return c.ice.RemoteAddr() }

func (c *dtlsConn) SetDeadline(t time.Time) error {
	c.readDL.Set(t)
	c.writeDL.Set(t)
	return nil
}

func (c *dtlsConn) SetReadDeadline(t time.Time) error {
	c.readDL.Set(t)
	return nil
}

func (c *dtlsConn) SetWriteDeadline(t time.Time) error {
	c.writeDL.Set(t)
	return nil
}
