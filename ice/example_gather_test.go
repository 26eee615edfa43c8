package ice_test

import (
	"fmt"
	"net/netip"

	"github.com/streamwire/streamwire/ice"
)

// The candidates of a cloud instance with a private IPv4 behind a 1:1 NAT
// and a public IPv6: a Mux on a dual-stack [::]:8443 and an ICE-TCP
// listener on [::]:443. The announced public IPv4 replaces the private
// one and comes first, for ffmpeg's WHIP muxer; loopback and link-local
// addresses are left out. A server would use ice.UDPSocket(conn) and
// ice.TCPSocket(listener), and the host's interfaces (Interfaces nil).
func ExampleGatherer() {
	host := []netip.Addr{
		netip.MustParseAddr("127.0.0.1"),
		netip.MustParseAddr("10.0.1.23"),
		netip.MustParseAddr("::1"),
		netip.MustParseAddr("fe80::8ff:feff:fe12:3456"),
		netip.MustParseAddr("2001:db8:1::23"),
	}
	g, err := ice.NewGatherer(
		ice.Socket{Addr: netip.MustParseAddrPort("[::]:8443")},
		ice.Socket{Addr: netip.MustParseAddrPort("[::]:443")},
		ice.GatherConfig{
			Announced:  []netip.Addr{netip.MustParseAddr("203.0.113.10")},
			Interfaces: func() ([]netip.Addr, error) { return host, nil },
		})
	if err != nil {
		panic(err)
	}
	cands, err := g.Candidates(nil) // once per answer: a copy of the cached list
	if err != nil {
		panic(err)
	}
	for i := range cands {
		fmt.Printf("a=%s\n", cands[i].String())
	}
	// Output:
	// a=candidate:822645220 1 udp 2130706431 203.0.113.10 8443 typ host
	// a=candidate:3519873064 1 udp 2130706175 2001:db8:1::23 8443 typ host
	// a=candidate:885248907 1 tcp 2124414975 203.0.113.10 443 typ host tcptype passive
	// a=candidate:3758791635 1 tcp 2124414719 2001:db8:1::23 443 typ host tcptype passive
}
