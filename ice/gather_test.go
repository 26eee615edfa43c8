package ice

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// testIfaces is a host with every kind of address a wildcard socket meets,
// in interface order.
var testIfaces = addrs("127.0.0.1", "::1", "10.0.0.5", "fe80::1", "169.254.3.4", "192.0.2.7",
	"2001:db8::7", "fd00::5", "100.64.1.2", "::ffff:198.51.100.9", "224.0.0.1", "0.0.0.0", "::",
	"192.0.2.7", "fe80::2%eth0")

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

func sock(s string) Socket { return Socket{Addr: netip.MustParseAddrPort(s)} }

// fixedIfaces returns an Interfaces function reporting as.
func fixedIfaces(as []netip.Addr) func() ([]netip.Addr, error) {
	return func() ([]netip.Addr, error) { return as, nil }
}

func TestGatherer(t *testing.T) {
	v6only := Socket{Addr: netip.MustParseAddrPort("[::]:8443"), V6Only: true}
	loopOnly := fixedIfaces(addrs("127.0.0.1", "::1", "fe80::1"))
	noIfaces := func() ([]netip.Addr, error) { return nil, errors.New("interfaces read for a specific address") }
	cases := []struct {
		name     string
		udp, tcp Socket
		cfg      GatherConfig
		want     string // "transport address" per candidate, in order, space-separated pairs joined by ", "
	}{
		{"wildcard IPv4", sock("0.0.0.0:8443"), Socket{}, GatherConfig{},
			"udp 192.0.2.7, udp 198.51.100.9, udp 10.0.0.5, udp 100.64.1.2"},
		{"wildcard IPv6 only", v6only, Socket{}, GatherConfig{},
			"udp 2001:db8::7, udp fd00::5"},
		{"dual-stack", sock("[::]:8443"), Socket{}, GatherConfig{},
			"udp 192.0.2.7, udp 198.51.100.9, udp 2001:db8::7, udp 10.0.0.5, udp 100.64.1.2, udp fd00::5"},
		{"IPv4-mapped wildcard is IPv4", sock("[::ffff:0.0.0.0]:8443"), Socket{}, GatherConfig{},
			"udp 192.0.2.7, udp 198.51.100.9, udp 10.0.0.5, udp 100.64.1.2"},
		{"loopback asked for", sock("[::]:8443"), Socket{}, GatherConfig{IncludeLoopback: true},
			"udp 192.0.2.7, udp 198.51.100.9, udp 2001:db8::7, udp 10.0.0.5, udp 100.64.1.2, udp fd00::5, udp 127.0.0.1, udp ::1"},
		{"loopback-only host asked for", sock("[::]:8443"), Socket{}, GatherConfig{IncludeLoopback: true, Interfaces: loopOnly},
			"udp 127.0.0.1, udp ::1"},
		{"announced IPv4 replaces local IPv4", sock("[::]:8443"), Socket{}, GatherConfig{Announced: addrs("203.0.113.1")},
			"udp 203.0.113.1, udp 2001:db8::7, udp fd00::5"},
		{"announced kept with local", sock("0.0.0.0:8443"), Socket{}, GatherConfig{Announced: addrs("203.0.113.1"), KeepLocal: true},
			"udp 203.0.113.1, udp 192.0.2.7, udp 198.51.100.9, udp 10.0.0.5, udp 100.64.1.2"},
		{"announced both families in their order", sock("[::]:8443"), Socket{}, GatherConfig{Announced: addrs("2001:db8::99", "::ffff:203.0.113.1", "2001:db8::99")},
			"udp 2001:db8::99, udp 203.0.113.1"},
		{"announced equal to a local address", sock("0.0.0.0:8443"), Socket{}, GatherConfig{Announced: addrs("192.0.2.7"), KeepLocal: true},
			"udp 192.0.2.7, udp 198.51.100.9, udp 10.0.0.5, udp 100.64.1.2"},
		{"announced on a loopback-only host", sock("[::]:8443"), Socket{}, GatherConfig{Announced: addrs("203.0.113.1"), Interfaces: loopOnly},
			"udp 203.0.113.1"},
		{"announced IPv6 of a dual-stack TCP socket", sock("0.0.0.0:8443"), sock("[::]:443"), GatherConfig{Announced: addrs("2001:db8::99")},
			"udp 192.0.2.7, udp 198.51.100.9, udp 10.0.0.5, udp 100.64.1.2, tcp 2001:db8::99, tcp 192.0.2.7, tcp 198.51.100.9, tcp 10.0.0.5, tcp 100.64.1.2"},
		{"specific address", sock("10.0.0.5:8443"), Socket{}, GatherConfig{Interfaces: noIfaces},
			"udp 10.0.0.5"},
		{"specific address announced", sock("10.0.0.5:8443"), Socket{}, GatherConfig{Announced: addrs("203.0.113.1"), Interfaces: noIfaces},
			"udp 203.0.113.1"},
		{"specific loopback", sock("127.0.0.1:8443"), sock("[::1]:8443"), GatherConfig{Interfaces: noIfaces},
			"udp 127.0.0.1, tcp ::1"},
		{"specific IPv6 with zone", sock("[fe80::1%eth0]:8443"), Socket{}, GatherConfig{Interfaces: noIfaces},
			"udp fe80::1"},
		{"TCP beside UDP", sock("0.0.0.0:8443"), sock("0.0.0.0:443"), GatherConfig{Announced: addrs("203.0.113.1")},
			"udp 203.0.113.1, tcp 203.0.113.1"},
		{"TCP only", Socket{}, sock("[::]:443"), GatherConfig{},
			"tcp 192.0.2.7, tcp 198.51.100.9, tcp 2001:db8::7, tcp 10.0.0.5, tcp 100.64.1.2, tcp fd00::5"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.cfg.Interfaces == nil {
				c.cfg.Interfaces = fixedIfaces(testIfaces)
			}
			g, err := NewGatherer(c.udp, c.tcp, c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := g.Candidates(nil)
			if err != nil {
				t.Fatal(err)
			}
			checkCandidates(t, got, c.udp, c.tcp)
			if s := summary(got); s != c.want {
				t.Errorf("candidates\n got %s\nwant %s", s, c.want)
			}
		})
	}
}

// summary writes "transport address" per candidate.
func summary(cs []Candidate) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.Transport.String() + " " + c.Addr.String()
	}
	return strings.Join(parts, ", ")
}

// checkCandidates checks what every gathered list must satisfy: valid
// lines that parse back to the same candidate, host type, component 1,
// the socket's port, TCP passive, the foundation of RFC 8445 §5.1.1.3,
// priorities in range and all different, decreasing within a transport,
// and the order of SortForAnswer with a UDP host candidate first.
func checkCandidates(t *testing.T, cs []Candidate, udp, tcp Socket) {
	t.Helper()
	seen := map[uint32]bool{}
	for i := range cs {
		c := &cs[i]
		if err := c.Validate(); err != nil {
			t.Errorf("candidate %d: %v", i, err)
		}
		line := c.String()
		back := mustParse(t, line)
		if !back.sameAs(c) {
			t.Errorf("%s parses back as %+v", line, back)
		}
		port, tcpType := udp.Addr.Port(), TCPType(0)
		if c.Transport == TransportTCP {
			port, tcpType = tcp.Addr.Port(), TCPTypePassive
		}
		if c.Type != TypeHost || c.Component != 1 || c.Port != port || c.TCPType != tcpType || c.Addr.Zone() != "" || c.Addr.Is4In6() {
			t.Errorf("candidate %s: want host, component 1, port %d, tcptype %v, plain address", line, port, tcpType)
		}
		if f := Foundation(TypeHost, c.Transport, c.Addr, netip.Addr{}); c.Foundation != f {
			t.Errorf("candidate %s: foundation %s, want %s", line, c.Foundation, f)
		}
		if c.Priority == 0 || c.Priority >= 1<<31 || c.Priority>>24 != TypePreferenceHost || seen[c.Priority] {
			t.Errorf("candidate %s: priority %d out of range or repeated", line, c.Priority)
		}
		seen[c.Priority] = true
		if i > 0 && cs[i-1].Transport == c.Transport && cs[i-1].Priority <= c.Priority {
			t.Errorf("candidate %s: priority not below the previous one's %d", line, cs[i-1].Priority)
		}
	}
	sorted := slices.Clone(cs)
	SortForAnswer(sorted)
	if !slices.EqualFunc(cs, sorted, func(a, b Candidate) bool { return a.sameAs(&b) }) {
		t.Errorf("not in the order of SortForAnswer: %s", summary(cs))
	}
	if udp.Addr.IsValid() && len(cs) > 0 && (cs[0].Transport != TransportUDP || cs[0].Type != TypeHost) {
		t.Errorf("first candidate %s, want UDP host", cs[0].String())
	}
}

func TestGathererErrors(t *testing.T) {
	v6only := Socket{Addr: netip.MustParseAddrPort("[::]:8443"), V6Only: true}
	failing := errors.New("netlink says no")
	cases := []struct {
		name     string
		udp, tcp Socket
		cfg      GatherConfig
		want     error
	}{
		{"loopback-only host", sock("0.0.0.0:8443"), Socket{}, GatherConfig{Interfaces: fixedIfaces(addrs("127.0.0.1", "::1"))}, ErrNoAddress},
		{"link-local-only host", sock("[::]:8443"), Socket{}, GatherConfig{Interfaces: fixedIfaces(addrs("fe80::1", "169.254.0.9"))}, ErrNoAddress},
		{"IPv6 host, IPv4 socket", sock("0.0.0.0:8443"), Socket{}, GatherConfig{Interfaces: fixedIfaces(addrs("2001:db8::7"))}, ErrNoAddress},
		{"no socket", Socket{}, Socket{}, GatherConfig{}, ErrNoAddress},
		{"announced IPv6, IPv4 sockets", sock("0.0.0.0:8443"), sock("10.0.0.5:443"), GatherConfig{Announced: addrs("2001:db8::99")}, ErrAddress},
		{"announced IPv4, IPv6-only socket", v6only, Socket{}, GatherConfig{Announced: addrs("203.0.113.1")}, ErrAddress},
		{"announced IPv6, no TCP socket", sock("0.0.0.0:8443"), Socket{}, GatherConfig{Announced: addrs("2001:db8::99")}, ErrAddress},
		{"announced unspecified", sock("0.0.0.0:8443"), Socket{}, GatherConfig{Announced: addrs("0.0.0.0")}, ErrAddress},
		{"announced multicast", sock("[::]:8443"), Socket{}, GatherConfig{Announced: addrs("ff02::1")}, ErrAddress},
		{"announced link-local", sock("[::]:8443"), Socket{}, GatherConfig{Announced: addrs("fe80::1")}, ErrAddress},
		{"announced with zone", sock("[::]:8443"), Socket{}, GatherConfig{Announced: addrs("2001:db8::1%eth0")}, ErrAddress},
		{"announced invalid", sock("[::]:8443"), Socket{}, GatherConfig{Announced: []netip.Addr{{}}}, ErrAddress},
		{"port 0", sock("0.0.0.0:0"), Socket{}, GatherConfig{}, ErrAddress},
		{"multicast socket", Socket{}, sock("239.1.1.1:443"), GatherConfig{}, ErrAddress},
		{"interfaces fail", sock("0.0.0.0:8443"), Socket{}, GatherConfig{Interfaces: func() ([]netip.Addr, error) { return nil, failing }}, failing},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.cfg.Interfaces == nil {
				c.cfg.Interfaces = fixedIfaces(testIfaces)
			}
			g, err := NewGatherer(c.udp, c.tcp, c.cfg)
			if !errors.Is(err, c.want) || g != nil {
				t.Errorf("NewGatherer = %v, %v; want %v", g, err, c.want)
			}
		})
	}
}

// TestGathererLimit: a host with more addresses than MaxGatherAddrs
// announces the best ranked ones, with distinct priorities.
func TestGathererLimit(t *testing.T) {
	var many []netip.Addr
	for i := range 40 {
		many = append(many, netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}))
	}
	many = append(many, netip.MustParseAddr("192.0.2.1")) // public: ranked first although listed last
	g, err := NewGatherer(sock("0.0.0.0:8443"), sock("0.0.0.0:443"), GatherConfig{Interfaces: fixedIfaces(many)})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := g.Candidates(nil)
	if len(got) != 2*MaxGatherAddrs || got[0].Addr != many[40] || got[MaxGatherAddrs].Addr != many[40] || got[MaxGatherAddrs-1].Addr != many[MaxGatherAddrs-2] {
		t.Errorf("%d candidates: %s", len(got), summary(got))
	}
	checkCandidates(t, got, sock("0.0.0.0:8443"), sock("0.0.0.0:443"))
}

// TestGathererRefresh: the interface addresses are read again once
// RefreshInterval has passed, not before; a failed read is reported and
// retried; a negative interval reads them once.
func TestGathererRefresh(t *testing.T) {
	now := time.Unix(1e9, 0)
	var mu sync.Mutex
	reads, current, fail := 0, addrs("192.0.2.1"), false
	cfg := GatherConfig{
		RefreshInterval: time.Minute,
		Now:             func() time.Time { mu.Lock(); defer mu.Unlock(); return now },
		Interfaces: func() ([]netip.Addr, error) {
			mu.Lock()
			defer mu.Unlock()
			reads++
			if fail {
				return nil, errors.New("netlink busy")
			}
			return current, nil
		},
	}
	set := func(f func()) { mu.Lock(); defer mu.Unlock(); f() }
	g, err := NewGatherer(sock("0.0.0.0:8443"), Socket{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := func(step, s string, wantReads int) {
		t.Helper()
		got, err := g.Candidates(nil)
		if err != nil || summary(got) != s || reads != wantReads {
			t.Errorf("%s: %s, %v after %d reads; want %s after %d", step, summary(got), err, reads, s, wantReads)
		}
	}
	set(func() { current = addrs("192.0.2.2"); now = now.Add(time.Minute - 1) })
	want("before the interval", "udp 192.0.2.1", 1)
	set(func() { now = now.Add(1) })
	want("at the interval", "udp 192.0.2.2", 2)

	set(func() { fail = true; now = now.Add(time.Minute) })
	if got, err := g.Candidates(nil); err == nil || len(got) != 0 {
		t.Errorf("failed read: %s, %v; want an error", summary(got), err)
	}
	set(func() { fail = false; current = addrs("192.0.2.3") })
	want("after a failed read", "udp 192.0.2.3", 4)

	set(func() { current = addrs("fe80::1") })
	set(func() { now = now.Add(time.Minute) })
	if _, err := g.Candidates(nil); !errors.Is(err, ErrNoAddress) {
		t.Errorf("every address gone: %v, want ErrNoAddress", err)
	}

	cfg.RefreshInterval = -1
	set(func() { reads, current = 0, addrs("192.0.2.4") })
	if g, err = NewGatherer(sock("0.0.0.0:8443"), Socket{}, cfg); err != nil {
		t.Fatal(err)
	}
	set(func() { current = addrs("192.0.2.5"); now = now.Add(24 * time.Hour) })
	want("never refreshed", "udp 192.0.2.4", 1)
}

// TestGathererConcurrent: answers gathered from many goroutines while the
// addresses refresh see one consistent list or the other.
func TestGathererConcurrent(t *testing.T) {
	var mu sync.Mutex
	now, flip := time.Unix(0, 0), false
	g, err := NewGatherer(sock("0.0.0.0:8443"), sock("0.0.0.0:443"), GatherConfig{
		RefreshInterval: time.Millisecond,
		Now:             func() time.Time { mu.Lock(); defer mu.Unlock(); now = now.Add(time.Millisecond / 4); return now },
		Interfaces: func() ([]netip.Addr, error) {
			mu.Lock()
			defer mu.Unlock()
			flip = !flip
			if flip {
				return addrs("192.0.2.1", "10.0.0.1"), nil
			}
			return addrs("192.0.2.2"), nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []Candidate
			for range 200 {
				var err error
				buf, err = g.Candidates(buf[:0])
				if s := summary(buf); err != nil || (s != "udp 192.0.2.1, udp 10.0.0.1, tcp 192.0.2.1, tcp 10.0.0.1" && s != "udp 192.0.2.2, tcp 192.0.2.2") {
					t.Errorf("%s, %v", s, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestGathererAllocs: between refreshes, Candidates into a slice with room
// allocates nothing.
func TestGathererAllocs(t *testing.T) {
	g, err := NewGatherer(sock("[::]:8443"), sock("[::]:443"), GatherConfig{Interfaces: fixedIfaces(testIfaces), RefreshInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]Candidate, 0, 16)
	if n := testing.AllocsPerRun(100, func() { buf, _ = g.Candidates(buf[:0]) }); n != 0 {
		t.Errorf("Candidates: %v allocs, want 0", n)
	}
	if len(buf) != 12 {
		t.Errorf("%d candidates, want 12", len(buf))
	}
}

// TestSocketOf reads the Socket of real sockets on loopback; the wildcard
// ones are in TestGathererNetns (Linux).
func TestSocketOf(t *testing.T) {
	u := newPeer(t)
	s, err := UDPSocket(u)
	if err != nil || s.Addr != addrOf(u) || s.V6Only {
		t.Errorf("UDPSocket = %+v, %v; want %v", s, err, addrOf(u))
	}
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	s, err = TCPSocket(l)
	if err != nil || s.Addr != l.Addr().(*net.TCPAddr).AddrPort() {
		t.Errorf("TCPSocket = %+v, %v; want %v", s, err, l.Addr())
	}
	if _, err := UDPSocket(notIP{}); !errors.Is(err, ErrAddress) {
		t.Errorf("UDPSocket of a non-IP socket: %v, want ErrAddress", err)
	}
}

// notIP is a net.PacketConn whose address is not IP.
type notIP struct{ net.PacketConn }

func (notIP) LocalAddr() net.Addr { return &net.UnixAddr{Name: "@x", Net: "unixgram"} }

func BenchmarkGathererCandidates(b *testing.B) {
	g, err := NewGatherer(sock("[::]:8443"), sock("[::]:443"), GatherConfig{Interfaces: fixedIfaces(testIfaces)})
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]Candidate, 0, 16)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = g.Candidates(buf[:0])
	}
}

// BenchmarkUpInterfaceAddrs is what a refresh costs on this host (the
// default GatherConfig.Interfaces), which Gatherer pays once per
// RefreshInterval instead of once per answer.
func BenchmarkUpInterfaceAddrs(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := upInterfaceAddrs(); err != nil {
			b.Fatal(err)
		}
	}
}
