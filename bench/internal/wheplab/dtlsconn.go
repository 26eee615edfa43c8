//go:build linux

package wheplab

import (
	"net"
	"sync"
	"time"

	"github.com/pion/transport/v4/deadline"
	"golang.org/x/sys/unix"
)

// dtlsConn is the net.Conn the DTLS handshake runs on: reads take the
// records the viewer's shard forwards, writes go straight to the socket.
// Closing it leaves the socket to the viewer.
type dtlsConn struct {
	v         *viewer
	rd        *deadline.Deadline
	closed    chan struct{}
	closeOnce sync.Once
}

func newDTLSConn(v *viewer) *dtlsConn {
	return &dtlsConn{v: v, rd: deadline.New(), closed: make(chan struct{})}
}

// timeoutError is the read deadline's error: a net.Error that times out.
type timeoutError struct{}

func (timeoutError) Error() string   { return "wheplab: read deadline exceeded" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

func (c *dtlsConn) Read(b []byte) (int, error) {
	select {
	case p := <-c.v.dtlsIn:
		return copy(b, p), nil
	case <-c.rd.Done():
		return 0, timeoutError{}
	case <-c.closed:
		return 0, net.ErrClosed
	}
}

func (c *dtlsConn) Write(b []byte) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	if err := unix.Sendto(c.v.fd, b, 0, c.v.sa); err != nil {
		return 0, &net.OpError{Op: "write", Net: "udp", Err: err}
	}
	return len(b), nil
}

func (c *dtlsConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return nil
}

func (c *dtlsConn) LocalAddr() net.Addr  { return net.UDPAddrFromAddrPort(c.v.local) }
func (c *dtlsConn) RemoteAddr() net.Addr { return net.UDPAddrFromAddrPort(c.v.remote) }

func (c *dtlsConn) SetDeadline(t time.Time) error     { return c.SetReadDeadline(t) }
func (c *dtlsConn) SetReadDeadline(t time.Time) error { c.rd.Set(t); return nil }

// SetWriteDeadline does nothing: writes do not block (the socket is
// non-blocking and a full buffer fails the write).
func (c *dtlsConn) SetWriteDeadline(time.Time) error { return nil }
