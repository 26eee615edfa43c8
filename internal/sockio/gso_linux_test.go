//go:build linux

package sockio

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// gsoOut returns datagrams of the given lengths to dst, each filled with
// a byte of its own, appended to ms.
func gsoOut(ms []Message, dst netip.AddrPort, lengths ...int) []Message {
	for _, l := range lengths {
		ms = append(ms, Message{Buf: bytes.Repeat([]byte{byte(len(ms))}, l), Addr: dst})
	}
	return ms
}

func TestSegments(t *testing.T) {
	a := netip.MustParseAddrPort("127.0.0.1:1")
	b := netip.MustParseAddrPort("127.0.0.1:2")
	for _, c := range []struct {
		name string
		ms   []Message
		want int
	}{
		{"one", gsoOut(nil, a, 1200), 1},
		{"equal", gsoOut(nil, a, 1200, 1200, 1200), 3},
		{"shorter last", gsoOut(gsoOut(nil, a, 1200, 1200, 300), a, 300), 3},
		{"longer next", gsoOut(nil, a, 500, 600), 1},
		{"empty first", gsoOut(nil, a, 0, 0), 1},
		{"empty next", gsoOut(nil, a, 10, 0), 1},
		{"other destination", gsoOut(gsoOut(nil, a, 1200, 1200), b, 1200), 2},
		{"other source", append(gsoOut(nil, a, 100), Message{Buf: make([]byte, 100), Addr: a, Local: netip.MustParseAddr("127.0.0.1")}), 1},
		{"other interface", append(gsoOut(nil, a, 100), Message{Buf: make([]byte, 100), Addr: a, IfIndex: 1}), 1},
		{"bytes bound", gsoOut(nil, a, 30000, 30000, 30000), 2},
	} {
		if got := segments(c.ms); got != c.want {
			t.Errorf("%s: segments = %d, want %d", c.name, got, c.want)
		}
	}
}

// TestBatchGSO: with GSO, datagrams to two destinations, in runs that
// segment, that do not, and that are longer than a GSO send or a ring of
// headers takes, each reach their destination whole and in order, in
// fewer headers than datagrams.
func TestBatchGSO(t *testing.T) {
	srvA := listenUDP(t, "udp4", "127.0.0.1:0")
	srvB := listenUDP(t, "udp4", "127.0.0.1:0")
	cl := listenUDP(t, "udp4", "127.0.0.1:0")
	b, err := NewBatchConn(cl, BatchConfig{Size: 16, GSO: true})
	if err != nil {
		t.Fatal(err)
	}
	if !b.io.(*mmsgConn).gso {
		t.Fatal("GSO not taken by this kernel (UDP_SEGMENT, Linux 4.18)")
	}
	a, bb := addrPort(srvA), addrPort(srvB)
	out := gsoOut(nil, a, 1200, 1200, 1200, 300, 100)
	out = gsoOut(out, bb, 500, 600, 600, 600, 0, 7)
	lots := make([]int, 70)
	for i := range lots {
		lots[i] = 1000
	}
	out = gsoOut(out, a, lots...)
	out = gsoOut(out, bb, 9)

	// The first ring: 16 headers' worth of iovecs holds 16 datagrams, in
	// headers of 4, 1 (to a), 1, 3, 1, 1 (to b), and 5 (a's first 5 of
	// 1,000 bytes).
	m := b.io.(*mmsgConn)
	if h, d, err := m.pack(out, false); h != 7 || d != 16 || err != nil {
		t.Fatalf("pack = %d headers, %d datagrams, %v; want 7, 16", h, d, err)
	}
	n, err := b.WriteBatch(out)
	if n != len(out) || err != nil {
		t.Fatalf("WriteBatch = %d, %v; want %d", n, err, len(out))
	}
	for i, msg := range out {
		if msg.N != len(msg.Buf) {
			t.Fatalf("datagram %d: N = %d, want %d", i, msg.N, len(msg.Buf))
		}
	}
	checkReceived(t, srvA, out)
	checkReceived(t, srvB, out)
}

// checkReceived reads at srv the datagrams of out sent to it and checks
// that they came whole and in order.
func checkReceived(t *testing.T, srv *net.UDPConn, out []Message) {
	t.Helper()
	var want [][]byte
	for _, m := range out {
		if m.Addr == addrPort(srv) {
			want = append(want, m.Buf)
		}
	}
	rb, err := NewBatchConn(srv, BatchConfig{})
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, srv, rb, NewMessages(16, 2048), len(want))
	for i := range want {
		if !bytes.Equal(got[i].Buf, want[i]) {
			t.Fatalf("at %v, datagram %d: %d bytes of %x, want %d of %x", addrPort(srv), i,
				len(got[i].Buf), got[i].Buf[:min(1, len(got[i].Buf))], len(want[i]), want[i][:min(1, len(want[i]))])
		}
	}
}

// TestBatchGSORefused: when the kernel refuses a GSO send (here with
// EINVAL, as for a socket without UDP checksums, SO_NO_CHECK; a path
// whose MTU a segment exceeds gets the same), WriteBatch sends the
// datagrams one by one, and they all arrive.
func TestBatchGSORefused(t *testing.T) {
	srv := listenUDP(t, "udp4", "127.0.0.1:0")
	cl := listenUDP(t, "udp4", "127.0.0.1:0")
	rc, err := cl.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	rc.Control(func(fd uintptr) { err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_NO_CHECK, 1) })
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBatchConn(cl, BatchConfig{Size: 8, GSO: true})
	if err != nil {
		t.Fatal(err)
	}
	to := addrPort(srv)
	out := gsoOut(nil, to, 100, 100, 50, 10)
	out = gsoOut(out, to, 20, 20)

	// The precondition: this socket's GSO sends do fail.
	m := b.io.(*mmsgConn)
	m.pack(out, false)
	m.wrOff, m.wrEnd = 0, 1
	m.sendmmsg(uintptr(fdOf(t, cl)))
	if m.wr.errno != unix.EINVAL {
		t.Fatalf("a GSO send with SO_NO_CHECK: errno %v, want EINVAL", m.wr.errno)
	}

	n, err := b.WriteBatch(out)
	if n != len(out) || err != nil {
		t.Fatalf("WriteBatch = %d, %v; want %d", n, err, len(out))
	}
	checkReceived(t, srv, out)
	if !m.gso {
		t.Error("EINVAL turned GSO off for good; only EIO (the device) should")
	}
}

// fdOf returns c's descriptor.
func fdOf(t *testing.T, c *net.UDPConn) int {
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fd int
	rc.Control(func(f uintptr) { fd = int(f) })
	return fd
}

func TestBatchGSOAllocs(t *testing.T) {
	srv := listenUDP(t, "udp4", "127.0.0.1:0")
	cl := listenUDP(t, "udp4", "127.0.0.1:0")
	b, err := NewBatchConn(srv, BatchConfig{Size: 8, GSO: true})
	if err != nil {
		t.Fatal(err)
	}
	cb, err := NewBatchConn(cl, BatchConfig{Size: 8, GSO: true})
	if err != nil {
		t.Fatal(err)
	}
	cycle := batchCycle(t, b, cb, NewMessages(8, 256), NewMessages(8, 256), addrPort(srv))
	cycle()
	if a := testing.AllocsPerRun(100, cycle); a != 0 {
		t.Errorf("%v allocations per 8-datagram GSO cycle, want 0", a)
	}
}

// TestBatchGSODualStack: a dual-stack socket segments datagrams to an
// IPv4 peer, sent from the address the peer reached (IP_PKTINFO), as the
// ICE Mux on a wildcard socket sends a frame to a viewer.
func TestBatchGSODualStack(t *testing.T) {
	srv := listenUDP(t, "udp", "[::]:0")
	cl := listenUDP(t, "udp4", "127.0.0.1:0")
	b, err := NewBatchConn(srv, BatchConfig{GSO: true, PacketInfo: true})
	if err != nil {
		t.Fatal(err)
	}
	to := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), addrPort(srv).Port())
	if _, err := cl.WriteToUDPAddrPort([]byte("hello"), to); err != nil {
		t.Fatal(err)
	}
	in := readAll(t, srv, b, NewMessages(1, 64), 1)[0]
	out := gsoOut(nil, in.Addr, 1000, 1000, 200)
	for i := range out {
		out[i].Local, out[i].IfIndex = in.Local, in.IfIndex
	}
	if h, d, err := b.io.(*mmsgConn).pack(out, false); h != 1 || d != 3 || err != nil {
		t.Fatalf("pack = %d headers, %d datagrams, %v; want 1, 3", h, d, err)
	}
	if n, err := b.WriteBatch(out); n != 3 || err != nil {
		t.Fatalf("WriteBatch = %d, %v", n, err)
	}
	buf := make([]byte, 2048)
	cl.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i, m := range out {
		n, from, err := cl.ReadFromUDPAddrPort(buf)
		if err != nil || !bytes.Equal(buf[:n], m.Buf) || from != to {
			t.Fatalf("datagram %d: %d bytes from %v, %v; want %d from %v", i, n, from, err, len(m.Buf), to)
		}
	}
}
