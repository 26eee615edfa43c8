//go:build linux

package sockio

import (
	"fmt"
	"io"
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkWritev writes n buffers of 512 bytes to a loopback TCP
// connection whose peer drains it, three ways: WriteBuffers (raw writev
// through RawConn.Write, iovecs reused), unix.Writev inside RawConn.Write
// (it builds its iovec slice on every call), and net.Buffers.
func BenchmarkWritev(b *testing.B) {
	for _, n := range []int{3, 16} {
		bufs := make([][]byte, n)
		for i := range bufs {
			bufs[i] = make([]byte, 512)
		}
		scratch := make([][]byte, n)
		run := func(b *testing.B, write func(s *net.TCPConn, bufs [][]byte) error) {
			s, c := loopbackTCP(b)
			go io.Copy(io.Discard, c)
			b.ReportAllocs()
			b.SetBytes(int64(n * 512))
			for b.Loop() {
				copy(scratch, bufs)
				if err := write(s, scratch); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.Run(fmt.Sprintf("bufs=%d/sockio.WriteBuffers", n), func(b *testing.B) {
			var vs Vectors
			run(b, func(s *net.TCPConn, bufs [][]byte) error { return WriteBuffers(s, bufs, &vs) })
		})
		b.Run(fmt.Sprintf("bufs=%d/unix.Writev", n), func(b *testing.B) {
			var w unixWritev
			run(b, w.write)
		})
		b.Run(fmt.Sprintf("bufs=%d/net.Buffers", n), func(b *testing.B) {
			run(b, func(s *net.TCPConn, bufs [][]byte) error {
				nb := net.Buffers(bufs)
				_, err := nb.WriteTo(s)
				return err
			})
		})
	}
}

// unixWritev writes with unix.Writev inside RawConn.Write, with the
// callback bound once so that only unix.Writev's own allocations count.
type unixWritev struct {
	bufs [][]byte
	err  error
	fn   func(uintptr) bool
	conn *net.TCPConn
	rc   interface {
		Write(func(uintptr) bool) error
	}
}

func (w *unixWritev) write(s *net.TCPConn, bufs [][]byte) error {
	if w.conn != s {
		rc, err := s.SyscallConn()
		if err != nil {
			return err
		}
		w.conn, w.rc, w.fn = s, rc, w.writev
	}
	w.bufs, w.err = bufs, nil
	if err := w.rc.Write(w.fn); err != nil {
		return err
	}
	return w.err
}

func (w *unixWritev) writev(fd uintptr) bool {
	for len(w.bufs) > 0 {
		n, err := unix.Writev(int(fd), w.bufs)
		switch err {
		case nil:
		case unix.EAGAIN:
			return false
		case unix.EINTR:
			continue
		default:
			w.err = err
			return true
		}
		w.bufs = consume(w.bufs, n)
	}
	return true
}
