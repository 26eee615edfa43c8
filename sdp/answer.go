package sdp

import (
	"fmt"
	"strconv"
	"strings"

	psdp "github.com/pion/sdp/v3"

	"github.com/streamwire/streamwire/dtlsparams"
)

// Answer builds the answer to offer (RFC 8829 §5.3, RFC 3264 §6) for the local side
// described by cfg (nil means a zero Config, which fails for lack of a fingerprint).
// The answer holds one codec per m-section plus its repair formats, keeps the
// offerer's payload types and header extension IDs, and rejects (port 0, mid kept)
// sections the local side cannot or will not use. offer is copied once, so the
// caller may reuse it; the Session's strings point into that copy.
func Answer(offer []byte, cfg *Config) (*Session, error) {
	desc, err := parseOffer(offer)
	if err != nil {
		return nil, err
	}
	return AnswerDescription(desc, cfg)
}

// AnswerDescription is Answer for an offer that is already parsed. It does not
// modify desc; the returned Session's strings alias it.
func AnswerDescription(desc *psdp.SessionDescription, cfg *Config) (*Session, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if desc == nil {
		return nil, errorf(ErrParse, "nil description")
	}
	x := indexOffer(desc)
	a := answerer{cfg: cfg, x: x, rnd: newRandom(cfg.Rand)}
	return a.answer()
}

// answerer holds the state of one Answer call.
type answerer struct {
	cfg          *Config
	x            *offerIndex
	rnd          *random
	sess         *Session
	fingerprints []psdp.Attribute
	conn         *psdp.ConnectionInformation
	dataChannel  bool // an application section was accepted already
}

func (a *answerer) answer() (*Session, error) {
	cfg, x := a.cfg, a.x
	sess := &Session{Sections: make([]Section, len(x.sections)), RemoteICELite: x.iceLite}
	a.sess = sess
	var err error
	if sess.LocalUfrag, sess.LocalPwd, err = a.rnd.credentials(cfg.ICEUfrag, cfg.ICEPwd); err != nil {
		return nil, err
	}
	a.fingerprints = make([]psdp.Attribute, len(cfg.Fingerprints))
	for i, f := range cfg.Fingerprints {
		a.fingerprints[i] = psdp.Attribute{Key: "fingerprint", Value: f.String()}
	}
	a.conn = &psdp.ConnectionInformation{NetworkType: "IN", AddressType: "IP4", Address: &psdp.Address{Address: "0.0.0.0"}}

	out := &psdp.SessionDescription{
		Origin:           psdp.Origin{Username: "-", SessionVersion: 2, NetworkType: "IN", AddressType: "IP4", UnicastAddress: "127.0.0.1"},
		SessionName:      psdp.SessionName(orDefault(cfg.SessionName, DefaultSessionName)),
		TimeDescriptions: []psdp.TimeDescription{{}},
	}
	if out.Origin.SessionID, err = a.rnd.sessionID(); err != nil {
		return nil, err
	}
	out.MediaDescriptions = make([]*psdp.MediaDescription, len(x.sections))
	accepted := 0
	for i := range x.sections {
		md, err := a.section(i)
		if err != nil {
			return nil, err
		}
		out.MediaDescriptions[i] = md
		if !sess.Sections[i].Rejected {
			accepted++
		}
	}
	if accepted == 0 {
		return nil, errorf(ErrNoMedia, "all %d m-sections rejected", len(x.sections))
	}
	out.Attributes = a.sessionAttributes()
	if sess.SDP, err = out.Marshal(); err != nil {
		return nil, errorf(ErrParse, "marshal answer: %v", err)
	}
	return sess, nil
}

// sessionAttributes writes BUNDLE with the accepted mids in the offer's order,
// extmap-allow-mixed if the offer had it at session level, ice-lite and ice-options.
func (a *answerer) sessionAttributes() []psdp.Attribute {
	attrs := make([]psdp.Attribute, 0, 4)
	if a.x.bundle != nil {
		var b strings.Builder
		b.WriteString("BUNDLE")
		for _, mid := range a.x.bundle {
			for i := range a.sess.Sections {
				s := &a.sess.Sections[i]
				if s.Mid == mid && !s.Rejected {
					b.WriteByte(' ')
					b.WriteString(mid)
					a.sess.Bundle = append(a.sess.Bundle, mid)
					break
				}
			}
		}
		if a.sess.Bundle != nil { // a group with no mids left is not written
			attrs = append(attrs, psdp.Attribute{Key: "group", Value: b.String()})
		}
	}
	if a.x.allowMixed {
		attrs = append(attrs, psdp.Attribute{Key: "extmap-allow-mixed"})
	}
	if a.cfg.ICELite {
		attrs = append(attrs, psdp.Attribute{Key: "ice-lite"})
	}
	if len(a.cfg.ICEOptions) > 0 {
		attrs = append(attrs, psdp.Attribute{Key: "ice-options", Value: strings.Join(a.cfg.ICEOptions, " ")})
	}
	return attrs
}

// section answers m-section i.
func (a *answerer) section(i int) (*psdp.MediaDescription, error) {
	s := &a.x.sections[i]
	r := &a.sess.Sections[i]
	r.Index, r.Mid, r.Kind = i, s.mid, s.kind
	var ch choice
	ok := s.port != 0 || s.bundleOnly
	switch s.kind {
	case KindAudio, KindVideo:
		m := a.cfg.media(s.kind)
		ok = ok && !m.Disabled && isSRTPProto(s.proto)
		if ok {
			ch, ok = choose(s, m)
		}
	case KindApplication:
		ok = ok && a.cfg.DataChannel && !a.dataChannel && isDataChannel(s)
		a.dataChannel = a.dataChannel || ok
	default:
		ok = false
	}
	if !ok {
		r.Rejected = true
		return a.rejected(s), nil
	}
	t, err := a.x.remoteTransport(i)
	if err != nil {
		return nil, err
	}
	r.RemoteUfrag, r.RemotePwd, r.RemoteFingerprints, r.RemoteSetup = t.ufrag, t.pwd, t.fingerprints, t.setup
	if r.LocalRole, r.LocalSetup, err = dtlsparams.SelectRole(dtlsparams.Answerer, t.setup, a.cfg.RolePolicy); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSetup, err)
	}
	r.RemoteCandidates, r.RemoteEndOfCandidates = s.candidates, s.endOfCands
	r.RemoteSSRCs, r.RemoteMsid = s.ssrcs, s.msid

	md := &psdp.MediaDescription{
		MediaName:             psdp.MediaName{Media: s.md.MediaName.Media, Port: psdp.RangedPort{Value: 9}, Protos: s.md.MediaName.Protos},
		ConnectionInformation: a.conn,
	}
	if s.kind == KindApplication {
		r.Direction = SendRecv
		r.SCTPPort, r.MaxMessageSize = s.sctpPort, s.maxMsgSize
		md.MediaName.Formats = s.md.MediaName.Formats[:1]
		md.Attributes = make([]psdp.Attribute, 0, 8+len(a.fingerprints)+len(a.cfg.Candidates))
		md.Attributes = a.transportAttributes(md.Attributes, r)
		md.Attributes = append(md.Attributes,
			psdp.Attribute{Key: "sctp-port", Value: strconv.Itoa(a.cfg.sctpPort())},
			psdp.Attribute{Key: "max-message-size", Value: strconv.Itoa(a.cfg.maxMessageSize())})
		md.Attributes = a.candidateAttributes(md.Attributes)
		return md, nil
	}
	return a.rtpSection(s, r, md, &ch)
}

// rtpSection fills in an accepted audio or video section.
func (a *answerer) rtpSection(s *section, r *Section, md *psdp.MediaDescription, ch *choice) (*psdp.MediaDescription, error) {
	m := a.cfg.media(s.kind)
	local := &m.codecs(s.kind)[ch.local]
	f := &s.formats[ch.format]
	r.Direction = directionOf(s.direction.Receives() && m.Direction.Sends(), s.direction.Sends() && m.Direction.Receives())
	r.RTCPMux, r.RTCPRsize = s.rtcpMux, s.rtcpRsize
	r.AllowMixed = a.x.allowMixed || s.allowMixed
	r.Codec = NegotiatedCodec{PayloadType: f.pt, Name: f.name, ClockRate: f.clock, Channels: f.channels, Fmtp: f.params}
	fmtpAttr := f.fmtp
	if isName(f.name, "H264") {
		if p := h264AnswerFmtp(local.Fmtp, f.params); p != f.params {
			r.Codec.Fmtp, fmtpAttr = p, f.token+" "+p
		}
	}

	formats := make([]string, 1, 5)
	formats[0] = f.token
	for _, pt := range [...]int{ch.rtx, ch.red, ch.redRTX, ch.ulpfec} {
		if pt >= 0 {
			formats = append(formats, s.formats[pt].token)
		}
	}
	md.MediaName.Formats = formats

	extmaps := s.extmaps
	if len(extmaps) == 0 {
		extmaps = a.x.extmaps
	}
	n := 24 + len(a.fingerprints) + len(extmaps) + len(a.cfg.Candidates)
	attrs := make([]psdp.Attribute, 0, n)
	attrs = a.transportAttributes(attrs, r)
	attrs, r.Extensions = a.extensionAttributes(attrs, extmaps, m.extensions(s.kind))
	attrs = append(attrs, psdp.Attribute{Key: r.Direction.String()})
	if r.Direction.Sends() {
		attrs = a.msidAttribute(attrs, s.kind, &m.Source)
	}
	if s.rtcpMux {
		attrs = append(attrs, psdp.Attribute{Key: "rtcp-mux"})
	}
	if s.rtcpRsize {
		attrs = append(attrs, psdp.Attribute{Key: "rtcp-rsize"})
	}
	if s.allowMixed && !a.x.allowMixed {
		attrs = append(attrs, psdp.Attribute{Key: "extmap-allow-mixed"})
	}
	if f.rtpmap != "" { // static payload types (RFC 3551) may come without one
		attrs = append(attrs, psdp.Attribute{Key: "rtpmap", Value: f.rtpmap})
	}
	attrs, r.RTCPFeedback = a.feedbackAttributes(attrs, s, f.token, local.feedback(s.kind))
	if fmtpAttr != "" {
		attrs = append(attrs, psdp.Attribute{Key: "fmtp", Value: fmtpAttr})
	}
	for _, pt := range [...]int{ch.rtx, ch.red, ch.redRTX, ch.ulpfec} {
		if pt < 0 {
			continue
		}
		rf := &s.formats[pt]
		attrs = append(attrs, psdp.Attribute{Key: "rtpmap", Value: rf.rtpmap})
		if rf.fmtp != "" {
			attrs = append(attrs, psdp.Attribute{Key: "fmtp", Value: rf.fmtp})
		}
	}
	r.RTX, r.RED, r.ULPFEC = ch.pt(s, ch.rtx), ch.pt(s, ch.red), ch.pt(s, ch.ulpfec)
	if r.Direction.Sends() {
		var err error
		if attrs, err = a.ssrcAttributes(attrs, s.kind, &m.Source, r); err != nil {
			return nil, err
		}
	}
	md.Attributes = a.candidateAttributes(attrs)
	return md, nil
}

// transportAttributes appends ICE credentials, fingerprints, setup and mid.
func (a *answerer) transportAttributes(attrs []psdp.Attribute, r *Section) []psdp.Attribute {
	attrs = append(attrs,
		psdp.Attribute{Key: "ice-ufrag", Value: a.sess.LocalUfrag},
		psdp.Attribute{Key: "ice-pwd", Value: a.sess.LocalPwd})
	attrs = append(attrs, a.fingerprints...)
	attrs = append(attrs, psdp.Attribute{Key: "setup", Value: r.LocalSetup.String()})
	if r.Mid != "" {
		attrs = append(attrs, psdp.Attribute{Key: "mid", Value: r.Mid})
	}
	return attrs
}

// candidateAttributes appends the local candidates and a=end-of-candidates.
func (a *answerer) candidateAttributes(attrs []psdp.Attribute) []psdp.Attribute {
	for _, c := range a.cfg.Candidates {
		attrs = append(attrs, psdp.Attribute{Key: "candidate", Value: candidateValue(c)})
	}
	if a.cfg.EndOfCandidates {
		attrs = append(attrs, psdp.Attribute{Key: "end-of-candidates"})
	}
	return attrs
}

// candidateValue strips "a=" and "candidate:" from a configured candidate line.
func candidateValue(c string) string {
	c = strings.TrimPrefix(strings.TrimSpace(c), "a=")
	return strings.TrimPrefix(c, "candidate:")
}

// extensionAttributes keeps the offered extensions whose URI the local side knows,
// with the offerer's IDs (RFC 8285 §6: the answerer must not change them).
func (a *answerer) extensionAttributes(attrs []psdp.Attribute, offered []extmapEntry, local []string) ([]psdp.Attribute, []Extension) {
	var exts []Extension
	for _, e := range offered {
		if !e.valid || !containsFold(local, e.uri) {
			continue
		}
		v := e.attr
		if v == "" {
			v = strconv.Itoa(e.id) + " " + e.uri
		}
		attrs = append(attrs, psdp.Attribute{Key: "extmap", Value: v})
		if exts == nil {
			exts = make([]Extension, 0, len(offered))
		}
		exts = append(exts, Extension{ID: e.id, URI: e.uri})
	}
	return attrs, exts
}

// feedbackAttributes keeps the offered rtcp-fb lines of payload type pt (or "*")
// whose value the local codec supports (RFC 4585 §4.2).
func (a *answerer) feedbackAttributes(attrs []psdp.Attribute, s *section, pt string, local []string) ([]psdp.Attribute, []string) {
	var fbs []string
	for i := range s.md.Attributes {
		at := &s.md.Attributes[i]
		v, ok := feedbackFor(at, pt)
		if !ok || !containsFold(local, v) || containsFold(fbs, v) {
			continue
		}
		attrs = append(attrs, psdp.Attribute{Key: "rtcp-fb", Value: at.Value})
		if fbs == nil {
			fbs = make([]string, 0, len(local))
		}
		fbs = append(fbs, v)
	}
	return attrs, fbs
}

// msidAttribute appends a=msid (RFC 8830 §2) for what the local side sends.
func (a *answerer) msidAttribute(attrs []psdp.Attribute, k Kind, src *Source) []psdp.Attribute {
	return append(attrs, psdp.Attribute{Key: "msid", Value: a.streamID(src) + " " + trackID(k, src)})
}

func (a *answerer) streamID(src *Source) string {
	return orDefault(src.StreamID, orDefault(a.cfg.StreamID, DefaultStreamID))
}

func trackID(k Kind, src *Source) string {
	if src.TrackID != "" {
		return src.TrackID
	}
	if k == KindAudio {
		return "audio0"
	}
	return "video0"
}

// ssrcAttributes appends a=ssrc-group:FID and a=ssrc cname/msid lines (RFC 5576,
// RFC 4588 §8) for the local streams, picking random SSRCs where none are set.
func (a *answerer) ssrcAttributes(attrs []psdp.Attribute, k Kind, src *Source, r *Section) ([]psdp.Attribute, error) {
	var err error
	if r.LocalSSRC = src.SSRC; r.LocalSSRC == 0 {
		if r.LocalSSRC, err = a.rnd.ssrc(); err != nil {
			return nil, err
		}
	}
	if r.RTX != 0 {
		if r.LocalRTXSSRC = src.RTXSSRC; r.LocalRTXSSRC == 0 {
			if r.LocalRTXSSRC, err = a.rnd.ssrc(); err != nil {
				return nil, err
			}
		}
	}
	cname := orDefault(src.CNAME, orDefault(a.cfg.CNAME, DefaultCNAME))
	msid := a.streamID(src) + " " + trackID(k, src)
	ssrc := strconv.FormatUint(uint64(r.LocalSSRC), 10)
	if r.LocalRTXSSRC != 0 {
		rtx := strconv.FormatUint(uint64(r.LocalRTXSSRC), 10)
		attrs = append(attrs, psdp.Attribute{Key: "ssrc-group", Value: "FID " + ssrc + " " + rtx})
		attrs = append(attrs,
			psdp.Attribute{Key: "ssrc", Value: ssrc + " cname:" + cname},
			psdp.Attribute{Key: "ssrc", Value: ssrc + " msid:" + msid},
			psdp.Attribute{Key: "ssrc", Value: rtx + " cname:" + cname},
			psdp.Attribute{Key: "ssrc", Value: rtx + " msid:" + msid})
		return attrs, nil
	}
	return append(attrs,
		psdp.Attribute{Key: "ssrc", Value: ssrc + " cname:" + cname},
		psdp.Attribute{Key: "ssrc", Value: ssrc + " msid:" + msid}), nil
}

// rejected answers a section with port 0 and its mid (RFC 3264 §6, RFC 8843
// §7.3.3: a rejected mid leaves the BUNDLE group). RFC 3264 ignores the formats of
// a rejected line but SDP needs one: RTP sections get the static payload type 0,
// which needs no a=rtpmap (pion looks up every listed payload type and skips only
// 0), data channel sections their offered format.
func (a *answerer) rejected(s *section) *psdp.MediaDescription {
	formats := rejectedRTPFormats
	if s.kind == KindApplication || s.kind == KindUnknown || len(s.formats) == 0 {
		formats = s.md.MediaName.Formats
		if len(formats) > 1 {
			formats = formats[:1]
		}
	}
	if len(formats) == 0 {
		formats = rejectedRTPFormats
	}
	md := &psdp.MediaDescription{
		MediaName:             psdp.MediaName{Media: s.md.MediaName.Media, Protos: s.md.MediaName.Protos, Formats: formats},
		ConnectionInformation: a.conn,
	}
	if s.mid != "" {
		md.Attributes = []psdp.Attribute{{Key: "mid", Value: s.mid}}
	}
	return md
}

var rejectedRTPFormats = []string{"0"}

func containsFold(list []string, v string) bool {
	for _, s := range list {
		if strings.EqualFold(s, v) {
			return true
		}
	}
	return false
}

// isSRTPProto accepts the DTLS-SRTP RTP profiles (RFC 5764 §8, RFC 8829 §5.1.2:
// UDP/TLS/RTP/SAVPF and, from older offerers, RTP/SAVPF).
func isSRTPProto(p string) bool {
	return strings.HasSuffix(p, "RTP/SAVPF") || strings.HasSuffix(p, "RTP/SAVP")
}

// isDataChannel accepts "UDP/DTLS/SCTP webrtc-datachannel" (RFC 8841 §4); the older
// "DTLS/SCTP 5000" + a=sctpmap form is rejected.
func isDataChannel(s *section) bool {
	f := s.md.MediaName.Formats
	return strings.HasSuffix(s.proto, "DTLS/SCTP") && s.proto != "DTLS/SCTP" && len(f) > 0 && f[0] == "webrtc-datachannel"
}
