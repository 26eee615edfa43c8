package sdp

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	psdp "github.com/pion/sdp/v3"

	"github.com/streamwire/streamwire/dtlsparams"
)

// offeredFormat is one payload type of an m-section with everything the offer says
// about it. The strings alias the parsed description.
type offeredFormat struct {
	pt       uint8
	token    string // the payload type as written in the m= line
	name     string
	clock    uint32
	channels uint16
	params   string // fmtp parameters, after "<pt> "
	rtpmap   string // the whole a=rtpmap value, echoed in answers
	fmtp     string // the whole a=fmtp value, or ""
	apt      int    // RTX/RED: associated payload type, -1 if none
}

// extmapEntry is one a=extmap line.
type extmapEntry struct {
	id    int
	uri   string
	attr  string // the whole value when it has no direction, else ""
	valid bool
}

// transport is what an m-section (or the session level) says about ICE and DTLS.
type transport struct {
	ufrag, pwd   string
	fingerprints []dtlsparams.Fingerprint
	// fingerprintErr is the first a=fingerprint value that did not parse.
	fingerprintErr error
	setup          dtlsparams.Setup
	hasSetup       bool
	setupErr       error
}

// section is the index of one offered m-section, built in a single pass over its
// attributes so that answering never searches attributes per payload type.
type section struct {
	md         *psdp.MediaDescription
	kind       Kind
	port       int
	proto      string
	mid        string
	direction  Direction
	transport  transport
	rtcpMux    bool
	rtcpRsize  bool
	bundleOnly bool
	allowMixed bool
	endOfCands bool
	sctpPort   int
	maxMsgSize int
	formats    []offeredFormat
	ptIndex    [128]int16 // payload type -> index in formats + 1; 0 = not offered
	extmaps    []extmapEntry
	candidates []string
	ssrcs      []uint32
	msid       string
}

// offerIndex is the index of a whole offer.
type offerIndex struct {
	desc       *psdp.SessionDescription
	session    transport
	allowMixed bool
	iceLite    bool
	bundle     []string // mids of the first a=group:BUNDLE, in order
	extmaps    []extmapEntry
	sections   []section
	direction  Direction // session-level direction attribute, SendRecv if none
}

func parseOffer(offer []byte) (*psdp.SessionDescription, error) {
	if len(offer) > MaxSize {
		return nil, errorf(ErrTooLarge, "%d bytes, limit %d", len(offer), MaxSize)
	}
	// pion accepts some inputs that are not SDP at all (a lone "x"); every
	// description starts with its version line (RFC 8866 §5).
	if !bytes.HasPrefix(offer, []byte("v=")) {
		return nil, errorf(ErrParse, "does not start with v=")
	}
	if i := bareCR(offer); i >= 0 {
		// pion splits lines on a lone CR too, but keeps it inside values in some
		// places; echoing such a value would forge an extra line in the answer.
		return nil, errorf(ErrParse, "carriage return without line feed at byte %d", i)
	}
	desc := new(psdp.SessionDescription)
	if err := desc.UnmarshalString(string(offer)); err != nil {
		return nil, errorf(ErrParse, "%s", clipN(err.Error(), 256)) // pion quotes the offending line
	}
	return desc, nil
}

// bareCR returns the index of the first CR not followed by LF, or -1.
func bareCR(b []byte) int {
	for off := 0; ; {
		i := bytes.IndexByte(b[off:], '\r')
		if i < 0 {
			return -1
		}
		off += i
		if off+1 >= len(b) || b[off+1] != '\n' {
			return off
		}
		off++
	}
}

func indexOffer(desc *psdp.SessionDescription) *offerIndex {
	x := &offerIndex{desc: desc}
	for i := range desc.Attributes {
		a := &desc.Attributes[i]
		switch a.Key {
		case "group":
			if x.bundle == nil && strings.HasPrefix(a.Value, "BUNDLE") {
				x.bundle = strings.Fields(a.Value[len("BUNDLE"):])
				if x.bundle == nil {
					x.bundle = []string{}
				}
			}
		case "extmap-allow-mixed":
			x.allowMixed = true
		case "ice-lite":
			x.iceLite = true
		case "extmap":
			x.extmaps = append(x.extmaps, parseExtmap(a.Value))
		case "sendrecv", "sendonly", "recvonly", "inactive":
			// RFC 8866 §6.7: a session-level direction is the default of every
			// m-section (Firefox writes a=sendrecv there).
			x.direction, _ = parseDirection(a.Key)
		default:
			x.session.add(a)
		}
	}
	x.sections = make([]section, len(desc.MediaDescriptions))
	for i, md := range desc.MediaDescriptions {
		x.sections[i].index(md, x.direction)
	}
	return x
}

// add records a transport attribute; it reports whether a was one.
func (t *transport) add(a *psdp.Attribute) bool {
	switch a.Key {
	case "ice-ufrag":
		t.ufrag = a.Value
	case "ice-pwd":
		t.pwd = a.Value
	case "fingerprint":
		// A hash function dtlsparams does not know is skipped (RFC 8122 §5 lets an
		// endpoint use the fingerprints it supports); so is a malformed value,
		// whose error is kept to explain an m-section left with none.
		f, err := dtlsparams.ParseFingerprint(a.Value)
		switch {
		case err == nil:
			t.fingerprints = append(t.fingerprints, f)
		case t.fingerprintErr == nil:
			t.fingerprintErr = err
		}
	case "setup":
		s, err := dtlsparams.ParseSetup(a.Value)
		if err != nil {
			err = fmt.Errorf("%w: %w", ErrSetup, err)
		}
		t.setup, t.hasSetup, t.setupErr = s, true, err
	default:
		return false
	}
	return true
}

func (s *section) index(md *psdp.MediaDescription, dir Direction) {
	s.md = md
	s.kind = kindOf(md.MediaName.Media)
	s.port = md.MediaName.Port.Value
	s.proto = strings.Join(md.MediaName.Protos, "/")
	s.direction = dir
	if s.kind == KindAudio || s.kind == KindVideo {
		s.formats = make([]offeredFormat, 0, len(md.MediaName.Formats))
		for _, f := range md.MediaName.Formats {
			pt, err := strconv.ParseUint(f, 10, 8)
			if err != nil || pt > 127 || s.ptIndex[pt] != 0 {
				continue
			}
			s.formats = append(s.formats, offeredFormat{pt: uint8(pt), apt: -1, token: f})
			s.ptIndex[pt] = int16(len(s.formats))
			s.staticFormat(&s.formats[len(s.formats)-1])
		}
	}
	s.presize(md.Attributes)
	for i := range md.Attributes {
		s.attribute(&md.Attributes[i])
	}
	s.resolveAssociations()
}

// presize counts the repeated attributes first so that each per-section list is
// allocated once.
func (s *section) presize(attrs []psdp.Attribute) {
	var ext, cand int
	for i := range attrs {
		switch attrs[i].Key {
		case "extmap":
			ext++
		case "candidate":
			cand++
		}
	}
	if ext > 0 {
		s.extmaps = make([]extmapEntry, 0, ext)
	}
	if cand > 0 {
		s.candidates = make([]string, 0, cand)
	}
}

// staticFormat fills in the RFC 3551 static payload types that offers may use
// without an a=rtpmap (PCMU, PCMA, G722).
func (s *section) staticFormat(f *offeredFormat) {
	switch f.pt {
	case 0:
		f.name, f.clock, f.channels = "PCMU", 8000, 1
	case 8:
		f.name, f.clock, f.channels = "PCMA", 8000, 1
	case 9:
		f.name, f.clock, f.channels = "G722", 8000, 1
	}
}

func (s *section) format(ptField string) *offeredFormat {
	pt, err := strconv.ParseUint(ptField, 10, 8)
	if err != nil || pt > 127 || s.ptIndex[pt] == 0 {
		return nil
	}
	return &s.formats[s.ptIndex[pt]-1]
}

func (s *section) attribute(a *psdp.Attribute) {
	if s.transport.add(a) {
		return
	}
	switch a.Key {
	case "mid":
		s.mid = a.Value
	case "sendrecv", "sendonly", "recvonly", "inactive":
		s.direction, _ = parseDirection(a.Key)
	case "rtcp-mux", "rtcp-mux-only":
		s.rtcpMux = true
	case "rtcp-rsize":
		s.rtcpRsize = true
	case "bundle-only":
		s.bundleOnly = true
	case "extmap-allow-mixed":
		s.allowMixed = true
	case "end-of-candidates":
		s.endOfCands = true
	case "candidate":
		s.candidates = append(s.candidates, a.Value)
	case "sctp-port":
		s.sctpPort, _ = strconv.Atoi(a.Value)
	case "max-message-size":
		s.maxMsgSize, _ = strconv.Atoi(a.Value)
	case "msid":
		s.msid = a.Value
	case "extmap":
		s.extmaps = append(s.extmaps, parseExtmap(a.Value))
	case "rtpmap":
		s.rtpmap(a.Value)
	case "fmtp":
		pt, params, _ := strings.Cut(a.Value, " ")
		if f := s.format(pt); f != nil {
			f.params, f.fmtp = params, a.Value
		}
	case "ssrc":
		id, _, _ := strings.Cut(a.Value, " ")
		if v, err := strconv.ParseUint(id, 10, 32); err == nil {
			if n := len(s.ssrcs); n == 0 || s.ssrcs[n-1] != uint32(v) {
				s.ssrcs = append(s.ssrcs, uint32(v))
			}
		}
	}
}

// feedbackFor returns the value of a, if a is an a=rtcp-fb line for payload type
// token pt or for "*" (RFC 4585 §4.2). rtcp-fb lines are not indexed: a Chrome
// video section has about 170 of them and only the chosen codec's are needed, so
// they are read in one pass over the section when the answer is written.
func feedbackFor(a *psdp.Attribute, pt string) (string, bool) {
	if a.Key != "rtcp-fb" {
		return "", false
	}
	p, value, ok := strings.Cut(a.Value, " ")
	if !ok || (p != pt && p != "*") {
		return "", false
	}
	return strings.TrimSpace(value), true
}

// rtpmap parses "<pt> <name>/<clock>[/<channels>]".
func (s *section) rtpmap(v string) {
	pt, enc, ok := strings.Cut(v, " ")
	f := s.format(pt)
	if !ok || f == nil {
		return
	}
	name, rest, _ := strings.Cut(strings.TrimSpace(enc), "/")
	clock, chans, hasChans := strings.Cut(rest, "/")
	c, err := strconv.ParseUint(clock, 10, 32)
	if err != nil || name == "" {
		return
	}
	f.name, f.clock, f.channels, f.rtpmap = name, uint32(c), 1, v
	if hasChans {
		if n, err := strconv.ParseUint(chans, 10, 16); err == nil && n > 0 {
			f.channels = uint16(n)
		}
	}
}

// parseExtmap reads "<id>[/<direction>] <uri> [<attributes>]" (RFC 8285 §8).
func parseExtmap(v string) extmapEntry {
	idDir, rest, ok := strings.Cut(v, " ")
	if !ok {
		return extmapEntry{}
	}
	idStr, _, hasDir := strings.Cut(idDir, "/")
	id, err := strconv.Atoi(idStr)
	if err != nil || id < 1 || id > 255 {
		return extmapEntry{}
	}
	uri, _, hasExtra := strings.Cut(strings.TrimSpace(rest), " ")
	e := extmapEntry{id: id, uri: uri, valid: uri != ""}
	if !hasDir && !hasExtra {
		e.attr = v // echoed as is; a direction or extension attributes are dropped
	}
	return e
}

// resolveAssociations resolves the apt= parameter of RTX and the primary format of RED formats.
func (s *section) resolveAssociations() {
	for i := range s.formats {
		f := &s.formats[i]
		switch {
		case isName(f.name, "rtx"):
			if v, ok := fmtpParam(f.params, "apt"); ok {
				if n, err := strconv.ParseUint(v, 10, 8); err == nil && n < 128 && s.ptIndex[n] != 0 {
					f.apt = int(n)
				}
			}
		case isName(f.name, "red") && f.params != "":
			// audio RED: "111/111"; the first redundant encoding is the primary.
			first, _, _ := strings.Cut(f.params, "/")
			if n, err := strconv.ParseUint(strings.TrimSpace(first), 10, 8); err == nil && n < 128 && s.ptIndex[n] != 0 {
				f.apt = int(n)
			}
		}
	}
}

// resolve combines session-level and media-level transport attributes: media level
// wins (RFC 8839 §5.4, RFC 8122 §5: both are allowed at either level).
func (t transport) resolve(session transport) transport {
	if t.ufrag == "" {
		t.ufrag = session.ufrag
	}
	if t.pwd == "" {
		t.pwd = session.pwd
	}
	if len(t.fingerprints) == 0 {
		t.fingerprints = session.fingerprints
		if t.fingerprintErr == nil {
			t.fingerprintErr = session.fingerprintErr
		}
	}
	if !t.hasSetup {
		t.setup, t.hasSetup, t.setupErr = session.setup, session.hasSetup, session.setupErr
	}
	return t
}

// inBundle reports whether mid is in the offer's BUNDLE group.
func (x *offerIndex) inBundle(mid string) bool {
	for _, m := range x.bundle {
		if m == mid && mid != "" {
			return true
		}
	}
	return false
}

// remoteTransport resolves the ICE and DTLS parameters of section i: media level,
// then session level, then (for a bundled section such as a bundle-only one that
// carries none) those of the BUNDLE-tagged section (RFC 8843 §7.1.3).
func (x *offerIndex) remoteTransport(i int) (transport, error) {
	s := &x.sections[i]
	t := s.transport.resolve(x.session)
	if (t.ufrag == "" || len(t.fingerprints) == 0) && x.inBundle(s.mid) {
		for j := range x.sections {
			if x.sections[j].mid == x.bundle[0] && j != i {
				tag := x.sections[j].transport.resolve(x.session)
				if t.ufrag == "" {
					t.ufrag, t.pwd = tag.ufrag, tag.pwd
				}
				if len(t.fingerprints) == 0 {
					t.fingerprints = tag.fingerprints
					if t.fingerprintErr == nil {
						t.fingerprintErr = tag.fingerprintErr
					}
				}
				if !s.transport.hasSetup && !x.session.hasSetup {
					t.setup, t.hasSetup, t.setupErr = tag.setup, tag.hasSetup, tag.setupErr
				}
			}
		}
	}
	switch {
	case t.ufrag == "" || t.pwd == "":
		return t, errorf(ErrRemoteICE, "m-section %d (mid %q)", i, clip(s.mid))
	case len(t.fingerprints) == 0 && t.fingerprintErr != nil:
		return t, fmt.Errorf("%w: m-section %d (mid %q): %w", ErrRemoteFingerprint, i, clip(s.mid), t.fingerprintErr)
	case len(t.fingerprints) == 0:
		return t, errorf(ErrRemoteFingerprint, "m-section %d (mid %q)", i, clip(s.mid))
	case t.setupErr != nil:
		return t, t.setupErr
	}
	return t, nil
}
