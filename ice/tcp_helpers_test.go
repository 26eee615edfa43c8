package ice

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/streamwire/streamwire/stun"
)

// startTCP serves ICE-TCP for m on a loopback listener until the test
// ends, and checks that ServeTCP then returns ErrServerClosed. It returns
// the listener's address.
func startTCP(t *testing.T, m *Mux) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.ServeTCP(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, ErrServerClosed) {
				t.Errorf("ServeTCP = %v, want ErrServerClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("ServeTCP did not return after cancel")
		}
	})
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

// startTCPMux is startMux with ICE-TCP served too; it returns the UDP and
// the TCP address.
func startTCPMux(t *testing.T, cfg MuxConfig) (*Mux, netip.AddrPort, netip.AddrPort) {
	t.Helper()
	m, udp := startMux(t, cfg)
	return m, udp, startTCP(t, m)
}

// dialTCP connects a test peer to the ICE-TCP listener at to, from the
// local address from when it is valid.
func dialTCP(t testing.TB, to netip.AddrPort, from netip.Addr) *net.TCPConn {
	t.Helper()
	var laddr *net.TCPAddr
	if from.IsValid() {
		laddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(from, 0))
	}
	c, err := net.DialTCP("tcp4", laddr, net.TCPAddrFromAddrPort(to))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func tcpAddrOf(c net.Conn) netip.AddrPort { return c.LocalAddr().(*net.TCPAddr).AddrPort() }

// frame returns the datagrams as RFC 4571 frames, back to back.
func frame(datagrams ...[]byte) []byte {
	var out []byte
	for _, d := range datagrams {
		out = appendFrame(out, d)
	}
	return out
}

// writeAll writes b to c or fails the test.
func writeAll(t testing.TB, c net.Conn, b []byte) {
	t.Helper()
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
}

// readFrameFrom reads the next RFC 4571 frame of c, waiting at most d; it
// returns nil with the error when none came.
func readFrameFrom(c net.Conn, d time.Duration) ([]byte, error) {
	_ = c.SetReadDeadline(time.Now().Add(d))
	var hdr [2]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return nil, err
	}
	b := make([]byte, binary.BigEndian.Uint16(hdr[:]))
	if _, err := io.ReadFull(c, b); err != nil {
		return nil, err
	}
	return b, nil
}

// mustReadFrame reads the next frame of c or fails the test.
func mustReadFrame(t testing.TB, c net.Conn) []byte {
	t.Helper()
	b, err := readFrameFrom(c, wait)
	if err != nil {
		t.Fatalf("reading a frame: %v", err)
	}
	return b
}

// readTCPSTUN reads the next frame of c and decodes it as STUN.
func readTCPSTUN(t testing.TB, c net.Conn) *stun.Message {
	t.Helper()
	b := mustReadFrame(t, c)
	var m stun.Message
	if err := m.Decode(b); err != nil {
		t.Fatalf("answer does not decode: %v", err)
	}
	if err := m.VerifyFingerprint(); err != nil {
		t.Fatalf("answer fingerprint: %v", err)
	}
	return &m
}

// checkTCP sends c's check framed on conn and returns the answer.
func checkTCP(t testing.TB, conn net.Conn, c check) *stun.Message {
	t.Helper()
	writeAll(t, conn, frame(c.build(t)))
	return readTCPSTUN(t, conn)
}

// mustClose checks that the server closes c within d: a read returns EOF
// or a reset, not a time-out, and nothing else arrives first.
func mustClose(t testing.TB, c net.Conn, d time.Duration) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	n, err := c.Read(make([]byte, 1))
	var ne net.Error
	if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("connection still open after %v: read %d, %v", d, n, err)
	}
}

// mustStayOpen checks that c is still open for d: a read times out.
func mustStayOpen(t testing.TB, c net.Conn, d time.Duration) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	n, err := c.Read(make([]byte, 1))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read %d, %v; want the connection open and silent", n, err)
	}
}

// readSession reads the next datagram of s within wait.
func readSession(t testing.TB, s *Session) ([]byte, netip.AddrPort) {
	t.Helper()
	buf := make([]byte, 70000)
	_ = s.SetReadDeadline(time.Now().Add(wait))
	n, from, err := s.ReadPacket(buf)
	if err != nil {
		t.Fatalf("session Read: %v", err)
	}
	return buf[:n], from
}

// assertPath checks the session's selected path: its address, transport
// ("udp" or "tcp") and nomination.
func assertPath(t testing.TB, s *Session, addr netip.AddrPort, network string, nominated bool) {
	t.Helper()
	got, nom, ok := s.Selected()
	if !ok || got != addr || nom != nominated {
		t.Fatalf("Selected = %v nominated=%v ok=%v, want %v nominated=%v", got, nom, ok, addr, nominated)
	}
	if ra := s.RemoteAddr(); ra == nil || ra.Network() != network || ra.String() != addr.String() {
		t.Fatalf("RemoteAddr = %v, want %s %v", ra, network, addr)
	}
}

// streamConn is a net.Conn over an in-memory stream, for driving a
// tcpConn without a socket: reads come from r, writes go to w.
type streamConn struct {
	r      io.Reader
	w      io.Writer
	closed bool
}

var streamPeer = netip.MustParseAddrPort("192.0.2.7:50000")

func (c *streamConn) Read(b []byte) (int, error)  { return c.r.Read(b) }
func (c *streamConn) Write(b []byte) (int, error) { return c.w.Write(b) }
func (c *streamConn) Close() error                { c.closed = true; return nil }
func (c *streamConn) LocalAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 443}
}
func (c *streamConn) RemoteAddr() net.Addr             { return net.TCPAddrFromAddrPort(streamPeer) }
func (c *streamConn) SetDeadline(time.Time) error      { return nil }
func (c *streamConn) SetReadDeadline(time.Time) error  { return nil }
func (c *streamConn) SetWriteDeadline(time.Time) error { return nil }
