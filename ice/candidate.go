package ice

import (
	"net/netip"
	"strings"
)

// Transport is the transport of a candidate (RFC 8839 §5.1): UDP, or TCP
// with a tcptype (RFC 6544 §4.5). The zero value is no transport.
type Transport uint8

// Transports this package parses and writes.
const (
	TransportUDP Transport = iota + 1
	TransportTCP
)

// String returns "udp", "tcp", or "" for an unknown value.
func (t Transport) String() string {
	switch t {
	case TransportUDP:
		return "udp"
	case TransportTCP:
		return "tcp"
	}
	return ""
}

// Type is a candidate type (RFC 8445 §5.1.1, cand-type of RFC 8839 §5.1).
// The zero value is no type.
type Type uint8

// Candidate types.
const (
	TypeHost  Type = iota + 1 // "host": an address of a local interface
	TypeSrflx                 // "srflx": server reflexive, learned from a STUN server
	TypePrflx                 // "prflx": peer reflexive, learned from a check
	TypeRelay                 // "relay": allocated on a TURN server
)

var typeNames = [...]string{TypeHost: "host", TypeSrflx: "srflx", TypePrflx: "prflx", TypeRelay: "relay"}

// String returns the cand-type token ("host", "srflx", "prflx", "relay"), or
// "" for an unknown value.
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return ""
}

// TCPType is the direction of a TCP candidate (RFC 6544 §4.5). The zero value
// is no tcptype, which UDP candidates have.
type TCPType uint8

// TCP candidate directions.
const (
	TCPTypeActive  TCPType = iota + 1 // "active": opens connections, port 9 (RFC 6544 §4.5)
	TCPTypePassive                    // "passive": accepts connections
	TCPTypeSO                         // "so": simultaneous open
)

var tcpTypeNames = [...]string{TCPTypeActive: "active", TCPTypePassive: "passive", TCPTypeSO: "so"}

// String returns the tcptype token ("active", "passive", "so"), or "".
func (t TCPType) String() string {
	if int(t) < len(tcpTypeNames) {
		return tcpTypeNames[t]
	}
	return ""
}

// Extension is one extension attribute of a candidate line (RFC 8839 §5.1
// cand-extension), such as Chromium's "generation 0", "ufrag Pfad",
// "network-id 1" or "network-cost 50".
type Extension struct {
	Name  string
	Value string
}

// Limits on a candidate line, so that a hostile line costs bounded memory.
const (
	// MaxCandidateLen is the longest candidate Parse accepts, in bytes, not
	// counting the "a=candidate:" prefix. Real lines are under 200 bytes.
	MaxCandidateLen = 1024
	// MaxExtensions is the number of extension attributes Parse keeps.
	// Chromium sends at most four.
	MaxExtensions = 16
	// maxFoundationLen is from the foundation rule, 1*32ice-char.
	maxFoundationLen = 32
	// maxHostnameLen is the longest DNS name (RFC 1035 §2.3.4).
	maxHostnameLen = 253
)

// Candidate is one ICE candidate (RFC 8445 §5.1), as a candidate-attribute of
// RFC 8839 §5.1:
//
//	candidate:<foundation> <component-id> <transport> <priority>
//	    <connection-address> <port> typ <cand-type>
//	    [raddr <rel-addr>] [rport <rel-port>] *(<extension-name> <extension-value>)
//
// The connection address is either Addr or, for a name such as the mDNS
// "<uuid>.local" that browsers put in place of private addresses, Hostname
// (kept as written; resolving it is left to the caller). The related address
// is RelAddr or RelHostname the same way. The tcptype extension of TCP
// candidates (RFC 6544 §4.5) is TCPType; other extensions are kept in
// Extensions in their order.
//
// A Candidate filled by Parse refers to the parsed string (its strings are
// sub-strings of it, never copies). Writing a parsed candidate reproduces the
// line byte for byte when the line was in canonical form: single spaces,
// lower-case keywords, addresses as netip writes them, numbers without
// leading zeros, tcptype before other extensions. The spelling of the
// transport ("UDP" of Firefox and libjuice or "udp" of Chromium) is kept.
type Candidate struct {
	Foundation  string     // 1-32 ice-chars (RFC 8445 §5.1.1.3)
	Component   uint16     // 1-256; 1 is RTP, 2 is RTCP without rtcp-mux
	Transport   Transport  // TransportUDP or TransportTCP
	Priority    uint32     // RFC 8445 §5.1.2; see Priority
	Addr        netip.Addr // the connection address, when it is an IP address (no zone)
	Hostname    string     // the connection address, when it is a name (".local" mDNS)
	Port        uint16     // 0-65535; TCP active candidates use 9 (RFC 6544 §4.5)
	Type        Type       // host, srflx, prflx or relay
	RelAddr     netip.Addr // raddr, when it is an IP address
	RelHostname string     // raddr, when it is a name
	RelPort     uint16     // rport; written when raddr is
	TCPType     TCPType    // tcptype (RFC 6544 §4.5); zero for UDP
	Extensions  []Extension

	spell uint8 // how the parsed line was written where the grammar allows a choice
}

// Spelling bits of Candidate.spell.
const (
	spellUpperTransport uint8 = 1 << iota // "UDP"/"TCP" rather than "udp"/"tcp"
	spellNoRPort                          // raddr without rport
	spellRPortOnly                        // rport without raddr
)

// ParseCandidate parses one candidate line, with or without the "a=" and
// "candidate:" prefixes and a trailing CR LF (RFC 8839 §5.1). The result
// refers to s (see Candidate). Errors are *CandidateError, matching
// ErrCandidate, and ErrUnsupported for an unknown transport or type.
func ParseCandidate(s string) (Candidate, error) {
	var c Candidate
	err := c.Parse(s)
	return c, err
}

// Parse is ParseCandidate into c, reusing the capacity of c.Extensions: it
// does not allocate when that capacity suffices and the line is well formed.
// On error c is zero except for that capacity.
func (c *Candidate) Parse(s string) error {
	ext := c.Extensions[:0]
	*c = Candidate{Extensions: ext}
	if err := c.parse(s); err != nil {
		clear(c.Extensions)
		*c = Candidate{Extensions: c.Extensions[:0]}
		return err
	}
	return nil
}

// UnmarshalText is Parse of a copy of text (encoding.TextUnmarshaler).
func (c *Candidate) UnmarshalText(text []byte) error { return c.Parse(string(text)) }

// tokens yields the space-separated words of a line without allocating.
type tokens struct{ s string }

func (t *tokens) next() (string, bool) {
	for len(t.s) > 0 && t.s[0] == ' ' {
		t.s = t.s[1:]
	}
	if t.s == "" {
		return "", false
	}
	i := strings.IndexByte(t.s, ' ')
	if i < 0 {
		i = len(t.s)
	}
	w := t.s[:i]
	t.s = t.s[i:]
	return w, true
}

func (c *Candidate) parse(s string) error {
	s, err := trimLine(s)
	if err != nil {
		return err
	}
	t := tokens{s}
	if err := c.parseFixed(&t); err != nil {
		return err
	}
	return c.parseTail(&t)
}

// trimLine checks the length and bytes of a line and strips the optional
// "a=" and "candidate:" prefixes and the line end.
func trimLine(s string) (string, error) {
	const prefixes = len("a=candidate:\r\n")
	if len(s) > MaxCandidateLen+prefixes {
		return "", candErr(FieldLine, s, "longer than MaxCandidateLen")
	}
	s = strings.TrimSuffix(strings.TrimSuffix(s, "\n"), "\r")
	if strings.ContainsAny(s, "\x00\r\n") {
		return "", candErr(FieldLine, s, "NUL, CR or LF inside the line")
	}
	s = strings.TrimPrefix(s, "a=")
	if len(s) >= len("candidate:") && strings.EqualFold(s[:len("candidate:")], "candidate:") {
		s = s[len("candidate:"):]
	}
	if len(s) > MaxCandidateLen { // on the value, so that AppendTo's output always parses
		return "", candErr(FieldLine, s, "longer than MaxCandidateLen")
	}
	return s, nil
}

// parseFixed parses the seven words up to and including cand-type.
func (c *Candidate) parseFixed(t *tokens) error {
	var w [8]string
	for i := range w {
		var ok bool
		if w[i], ok = t.next(); !ok {
			return candErr(fixedFields[i], "", "missing")
		}
	}
	if len(w[0]) > maxFoundationLen || indexNotICEChar(w[0]) >= 0 {
		return candErr(FieldFoundation, w[0], "want 1-32 ice-chars")
	}
	c.Foundation = w[0]
	comp, ok := parseUint(w[1], 256)
	if !ok || comp == 0 {
		return candErr(FieldComponent, w[1], "want 1-256")
	}
	c.Component = uint16(comp)
	if err := c.parseTransport(w[2]); err != nil {
		return err
	}
	prio, ok := parseUint(w[3], 1<<32-1)
	if !ok {
		return candErr(FieldPriority, w[3], "want a 32-bit decimal")
	}
	c.Priority = uint32(prio)
	if c.Addr, c.Hostname, ok = parseAddress(w[4]); !ok {
		return candErr(FieldAddress, w[4], "want an IPv4 or IPv6 address or a host name")
	}
	port, ok := parseUint(w[5], 65535)
	if !ok {
		return candErr(FieldPort, w[5], "want 0-65535")
	}
	c.Port = uint16(port)
	if !strings.EqualFold(w[6], "typ") {
		return candErr(FieldType, w[6], `want "typ"`)
	}
	return c.parseType(w[7])
}

// fixedFields names the words parseFixed reads, for "missing" errors.
var fixedFields = [8]string{FieldFoundation, FieldComponent, FieldTransport, FieldPriority, FieldAddress, FieldPort, FieldType, FieldType}

func (c *Candidate) parseTransport(w string) error {
	switch w {
	case "udp", "UDP":
		c.Transport = TransportUDP
	case "tcp", "TCP":
		c.Transport = TransportTCP
	default:
		switch { // other mixed cases: ABNF literals are case-insensitive (RFC 5234 §2.3)
		case strings.EqualFold(w, "udp"):
			c.Transport = TransportUDP
		case strings.EqualFold(w, "tcp"):
			c.Transport = TransportTCP
		default:
			return unsupported(FieldTransport, w)
		}
		return nil
	}
	if w[0] == 'U' || w[0] == 'T' {
		c.spell |= spellUpperTransport
	}
	return nil
}

func (c *Candidate) parseType(w string) error {
	for i := TypeHost; i <= TypeRelay; i++ {
		if strings.EqualFold(w, typeNames[i]) {
			c.Type = i
			return nil
		}
	}
	return unsupported(FieldType, w)
}

// parseTail parses raddr, rport and the extension attributes.
func (c *Candidate) parseTail(t *tokens) error {
	name, ok := t.next()
	if ok && strings.EqualFold(name, "raddr") {
		v, _ := t.next()
		if c.RelAddr, c.RelHostname, ok = parseAddress(v); !ok {
			return candErr(FieldRelAddr, v, "want an IPv4 or IPv6 address or a host name")
		}
		name, ok = t.next()
		if !ok || !strings.EqualFold(name, "rport") {
			c.spell |= spellNoRPort
		}
	}
	if ok && strings.EqualFold(name, "rport") {
		if !c.hasRel() {
			c.spell |= spellRPortOnly
		}
		v, _ := t.next()
		port, valid := parseUint(v, 65535)
		if !valid {
			return candErr(FieldRelPort, v, "want 0-65535")
		}
		c.RelPort = uint16(port)
		name, ok = t.next()
	}
	for ; ok; name, ok = t.next() {
		if err := c.parseExtension(name, t); err != nil {
			return err
		}
	}
	return nil
}

func (c *Candidate) parseExtension(name string, t *tokens) error {
	v, ok := t.next()
	if !ok {
		return candErr(FieldExtension, name, "name without a value")
	}
	if strings.EqualFold(name, "tcptype") {
		return c.parseTCPType(v)
	}
	if len(c.Extensions) == MaxExtensions {
		return candErr(FieldExtension, name, "more than MaxExtensions")
	}
	c.Extensions = append(c.Extensions, Extension{Name: name, Value: v})
	return nil
}

func (c *Candidate) parseTCPType(v string) error {
	if c.TCPType != 0 {
		return candErr(FieldTCPType, v, "repeated")
	}
	for i := TCPTypeActive; i <= TCPTypeSO; i++ {
		if strings.EqualFold(v, tcpTypeNames[i]) {
			c.TCPType = i
			return nil
		}
	}
	return candErr(FieldTCPType, v, `want "active", "passive" or "so"`)
}

func (c *Candidate) hasRel() bool { return c.RelAddr.IsValid() || c.RelHostname != "" }

// parseUint parses 1-10 decimal digits not above max, without allocating
// (strconv allocates its error).
func parseUint(s string, max uint64) (uint64, bool) {
	if s == "" || len(s) > 10 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		d := s[i] - '0'
		if d > 9 {
			return 0, false
		}
		n = n*10 + uint64(d)
	}
	return n, n <= max
}

// parseAddress parses a connection-address (RFC 8839 §5.1): an IPv4 or IPv6
// address (zones refused: they have no meaning to the peer), or else a host
// name of letters, digits, '-' and '.', such as an mDNS "<uuid>.local".
func parseAddress(s string) (netip.Addr, string, bool) {
	if s == "" {
		return netip.Addr{}, "", false
	}
	if strings.IndexByte(s, ':') >= 0 || isDottedDigits(s) {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Addr{}, "", false
		}
		return a, "", true
	}
	if !isHostname(s) {
		return netip.Addr{}, "", false
	}
	return netip.Addr{}, s, true
}

func isDottedDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '.' {
			return false
		}
	}
	return true
}

func isHostname(s string) bool {
	if len(s) > maxHostnameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// IsMDNS reports whether the connection address is a ".local" name
// (draft-ietf-mmusic-mdns-ice-candidates §3.1.1): the peer hides a private
// address, and its checks arrive from a peer-reflexive address instead.
func (c *Candidate) IsMDNS() bool {
	n := len(c.Hostname)
	return n > len(".local") && strings.EqualFold(c.Hostname[n-len(".local"):], ".local")
}

// AddrPort returns Addr and Port; it is not valid when the address is a
// Hostname.
func (c *Candidate) AddrPort() netip.AddrPort { return netip.AddrPortFrom(c.Addr, c.Port) }
