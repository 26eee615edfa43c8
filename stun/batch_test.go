package stun

import (
	"net"
	"net/netip"
	"testing"
	"time"
)

// TestBatchFlushSkipsRefused: a response the kernel refuses (here an IPv6
// destination on an IPv4 socket) is dropped, and the responses queued
// around it still go out.
func TestBatchFlushSkipsRefused(t *testing.T) {
	srv := listenUDP(t, "udp4", "127.0.0.1:0")
	cl := listenUDP(t, "udp4", "127.0.0.1:0")
	b, ok := newBatchConn(srv, 4, 64)
	if !ok {
		t.Fatal("recvmmsg batching unavailable on this platform")
	}
	m := b.(*mmsgBatch)
	to := cl.LocalAddr().(*net.UDPAddr).AddrPort()
	m.in[0].Addr = to
	m.in[1].Addr = netip.MustParseAddrPort("[2001:db8::1]:3478")
	for _, q := range []struct {
		datagram int
		resp     string
	}{{0, "first"}, {1, "refused"}, {0, "second"}} {
		b.QueueResponse(q.datagram, append(b.ResponseBuffer(), q.resp...))
	}
	if err := b.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	buf := make([]byte, 64)
	cl.SetReadDeadline(time.Now().Add(5 * time.Second))
	for _, want := range []string{"first", "second"} {
		n, err := cl.Read(buf)
		if err != nil || string(buf[:n]) != want {
			t.Fatalf("read %q, %v; want %q", buf[:n], err, want)
		}
	}
}
