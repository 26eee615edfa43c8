//go:build linux

package sockio

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestPacketInfo binds a wildcard address, receives on 127.0.0.1 and
// 127.0.0.2 (all of 127/8 is on lo), checks the reported destination of
// each datagram, and that the answers leave from the address each datagram
// reached. Without the source address the kernel answers the 127.0.0.2
// datagram from 127.0.0.1, which the control check shows.
func TestPacketInfo(t *testing.T) {
	for _, network := range []string{"udp4", "udp"} { // "udp" on [::] is dual-stack
		t.Run(network, func(t *testing.T) {
			wild := "0.0.0.0:0"
			if network == "udp" {
				wild = "[::]:0"
			}
			srv := listenUDP(t, network, wild)
			b, err := NewBatchConn(srv, BatchConfig{PacketInfo: true})
			if err != nil {
				t.Fatal(err)
			}
			port := addrPort(srv).Port()
			cl := listenUDP(t, "udp4", "127.0.0.1:0")
			dsts := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")}
			for _, d := range dsts {
				if _, err := cl.WriteToUDPAddrPort([]byte(d.String()), netip.AddrPortFrom(d, port)); err != nil {
					t.Fatal(err)
				}
			}
			got := readAll(t, srv, b, NewMessages(4, 64), len(dsts))
			lo := loopbackIndex(t)
			for i, m := range got {
				if m.Local != dsts[i] || string(m.Buf) != dsts[i].String() || m.IfIndex != lo || m.Addr != addrPort(cl) {
					t.Errorf("datagram %d: %q from %v to %v on interface %d; want to %v on %d", i, m.Buf, m.Addr, m.Local, m.IfIndex, dsts[i], lo)
				}
			}
			if _, err := b.WriteBatch(got); err != nil {
				t.Fatal(err)
			}
			for i := range dsts {
				if from := readFrom(t, cl); from != netip.AddrPortFrom(dsts[i], port) {
					t.Errorf("answer %d from %v, want %v", i, from, netip.AddrPortFrom(dsts[i], port))
				}
			}

			// Control: without Local the kernel picks 127.0.0.1.
			plain := []Message{{Buf: []byte("plain"), Addr: got[1].Addr}}
			if _, err := b.WriteBatch(plain); err != nil {
				t.Fatal(err)
			}
			if from := readFrom(t, cl); from.Addr() == dsts[1] {
				t.Errorf("without a source address the answer still came from %v: the test proves nothing", from)
			}

			if network != "udp" {
				return
			}
			// IPv6 on the same dual-stack socket.
			cl6 := listenUDP(t, "udp6", "[::1]:0")
			if _, err := cl6.WriteToUDPAddrPort([]byte("v6"), netip.AddrPortFrom(netip.IPv6Loopback(), port)); err != nil {
				t.Fatal(err)
			}
			got = readAll(t, srv, b, NewMessages(1, 64), 1)
			if got[0].Local != netip.IPv6Loopback() || got[0].IfIndex != lo {
				t.Errorf("IPv6 datagram to %v on %d", got[0].Local, got[0].IfIndex)
			}
			if _, err := b.WriteBatch(got); err != nil {
				t.Fatal(err)
			}
			if from := readFrom(t, cl6); from != netip.AddrPortFrom(netip.IPv6Loopback(), port) {
				t.Errorf("IPv6 answer from %v", from)
			}
		})
	}
}

// TestPacketInfoAllocs: reading the destination addresses and answering
// from them allocates nothing either.
func TestPacketInfoAllocs(t *testing.T) {
	srv := listenUDP(t, "udp", "[::]:0")
	cl := listenUDP(t, "udp4", "127.0.0.1:0")
	b, err := NewBatchConn(srv, BatchConfig{Size: 8, PacketInfo: true})
	if err != nil {
		t.Fatal(err)
	}
	cb, _ := NewBatchConn(cl, BatchConfig{Size: 8})
	in := NewMessages(8, 256)
	cycle := batchCycle(t, b, cb, in, NewMessages(8, 256), netip.MustParseAddrPort("127.0.0.2:"+fmt.Sprint(addrPort(srv).Port())))
	cycle()
	if a := testing.AllocsPerRun(100, cycle); a != 0 {
		t.Errorf("%v allocations per cycle, want 0", a)
	}
	if from := in[0].Addr; from.Addr() != netip.MustParseAddr("127.0.0.2") {
		t.Errorf("echo came from %v, want 127.0.0.2", from)
	}
}

// TestPacketInfoRefused: an IPv6 source on an IPv4 socket is refused for
// that datagram only.
func TestPacketInfoRefused(t *testing.T) {
	srv := listenUDP(t, "udp4", "127.0.0.1:0")
	b, err := NewBatchConn(srv, BatchConfig{PacketInfo: true})
	if err != nil {
		t.Fatal(err)
	}
	out := []Message{{Buf: []byte("x"), Addr: netip.MustParseAddrPort("127.0.0.1:9"), Local: netip.IPv6Loopback()}}
	if n, err := b.WriteBatch(out); n != 0 || !Refused(err) {
		t.Errorf("IPv6 source on an IPv4 socket: %d, %v", n, err)
	}
}

func readFrom(t *testing.T, c *net.UDPConn) netip.AddrPort {
	t.Helper()
	buf := make([]byte, 64)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, from, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	return from
}

func loopbackIndex(t *testing.T) int {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagLoopback != 0 {
			return ifi.Index
		}
	}
	t.Fatal("no loopback interface")
	return 0
}

// TestSockaddr converts addresses both ways for both families.
func TestSockaddr(t *testing.T) {
	cases := []struct {
		in     string
		family int
		out    string // "" when refused
	}{
		{"192.0.2.1:5000", unix.AF_INET, "192.0.2.1:5000"},
		{"[::ffff:192.0.2.1]:5000", unix.AF_INET, "192.0.2.1:5000"},
		{"[2001:db8::1]:5000", unix.AF_INET, ""},
		{"192.0.2.1:5000", unix.AF_INET6, "192.0.2.1:5000"}, // mapped on the wire, IPv4 again when read
		{"[2001:db8::1]:443", unix.AF_INET6, "[2001:db8::1]:443"},
		{"[fe80::1%7]:443", unix.AF_INET6, "[fe80::1%7]:443"},
	}
	for _, c := range cases {
		var sa unix.RawSockaddrInet6
		n, ok := toSockaddr(&sa, netip.MustParseAddrPort(c.in), c.family)
		if ok != (c.out != "") {
			t.Errorf("%s on family %d: ok %v", c.in, c.family, ok)
			continue
		}
		if ok {
			if got := fromSockaddr(&sa, n); got.String() != c.out {
				t.Errorf("%s on family %d: round trip %v", c.in, c.family, got)
			}
		}
	}
	var sa unix.RawSockaddrInet6
	if got := fromSockaddr(&sa, 0); got.IsValid() {
		t.Errorf("unknown family gave %v", got)
	}
}
