package ice

import (
	"net/netip"
	"slices"
	"strconv"
)

// AppendTo appends the candidate-attribute "candidate:<foundation> ..." of
// RFC 8839 §5.1 (what follows "a=" in SDP, and the candidate string of a
// browser's RTCIceCandidate) to b, without a line end. It does not allocate
// when b has room. It writes what c holds without checking it: see Validate.
func (c *Candidate) AppendTo(b []byte) []byte {
	return c.AppendValue(append(b, "candidate:"...))
}

// AppendValue is AppendTo without the "candidate:" prefix: the value of an
// SDP attribute whose key is "candidate".
func (c *Candidate) AppendValue(b []byte) []byte {
	b = append(b, c.Foundation...)
	b = strconv.AppendUint(append(b, ' '), uint64(c.Component), 10)
	b = append(b, ' ')
	b = c.appendTransport(b)
	b = strconv.AppendUint(append(b, ' '), uint64(c.Priority), 10)
	b = appendAddress(append(b, ' '), c.Addr, c.Hostname)
	b = strconv.AppendUint(append(b, ' '), uint64(c.Port), 10)
	b = append(append(b, " typ "...), c.Type.String()...)
	if c.hasRel() {
		b = appendAddress(append(b, " raddr "...), c.RelAddr, c.RelHostname)
	}
	if (c.hasRel() && c.spell&spellNoRPort == 0) || c.spell&spellRPortOnly != 0 {
		b = strconv.AppendUint(append(b, " rport "...), uint64(c.RelPort), 10)
	}
	if c.TCPType != 0 {
		b = append(append(b, " tcptype "...), c.TCPType.String()...)
	}
	for _, e := range c.Extensions {
		b = append(append(append(append(b, ' '), e.Name...), ' '), e.Value...)
	}
	return b
}

func (c *Candidate) appendTransport(b []byte) []byte {
	s := c.Transport.String()
	if c.spell&spellUpperTransport == 0 {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
		b = append(b, s[i]-'a'+'A')
	}
	return b
}

func appendAddress(b []byte, a netip.Addr, host string) []byte {
	if host != "" {
		return append(b, host...)
	}
	return a.AppendTo(b)
}

// String returns AppendTo(nil) as a string.
func (c *Candidate) String() string { return string(c.AppendTo(nil)) }

// MarshalText returns AppendTo(nil) after Validate (encoding.TextMarshaler).
func (c *Candidate) MarshalText() ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c.AppendTo(nil), nil
}

// Validate checks that c writes as a candidate-attribute that parses back to
// c (RFC 8839 §5.1): the fields are in range, Addr or Hostname (not both) is
// set, and no string holds a space, CR, LF or NUL that would split or end the
// line (SDP injection). Errors are *CandidateError, as Parse returns.
func (c *Candidate) Validate() error {
	if c.Addr.IsValid() && c.Hostname != "" {
		return candErr(FieldAddress, c.Hostname, "both Addr and Hostname set")
	}
	if c.RelAddr.IsValid() && c.RelHostname != "" {
		return candErr(FieldRelAddr, c.RelHostname, "both RelAddr and RelHostname set")
	}
	if c.TCPType != 0 && c.Transport != TransportTCP {
		return candErr(FieldTCPType, c.TCPType.String(), "set on a UDP candidate")
	}
	for _, e := range c.Extensions {
		if e.Name == "" || e.Value == "" {
			return candErr(FieldExtension, e.Name, "empty name or value")
		}
	}
	var buf [MaxCandidateLen + 64]byte
	line := c.AppendValue(buf[:0])
	var back Candidate
	back.Extensions = make([]Extension, 0, len(c.Extensions))
	if err := back.Parse(string(line)); err != nil {
		return err
	}
	if !back.sameAs(c) {
		return candErr(FieldLine, string(line), "does not parse back to the same candidate")
	}
	return nil
}

// sameAs compares every field but spell.
func (c *Candidate) sameAs(d *Candidate) bool {
	return c.Foundation == d.Foundation && c.Component == d.Component &&
		c.Transport == d.Transport && c.Priority == d.Priority &&
		c.Addr == d.Addr && c.Hostname == d.Hostname && c.Port == d.Port &&
		c.Type == d.Type && c.RelAddr == d.RelAddr && c.RelHostname == d.RelHostname &&
		c.RelPort == d.RelPort && c.TCPType == d.TCPType &&
		slices.Equal(c.Extensions, d.Extensions)
}
