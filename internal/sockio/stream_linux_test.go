//go:build linux

package sockio

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// loopbackTCP returns both ends of a loopback TCP connection.
func loopbackTCP(t testing.TB) (server, client *net.TCPConn) {
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

func TestRawReads(t *testing.T) {
	s, c := loopbackTCP(t)
	r := RawReads(s)
	if _, ok := r.(*rawReadConn); !ok {
		t.Fatalf("RawReads(*net.TCPConn) = %T", r)
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
	if n, err := r.Read(nil); n != 0 || err != nil {
		t.Fatalf("empty read: %d, %v", n, err)
	}

	// Nothing to read: EAGAIN, then the deadline ends the wait in the
	// netpoller.
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
	if RawReads(p1) != p1 {
		t.Fatal("RawReads wrapped a non-TCP connection")
	}
}

func TestDupSendNonblock(t *testing.T) {
	s, c := loopbackTCP(t)
	fd, err := Dup(s)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	var vs Vectors

	// One buffer (send), then several with an empty one (writev).
	for _, bufs := range [][][]byte{{[]byte("abc")}, {[]byte("de"), nil, []byte("fgh")}, {nil}} {
		rest, err := fd.SendNonblock(bufs, &vs)
		if err != nil || rest != nil {
			t.Fatalf("SendNonblock = %q, %v", rest, err)
		}
	}
	got := make([]byte, 8)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "abcdefgh" {
		t.Fatalf("peer read %q, %v", got, err)
	}

	// A peer that does not read: the socket fills up (EAGAIN) and the rest
	// comes back without blocking.
	big := make([]byte, 1<<20)
	var rest [][]byte
	for i := 0; i < 256 && rest == nil; i++ {
		rest, err = fd.SendNonblock([][]byte{big}, &vs)
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
		_, err = fd.SendNonblock([][]byte{[]byte("x")}, &vs)
		time.Sleep(time.Millisecond)
	}
	if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("send to a reset connection: %v", err)
	}
	if err := fd.Close(); err != nil {
		t.Fatal(err)
	}
	var zero DupFD // must not touch descriptor 0
	if err := zero.Close(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("closing the zero DupFD: %v", err)
	}
	if _, err := zero.SendNonblock([][]byte{[]byte("x")}, &vs); !errors.Is(err, os.ErrClosed) {
		t.Errorf("sending on the zero DupFD: %v", err)
	}
}

// TestWriteBuffers: more buffers than one writev takes (IOV_MAX) and more
// bytes than the socket holds, to a peer that reads slowly: the write
// waits in the poller after EAGAIN and delivers everything in order.
func TestWriteBuffers(t *testing.T) {
	s, c := loopbackTCP(t)
	s.SetWriteBuffer(64 << 10)
	var bufs [][]byte
	var want []byte
	for i := range 3000 {
		b := bytes.Repeat([]byte{byte(i)}, 1+i%1500)
		if i%7 == 0 {
			b = nil // empty buffers are skipped
		}
		bufs = append(bufs, b)
		want = append(want, b...)
	}
	got := make(chan []byte, 1)
	go func() {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		time.Sleep(50 * time.Millisecond) // let the writer fill the socket first
		b, _ := io.ReadAll(io.LimitReader(c, int64(len(want))))
		got <- b
	}()
	var vs Vectors
	s.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := WriteBuffers(s, bufs, &vs); err != nil {
		t.Fatal(err)
	}
	if b := <-got; !bytes.Equal(b, want) {
		t.Fatalf("peer got %d bytes, want %d (equal prefix %v)", len(b), len(want), bytes.HasPrefix(want, b))
	}

	// A stalled peer: the write deadline ends the wait with a timeout.
	s.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	err := WriteBuffers(s, [][]byte{make([]byte, 32<<20)}, &vs)
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("write past deadline: %v", err)
	}
	// Closed: net.ErrClosed.
	s.Close()
	if err := WriteBuffers(s, [][]byte{[]byte("x")}, &vs); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
	// A reset by the peer is an *os.SyscallError inside a *net.OpError.
	s2, c2 := loopbackTCP(t)
	c2.SetLinger(0)
	c2.Close()
	time.Sleep(10 * time.Millisecond)
	err = nil
	for i := 0; i < 100 && err == nil; i++ {
		err = WriteBuffers(s2, [][]byte{[]byte("x"), []byte("y")}, &vs)
		time.Sleep(time.Millisecond)
	}
	var se *os.SyscallError
	if !errors.As(err, &se) || (!errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE)) {
		t.Fatalf("write to a reset connection: %v", err)
	}

	// Other connections go through net.Buffers.
	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	go io.Copy(io.Discard, p2)
	if err := WriteBuffers(p1, [][]byte{[]byte("a"), []byte("b")}, &vs); err != nil {
		t.Fatal(err)
	}
}

// TestWriteBuffersAllocs: the raw writev path allocates nothing once the
// Vectors knows the connection.
func TestWriteBuffersAllocs(t *testing.T) {
	s, c := loopbackTCP(t)
	go io.Copy(io.Discard, c)
	var vs Vectors
	bufs := [][]byte{make([]byte, 100), make([]byte, 1000), make([]byte, 10)}
	scratch := make([][]byte, len(bufs))
	write := func() {
		copy(scratch, bufs)
		if err := WriteBuffers(s, scratch, &vs); err != nil {
			t.Fatal(err)
		}
	}
	write()
	if a := testing.AllocsPerRun(200, write); a != 0 {
		t.Errorf("%v allocations per write, want 0", a)
	}
}
