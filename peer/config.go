package peer

import (
	"log/slog"
	"time"

	"github.com/pion/rtp"
	"github.com/streamwire/streamwire/dtlssrtp"
	"github.com/streamwire/streamwire/ice"
	"github.com/streamwire/streamwire/sdp"
)

// Config defaults, named by the Config fields they fill.
const (
	// DefaultConnectTimeout bounds ICE (the peer's first nomination) and
	// the DTLS handshake together when Config.ConnectTimeout is zero.
	DefaultConnectTimeout = 30 * time.Second
	// DefaultReportInterval is the RTCP report interval when
	// Config.ReportInterval is zero: one sender or receiver report per
	// second per stream, what Chromium and mediasoup send (RFC 3550 §6.2
	// scales with bandwidth; at WebRTC rates 1 s is far below 5 % of it).
	DefaultReportInterval = time.Second
	// DefaultKeyFrameRequestInterval is the shortest time between two
	// key frame requests passed up for one local track, or sent for one
	// remote track, when Config.KeyFrameRequestInterval is zero
	// (mediasoup's keyFrameRequestDelay).
	DefaultKeyFrameRequestInterval = time.Second
	// DefaultHistoryBytes is the retransmission history of each sending
	// video track when Config.HistoryBytes is zero: 256 KiB holds the
	// last second of a 2 Mbit/s stream, what a NACK can still repair.
	DefaultHistoryBytes = 256 << 10
	// MaxPacketSize is the largest datagram a peer reads or writes, in
	// bytes: the ice Mux's default, an Ethernet MTU.
	MaxPacketSize = ice.DefaultMaxPacketSize
)

// Config configures a Peer. Mux and Certificate are required; every other
// field's zero value picks the documented default.
type Config struct {
	// Mux is the ICE-lite Mux whose port the peer's media uses; the peer
	// registers one ice.Session on it. Required.
	Mux *ice.Mux
	// Certificate is the DTLS certificate whose fingerprint the answer
	// carries; one certificate usually serves every peer. Required.
	Certificate *dtlssrtp.Certificate
	// Candidates are the local ICE candidates written into the answer, in
	// this order (ice.LocalCandidates and ice.SortForAnswer give a UDP
	// host candidate first, which ffmpeg's WHIP muxer needs).
	Candidates []ice.Candidate
	// SDP is the media side of the negotiation: codecs, directions, header
	// extensions, the sources we send. Its ICE, fingerprint, ice-lite,
	// candidate and data channel fields are the peer's and are
	// overwritten: the data channel m-section is always rejected (port 0),
	// since there is no SCTP.
	SDP sdp.Config
	// Profiles is the SRTP protection profile preference (see
	// dtlssrtp.Config.Profiles). Nil means dtlssrtp.DefaultProfiles.
	Profiles []dtlssrtp.Profile
	// ConnectTimeout bounds the time from the answer to the end of the
	// DTLS handshake. Zero means DefaultConnectTimeout (30 s).
	ConnectTimeout time.Duration
	// ReportInterval is the interval of RTCP sender and receiver reports.
	// Zero means DefaultReportInterval (1 s).
	ReportInterval time.Duration
	// KeyFrameRequestInterval is the shortest interval between two key
	// frame requests (PLI, FIR) for one track, in either direction. Zero
	// means DefaultKeyFrameRequestInterval (1 s).
	KeyFrameRequestInterval time.Duration
	// HistoryBytes is the retransmission history of each sending video
	// track, in bytes; audio tracks get an eighth of it. Packets older
	// than one second are not resent whatever the size. Zero means
	// DefaultHistoryBytes (256 KiB).
	HistoryBytes int
	// OnRTP receives the RTP packets of every remote track, in sequence
	// order, on the peer's read goroutine. pkt and its payload are valid
	// only during the call. Nil drops them.
	OnRTP func(t *RemoteTrack, pkt *rtp.Packet)
	// OnKeyFrameRequest is called, on the peer's read goroutine, when the
	// remote side asks for a key frame on a local track (PLI, RFC 4585
	// §6.3.1; FIR, RFC 5104 §4.3.1), at most once per
	// KeyFrameRequestInterval per track. Nil ignores the requests.
	OnKeyFrameRequest func(t *LocalTrack)
	// Logger receives connection events, never one per packet. Nil means
	// no logging.
	Logger *slog.Logger
	// Now is the clock of RTCP reports and retransmissions. Nil means
	// time.Now.
	Now func() time.Time
}

func positiveOr[T ~int | ~int64](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}
