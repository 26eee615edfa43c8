//go:build linux

package ice

import (
	"net"
	"testing"

	"github.com/streamwire/streamwire/internal/netns"
)

// TestGathererNetns gathers from the real interfaces of a private network
// namespace, with the default GatherConfig.Interfaces:
//   - a veth pair, up, with a public IPv4, a global IPv6 and the link-local
//     IPv6 the kernel adds: the first two are announced;
//   - a veth up whose peer is down (no carrier: an unplugged port, a
//     Docker bridge whose containers are gone) and an ifb device left
//     down: not announced;
//   - lo: announced only with IncludeLoopback.
//
// The sockets are real wildcard sockets, whose dual-stack or IPv6-only
// setting UDPSocket and TCPSocket read from the kernel.
func TestGathererNetns(t *testing.T) {
	ns := netns.New(t)
	for _, cmd := range [][]string{
		{"link", "add", "sw0", "type", "veth", "peer", "name", "sw1"},
		{"link", "set", "sw0", "up"},
		{"link", "set", "sw1", "up"},
		{"addr", "add", "192.0.2.1/24", "dev", "sw0"},
		{"addr", "add", "2001:db8::1/64", "dev", "sw0", "nodad"},
		{"link", "add", "nc0", "type", "veth", "peer", "name", "nc1"},
		{"link", "set", "nc0", "up"},
		{"addr", "add", "198.51.100.1/24", "dev", "nc0"},
		{"link", "add", "down0", "type", "ifb"},
		{"addr", "add", "203.0.113.1/24", "dev", "down0"},
	} {
		if err := ns.Run("ip", cmd...); err != nil {
			t.Fatal(err)
		}
	}
	var udp, udp6 net.PacketConn
	var tcp net.Listener
	var err error
	ns.Do(func() {
		if udp, err = net.ListenPacket("udp", ":0"); err != nil {
			return
		}
		if udp6, err = net.ListenPacket("udp6", "[::]:0"); err != nil {
			return
		}
		tcp, err = net.Listen("tcp", ":0")
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { udp.Close(); udp6.Close(); tcp.Close() }()
	us, err := UDPSocket(udp)
	if err != nil || us.V6Only || !us.Addr.Addr().IsUnspecified() {
		t.Fatalf("UDPSocket(udp :0) = %+v, %v; want a dual-stack wildcard", us, err)
	}
	u6, err := UDPSocket(udp6)
	if err != nil || !u6.V6Only {
		t.Fatalf("UDPSocket(udp6 [::]) = %+v, %v; want IPv6 only", u6, err)
	}
	ts, err := TCPSocket(tcp)
	if err != nil || ts.V6Only {
		t.Fatalf("TCPSocket(tcp :0) = %+v, %v; want dual-stack", ts, err)
	}

	cases := []struct {
		udp, tcp Socket
		cfg      GatherConfig
		want     string
	}{
		{us, ts, GatherConfig{}, "udp 192.0.2.1, udp 2001:db8::1, tcp 192.0.2.1, tcp 2001:db8::1"},
		{u6, Socket{}, GatherConfig{}, "udp 2001:db8::1"},
		{us, Socket{}, GatherConfig{IncludeLoopback: true}, "udp 192.0.2.1, udp 2001:db8::1, udp 127.0.0.1, udp ::1"},
	}
	for _, c := range cases {
		var got []Candidate
		ns.Do(func() { // netlink sockets too belong to the namespace of their thread
			var g *Gatherer
			if g, err = NewGatherer(c.udp, c.tcp, c.cfg); err == nil {
				got, err = g.Candidates(nil)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		checkCandidates(t, got, c.udp, c.tcp)
		if s := summary(got); s != c.want {
			t.Errorf("%+v %+v %+v:\n got %s\nwant %s", c.udp, c.tcp, c.cfg, s, c.want)
		}
	}
}
