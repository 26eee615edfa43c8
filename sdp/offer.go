package sdp

import (
	"fmt"
	"strconv"
	"strings"

	psdp "github.com/pion/sdp/v3"

	"github.com/streamwire/streamwire/dtlsparams"
)

// LocalOffer is an offer made by the local side (RFC 8829 §5.2): for a WHEP
// counter-offer (406 + offer, then the player's answer by PATCH) or for a server
// that calls a peer. Accept reads the remote answer to it.
type LocalOffer struct {
	// SDP is the offer to send.
	SDP []byte
	// LocalUfrag and LocalPwd are the ICE credentials written into the offer.
	LocalUfrag, LocalPwd string

	sections   []offeredSection
	rolePolicy dtlsparams.RolePolicy // a copy of Config.RolePolicy, for Accept
}

// offeredSection remembers what the local offer put in one m-section. It holds
// copies, so that changing the Config after Offer does not change Accept.
type offeredSection struct {
	kind    Kind
	mid     string
	dir     Direction
	codecs  []offeredCodec
	exts    []string
	ssrc    uint32
	rtxSSRC uint32
}

// offeredCodec is a local codec and the payload types the offer gave it.
type offeredCodec struct {
	name string
	pt   uint8
	rtx  int // RTX payload type, -1 without RTX
}

// Offer builds an offer with one m-section per enabled media kind (audio mid "0",
// video mid "1" when audio is enabled, ...) and a data channel section if
// cfg.DataChannel, all in one BUNDLE group, with a=setup:actpass (RFC 8842 §5.2;
// cfg.RolePolicy.Offer may say active or passive instead),
// every configured codec (with an RTX format per video codec, apt set to the
// codec's payload type, RFC 4588 §8.1) and header extension IDs numbered from 1.
func Offer(cfg *Config) (*LocalOffer, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	o := &LocalOffer{rolePolicy: cfg.RolePolicy}
	rnd := newRandom(cfg.Rand)
	var err error
	if o.LocalUfrag, o.LocalPwd, err = rnd.credentials(cfg.ICEUfrag, cfg.ICEPwd); err != nil {
		return nil, err
	}
	desc := &psdp.SessionDescription{
		Origin:           psdp.Origin{Username: "-", SessionVersion: 2, NetworkType: "IN", AddressType: "IP4", UnicastAddress: "127.0.0.1"},
		SessionName:      psdp.SessionName(orDefault(cfg.SessionName, DefaultSessionName)),
		TimeDescriptions: []psdp.TimeDescription{{}},
	}
	if desc.Origin.SessionID, err = rnd.sessionID(); err != nil {
		return nil, err
	}
	// One extension ID per URI across the whole offer, as BUNDLE requires (RFC 8843 §9.1).
	extIDs := map[string]int{}
	var mids []string
	for _, k := range [...]Kind{KindAudio, KindVideo, KindApplication} {
		if (k == KindApplication && !cfg.DataChannel) || (k != KindApplication && cfg.media(k).Disabled) {
			continue
		}
		mid := strconv.Itoa(len(mids))
		mids = append(mids, mid)
		md, err := o.section(cfg, k, mid, rnd, extIDs)
		if err != nil {
			return nil, err
		}
		desc.MediaDescriptions = append(desc.MediaDescriptions, md)
	}
	if len(mids) == 0 {
		return nil, errorf(ErrNoMedia, "every media kind is disabled")
	}
	desc.Attributes = append(desc.Attributes, psdp.Attribute{Key: "group", Value: "BUNDLE " + strings.Join(mids, " ")})
	if cfg.ICELite {
		desc.Attributes = append(desc.Attributes, psdp.Attribute{Key: "ice-lite"})
	}
	if len(cfg.ICEOptions) > 0 {
		desc.Attributes = append(desc.Attributes, psdp.Attribute{Key: "ice-options", Value: strings.Join(cfg.ICEOptions, " ")})
	}
	if o.SDP, err = desc.Marshal(); err != nil {
		return nil, errorf(ErrConfig, "marshal offer: %v", err)
	}
	return o, nil
}

func (o *LocalOffer) section(cfg *Config, k Kind, mid string, rnd *random, extIDs map[string]int) (*psdp.MediaDescription, error) {
	proto := []string{"UDP", "TLS", "RTP", "SAVPF"}
	if k == KindApplication {
		proto = []string{"UDP", "DTLS", "SCTP"}
	}
	md := &psdp.MediaDescription{
		MediaName:             psdp.MediaName{Media: k.String(), Port: psdp.RangedPort{Value: 9}, Protos: proto},
		ConnectionInformation: &psdp.ConnectionInformation{NetworkType: "IN", AddressType: "IP4", Address: &psdp.Address{Address: "0.0.0.0"}},
	}
	attr := func(k, v string) { md.Attributes = append(md.Attributes, psdp.Attribute{Key: k, Value: v}) }
	attr("ice-ufrag", o.LocalUfrag)
	attr("ice-pwd", o.LocalPwd)
	for _, f := range cfg.Fingerprints {
		attr("fingerprint", f.String())
	}
	attr("setup", cfg.RolePolicy.OfferSetup().String())
	attr("mid", mid)
	ours := offeredSection{kind: k, mid: mid, dir: SendRecv}
	if k == KindApplication {
		md.MediaName.Formats = []string{"webrtc-datachannel"}
		attr("sctp-port", strconv.Itoa(cfg.sctpPort()))
		attr("max-message-size", strconv.Itoa(cfg.maxMessageSize()))
	} else if err := o.rtpSection(cfg, md, &ours, rnd, extIDs); err != nil {
		return nil, err
	}
	for _, c := range cfg.Candidates {
		attr("candidate", candidateValue(c))
	}
	if cfg.EndOfCandidates {
		attr("end-of-candidates", "")
	}
	o.sections = append(o.sections, ours)
	return md, nil
}

func (o *LocalOffer) rtpSection(cfg *Config, md *psdp.MediaDescription, ours *offeredSection, rnd *random, extIDs map[string]int) error {
	k, m := ours.kind, cfg.media(ours.kind)
	attr := func(k, v string) { md.Attributes = append(md.Attributes, psdp.Attribute{Key: k, Value: v}) }
	ours.exts = append([]string(nil), m.extensions(k)...)
	for _, uri := range ours.exts {
		id, ok := extIDs[uri]
		if !ok {
			id = len(extIDs) + 1
			extIDs[uri] = id
		}
		attr("extmap", strconv.Itoa(id)+" "+uri)
	}
	ours.dir = m.Direction
	attr(ours.dir.String(), "")
	src := &m.Source
	stream := orDefault(src.StreamID, orDefault(cfg.StreamID, DefaultStreamID))
	if ours.dir.Sends() {
		attr("msid", stream+" "+trackID(k, src))
	}
	attr("rtcp-mux", "")
	attr("rtcp-rsize", "")
	var used [128]bool
	for _, c := range m.codecs(k) {
		if c.PayloadType != 0 && c.PayloadType < 128 {
			used[c.PayloadType] = true
		}
	}
	next := 96
	alloc := func() (uint8, error) {
		for ; next < 128; next++ {
			if !used[next] {
				used[next] = true
				return uint8(next), nil
			}
		}
		return 0, errorf(ErrConfig, "more codecs than dynamic payload types")
	}
	codecs := m.codecs(k)
	for i := range codecs {
		c := &codecs[i]
		oc := offeredCodec{name: c.Name, pt: c.PayloadType, rtx: -1}
		var err error
		if oc.pt == 0 || oc.pt >= 128 {
			if oc.pt, err = alloc(); err != nil {
				return err
			}
		}
		pt := strconv.Itoa(int(oc.pt))
		md.MediaName.Formats = append(md.MediaName.Formats, pt)
		rtpmap := pt + " " + c.Name + "/" + strconv.FormatUint(uint64(c.clockRate(k)), 10)
		if k == KindAudio && c.channels() > 1 {
			rtpmap += "/" + strconv.Itoa(int(c.channels()))
		}
		attr("rtpmap", rtpmap)
		for _, fb := range c.feedback(k) {
			attr("rtcp-fb", pt+" "+fb)
		}
		if c.Fmtp != "" {
			attr("fmtp", pt+" "+c.Fmtp)
		}
		if k == KindVideo && !m.NoRTX {
			rtx, err := alloc()
			if err != nil {
				return err
			}
			oc.rtx = int(rtx)
			rpt := strconv.Itoa(int(rtx))
			md.MediaName.Formats = append(md.MediaName.Formats, rpt)
			attr("rtpmap", rpt+" rtx/"+strconv.FormatUint(uint64(c.clockRate(k)), 10))
			attr("fmtp", rpt+" apt="+pt)
		}
		ours.codecs = append(ours.codecs, oc)
	}
	if !ours.dir.Sends() {
		return nil
	}
	var err error
	if ours.ssrc = src.SSRC; ours.ssrc == 0 {
		if ours.ssrc, err = rnd.ssrc(); err != nil {
			return err
		}
	}
	cname := orDefault(src.CNAME, orDefault(cfg.CNAME, DefaultCNAME))
	msid := stream + " " + trackID(k, src)
	ssrc := strconv.FormatUint(uint64(ours.ssrc), 10)
	if k == KindVideo && !m.NoRTX {
		if ours.rtxSSRC = src.RTXSSRC; ours.rtxSSRC == 0 {
			if ours.rtxSSRC, err = rnd.ssrc(); err != nil {
				return err
			}
		}
		rtx := strconv.FormatUint(uint64(ours.rtxSSRC), 10)
		attr("ssrc-group", "FID "+ssrc+" "+rtx)
		attr("ssrc", ssrc+" cname:"+cname)
		attr("ssrc", ssrc+" msid:"+msid)
		attr("ssrc", rtx+" cname:"+cname)
		attr("ssrc", rtx+" msid:"+msid)
		return nil
	}
	attr("ssrc", ssrc+" cname:"+cname)
	attr("ssrc", ssrc+" msid:"+msid)
	return nil
}

// Accept reads the remote answer to o (RFC 3264 §7) and returns what was
// negotiated: per m-section the codec the answer put first among those offered, its
// RTX format, the answered extensions, the remote transport and the local DTLS role
// (the opposite of the answer's a=setup, which must be active or passive).
func (o *LocalOffer) Accept(answer []byte) (*Session, error) {
	desc, err := parseOffer(answer)
	if err != nil {
		return nil, err
	}
	x := indexOffer(desc)
	if len(x.sections) != len(o.sections) {
		return nil, errorf(ErrAnswerMismatch, "%d m-sections for %d offered", len(x.sections), len(o.sections))
	}
	sess := &Session{Sections: make([]Section, len(x.sections)), LocalUfrag: o.LocalUfrag, LocalPwd: o.LocalPwd, RemoteICELite: x.iceLite}
	accepted := 0
	for i := range x.sections {
		if err := o.acceptSection(x, i, &sess.Sections[i]); err != nil {
			return nil, err
		}
		if !sess.Sections[i].Rejected {
			accepted++
		}
	}
	if accepted == 0 {
		return nil, errorf(ErrNoMedia, "the answer rejects every m-section")
	}
	for _, mid := range x.bundle {
		for _, s := range sess.Sections {
			if s.Mid == mid && !s.Rejected {
				sess.Bundle = append(sess.Bundle, mid)
			}
		}
	}
	return sess, nil
}

func (o *LocalOffer) acceptSection(x *offerIndex, i int, r *Section) error {
	s, ours := &x.sections[i], &o.sections[i]
	r.Index, r.Mid, r.Kind = i, ours.mid, ours.kind
	if s.kind != ours.kind || (s.mid != "" && s.mid != ours.mid) {
		return errorf(ErrAnswerMismatch, "m-section %d is %s mid %q, offered %s mid %q", i, s.kind, clip(s.mid), ours.kind, ours.mid)
	}
	if s.port == 0 && !s.bundleOnly {
		r.Rejected = true
		return nil
	}
	t, err := x.remoteTransport(i)
	if err != nil {
		return err
	}
	r.RemoteUfrag, r.RemotePwd, r.RemoteFingerprints, r.RemoteSetup = t.ufrag, t.pwd, t.fingerprints, t.setup
	if r.LocalRole, r.LocalSetup, err = dtlsparams.SelectRole(dtlsparams.Offerer, t.setup, o.rolePolicy); err != nil {
		return fmt.Errorf("%w: %w", ErrSetup, err)
	}
	r.RemoteCandidates, r.RemoteEndOfCandidates = s.candidates, s.endOfCands
	r.RemoteSSRCs, r.RemoteMsid = s.ssrcs, s.msid
	if ours.kind == KindApplication {
		r.Direction = SendRecv
		r.SCTPPort, r.MaxMessageSize = s.sctpPort, s.maxMsgSize
		return nil
	}
	r.Direction = directionOf(s.direction.Receives() && ours.dir.Sends(), s.direction.Sends() && ours.dir.Receives())
	r.RTCPMux, r.RTCPRsize, r.AllowMixed = s.rtcpMux, s.rtcpRsize, x.allowMixed || s.allowMixed
	if !o.pickAnswered(s, ours, r) {
		return errorf(ErrAnswerMismatch, "m-section %d answers no offered codec", i)
	}
	pt := strconv.Itoa(int(r.Codec.PayloadType))
	for i := range s.md.Attributes {
		if v, ok := feedbackFor(&s.md.Attributes[i], pt); ok {
			r.RTCPFeedback = append(r.RTCPFeedback, v)
		}
	}
	local := ours.exts
	extmaps := s.extmaps
	if len(extmaps) == 0 {
		extmaps = x.extmaps
	}
	for _, e := range extmaps {
		if e.valid && containsFold(local, e.uri) {
			r.Extensions = append(r.Extensions, Extension{ID: e.id, URI: e.uri})
		}
	}
	if r.Direction.Sends() {
		r.LocalSSRC = ours.ssrc
		if r.RTX != 0 {
			r.LocalRTXSSRC = ours.rtxSSRC
		}
	}
	return nil
}

// pickAnswered takes the first answered payload type that is one of the offered
// codecs, and the answered RTX format that points at it.
func (o *LocalOffer) pickAnswered(s *section, ours *offeredSection, r *Section) bool {
	for _, f := range s.formats {
		for _, oc := range ours.codecs {
			if oc.pt != f.pt || !isName(f.name, oc.name) {
				continue
			}
			r.Codec = NegotiatedCodec{PayloadType: f.pt, Name: f.name, ClockRate: f.clock, Channels: f.channels, Fmtp: f.params}
			if oc.rtx >= 0 && s.ptIndex[oc.rtx] != 0 && s.formats[s.ptIndex[oc.rtx]-1].apt == int(oc.pt) {
				r.RTX = uint8(oc.rtx)
			}
			return true
		}
	}
	return false
}
