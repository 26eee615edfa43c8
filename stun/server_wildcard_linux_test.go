//go:build linux

package stun

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/streamwire/streamwire/internal/netns"
)

// TestServerWildcardRepliesFromDestination: a Server on 0.0.0.0 answers a
// request sent to 127.0.0.2 from 127.0.0.2 (RFC 8489 §6.3), not from the
// address the route would pick. Runs in a private network namespace, since
// it binds the wildcard address.
func TestServerWildcardRepliesFromDestination(t *testing.T) {
	ns := netns.New(t)
	var srv, cl *net.UDPConn
	var err error
	ns.Do(func() {
		if srv, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4zero}); err == nil {
			cl, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(); cl.Close() })
	startServer(t, &Server{}, srv)
	port := uint16(srv.LocalAddr().(*net.UDPAddr).Port)
	for _, dst := range []string{"127.0.0.2", "127.0.0.1", "127.0.0.2"} {
		to := netip.AddrPortFrom(netip.MustParseAddr(dst), port)
		if _, err := cl.WriteToUDPAddrPort(request(t, BindingRequest, testID, true), to); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1500)
		_ = cl.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, from, err := cl.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("request to %v: %v", to, err)
		}
		if from != to {
			t.Errorf("request to %v answered from %v", to, from)
		}
		if m := decode(t, buf[:n]); m.Type() != BindingSuccess {
			t.Errorf("got %s", m)
		}
	}
}

// TestServerDualStack checks that an IPv4 client of an IPv6 wildcard socket
// is mapped as IPv4, not as an IPv4-mapped IPv6 address.
func TestServerDualStack(t *testing.T) {
	ns := netns.New(t)
	var srv, cl *net.UDPConn
	var err error
	ns.Do(func() {
		if srv, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv6unspecified}); err == nil {
			cl, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(); cl.Close() })
	startServer(t, &Server{}, srv)
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: srv.LocalAddr().(*net.UDPAddr).Port}
	resp := exchange(t, cl, to, request(t, BindingRequest, testID, true), 2*time.Second)
	if resp == nil {
		t.Fatal("no response")
	}
	got, err := decode(t, resp).XORMappedAddress()
	if err != nil {
		t.Fatal(err)
	}
	if want := cl.LocalAddr().(*net.UDPAddr).AddrPort(); got != want || !got.Addr().Is4() {
		t.Errorf("XOR-MAPPED-ADDRESS %v, want %v", got, want)
	}
}
