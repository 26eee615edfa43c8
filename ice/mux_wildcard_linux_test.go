//go:build linux

package ice

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/streamwire/streamwire/internal/netns"
)

// TestMuxWildcardRepliesFromDestination: a Mux bound to 0.0.0.0 on a host
// with two addresses answers each check, and sends the session's media,
// from the address the peer's nominated check reached (IP_PKTINFO), not
// from the address the route would pick; when the peer nominates a pair on
// the other address, both follow. Runs in a private network namespace.
func TestMuxWildcardRepliesFromDestination(t *testing.T) {
	ns := netns.New(t)
	for _, a := range []string{"10.9.0.1/32", "10.9.0.2/32"} {
		if err := ns.Run("ip", "addr", "add", a, "dev", "lo"); err != nil {
			t.Fatal(err)
		}
	}
	var srv, peer *net.UDPConn
	var err error
	ns.Do(func() {
		if srv, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4zero}); err == nil {
			peer, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	m := serveMux(t, srv, MuxConfig{})
	s := newTestSession(t, m)
	port := uint16(srv.LocalAddr().(*net.UDPAddr).Port)
	for _, dst := range []string{"10.9.0.2", "10.9.0.1", "10.9.0.2"} {
		to := netip.AddrPortFrom(netip.MustParseAddr(dst), port)
		if _, err := peer.WriteToUDPAddrPort(check{useCand: true}.build(t), to); err != nil {
			t.Fatal(err)
		}
		if from := readFrom(t, peer, nil); from != to {
			t.Fatalf("check to %v answered from %v", to, from)
		}
		if _, err := s.Write(rtpPacket); err != nil {
			t.Fatal(err)
		}
		if from := readFrom(t, peer, rtpPacket); from != to {
			t.Fatalf("after a nomination through %v, media left from %v", to, from)
		}
	}
}

// readFrom reads one datagram of c, checks its content when want is set,
// and returns its source.
func readFrom(t *testing.T, c *net.UDPConn, want []byte) netip.AddrPort {
	t.Helper()
	buf := make([]byte, 1500)
	_ = c.SetReadDeadline(time.Now().Add(wait))
	n, from, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	if want != nil && !bytes.Equal(buf[:n], want) {
		t.Fatalf("got %x, want %x", buf[:n], want)
	}
	return from
}
