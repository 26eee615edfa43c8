package sdp

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
	PayloadType uint8
	Name        string
	ClockRate   uint32
	Channels    uint16
	Fmtp        string // the format parameters written in the answer, "" if none
}

// Section is the negotiated state of one m-section.
type Section struct {
	// Index is the position of the m-section, Mid its a=mid (RFC 8843 §5).
	Index int
	Mid   string
	Kind  Kind
	// Rejected m-sections have port 0 in the answer (RFC 3264 §6) and carry
	// nothing else of interest.
	Rejected bool
	// Direction is the local side's direction as written in the answer (or, for an
	// accepted local offer, the direction the local side ends up with).
	Direction Direction

	// Codec is the one codec used in both directions; RTX, RED and ULPFEC are the
	// payload types of its repair formats, 0 when not negotiated (these formats are
	// always dynamic, so 0 is never one of them).
	Codec        NegotiatedCodec
	RTX          uint8
	RED          uint8
	ULPFEC       uint8
	RTCPFeedback []string    // negotiated rtcp-fb values of Codec ("nack", "nack pli", ...)
	Extensions   []Extension // negotiated header extensions, with the offerer's IDs
	RTCPMux      bool        // a=rtcp-mux (RFC 5761)
	RTCPRsize    bool        // a=rtcp-rsize (RFC 5506)
	AllowMixed   bool        // a=extmap-allow-mixed at session or media level (RFC 8285 §6)

	// Remote transport: ICE credentials, certificate fingerprints and a=setup after
	// applying session-level defaults and BUNDLE, plus candidates and SSRCs seen.
	RemoteUfrag, RemotePwd string
	RemoteFingerprints     []Fingerprint
	RemoteSetup            Setup
	// LocalSetup is the local a=setup: SetupActive means the local side is the DTLS
	// client (RFC 5763 §5).
	LocalSetup            Setup
	RemoteCandidates      []string // a=candidate values, after "candidate:" ("1 1 udp 2122194687 192.0.2.2 33720 typ host")
	RemoteEndOfCandidates bool
	RemoteSSRCs           []uint32
	RemoteMsid            string

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
