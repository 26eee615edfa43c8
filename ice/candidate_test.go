package ice

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// Every real line parses, validates, and writes back byte for byte.
func TestCandidateRoundTripFieldLines(t *testing.T) {
	for _, fl := range readFieldLines(t) {
		c := mustParse(t, fl.line)
		got := string(c.AppendTo(nil))
		want := strings.TrimPrefix(fl.line, "a=")
		if got != want {
			t.Errorf("%s\n got %q\nwant %q", fl.source, got, want)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("Validate(%q): %v", fl.line, err)
		}
		if c.String() != want {
			t.Errorf("String() = %q", c.String())
		}
		// The same line with a CRLF, and without "candidate:", gives the same candidate.
		for _, variant := range []string{fl.line + "\r\n", strings.TrimPrefix(want, "candidate:")} {
			if d := mustParse(t, variant); !reflect.DeepEqual(c, d) {
				t.Errorf("ParseCandidate(%q) = %+v, want %+v", variant, d, c)
			}
		}
	}
}

func TestParseCandidateFields(t *testing.T) {
	v4 := netip.MustParseAddr
	for _, tc := range []struct {
		line string
		want Candidate
	}{{
		line: "a=candidate:1083767123 1 tcp 1518288127 ::1 9 typ host tcptype active generation 0 network-id 4 network-cost 50",
		want: Candidate{Foundation: "1083767123", Component: 1, Transport: TransportTCP, Priority: 1518288127,
			Addr: v4("::1"), Port: 9, Type: TypeHost, TCPType: TCPTypeActive,
			Extensions: []Extension{{"generation", "0"}, {"network-id", "4"}, {"network-cost", "50"}}},
	}, {
		line: "candidate:0 1 UDP 2122252543 2b6d6f6c-9a8e-4a5c-b7a4-6b0c2c8a9e13.local 55233 typ host",
		want: Candidate{Foundation: "0", Component: 1, Transport: TransportUDP, Priority: 2122252543,
			Hostname: "2b6d6f6c-9a8e-4a5c-b7a4-6b0c2c8a9e13.local", Port: 55233, Type: TypeHost,
			spell: spellUpperTransport},
	}, {
		line: "a=candidate:2 1 UDP 1686052607 203.0.113.7 63378 typ srflx raddr 0.0.0.0 rport 0",
		want: Candidate{Foundation: "2", Component: 1, Transport: TransportUDP, Priority: 1686052607,
			Addr: v4("203.0.113.7"), Port: 63378, Type: TypeSrflx, RelAddr: v4("0.0.0.0"),
			spell: spellUpperTransport},
	}, {
		line: "candidate:7 2 udp 1862270974 192.0.2.9 4000 typ prflx raddr host.example rport 5",
		want: Candidate{Foundation: "7", Component: 2, Transport: TransportUDP, Priority: 1862270974,
			Addr: v4("192.0.2.9"), Port: 4000, Type: TypePrflx, RelHostname: "host.example", RelPort: 5},
	}, {
		line: "candidate:3 1 TCP 1010827519 192.168.1.10 43677 typ host tcptype passive",
		want: Candidate{Foundation: "3", Component: 1, Transport: TransportTCP, Priority: 1010827519,
			Addr: v4("192.168.1.10"), Port: 43677, Type: TypeHost, TCPType: TCPTypePassive,
			spell: spellUpperTransport},
	}, {
		// Keywords in any case (RFC 5234 §2.3), extra spaces, tcptype after another extension.
		line: "CANDIDATE:x+/ 256 Tcp 0 10.0.0.1  0 TYP Relay RADDR 10.0.0.2 RPORT 1 ufrag ab TCPTYPE SO",
		want: Candidate{Foundation: "x+/", Component: 256, Transport: TransportTCP,
			Addr: v4("10.0.0.1"), Type: TypeRelay, RelAddr: v4("10.0.0.2"), RelPort: 1,
			TCPType: TCPTypeSO, Extensions: []Extension{{"ufrag", "ab"}}},
	}} {
		got := mustParse(t, tc.line)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseCandidate(%q)\n got %+v\nwant %+v", tc.line, got, tc.want)
		}
	}
}

// raddr and rport are optional each on its own (RFC 8839 §5.1); writing keeps
// the one that was there.
func TestCandidateRelatedAlone(t *testing.T) {
	for _, line := range []string{
		"candidate:1 1 udp 1 192.0.2.1 1 typ srflx raddr 192.0.2.2",
		"candidate:1 1 udp 1 192.0.2.1 1 typ srflx raddr 192.0.2.2 generation 0",
		"candidate:1 1 udp 1 192.0.2.1 1 typ srflx rport 7",
		"candidate:1 1 udp 1 192.0.2.1 1 typ srflx rport 7 generation 0",
	} {
		c := mustParse(t, line)
		if got := c.String(); got != line {
			t.Errorf("round trip of %q gave %q", line, got)
		}
	}
}

func TestParseCandidateErrors(t *testing.T) {
	long := strings.Repeat("x", 2000)
	for _, tc := range []struct {
		line, field string
		unsupported bool
	}{
		{"", FieldFoundation, false},
		{"candidate:", FieldFoundation, false},
		{"a=candidate:1 1 udp 2130706431 192.0.2.1 5000 typ", FieldType, false},
		{"a=candidate:1 1 udp 2130706431 192.0.2.1", FieldPort, false},
		{"1:2 1 udp 1 192.0.2.1 1 typ host", FieldFoundation, false},
		{strings.Repeat("a", 33) + " 1 udp 1 192.0.2.1 1 typ host", FieldFoundation, false},
		{"1 0 udp 1 192.0.2.1 1 typ host", FieldComponent, false},
		{"1 257 udp 1 192.0.2.1 1 typ host", FieldComponent, false},
		{"1 -1 udp 1 192.0.2.1 1 typ host", FieldComponent, false},
		{"1 1 sctp 1 192.0.2.1 1 typ host", FieldTransport, true},
		{"1 1 udp 4294967296 192.0.2.1 1 typ host", FieldPriority, false},
		{"1 1 udp +1 192.0.2.1 1 typ host", FieldPriority, false},
		{"1 1 udp 99999999999 192.0.2.1 1 typ host", FieldPriority, false},
		{"1 1 udp 1 192.0.2.256 1 typ host", FieldAddress, false},
		{"1 1 udp 1 fe80::1%eth0 1 typ host", FieldAddress, false},
		{"1 1 udp 1 host_name 1 typ host", FieldAddress, false},
		{"1 1 udp 1 192.0.2.1 65536 typ host", FieldPort, false},
		{"1 1 udp 1 192.0.2.1 1 type host", FieldType, false},
		{"1 1 udp 1 192.0.2.1 1 typ nat", FieldType, true},
		{"1 1 udp 1 192.0.2.1 1 typ srflx raddr", FieldRelAddr, false},
		{"1 1 udp 1 192.0.2.1 1 typ srflx raddr 1.2.3.4 rport x", FieldRelPort, false},
		{"1 1 tcp 1 192.0.2.1 1 typ host tcptype up", FieldTCPType, false},
		{"1 1 tcp 1 192.0.2.1 1 typ host tcptype active tcptype so", FieldTCPType, false},
		{"1 1 udp 1 192.0.2.1 1 typ host generation", FieldExtension, false},
		{"1 1 udp 1 192.0.2.1 1 typ host" + strings.Repeat(" a b", MaxExtensions+1), FieldExtension, false},
		{"1 1 udp 1 192.0.2.1 1 typ host\r\na=evil 1", FieldLine, false},
		{"1 1 udp 1 192.0.2.1 1 typ host\x00", FieldLine, false},
		{"1 1 udp 1 192.0.2.1 1 typ host x " + long, FieldLine, false},
	} {
		var c Candidate
		c.Extensions = make([]Extension, 0, 4)
		err := c.Parse(tc.line)
		var ce *CandidateError
		if !errors.Is(err, ErrCandidate) || !errors.As(err, &ce) {
			t.Errorf("Parse(%.60q) = %v, want a *CandidateError", tc.line, err)
			continue
		}
		if ce.Field != tc.field || errors.Is(err, ErrUnsupported) != tc.unsupported {
			t.Errorf("Parse(%.60q): field %q unsupported %v, want %q %v (%v)", tc.line, ce.Field,
				errors.Is(err, ErrUnsupported), tc.field, tc.unsupported, err)
		}
		if len(err.Error()) > 250 {
			t.Errorf("error of %d bytes: client text is not bounded", len(err.Error()))
		}
		if !reflect.DeepEqual(c, Candidate{Extensions: c.Extensions[:0]}) || cap(c.Extensions) < 4 {
			t.Errorf("after an error c = %+v, want zero with the capacity kept", c)
		}
	}
}

func TestCandidateValidate(t *testing.T) {
	good := Candidate{Foundation: "1", Component: 1, Transport: TransportUDP, Priority: 2130706431,
		Addr: netip.MustParseAddr("192.0.2.10"), Port: 8443, Type: TypeHost}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	if got, err := good.MarshalText(); err != nil || string(got) != "candidate:1 1 udp 2130706431 192.0.2.10 8443 typ host" {
		t.Fatalf("MarshalText = %q, %v", got, err)
	}
	for name, mutate := range map[string]func(*Candidate){
		"space in foundation":   func(c *Candidate) { c.Foundation = "1 2" },
		"CRLF in extension":     func(c *Candidate) { c.Extensions = []Extension{{"x", "1\r\na=evil:1"}} },
		"empty extension value": func(c *Candidate) { c.Extensions = []Extension{{"x", ""}} },
		"extension named raddr": func(c *Candidate) { c.Extensions = []Extension{{"raddr", "1.2.3.4"}} },
		"Addr and Hostname":     func(c *Candidate) { c.Hostname = "a.local" },
		"no address":            func(c *Candidate) { c.Addr = netip.Addr{} },
		"zero component":        func(c *Candidate) { c.Component = 0 },
		"no transport":          func(c *Candidate) { c.Transport = 0 },
		"no type":               func(c *Candidate) { c.Type = 0 },
		"tcptype on udp":        func(c *Candidate) { c.TCPType = TCPTypePassive },
		"rport without raddr":   func(c *Candidate) { c.RelPort = 9 },
		"zoned address":         func(c *Candidate) { c.Addr = netip.MustParseAddr("fe80::1%eth0") },
	} {
		c := good
		mutate(&c)
		if err := c.Validate(); !errors.Is(err, ErrCandidate) {
			t.Errorf("%s: Validate() = %v, want ErrCandidate", name, err)
		}
		if _, err := c.MarshalText(); err == nil {
			t.Errorf("%s: MarshalText succeeded", name)
		}
	}
}

func TestCandidateTextRoundTrip(t *testing.T) {
	line := "candidate:1611691496 1 udp 2122134271 fd00::2 51299 typ host generation 0 network-id 2"
	var c Candidate
	if err := c.UnmarshalText([]byte(line)); err != nil {
		t.Fatal(err)
	}
	b, err := c.MarshalText()
	if err != nil || string(b) != line {
		t.Fatalf("MarshalText = %q, %v", b, err)
	}
	if ap := c.AddrPort(); ap != netip.MustParseAddrPort("[fd00::2]:51299") || c.IsMDNS() {
		t.Fatalf("AddrPort %v, IsMDNS %v", ap, c.IsMDNS())
	}
	m := mustParse(t, "candidate:0 1 UDP 2122252543 2b6d6f6c-9a8e.LOCAL 55233 typ host")
	if !m.IsMDNS() || m.Addr.IsValid() {
		t.Fatalf("mDNS candidate: IsMDNS %v, Addr %v", m.IsMDNS(), m.Addr)
	}
}

func TestCandidateAllocs(t *testing.T) {
	lines := []string{
		"a=candidate:1083767123 1 tcp 1518288127 ::1 9 typ host tcptype active generation 0 network-id 4 network-cost 50",
		"a=candidate:3023495937 1 udp 41885439 198.51.100.9 61209 typ relay raddr 203.0.113.7 rport 60541 generation 0 ufrag Pfad network-cost 999",
		"candidate:0 1 UDP 2122252543 2b6d6f6c-9a8e-4a5c-b7a4-6b0c2c8a9e13.local 55233 typ host",
	}
	buf := make([]byte, 0, 256)
	c := Candidate{Extensions: make([]Extension, 0, 8)}
	for _, line := range lines {
		if n := testing.AllocsPerRun(100, func() {
			if err := c.Parse(line); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("Parse into a reused Candidate: %v allocs, want 0 (%q)", n, line)
		}
		if n := testing.AllocsPerRun(100, func() { buf = c.AppendTo(buf[:0]) }); n != 0 {
			t.Errorf("AppendTo: %v allocs, want 0", n)
		}
	}
}

func BenchmarkParseCandidate(b *testing.B) {
	line := "a=candidate:1083767123 1 tcp 1518288127 ::1 9 typ host tcptype active generation 0 network-id 4 network-cost 50"
	c := Candidate{Extensions: make([]Extension, 0, 8)}
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if err := c.Parse(line); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCandidateAppendTo(b *testing.B) {
	c, _ := ParseCandidate("a=candidate:1083767123 1 tcp 1518288127 ::1 9 typ host tcptype active generation 0 network-id 4 network-cost 50")
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = c.AppendTo(buf[:0])
	}
}
