//go:build linux

package sockio

import (
	"fmt"
	"io"
	"net"
	"net/netip"
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

// BenchmarkWriteFanout sends 1,200-byte datagrams to 500 loopback
// receivers in turn, 64 per sendmmsg(2), as a relay fans a packet out to
// its viewers: with a source address and interface on every datagram
// (IP_PKTINFO, what a socket bound to the wildcard address needs to
// answer from the address a peer reached) and without (a socket bound to
// one address): the same cost, so a Mux bound to one address may as well
// send it. The receivers do not read: the kernel drops what their
// buffers cannot hold, after the same work. One op is one sendmmsg of 64
// datagrams; ns/datagram divides by them.
func BenchmarkWriteFanout(b *testing.B) {
	const receivers, batch, size = 500, 64, 1200
	dsts := make([]netip.AddrPort, receivers)
	for i := range dsts {
		dsts[i] = addrPort(listenUDP(b, "udp4", "127.0.0.1:0"))
	}
	for _, pktinfo := range []bool{false, true} {
		b.Run(fmt.Sprintf("pktinfo=%v", pktinfo), func(b *testing.B) {
			bc, err := NewBatchConn(listenUDP(b, "udp4", "127.0.0.1:0"), BatchConfig{Size: batch})
			if err != nil {
				b.Fatal(err)
			}
			ms := NewMessages(batch, size)
			next := 0
			b.ReportAllocs()
			b.SetBytes(size)
			for b.Loop() {
				for i := range ms {
					ms[i].Buf = ms[i].Buf[:size]
					ms[i].Addr = dsts[next%receivers]
					if pktinfo {
						ms[i].Local = netip.MustParseAddr("127.0.0.1")
						ms[i].IfIndex = 1
					}
					next++
				}
				if _, err := bc.WriteBatch(ms); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/datagram")
		})
	}
}
