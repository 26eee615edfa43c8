package interop

// streamwire's STUN Server and Client against coturn: coturn's
// turnutils_stunclient gets its own address from stun.Server, and
// stun.Client gets its own address from coturn's turnserver, over UDP and TCP.

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	pstun "github.com/pion/stun/v3"

	"github.com/streamwire/streamwire/stun"
)

// sourceRecorder remembers the source of every datagram read through it.
type sourceRecorder struct {
	net.PacketConn
	mu      sync.Mutex
	sources []netip.AddrPort
}

func (r *sourceRecorder) ReadFrom(b []byte) (int, net.Addr, error) {
	n, a, err := r.PacketConn.ReadFrom(b)
	if ua, ok := a.(*net.UDPAddr); ok && err == nil {
		r.mu.Lock()
		r.sources = append(r.sources, ua.AddrPort())
		r.mu.Unlock()
	}
	return n, a, err
}

func (r *sourceRecorder) seen() []netip.AddrPort {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]netip.AddrPort(nil), r.sources...)
}

// serveSTUN runs a stun.Server on pc until the test ends.
func serveSTUN(t *testing.T, s *stun.Server, pc net.PacketConn) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, pc) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, stun.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
}

var reflexiveRE = regexp.MustCompile(`UDP reflexive addr: (\S+)`)

// runTurnutilsStunclient runs coturn's STUN client against 127.0.0.1:port
// and returns the reflexive addresses it printed.
func runTurnutilsStunclient(t *testing.T, port int) []netip.AddrPort {
	t.Helper()
	path, err := exec.LookPath("turnutils_stunclient")
	if err != nil {
		t.Fatalf("turnutils_stunclient (coturn) is not installed (make deps installs it): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Without -f: RFC 5780 requests carry CHANGE-REQUEST and RESPONSE-PORT,
	// which stun.Server does not implement and answers with 420.
	out, err := exec.CommandContext(ctx, path, "-L", "127.0.0.1", "-p", strconv.Itoa(port), "127.0.0.1").CombinedOutput()
	if err != nil {
		t.Fatalf("turnutils_stunclient: %v\n%s", err, out)
	}
	var addrs []netip.AddrPort
	for _, m := range reflexiveRE.FindAllSubmatch(out, -1) {
		a, err := netip.ParseAddrPort(string(m[1]))
		if err != nil {
			t.Fatalf("turnutils_stunclient printed %q: %v", m[1], err)
		}
		addrs = append(addrs, a)
	}
	if len(addrs) == 0 {
		t.Fatalf("turnutils_stunclient printed no reflexive address:\n%s", out)
	}
	return addrs
}

// TestSTUNCoturnClientGetsMappedFromOurServer: turnutils_stunclient learns
// exactly the source address our server saw, through the generic PacketConn
// path (a recorder wraps the socket) and the recvmmsg path (the bare socket).
func TestSTUNCoturnClientGetsMappedFromOurServer(t *testing.T) {
	t.Run("recorded", func(t *testing.T) {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pc.Close() }) // after serveSTUN stops the server
		rec := &sourceRecorder{PacketConn: pc}
		serveSTUN(t, &stun.Server{Software: "streamwire interop"}, rec)
		got := runTurnutilsStunclient(t, pc.LocalAddr().(*net.UDPAddr).Port)
		seen := rec.seen()
		if len(seen) == 0 {
			t.Fatal("the server read nothing")
		}
		for _, a := range got {
			if a != seen[0] {
				t.Errorf("turnutils_stunclient got %v, the server saw %v", a, seen[0])
			}
		}
	})
	t.Run("batched", func(t *testing.T) {
		pc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pc.Close() }) // after serveSTUN stops the server
		s := &stun.Server{}
		serveSTUN(t, s, pc)
		got := runTurnutilsStunclient(t, pc.LocalAddr().(*net.UDPAddr).Port)
		for _, a := range got {
			if a.Addr() != netip.MustParseAddr("127.0.0.1") || a.Port() == 0 || int(a.Port()) == pc.LocalAddr().(*net.UDPAddr).Port {
				t.Errorf("turnutils_stunclient got %v", a)
			}
		}
		if st := s.Stats(); st.Responses == 0 || st.Dropped != 0 {
			t.Errorf("server stats %+v", st)
		}
	})
}

// TestSTUNOurClientGetsMappedFromCoturn: stun.Client learns from coturn the
// local address of its own socket, over UDP and TCP.
func TestSTUNOurClientGetsMappedFromCoturn(t *testing.T) {
	c := startCoturn(t, "--stun-only")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var client stun.Client

	t.Run("udp", func(t *testing.T) {
		conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		server := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: c.Port}
		for range 3 {
			got, err := client.Binding(ctx, conn, server)
			if err != nil {
				t.Fatal(err)
			}
			if want := conn.LocalAddr().(*net.UDPAddr).AddrPort(); got != want {
				t.Errorf("coturn mapped %v, want %v", got, want)
			}
		}
	})
	t.Run("tcp", func(t *testing.T) {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp4", c.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		for range 2 {
			got, err := client.BindingStream(ctx, conn)
			if err != nil {
				t.Fatal(err)
			}
			if want := conn.LocalAddr().(*net.TCPAddr).AddrPort(); got != want {
				t.Errorf("coturn mapped %v, want %v", got, want)
			}
		}
	})
}

// TestSTUNPionClientGetsMappedFromOurServer: pion/stun's client, over IPv4
// and IPv6 loopback, reads the right XOR-MAPPED-ADDRESS from stun.Server.
func TestSTUNPionClientGetsMappedFromOurServer(t *testing.T) {
	for _, network := range []string{"udp4", "udp6"} {
		t.Run(network, func(t *testing.T) {
			ip := net.IPv4(127, 0, 0, 1)
			if network == "udp6" {
				ip = net.IPv6loopback
			}
			pc, err := net.ListenUDP(network, &net.UDPAddr{IP: ip})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { pc.Close() }) // after serveSTUN stops the server
			serveSTUN(t, &stun.Server{Software: "streamwire interop"}, pc)
			conn, err := net.DialUDP(network, nil, pc.LocalAddr().(*net.UDPAddr))
			if err != nil {
				t.Fatal(err)
			}
			client, err := pstun.NewClient(conn)
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			var got pstun.XORMappedAddress
			var cbErr error
			err = client.Do(pstun.MustBuild(pstun.TransactionID, pstun.BindingRequest, pstun.Fingerprint), func(e pstun.Event) {
				if e.Error != nil {
					cbErr = e.Error
					return
				}
				if err := pstun.Fingerprint.Check(e.Message); err != nil {
					cbErr = err
					return
				}
				cbErr = got.GetFrom(e.Message)
			})
			if err != nil || cbErr != nil {
				t.Fatalf("pion client: %v %v", err, cbErr)
			}
			want := conn.LocalAddr().(*net.UDPAddr)
			if !got.IP.Equal(want.IP) || got.Port != want.Port {
				t.Errorf("pion got %v, want %v", got, want)
			}
		})
	}
}
