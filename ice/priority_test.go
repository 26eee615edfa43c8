package ice

import (
	"net/netip"
	"strings"
	"testing"
)

// Vectors computed by hand from RFC 8445 §5.1.2.1 and RFC 6544 §4.2.
func TestPriorityVectors(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  uint32
		want uint32
	}{
		// 126*2^24 + 65535*2^8 + 255 = 2113929216 + 16776960 + 255
		{"host udp rtp", Priority(126, 65535, 1), 2130706431},
		{"host udp rtcp", Priority(126, 65535, 2), 2130706430},
		// 110*2^24 + 16776960 + 255 = 1845493760 + 16777215
		{"prflx", Priority(TypePreferencePrflx, DefaultLocalPreference, 1), 1862270975},
		// 100*2^24 + 16777215
		{"srflx", Priority(TypePreferenceSrflx, DefaultLocalPreference, 1), 1694498815},
		{"relay", Priority(TypePreferenceRelay, DefaultLocalPreference, 1), 16777215},
		{"component 256", Priority(126, 0, 256), 2113929216},
		{"minimum", Priority(0, 0, 256), 0},
		// TCP passive host: local pref 4*2^13 + 8191 = 40959; 2113929216 + 40959*256 + 255
		{"tcp passive host", rec(TransportTCP, TypeHost, TCPTypePassive, 1, MaxOtherPreference), 2124414975},
		// TCP active host: 6*2^13 + 8191 = 57343; 2113929216 + 14679808 + 255
		{"tcp active host", rec(TransportTCP, TypeHost, TCPTypeActive, 1, MaxOtherPreference), 2128609279},
		// TCP S-O srflx: direction 6 as well; 1677721600 + 14679808 + 255
		{"tcp so srflx", rec(TransportTCP, TypeSrflx, TCPTypeSO, 1, 9000), 1692401663},
		// TCP passive srflx: direction 2: 2*8192 + 100 = 16484; 1677721600 + 4219904 + 255
		{"tcp passive srflx", rec(TransportTCP, TypeSrflx, TCPTypePassive, 1, 100), 1681941759},
		{"udp host", rec(TransportUDP, TypeHost, 0, 1, DefaultLocalPreference), 2130706431},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, tc.got, tc.want)
		}
	}
	if Priority(126, 65535, 1) >= 1<<31 {
		t.Error("priority above 2^31-1 (RFC 8445 §5.1.2.1)")
	}
	// RFC 6544 §4.2 direction preferences, for every type and tcptype.
	for _, tc := range []struct {
		typ       Type
		tcp       TCPType
		direction uint16
	}{
		{TypeHost, TCPTypeActive, 6}, {TypeHost, TCPTypePassive, 4}, {TypeHost, TCPTypeSO, 2},
		{TypeRelay, TCPTypeActive, 6}, {TypeRelay, TCPTypePassive, 4}, {TypeRelay, TCPTypeSO, 2},
		{TypeSrflx, TCPTypeSO, 6}, {TypeSrflx, TCPTypeActive, 4}, {TypeSrflx, TCPTypePassive, 2},
		{TypePrflx, TCPTypeSO, 6}, {TypePrflx, TCPTypeActive, 4}, {TypePrflx, TCPTypePassive, 2},
		{TypeHost, 0, 0},
	} {
		if got := TCPLocalPreference(tc.typ, tc.tcp, 1); got != tc.direction<<13|1 {
			t.Errorf("TCPLocalPreference(%v, %v, 1) = %d, want %d", tc.typ, tc.tcp, got, tc.direction<<13|1)
		}
	}
	if got := TCPLocalPreference(TypeHost, TCPTypePassive, 65535); got != 4<<13|8191 {
		t.Errorf("other-pref not capped at 8191: %d", got)
	}
}

func rec(tr Transport, typ Type, tcp TCPType, comp uint16, pref uint16) uint32 {
	c := Candidate{Transport: tr, Type: typ, TCPType: tcp, Component: comp}
	return c.RecommendedPriority(pref)
}

// The priorities the field sends are the RFC 8445 §5.1.2.1 formula with each
// implementation's own type preferences: the low byte is 256-component for
// every line, and the type preference is the recommended one where the
// implementation follows RFC 8445 §5.1.2.2 (Chromium's UDP host, srflx and
// prflx; Firefox; libjuice; pion) or its own documented constant where it
// does not (Chromium's TCP host 90 and UDP relay 2, libnice's host 120).
func TestFieldPrioritiesMatchFormula(t *testing.T) {
	type key struct {
		impl string
		tr   Transport
		typ  Type
	}
	want := map[key]uint8{
		{"chromium", TransportUDP, TypeHost}: 126, {"chromium", TransportUDP, TypeSrflx}: 100,
		{"chromium", TransportUDP, TypeRelay}: 2, {"chromium", TransportTCP, TypeHost}: 90,
		{"firefox", TransportUDP, TypeHost}: 126, {"firefox", TransportUDP, TypeSrflx}: 100,
		{"firefox", TransportUDP, TypeRelay}: 0, {"firefox", TransportTCP, TypeHost}: 125,
		{"obs", TransportUDP, TypeHost}: 126, {"obs", TransportUDP, TypeSrflx}: 100, {"obs", TransportTCP, TypeHost}: 60,
		{"srs", TransportUDP, TypeHost}:       126,
		{"gstreamer", TransportUDP, TypeHost}: 120, {"gstreamer", TransportTCP, TypeHost}: 60,
		{"pion", TransportUDP, TypeHost}: 126, {"pion", TransportUDP, TypeSrflx}: 100,
		{"pion", TransportUDP, TypePrflx}: 110, {"pion", TransportUDP, TypeRelay}: 0, {"pion", TransportTCP, TypeHost}: 126,
	}
	checked := 0
	for _, fl := range readFieldLines(t) {
		c := mustParse(t, fl.line)
		if got := uint8(c.Priority); got != uint8(256-c.Component) {
			t.Errorf("%q: low byte %d, want 256-component", fl.line, got)
		}
		k := key{implOf(fl.source), c.Transport, c.Type}
		tp, ok := want[k]
		if !ok {
			t.Errorf("%q: no expectation for %+v (%s)", fl.line, k, fl.source)
			continue
		}
		if got := uint8(c.Priority >> 24); got != tp {
			t.Errorf("%q: type preference %d, want %d for %+v", fl.line, got, tp, k)
		}
		if k.impl == "pion" { // pion applies the RFC formula exactly, with single-address defaults
			pref := uint16(DefaultLocalPreference)
			if c.Transport == TransportTCP {
				pref = MaxOtherPreference
			}
			if got := c.RecommendedPriority(pref); got != c.Priority {
				t.Errorf("%q: RecommendedPriority = %d", fl.line, got)
			}
		}
		checked++
	}
	if checked < 100 {
		t.Fatalf("checked %d lines", checked)
	}
}

// implOf names the implementation a testdata source comment is about.
func implOf(source string) string {
	s := strings.ToLower(source)
	for _, impl := range []string{"chrom", "firefox", "obs", "srs", "gstreamer", "libnice", "pion"} {
		if strings.Contains(s, impl) {
			switch impl {
			case "chrom":
				return "chromium"
			case "libnice":
				return "gstreamer"
			}
			return impl
		}
	}
	return source
}

func TestFoundation(t *testing.T) {
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	stunSrv := netip.MustParseAddr("198.51.100.1")
	base := Foundation(TypeHost, TransportUDP, a, netip.Addr{})
	if base != Foundation(TypeHost, TransportUDP, a, netip.Addr{}) {
		t.Fatal("Foundation is not a function of its inputs")
	}
	if len(base) == 0 || len(base) > 32 || indexNotICEChar(base) >= 0 {
		t.Fatalf("Foundation %q is not 1*32ice-char", base)
	}
	for name, other := range map[string]string{
		"type":      Foundation(TypeSrflx, TransportUDP, a, netip.Addr{}),
		"transport": Foundation(TypeHost, TransportTCP, a, netip.Addr{}),
		"base":      Foundation(TypeHost, TransportUDP, b, netip.Addr{}),
		"server":    Foundation(TypeHost, TransportUDP, a, stunSrv),
		"ipv6":      Foundation(TypeHost, TransportUDP, netip.MustParseAddr("2001:db8::1"), netip.Addr{}),
	} {
		if other == base {
			t.Errorf("a different %s gives the same foundation %q", name, base)
		}
	}
}
