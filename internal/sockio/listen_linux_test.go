//go:build linux

package sockio

import (
	"fmt"
	"net"
	"os"
	"testing"

	"github.com/streamwire/streamwire/internal/netns"
)

// testNS holds every datagram socket of these tests: they bind wildcard
// addresses and 127.0.0.2, which must not touch the host's network.
var testNS *netns.Namespace

func TestMain(m *testing.M) {
	ns, err := netns.Create()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sockio tests need a private network namespace (root):", err)
		os.Exit(1)
	}
	testNS = ns
	code := m.Run()
	ns.Close()
	os.Exit(code)
}

// listenPacket opens a datagram socket inside testNS.
func listenPacket(network, addr string) (c net.PacketConn, err error) {
	testNS.Do(func() { c, err = net.ListenPacket(network, addr) })
	return c, err
}
