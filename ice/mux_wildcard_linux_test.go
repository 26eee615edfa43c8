//go:build linux

package ice

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/streamwire/streamwire/internal/netns"
	"github.com/streamwire/streamwire/stun"
)

// TestMuxWildcardRepliesFromDestination: a Mux bound to a wildcard address
// on a host with two addresses per family answers each check, and sends
// the session's media, from the address the peer's nominated check reached
// (IP_PKTINFO, IPV6_PKTINFO), not from the address the route would pick
// (the peer's loopback address); when the peer nominates a pair on the
// other address, both follow. It runs for an IPv4 socket on 0.0.0.0, an
// IPv6-only one on [::], and a dual-stack [::] socket that receives IPv4
// as IPv4-mapped addresses, including a peer that moves between families.
// Runs in a private network namespace with the addresses on lo.
func TestMuxWildcardRepliesFromDestination(t *testing.T) {
	cases := []struct {
		name    string
		network string // of the Mux's socket, bound to the wildcard
		dsts    []string
	}{
		{"IPv4", "udp4", []string{"10.9.0.2", "10.9.0.1", "10.9.0.2"}},
		{"IPv6", "udp6", []string{"fd00:9::2", "fd00:9::1", "fd00:9::2"}},
		{"dual-stack IPv4", "udp", []string{"10.9.0.2", "10.9.0.1", "10.9.0.2"}},
		{"dual-stack IPv6", "udp", []string{"fd00:9::2", "fd00:9::1", "fd00:9::2"}},
		{"dual-stack across families", "udp", []string{"10.9.0.2", "fd00:9::1", "10.9.0.1", "fd00:9::2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ns := twoAddrNamespace(t)
			var srv, peer4, peer6 *net.UDPConn
			var err error
			ns.Do(func() {
				wild := &net.UDPAddr{IP: net.IPv4zero}
				if c.network != "udp4" {
					wild = &net.UDPAddr{IP: net.IPv6unspecified}
				}
				if srv, err = net.ListenUDP(c.network, wild); err != nil {
					return
				}
				if peer4, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
					return
				}
				peer6, err = net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { peer4.Close(); peer6.Close() })
			m := serveMux(t, srv, MuxConfig{})
			s := newTestSession(t, m)
			port := uint16(srv.LocalAddr().(*net.UDPAddr).Port)
			for _, dst := range c.dsts {
				to := netip.AddrPortFrom(netip.MustParseAddr(dst), port)
				peer := peer4
				if to.Addr().Is6() {
					peer = peer6
				}
				nominateThrough(t, s, peer, to)
			}
		})
	}
}

// twoAddrNamespace returns a private network namespace with two IPv4
// (10.9.0.1, 10.9.0.2) and two IPv6 (fd00:9::1, fd00:9::2) addresses on
// lo, besides 127.0.0.1 and ::1, ready to receive. The IPv6 ones are added
// without duplicate address detection (nodad), which would keep them
// tentative for a second; even so the kernel installs their local routes
// from a work queue after "ip addr add" returns (IPv4 ones synchronously),
// and a datagram sent before that is lost (measured: 12 first datagrams of
// 100 namespaces), so it waits for them.
func twoAddrNamespace(t *testing.T) *netns.Namespace {
	t.Helper()
	ns := netns.New(t)
	for _, a := range []string{"10.9.0.1/32", "10.9.0.2/32", "fd00:9::1/128", "fd00:9::2/128"} {
		args := []string{"addr", "add", a, "dev", "lo"}
		if netip.MustParsePrefix(a).Addr().Is6() {
			args = append(args, "nodad")
		}
		if err := ns.Run("ip", args...); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the local routes of fd00:9::1 and fd00:9::2", func() bool {
		var out []byte
		var err error
		ns.Do(func() { out, err = exec.Command("ip", "-6", "route", "show", "table", "local").Output() })
		if err != nil {
			t.Fatalf("ip -6 route: %v", err)
		}
		return strings.Contains(string(out), "local fd00:9::1 ") && strings.Contains(string(out), "local fd00:9::2 ")
	})
	return ns
}

// nominateThrough sends a plain STUN Binding request and then a
// nominating check from peer to the Mux's address to, and checks that
// both answers come from to and map peer's address, in peer's family (an
// IPv4 peer of a dual-stack socket must not see an IPv4-mapped address).
// Then it writes media on s and checks that it reaches peer from to too.
func nominateThrough(t *testing.T, s *Session, peer *net.UDPConn, to netip.AddrPort) {
	t.Helper()
	for _, c := range []check{{noUsername: true, noIntegr: true}, {useCand: true}} {
		if _, err := peer.WriteToUDPAddrPort(c.build(t), to); err != nil {
			t.Fatal(err)
		}
		buf, from := readFrom(t, peer, fmt.Sprintf("the answer to %+v sent to %v", c, to))
		var m stun.Message
		if err := m.Decode(buf); err != nil {
			t.Fatalf("answer from %v: %v", from, err)
		}
		if c.noUsername {
			if mapped, err := m.XORMappedAddress(); m.Type() != stun.BindingSuccess || err != nil || mapped != addrOf(peer) {
				t.Fatalf("plain STUN answer %v maps %v, %v; want %v", m.Type(), mapped, err, addrOf(peer))
			}
		} else {
			mustSucceed(t, &m, addrOf(peer))
		}
		if from != to {
			t.Fatalf("%+v to %v answered from %v", c, to, from)
		}
	}
	if _, err := s.Write(rtpPacket); err != nil {
		t.Fatal(err)
	}
	if buf, from := readFrom(t, peer, "media after a nomination through "+to.String()); from != to || !bytes.Equal(buf, rtpPacket) {
		t.Fatalf("after a nomination through %v, media %x left from %v", to, buf, from)
	}
}

// readFrom reads one datagram of c, described by what, and returns it and
// its source.
func readFrom(t *testing.T, c *net.UDPConn, what string) ([]byte, netip.AddrPort) {
	t.Helper()
	buf := make([]byte, 1500)
	_ = c.SetReadDeadline(time.Now().Add(wait))
	n, from, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("reading %s: %v", what, err)
	}
	return buf[:n], from
}
