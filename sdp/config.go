package sdp

import (
	"io"

	"github.com/streamwire/streamwire/dtlsparams"
)

// Codec is one codec the local side can use (RFC 8866 §6.6 rtpmap, §6.15 fmtp;
// RFC 4585 §4.2 rtcp-fb).
type Codec struct {
	// Name is the encoding name, matched case-insensitively: "opus", "H264", "VP8",
	// "VP9", "AV1", "H265", "PCMU", ...
	Name string
	// ClockRate in Hz. Zero means DefaultAudioClockRate (48000) for audio and
	// DefaultVideoClockRate (90000) for video.
	ClockRate uint32
	// Channels for audio. Zero means 1, except for Opus, whose rtpmap always says 2.
	Channels uint16
	// Fmtp holds the format parameters that decide compatibility and that Offer writes:
	// H.264 profile-level-id, packetization-mode and level-asymmetry-allowed (RFC 6184
	// §8.1, §8.2.2), H.265 profile-space, profile-id, tier-flag and tx-mode (RFC 7798
	// §7.1, §7.2.2; level-id is not compared), VP9 profile-id, AV1 profile. Empty
	// means the codec's defaults (H.264: profile-level-id=42001f, packetization-mode=0;
	// H.265: profile-id=1, Main).
	Fmtp string
	// RTCPFeedback lists the rtcp-fb values this side supports ("nack", "nack pli",
	// "ccm fir", "goog-remb", "transport-cc"). Nil means: transport-cc for audio;
	// nack, nack pli, ccm fir, goog-remb and transport-cc for video.
	RTCPFeedback []string
	// PayloadType is used only by Offer; zero assigns one from 96 upwards. Answers
	// always keep the offerer's payload types.
	PayloadType uint8
}

// Source describes a stream the local side sends in an m-section: its SSRCs and the
// identifiers that tie it to a MediaStream (RFC 8830 msid, RFC 7022 CNAME).
type Source struct {
	// SSRC of the media stream. Zero picks a random one (from Config.Rand).
	SSRC uint32
	// RTXSSRC of the retransmission stream, written when RTX is negotiated. Zero picks
	// a random one.
	RTXSSRC uint32
	// CNAME is the RTCP canonical name. Empty uses Config.CNAME.
	CNAME string
	// StreamID and TrackID form a=msid. Empty StreamID uses Config.StreamID, empty
	// TrackID uses "<kind>0" ("audio0", "video0").
	StreamID, TrackID string
}

// MediaConfig is what the local side does with one media kind.
type MediaConfig struct {
	// Disabled rejects every m-section of this kind (port 0).
	Disabled bool
	// Direction is what the local side can do: SendRecv (the zero value) answers an
	// offer's sendonly with recvonly, its recvonly with sendonly and its sendrecv with
	// sendrecv; SendOnly or RecvOnly narrow that; Inactive makes every answer inactive.
	Direction Direction
	// Codecs in order of preference. Nil means DefaultAudioCodecs or
	// DefaultVideoCodecs. The answer uses the first one the offer also has.
	Codecs []Codec
	// NoRTX turns off RTX (RFC 4588) for video; by default the RTX format whose apt
	// points at the chosen codec is accepted too.
	NoRTX bool
	// RED accepts RED (RFC 2198) for the chosen codec when the offer has it, and
	// ULPFEC accepts ulpfec (RFC 5109) for video. Both are off by default.
	RED, ULPFEC bool
	// Extensions lists the RTP header extension URIs this side understands (RFC 8285).
	// Nil means DefaultAudioExtensions or DefaultVideoExtensions.
	Extensions []string
	// Source is what the local side sends when the answer direction includes sending.
	Source Source
}

// Config is the local side of a negotiation. The zero value works once Fingerprints
// is set: it sends and receives Opus and H.264/VP8 with RTX, rejects data channels,
// picks random ICE credentials and answers a=setup:actpass with active.
//
// Every string of a Config that is written into SDP is checked against the
// grammar of its place before anything is written (a CR, LF or NUL would start a
// line of its own): Answer and Offer fail with an error wrapping ErrConfig that
// names the field.
type Config struct {
	// Audio and Video configure each media kind.
	Audio, Video MediaConfig
	// DataChannel accepts the first UDP/DTLS/SCTP webrtc-datachannel m-section
	// (RFC 8841). False (the default) rejects it.
	DataChannel bool
	// SCTPPort is the local a=sctp-port (RFC 8841 §5). Zero means
	// DefaultSCTPPort (5000).
	SCTPPort int
	// MaxMessageSize is the local a=max-message-size in bytes (RFC 8841 §6).
	// Zero means DefaultMaxMessageSize (262144).
	MaxMessageSize int

	// ICEUfrag and ICEPwd are the local ICE credentials (RFC 8839 §5.4): ice-chars
	// (letters, digits, '+', '/'), 4-256 for the ufrag and 22-256 for the pwd.
	// Empty values are filled with random ones of DefaultICEUfragLen (16) and
	// DefaultICEPwdLen (32) characters read from Rand.
	ICEUfrag, ICEPwd string
	// ICELite writes a=ice-lite (RFC 8839 §5.3) at session level.
	ICELite bool
	// ICEOptions are written as a=ice-options, for example "trickle". None by default.
	ICEOptions []string
	// Candidates are local candidates as the value of an a=candidate line, without
	// the "a=" prefix ("candidate:1 1 udp 2130706431 192.0.2.1 5000 typ host"). They
	// are written into every accepted m-section, in this order, so put a UDP host
	// candidate first (ffmpeg uses only the first one).
	Candidates []string
	// EndOfCandidates writes a=end-of-candidates after the candidates (RFC 8840 §8.2).
	EndOfCandidates bool

	// Fingerprints of the local DTLS certificate (required), written as
	// a=fingerprint in this order (RFC 8122 §5), typically
	// dtlssrtp.Certificate.Fingerprint(dtlsparams.SHA256). None may be the zero
	// Fingerprint.
	Fingerprints []dtlsparams.Fingerprint
	// RolePolicy chooses our a=setup where RFC 5763 §5 leaves the choice, with
	// the same rules as dtlssrtp (dtlsparams.SelectRole): the zero value offers
	// actpass and answers an actpass offer with active (we are the DTLS client);
	// AnswerPassive answers passive instead; Offer makes offers say active or
	// passive, for an endpoint that can take only one role. Offer holdconn fails
	// with ErrConfig.
	RolePolicy dtlsparams.RolePolicy

	// CNAME is the default RTCP CNAME of sent streams. Empty means DefaultCNAME.
	CNAME string
	// StreamID is the default msid stream ID. Empty means DefaultStreamID.
	StreamID string
	// SessionName is the s= line. Empty means DefaultSessionName ("-").
	SessionName string
	// Rand supplies ICE credentials, SSRCs and the session ID, 64 bytes per call of
	// Answer or Offer. Nil means crypto/rand. A Config is only read, so one Config
	// may serve concurrent calls if its Rand is safe for concurrent use.
	Rand io.Reader
}

// Config defaults.
const (
	// DefaultSCTPPort is the a=sctp-port written when Config.SCTPPort is zero.
	DefaultSCTPPort = 5000
	// DefaultMaxMessageSize is the a=max-message-size, in bytes, written when
	// Config.MaxMessageSize is zero: 256 KiB, what Chromium and Firefox send.
	DefaultMaxMessageSize = 262144
	// DefaultICEUfragLen and DefaultICEPwdLen are the lengths, in characters, of
	// the random credentials picked when Config.ICEUfrag or ICEPwd is empty: 96
	// and 192 bits, above the 24 and 128 RFC 8839 §5.4 asks for.
	DefaultICEUfragLen = 16
	DefaultICEPwdLen   = 32
	// DefaultCNAME is the RTCP CNAME used when neither Source.CNAME nor
	// Config.CNAME is set.
	DefaultCNAME = "streamwire"
	// DefaultStreamID is the msid stream ID used when neither Source.StreamID
	// nor Config.StreamID is set.
	DefaultStreamID = "streamwire"
	// DefaultSessionName is the s= value used when Config.SessionName is empty
	// (RFC 8866 §5.3 suggests "-" when there is no name).
	DefaultSessionName = "-"
	// DefaultAudioClockRate and DefaultVideoClockRate, in Hz, stand for a
	// Codec's zero ClockRate.
	DefaultAudioClockRate = 48000
	DefaultVideoClockRate = 90000
)

// Default codec and extension lists used when a MediaConfig leaves them nil.
var (
	DefaultAudioCodecs = []Codec{
		{Name: "opus", ClockRate: 48000, Channels: 2, Fmtp: "minptime=10;useinbandfec=1"},
	}
	DefaultVideoCodecs = []Codec{
		{Name: "H264", ClockRate: 90000, Fmtp: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"},
		// Plain Baseline after Constrained Baseline: servers such as SRS offer only
		// 42001f, and a relay that does not decode can forward either.
		{Name: "H264", ClockRate: 90000, Fmtp: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f"},
		{Name: "VP8", ClockRate: 90000},
	}
	DefaultAudioExtensions = []string{
		"urn:ietf:params:rtp-hdrext:sdes:mid",
		"urn:ietf:params:rtp-hdrext:ssrc-audio-level",
		"http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
		"http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
	}
	DefaultVideoExtensions = []string{
		"urn:ietf:params:rtp-hdrext:sdes:mid",
		"http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
		"http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
	}
	defaultAudioFeedback = []string{"transport-cc"}
	defaultVideoFeedback = []string{"nack", "nack pli", "ccm fir", "goog-remb", "transport-cc"}
)

func (c *Config) media(k Kind) *MediaConfig {
	if k == KindAudio {
		return &c.Audio
	}
	return &c.Video
}

func (m *MediaConfig) codecs(k Kind) []Codec {
	if m.Codecs != nil {
		return m.Codecs
	}
	if k == KindAudio {
		return DefaultAudioCodecs
	}
	return DefaultVideoCodecs
}

func (m *MediaConfig) extensions(k Kind) []string {
	if m.Extensions != nil {
		return m.Extensions
	}
	if k == KindAudio {
		return DefaultAudioExtensions
	}
	return DefaultVideoExtensions
}

func (c *Codec) feedback(k Kind) []string {
	if c.RTCPFeedback != nil {
		return c.RTCPFeedback
	}
	if k == KindAudio {
		return defaultAudioFeedback
	}
	return defaultVideoFeedback
}

func (c *Codec) clockRate(k Kind) uint32 {
	if c.ClockRate != 0 {
		return c.ClockRate
	}
	if k == KindAudio {
		return DefaultAudioClockRate
	}
	return DefaultVideoClockRate
}

func (c *Codec) channels() uint16 {
	if c.Channels != 0 {
		return c.Channels
	}
	if isName(c.Name, "opus") {
		return 2
	}
	return 1
}

func (c *Config) sctpPort() int {
	if c.SCTPPort != 0 {
		return c.SCTPPort
	}
	return DefaultSCTPPort
}

func (c *Config) maxMessageSize() int {
	if c.MaxMessageSize != 0 {
		return c.MaxMessageSize
	}
	return DefaultMaxMessageSize
}

func orDefault(s, def string) string {
	if s != "" {
		return s
	}
	return def
}
