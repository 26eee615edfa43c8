//go:build linux

package rtmp

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// loopbackTCP returns both ends of a loopback TCP connection.
func loopbackTCP(t *testing.T) (server, client *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); c.Close() })
	return s.(*net.TCPConn), c.(*net.TCPConn)
}

func TestRawReadConn(t *testing.T) {
	s, c := loopbackTCP(t)
	r := rawReads(s)
	if _, ok := r.(*rawReadConn); !ok {
		t.Fatalf("rawReads(*net.TCPConn) = %T", r)
	}
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	r.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := io.ReadAtLeast(r, buf, 5)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}

	// Nothing to read: the deadline ends the wait in the netpoller.
	r.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, err = r.Read(buf)
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read past deadline: %v", err)
	}

	// The peer closes: io.EOF, as net.TCPConn reports it.
	r.SetReadDeadline(time.Now().Add(5 * time.Second))
	c.Close()
	if _, err := r.Read(buf); err != io.EOF {
		t.Fatalf("read after peer close: %v, want io.EOF", err)
	}
	// Our side closed: net.ErrClosed.
	s.Close()
	if _, err := r.Read(buf); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read after close: %v, want net.ErrClosed", err)
	}

	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	if rawReads(p1) != p1 {
		t.Fatal("rawReads wrapped a non-TCP connection")
	}
}

func TestSendNonblock(t *testing.T) {
	s, c := loopbackTCP(t)
	fd, err := dupConn(s)
	if err != nil {
		t.Fatal(err)
	}
	defer closeDup(fd)
	var iov []syscall.Iovec

	// One buffer (send), then several with an empty one (writev).
	for _, bufs := range [][][]byte{{[]byte("abc")}, {[]byte("de"), nil, []byte("fgh")}} {
		rest, err := sendNonblock(fd, bufs, &iov)
		if err != nil || rest != nil {
			t.Fatalf("sendNonblock = %q, %v", rest, err)
		}
	}
	got := make([]byte, 8)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "abcdefgh" {
		t.Fatalf("peer read %q, %v", got, err)
	}

	// A peer that does not read: the socket fills up and the rest comes
	// back without blocking.
	big := make([]byte, 1<<20)
	var rest [][]byte
	for i := 0; i < 256 && rest == nil; i++ {
		rest, err = sendNonblock(fd, [][]byte{big}, &iov)
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(rest) != 1 || len(rest[0]) == 0 || len(rest[0]) > len(big) {
		t.Fatalf("full socket: rest %d buffers", len(rest))
	}

	// A reset connection reports an error.
	c.SetLinger(0)
	c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for err == nil && time.Now().Before(deadline) {
		_, err = sendNonblock(fd, [][]byte{[]byte("x")}, &iov)
		time.Sleep(time.Millisecond)
	}
	if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("send to a reset connection: %v", err)
	}
}
