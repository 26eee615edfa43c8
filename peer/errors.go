package peer

import "errors"

// Sentinel errors. Every error a Peer returns or reports through Err wraps
// one of them, or the error of the layer it comes from (ice, dtlssrtp,
// sdp), for errors.Is.
var (
	// ErrConfig reports a Config without its required fields.
	ErrConfig = errors.New("peer: invalid config")
	// ErrUnbundled reports an offer whose accepted m-sections do not all
	// share one transport (RFC 8843 BUNDLE): a peer runs one ICE session
	// and one DTLS association, as every browser, OBS and ffmpeg use.
	ErrUnbundled = errors.New("peer: accepted m-sections are not bundled")
	// ErrClosed is Err after Close.
	ErrClosed = errors.New("peer: closed")
	// ErrConnectTimeout reports a peer that did not nominate a pair and
	// finish the DTLS handshake within Config.ConnectTimeout.
	ErrConnectTimeout = errors.New("peer: connect timeout")
	// ErrRemoteClosed reports a DTLS close_notify or fatal alert from the
	// remote side (RFC 5246 §7.2).
	ErrRemoteClosed = errors.New("peer: closed by the remote side")
	// ErrNotConnected is returned by writes before the DTLS handshake has
	// finished: there are no SRTP keys yet.
	ErrNotConnected = errors.New("peer: not connected")
	// ErrNotSending is returned by writes on a track whose m-section does
	// not send.
	ErrNotSending = errors.New("peer: track does not send")
)
