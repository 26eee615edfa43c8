//go:build linux

package sockio

import (
	"net"
	"syscall"
	"testing"
)

// TestV6Only reads IPV6_V6ONLY as Go's networks set it: cleared on a
// wildcard "udp" or "tcp" listener (dual-stack), set on "udp6" and "tcp6",
// and an error on an IPv4 socket.
func TestV6Only(t *testing.T) {
	cases := []struct {
		network, addr string
		want          bool
		wantErr       bool
	}{
		{"udp", ":0", false, false},
		{"udp6", "[::]:0", true, false},
		{"udp4", "0.0.0.0:0", false, true},
		{"tcp", ":0", false, false},
		{"tcp6", "[::]:0", true, false},
	}
	for _, c := range cases {
		var sc syscall.Conn
		var err error
		testNS.Do(func() {
			if c.network[:3] == "udp" {
				var pc net.PacketConn
				if pc, err = net.ListenPacket(c.network, c.addr); err == nil {
					t.Cleanup(func() { pc.Close() })
					sc = pc.(syscall.Conn)
				}
				return
			}
			var ln net.Listener
			if ln, err = net.Listen(c.network, c.addr); err == nil {
				t.Cleanup(func() { ln.Close() })
				sc = ln.(syscall.Conn)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := V6Only(sc)
		if got != c.want || (err != nil) != c.wantErr {
			t.Errorf("%s %s: V6Only = %v, %v; want %v, error %v", c.network, c.addr, got, err, c.want, c.wantErr)
		}
	}
}
