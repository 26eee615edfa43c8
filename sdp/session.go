package sdp

import "github.com/streamwire/streamwire/dtlsparams"

// Session is the outcome of a negotiation: the SDP to send (for Answer) and, per
// m-section, the parameters the transport and media layers need. Its strings alias
// the parsed offer or answer and stay valid as long as the Session is referenced.
type Session struct {
	// SDP is the answer to send back. It is nil for LocalOffer.Accept, where the
	// remote side wrote the answer.
	SDP []byte
	// Sections has one entry per m-section, in order, including rejected ones.
	Sections []Section
	// Bundle is the negotiated a=group:BUNDLE mids (RFC 8843), nil without BUNDLE.
	// All bundled sections share the transport of the first (the tagged section).
	// Without BUNDLE each accepted section is its own ICE/DTLS transport, all with
	// the same local credentials.
	Bundle []string
	// LocalUfrag and LocalPwd are the local ICE credentials written into the SDP
	// (the configured ones, or the random ones picked when none were configured).
	LocalUfrag, LocalPwd string
	// RemoteICELite reports a=ice-lite from the remote side (RFC 8839 §5.3).
	RemoteICELite bool
}

// NegotiatedCodec is the codec chosen for an m-section, with the remote side's
// payload type and format parameters.
type NegotiatedCodec struct {
	// PayloadType is the RTP payload type both sides use for the codec: the
	// offerer's (RFC 3264 §6.1).
	PayloadType uint8
	// Name is the encoding name as the remote side wrote it ("opus", "H264").
	Name string
	// ClockRate is the RTP clock rate in Hz.
	ClockRate uint32
	// Channels is the number of audio channels (1 for video).
	Channels uint16
	// Fmtp is the format parameters written in the answer, "" if none.
	Fmtp string
}

// Section is the negotiated state of one m-section.
type Section struct {
	// Index is the position of the m-section in the description, from 0.
	Index int
	// Mid is the a=mid value (RFC 8843 §5), "" when the section has none.
	Mid string
	// Kind is the media type of the m= line.
	Kind Kind
	// Rejected m-sections have port 0 in the answer (RFC 3264 §6) and carry
	// nothing else of interest.
	Rejected bool
	// Direction is the local side's direction as written in the answer (or, for an
	// accepted local offer, the direction the local side ends up with).
	Direction Direction

	// Codec is the one codec used in both directions.
	Codec NegotiatedCodec
	// RTX is the payload type of RTX (RFC 4588) for Codec, 0 when not negotiated
	// (repair formats are always dynamic, so 0 is never one of them).
	RTX uint8
	// RED is the payload type of RED (RFC 2198) for Codec, 0 when not negotiated.
	RED uint8
	// ULPFEC is the payload type of ulpfec (RFC 5109), 0 when not negotiated.
	ULPFEC       uint8
	RTCPFeedback []string    // negotiated rtcp-fb values of Codec ("nack", "nack pli", ...)
	Extensions   []Extension // negotiated header extensions, with the offerer's IDs
	RTCPMux      bool        // a=rtcp-mux (RFC 5761)
	RTCPRsize    bool        // a=rtcp-rsize (RFC 5506)
	AllowMixed   bool        // a=extmap-allow-mixed at session or media level (RFC 8285 §6)

	// Remote transport: ICE credentials, certificate fingerprints and a=setup after
	// applying session-level defaults and BUNDLE, plus candidates and SSRCs seen.
	RemoteUfrag, RemotePwd string
	// RemoteFingerprints are the remote a=fingerprint values (RFC 8122 §5) whose
	// hash function dtlsparams knows (sha-1 to sha-512), in order; others are
	// left out, as RFC 8122 §5 lets an endpoint use the ones it supports. They
	// go unchanged into dtlssrtp.Config.RemoteFingerprints.
	RemoteFingerprints []dtlsparams.Fingerprint
	// RemoteSetup is the remote a=setup value as written (RFC 4145 §4):
	// dtlsparams.SetupNone when absent, which counts as active.
	RemoteSetup dtlsparams.Setup
	// LocalSetup is the a=setup value the local side wrote: active or passive in
	// an answer, the offer's value (actpass by default) in an offer.
	LocalSetup dtlsparams.Setup
	// LocalRole is the local DTLS role that follows from both a=setup values
	// (dtlsparams.SelectRole, RFC 5763 §5, RFC 8842 §5): the role argument of
	// dtlssrtp.Handshake.
	LocalRole        dtlsparams.Role
	RemoteCandidates []string // a=candidate values, after "candidate:" ("1 1 udp 2122194687 192.0.2.2 33720 typ host")
	// RemoteEndOfCandidates reports a=end-of-candidates (RFC 8840 §8.2): the remote
	// side will trickle no more candidates for this section.
	RemoteEndOfCandidates bool
	// RemoteSSRCs are the distinct SSRCs of the remote a=ssrc lines (RFC 5576), in
	// order of appearance.
	RemoteSSRCs []uint32
	// RemoteMsid is the remote a=msid value (RFC 8830), "" if none.
	RemoteMsid string

	// LocalSSRC and LocalRTXSSRC are the SSRCs the local side sends with, when it
	// sends; LocalRTXSSRC is 0 without RTX.
	LocalSSRC, LocalRTXSSRC uint32

	// SCTPPort and MaxMessageSize are the remote data channel parameters (RFC 8841
	// §5), for application sections.
	SCTPPort, MaxMessageSize int
}

// Section returns the m-section with the given mid, or nil.
func (s *Session) Section(mid string) *Section {
	for i := range s.Sections {
		if s.Sections[i].Mid == mid {
			return &s.Sections[i]
		}
	}
	return nil
}
