package sdp

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/streamwire/streamwire/internal/logstr"
)

// SDPFrag is an application/trickle-ice-sdpfrag body (RFC 8840 §9, used by WHIP
// and WHEP PATCH, RFC 9725 §4.3): ICE credentials, candidates and
// end-of-candidates, grouped under the m= lines (with mid) they belong to.
type SDPFrag struct {
	// ICELite reports a session-level a=ice-lite (RFC 8839 §5.3).
	ICELite bool
	// ICEOptions are the tokens of a session-level a=ice-options ("trickle").
	ICEOptions []string
	// Ufrag and Pwd are session-level a=ice-ufrag and a=ice-pwd; a changed pair from
	// a client signals an ICE restart (RFC 9725 §4.3.3).
	Ufrag, Pwd string
	// Bundle holds the mids of an a=group:BUNDLE line, if any.
	Bundle []string
	// Media are the m-sections of the fragment, in order.
	Media []FragMedia
}

// FragMedia is one m-section of an SDP fragment.
type FragMedia struct {
	// MediaLine is the m= line value, such as "audio 9 UDP/TLS/RTP/SAVPF 111". Only
	// the mid identifies the m-section; the line is kept to write it back.
	MediaLine string
	// Mid is the a=mid value (required).
	Mid string
	// Ufrag and Pwd are media-level credentials, empty when the session level holds
	// them.
	Ufrag, Pwd string
	// Candidates are the a=candidate values, after "candidate:".
	Candidates []string
	// EndOfCandidates reports a=end-of-candidates.
	EndOfCandidates bool
}

// Credentials returns the ICE ufrag and pwd that apply to m: its own, else the
// session level's. A nil m (an m-section that a lookup did not find) gets the
// session level's; a nil f has none, so both are empty unless m has its own.
func (f *SDPFrag) Credentials(m *FragMedia) (ufrag, pwd string) {
	if m != nil && m.Ufrag != "" {
		return m.Ufrag, m.Pwd
	}
	if f == nil {
		return "", ""
	}
	return f.Ufrag, f.Pwd
}

// ParseSDPFrag reads an SDP fragment. Lines may end in CRLF or LF; unknown
// attributes, and the c=, b=, i= and k= lines a media description may carry, are
// ignored (RFC 8840 §9). Other lines than those and a= and m=, a candidate or mid
// outside an m-section, an m-section without a=mid, a malformed candidate, or an
// ice-ufrag without its ice-pwd give an error wrapping ErrBadSDPFrag. The result's
// strings are copies; b may be reused.
func ParseSDPFrag(b []byte) (*SDPFrag, error) {
	if len(b) > MaxSize {
		return nil, errorf(ErrTooLarge, "sdpfrag of %d bytes, limit %d", len(b), MaxSize)
	}
	f := &SDPFrag{}
	var m *FragMedia
	rest := string(b)
	for n := 1; rest != ""; n++ {
		var line string
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			line, rest = rest, ""
		}
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			continue
		}
		if len(line) < 2 || line[1] != '=' {
			return nil, errorf(ErrBadSDPFrag, "line %d: %q is not <type>=<value>", n, clip(line))
		}
		var err error
		switch line[0] {
		case 'm':
			// Only the mid identifies the m-section (RFC 8840 §9), so the
			// line needs no more than a media type: medooze's whep.js before
			// 2024 sends "m=video RTP/AVP 0", without a port.
			if len(strings.Fields(line[2:])) == 0 {
				return nil, errorf(ErrBadSDPFrag, "line %d: empty m= line", n)
			}
			if m != nil && m.Mid == "" {
				return nil, errorf(ErrBadSDPFrag, "line %d: previous m-section has no a=mid", n)
			}
			f.Media = append(f.Media, FragMedia{MediaLine: line[2:]})
			m = &f.Media[len(f.Media)-1]
		case 'a':
			err = f.attribute(m, line[2:])
		case 'c', 'b', 'i', 'k':
			// RFC 8840 §9 builds fragments from RFC 8866's media descriptions,
			// which may carry these lines (some clients send
			// "c=IN IP4 0.0.0.0"); nothing in them matters for trickle.
		default:
			return nil, errorf(ErrBadSDPFrag, "line %d: unexpected %q line in a fragment", n, line[:1])
		}
		if err != nil {
			return nil, errorf(ErrBadSDPFrag, "line %d: %v", n, err)
		}
	}
	if m != nil && m.Mid == "" {
		return nil, errorf(ErrBadSDPFrag, "last m-section has no a=mid")
	}
	if (f.Ufrag == "") != (f.Pwd == "") {
		return nil, errorf(ErrBadSDPFrag, "session-level ice-ufrag and ice-pwd must come together")
	}
	for i := range f.Media {
		if (f.Media[i].Ufrag == "") != (f.Media[i].Pwd == "") {
			return nil, errorf(ErrBadSDPFrag, "mid %q: ice-ufrag and ice-pwd must come together", clip(f.Media[i].Mid))
		}
	}
	return f, nil
}

func (f *SDPFrag) attribute(m *FragMedia, attr string) error {
	key, value, _ := strings.Cut(attr, ":")
	switch key {
	case "ice-ufrag", "ice-pwd":
		if !validICEChars(value) {
			return fmt.Errorf("bad %s %q", key, clip(value))
		}
		dst := &f.Ufrag
		if m != nil {
			dst = &m.Ufrag
		}
		if key == "ice-pwd" {
			dst = &f.Pwd
			if m != nil {
				dst = &m.Pwd
			}
		}
		*dst = value
	case "ice-lite":
		f.ICELite = true
	case "ice-options":
		f.ICEOptions = strings.Fields(value)
	case "group":
		if mids, ok := strings.CutPrefix(value, "BUNDLE"); ok {
			f.Bundle = strings.Fields(mids)
		}
	case "mid":
		if m == nil {
			return fmt.Errorf("a=mid before any m= line")
		}
		if value == "" {
			return fmt.Errorf("empty a=mid")
		}
		m.Mid = value
	case "candidate":
		if m == nil {
			return fmt.Errorf("a=candidate before any m= line")
		}
		if err := checkCandidate(value); err != nil {
			return err
		}
		m.Candidates = append(m.Candidates, value)
	case "end-of-candidates":
		if m == nil {
			// RFC 8840 allows it at session level: it then ends every m-section.
			for i := range f.Media {
				f.Media[i].EndOfCandidates = true
			}
			return nil
		}
		m.EndOfCandidates = true
	}
	return nil
}

// checkCandidate validates "<foundation> <component> <transport> <priority>
// <address> <port> typ <type> ..." (RFC 8839 §5.1).
func checkCandidate(v string) error {
	var fields [8]string // the fixed ones; an array, so that checking allocates nothing
	n := 0
	for f := range strings.FieldsSeq(v) {
		if n < len(fields) {
			fields[n] = f
		}
		n++
	}
	if n < len(fields) {
		return fmt.Errorf("candidate %q has %d fields, want at least 8", clip(v), n)
	}
	if len(fields[0]) > 32 || !validICEChars(fields[0]) {
		return fmt.Errorf("candidate foundation %q", clip(fields[0]))
	}
	if c, err := strconv.ParseUint(fields[1], 10, 16); err != nil || c < 1 || c > 256 {
		return fmt.Errorf("candidate component %q", clip(fields[1]))
	}
	if _, err := strconv.ParseUint(fields[3], 10, 32); err != nil {
		return fmt.Errorf("candidate priority %q", clip(fields[3]))
	}
	if _, err := strconv.ParseUint(fields[5], 10, 16); err != nil {
		return fmt.Errorf("candidate port %q", clip(fields[5]))
	}
	if !strings.EqualFold(fields[6], "typ") { // ABNF literals are case-insensitive (RFC 5234 §2.3)
		return fmt.Errorf("candidate has %q where \"typ\" belongs", clip(fields[6]))
	}
	return nil
}

func validICEChars(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(iceChars, s[i]) < 0 {
			return false
		}
	}
	return true
}

// clip shortens remote text quoted in an error message, which callers log.
func clip(s string) string { return clipN(s, 64) }

// clipN is clip with a limit of n bytes.
func clipN(s string, n int) string { return logstr.BoundN(s, n) }

// AppendTo appends f in the RFC 8840 format, CRLF line endings, to b. A nil f
// is the empty fragment: b is returned as it is, as ParseSDPFrag's nil result
// after an error holds nothing to write.
func (f *SDPFrag) AppendTo(b []byte) []byte {
	if f == nil {
		return b
	}
	line := func(parts ...string) {
		for _, p := range parts {
			b = append(b, p...)
		}
		b = append(b, '\r', '\n')
	}
	if f.ICELite {
		line("a=ice-lite")
	}
	if len(f.ICEOptions) > 0 {
		line("a=ice-options:", strings.Join(f.ICEOptions, " "))
	}
	if len(f.Bundle) > 0 {
		line("a=group:BUNDLE ", strings.Join(f.Bundle, " "))
	}
	if f.Ufrag != "" {
		line("a=ice-ufrag:", f.Ufrag)
		line("a=ice-pwd:", f.Pwd)
	}
	for i := range f.Media {
		m := &f.Media[i]
		line("m=", m.MediaLine)
		line("a=mid:", m.Mid)
		if m.Ufrag != "" {
			line("a=ice-ufrag:", m.Ufrag)
			line("a=ice-pwd:", m.Pwd)
		}
		for _, c := range m.Candidates {
			line("a=candidate:", c)
		}
		if m.EndOfCandidates {
			line("a=end-of-candidates")
		}
	}
	return b
}
