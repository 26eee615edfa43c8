package ice

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/streamwire/streamwire/internal/sockio"
)

// Gathering defaults and limits, named by the GatherConfig fields they fill.
const (
	// DefaultRefreshInterval is how long a Gatherer reuses the interface
	// addresses it read when GatherConfig.RefreshInterval is zero: reading
	// them costs one netlink dump per interface, which is too much per
	// answer, and addresses come and go (DHCP, SLAAC, VPNs) on this scale.
	DefaultRefreshInterval = 10 * time.Second
	// MaxGatherAddrs is how many addresses of one socket become
	// candidates; the lowest ranked are left out beyond it. Each candidate
	// line costs about 70 bytes of SDP and a check pair at the peer.
	MaxGatherAddrs = 16
)

var (
	// ErrNoAddress is returned by NewGatherer and Gatherer.Candidates when
	// no address is left to announce: the sockets are bound to a wildcard
	// address, the host has only loopback and link-local addresses, and
	// neither GatherConfig.Announced nor IncludeLoopback provides one.
	ErrNoAddress = errors.New("ice: no local address to announce in a candidate")
	// ErrAddress is matched by the errors of a GatherConfig.Announced
	// address or a Socket that cannot appear in a candidate: not an IP
	// address, unspecified, multicast, link-local, port 0, or of a family
	// that neither socket receives.
	ErrAddress = errors.New("ice: address unusable in a candidate")
)

// Socket is a local socket that candidates point at: the UDP socket of a
// Mux or an ICE-TCP listener.
type Socket struct {
	// Addr is the address the socket is bound to, as its LocalAddr
	// reports it: a specific address, 0.0.0.0 or [::] (wildcards), and the
	// port. The zero AddrPort means no socket.
	Addr netip.AddrPort
	// V6Only says that a socket bound to [::] receives IPv6 only
	// (IPV6_V6ONLY, as Go's "udp6" and "tcp6" networks set it). False means
	// dual-stack, as Go's "udp" and "tcp" networks open a wildcard
	// listener: IPv4 arrives as IPv4-mapped addresses. It is ignored for
	// other addresses.
	V6Only bool
}

// UDPSocket returns the Socket of c (a Mux's net.PacketConn): its
// LocalAddr, and, when that is [::], IPV6_V6ONLY read from the socket
// (on Unix systems; when c is not a syscall.Conn, dual-stack is assumed).
// Errors match ErrAddress when c is not bound to a UDP address, or come
// from getsockopt(2).
func UDPSocket(c net.PacketConn) (Socket, error) { return socketOf(c.LocalAddr(), c) }

// TCPSocket returns the Socket of an ICE-TCP listener, as UDPSocket does
// for a UDP socket.
func TCPSocket(l net.Listener) (Socket, error) { return socketOf(l.Addr(), l) }

func socketOf(a net.Addr, c any) (Socket, error) {
	var ap netip.AddrPort
	switch a := a.(type) {
	case *net.UDPAddr:
		ap = a.AddrPort()
	case *net.TCPAddr:
		ap = a.AddrPort()
	default:
		return Socket{}, fmt.Errorf("%w: socket address %v is not UDP or TCP", ErrAddress, a)
	}
	s := Socket{Addr: netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())}
	if sc, ok := c.(syscall.Conn); ok && s.Addr.Addr() == netip.IPv6Unspecified() {
		v6only, err := sockio.V6Only(sc)
		if err != nil {
			return Socket{}, fmt.Errorf("ice: socket %v: %w", s.Addr, err)
		}
		s.V6Only = v6only
	}
	return s, nil
}

// receives reports whether the socket receives datagrams or connections
// for a.
func (s Socket) receives(a netip.Addr) bool {
	b := s.Addr.Addr()
	switch {
	case !b.IsUnspecified():
		return a == b
	case b.Is4():
		return a.Is4()
	}
	return a.Is6() || !s.V6Only
}

// wildcard reports whether the socket is bound to 0.0.0.0 or [::].
func (s Socket) wildcard() bool { return s.Addr.Addr().IsUnspecified() }

// canReach reports whether the socket receives the family of a; false
// for the zero Socket.
func (s Socket) canReach(a netip.Addr) bool {
	b := s.Addr.Addr()
	return b.IsValid() && (b.Is4() == a.Is4() || (b == netip.IPv6Unspecified() && !s.V6Only))
}

// validate normalizes s (IPv4-mapped addresses become IPv4, zones go)
// and checks it.
func (s *Socket) validate(what string) error {
	if s.Addr == (netip.AddrPort{}) {
		return nil
	}
	a := s.Addr.Addr().Unmap()
	if !a.IsValid() || s.Addr.Port() == 0 || a.IsMulticast() {
		return fmt.Errorf("%w: %s socket %v", ErrAddress, what, s.Addr)
	}
	s.Addr = netip.AddrPortFrom(a.WithZone(""), s.Addr.Port())
	return nil
}

// GatherConfig says which addresses a Gatherer announces. Its zero value
// works: every non-loopback, non-link-local address of the host's up
// interfaces, for a wildcard socket.
type GatherConfig struct {
	// Announced are public addresses that reach this host through a 1:1
	// NAT (a cloud instance's public IPv4, an elastic IP): mediasoup's
	// announcedAddress, pion's NAT 1:1 IPs, Janus's nat_1_1_mapping. They
	// are announced as host candidates, in this order, before any local
	// address: a lite agent has only host candidates (RFC 8445 §2.5), a
	// 1:1 NAT keeps the port, and ffmpeg's WHIP muxer uses only the first
	// candidate, which must be the public one. An announced address of a
	// family replaces the socket's local addresses of that family (as
	// pion's NAT 1:1 host mapping does), unless KeepLocal is set; families
	// without one keep their local addresses (an instance with a NATed
	// IPv4 and a public IPv6 announces both). Each address must be a
	// unicast IP address without zone that at least one socket receives;
	// IPv4-mapped addresses count as IPv4.
	Announced []netip.Addr
	// KeepLocal also announces the local addresses that Announced replaces,
	// after the announced ones (Janus's keep_private_host): peers in the
	// same private network then reach the server without hairpinning
	// through the NAT, at the cost of one more candidate each, and of
	// revealing the private addresses.
	KeepLocal bool
	// IncludeLoopback announces the loopback addresses (127.0.0.0/8, ::1)
	// of a wildcard socket, for peers on the same host. They are left out
	// by default: a remote peer would spend a check on them, and a server
	// whose only addresses are loopback fails with ErrNoAddress instead of
	// offering candidates that no remote peer can use. A socket bound to a
	// loopback address is announced regardless.
	IncludeLoopback bool
	// Interfaces returns the host's addresses, for wildcard sockets. Nil
	// means the addresses of every interface that is up and running
	// (net.Interfaces). A caller can filter interfaces here (docker0,
	// VPNs), and tests inject fixed lists. Whatever it returns, link-local
	// addresses (169.254.0.0/16, fe80::/10: unusable in a candidate, which
	// has no zone, RFC 8839 §5.1), unspecified and multicast addresses are
	// left out, and loopback addresses unless IncludeLoopback. Loopback is
	// decided by address, not interface, so that service addresses bound
	// to lo (anycast, load balancers' direct server return) are announced.
	Interfaces func() ([]netip.Addr, error)
	// RefreshInterval is how long the Gatherer reuses the addresses that
	// Interfaces returned. Zero means DefaultRefreshInterval (10 s);
	// negative means they are read once, by NewGatherer.
	RefreshInterval time.Duration
	// Now is the clock of RefreshInterval. Nil means time.Now.
	Now func() time.Time
}

// Gatherer computes the local candidates of a server's sockets, for every
// answer (RFC 8445 §5.1.1.1: a lite agent's host candidates, RFC 6544 §4.5
// passive TCP candidates), from the host's interface addresses and the
// configured announced addresses. It caches them, so that Candidates
// costs a copy into the caller's slice (BenchmarkGathererCandidates: under
// 0.4 µs, no allocation) instead of reading the interfaces (a refresh,
// BenchmarkUpInterfaceAddrs: about 130 µs and 114 allocations on a host
// with four interfaces). NewGatherer makes one; it is safe for concurrent
// use.
//
// Per socket, the candidates are on:
//   - the Announced addresses of the families the socket receives, in
//     their order;
//   - for a socket bound to a specific address, that address (even a
//     loopback one: binding to it is asking for it);
//   - for a socket bound to 0.0.0.0, every IPv4 interface address; for
//     [::], every IPv6 one, and every IPv4 one too when it is dual-stack
//     (Socket.V6Only false), announced without IPv4-mapping.
//
// Local addresses of a family that an Announced address covers are left
// out unless GatherConfig.KeepLocal is set, and a socket gets at most
// MaxGatherAddrs candidates. Interface addresses are ranked by how likely a
// remote peer reaches them: public before private (RFC 1918, RFC 6598
// shared space, RFC 4193 ULA) before loopback, and IPv4 before IPv6 within
// each (ffmpeg's WHIP muxer sends to the first candidate only, and more
// clients lack IPv6 than IPv4; browsers check every pair anyway). That
// departs from the IPv6-first preference of RFC 8421 §4, for the reason
// given; put addresses in Announced to choose the order.
//
// Every candidate is component 1 of type host, with a foundation from
// Foundation and a priority from RFC 8445 §5.1.2.1 whose local preference
// falls by one per rank (65535, 65534, ... for UDP; for TCP, passive, the
// other-pref of RFC 6544 §4.2 from 8191 down), so that all priorities
// differ. Candidates come in the order of SortForAnswer: UDP first, the
// best ranked first of all.
type Gatherer struct {
	udp, tcp   Socket
	announced  []netip.Addr
	keepLocal  bool
	loopback   bool
	interfaces func() ([]netip.Addr, error)
	refresh    time.Duration
	now        func() time.Time

	mu   sync.Mutex // serializes refreshes
	snap atomic.Pointer[gathered]
}

// gathered is one refresh's result.
type gathered struct {
	cands []Candidate
	at    time.Time
}

// NewGatherer returns a Gatherer for a UDP and a TCP socket (the zero
// Socket for none), after a first gathering, so that a configuration that
// announces nothing fails here rather than at the first answer. Errors
// match ErrAddress for an unusable Announced address or Socket and
// ErrNoAddress when no candidate results, or wrap the error of
// cfg.Interfaces.
func NewGatherer(udp, tcp Socket, cfg GatherConfig) (*Gatherer, error) {
	g := &Gatherer{udp: udp, tcp: tcp, keepLocal: cfg.KeepLocal, loopback: cfg.IncludeLoopback,
		interfaces: cfg.Interfaces, refresh: cfg.RefreshInterval, now: cfg.Now}
	if err := g.udp.validate("UDP"); err != nil {
		return nil, err
	}
	if err := g.tcp.validate("TCP"); err != nil {
		return nil, err
	}
	if err := g.setAnnounced(cfg.Announced); err != nil {
		return nil, err
	}
	if g.interfaces == nil {
		g.interfaces = upInterfaceAddrs
	}
	if g.refresh == 0 {
		g.refresh = DefaultRefreshInterval
	}
	if g.now == nil {
		g.now = time.Now
	}
	if _, err := g.update(nil); err != nil {
		return nil, err
	}
	return g, nil
}

// setAnnounced validates and keeps a copy of the announced addresses.
func (g *Gatherer) setAnnounced(as []netip.Addr) error {
	for _, a := range as {
		a = a.Unmap()
		switch {
		case !a.IsValid() || a.IsUnspecified() || a.IsMulticast() || a.IsLinkLocalUnicast() || a.Zone() != "":
			return fmt.Errorf("%w: announced %v: want a unicast address without zone", ErrAddress, a)
		case !g.udp.canReach(a) && !g.tcp.canReach(a):
			return fmt.Errorf("%w: announced %v: no socket receives its family", ErrAddress, a)
		}
		if !slices.Contains(g.announced, a) {
			g.announced = append(g.announced, a)
		}
	}
	return nil
}

// Candidates appends the local candidates to dst and returns it (see
// Gatherer for what they are); they are copies, which the caller may
// change (to add extensions, or drop some for an answer). It reads the
// interface addresses again once RefreshInterval has passed since the last
// time; otherwise it does not allocate when dst has room. Errors are those
// of NewGatherer; on error dst is returned unchanged, and the next call
// tries again.
func (g *Gatherer) Candidates(dst []Candidate) ([]Candidate, error) {
	s := g.snap.Load()
	if g.refresh >= 0 && g.now().Sub(s.at) >= g.refresh {
		var err error
		if s, err = g.update(s); err != nil {
			return dst, err
		}
	}
	return append(dst, s.cands...), nil
}

// update gathers again, unless another caller did since old was current.
func (g *Gatherer) update(old *gathered) (*gathered, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if cur := g.snap.Load(); cur != old {
		return cur, nil
	}
	s := &gathered{at: g.now()}
	var locals []netip.Addr
	if g.udp.wildcard() || g.tcp.wildcard() {
		addrs, err := g.interfaces()
		if err != nil {
			return nil, fmt.Errorf("ice: reading interface addresses: %w", err)
		}
		locals = g.usable(addrs)
	}
	s.cands = g.appendCandidates(s.cands, g.udp, TransportUDP, locals)
	s.cands = g.appendCandidates(s.cands, g.tcp, TransportTCP, locals)
	if len(s.cands) == 0 {
		return nil, ErrNoAddress
	}
	SortForAnswer(s.cands)
	g.snap.Store(s)
	return s, nil
}

// usable returns the interface addresses a wildcard socket may announce,
// without duplicates, in rank order (see Gatherer).
func (g *Gatherer) usable(addrs []netip.Addr) []netip.Addr {
	out := make([]netip.Addr, 0, len(addrs))
	seen := make(map[netip.Addr]bool, len(addrs)) // linear in what Interfaces returns
	for _, a := range addrs {
		a = a.Unmap().WithZone("")
		if !a.IsValid() || a.IsUnspecified() || a.IsMulticast() || a.IsLinkLocalUnicast() ||
			(a.IsLoopback() && !g.loopback) || seen[a] {
			continue
		}
		seen[a] = true
		out = append(out, a)
	}
	slices.SortStableFunc(out, func(a, b netip.Addr) int { return cmp.Compare(reachRank(a), reachRank(b)) })
	return out
}

// sharedSpace is the carrier-grade NAT range of RFC 6598, private in
// practice though netip.Addr.IsPrivate leaves it out.
var sharedSpace = netip.MustParsePrefix("100.64.0.0/10")

// reachRank orders interface addresses by how likely a remote peer
// reaches them: public, private, loopback; IPv4 before IPv6 within each.
func reachRank(a netip.Addr) int {
	r := 0
	switch {
	case a.IsLoopback():
		r = 4
	case a.IsPrivate() || sharedSpace.Contains(a):
		r = 2
	}
	if a.Is6() {
		r++
	}
	return r
}

// appendCandidates appends the host candidates of one socket.
func (g *Gatherer) appendCandidates(dst []Candidate, s Socket, t Transport, locals []netip.Addr) []Candidate {
	if s.Addr == (netip.AddrPort{}) {
		return dst
	}
	var replaced [2]bool // by family: IPv4, IPv6
	var addrs []netip.Addr
	for _, a := range g.announced {
		if s.canReach(a) {
			addrs = append(addrs, a)
			replaced[family(a)] = !g.keepLocal
		}
	}
	if !s.wildcard() {
		locals = []netip.Addr{s.Addr.Addr()}
	}
	for _, a := range locals {
		if len(addrs) == MaxGatherAddrs {
			break
		}
		if s.receives(a) && !replaced[family(a)] && !slices.Contains(addrs, a) {
			addrs = append(addrs, a)
		}
	}
	for i, a := range addrs[:min(len(addrs), MaxGatherAddrs)] {
		c := Candidate{Foundation: Foundation(TypeHost, t, a, netip.Addr{}), Component: 1, Transport: t,
			Addr: a, Port: s.Addr.Port(), Type: TypeHost}
		pref := uint16(DefaultLocalPreference - i)
		if t == TransportTCP {
			c.TCPType = TCPTypePassive
			pref = uint16(MaxOtherPreference - i)
		}
		c.Priority = c.RecommendedPriority(pref)
		dst = append(dst, c)
	}
	return dst
}

// family is 0 for IPv4 and 1 for IPv6.
func family(a netip.Addr) int {
	if a.Is4() {
		return 0
	}
	return 1
}

// upInterfaceAddrs returns the addresses of the interfaces that are up and
// running (carrier present: an unplugged port's or an empty Docker
// bridge's addresses reach nobody).
func upInterfaceAddrs() ([]netip.Addr, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for i := range ifs {
		ifi := &ifs[i]
		if ifi.Flags&(net.FlagUp|net.FlagRunning) != net.FlagUp|net.FlagRunning {
			continue
		}
		addrs, err := ifi.Addrs()
		if err != nil {
			return nil, fmt.Errorf("interface %s: %w", ifi.Name, err)
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok {
					out = append(out, ip.Unmap())
				}
			}
		}
	}
	return out, nil
}
