package sdp

import (
	"errors"
)

// Sentinel errors. Every error returned by this package wraps one of them, so callers
// can classify failures with errors.Is.
var (
	// ErrParse reports an offer or answer that is not valid SDP (RFC 8866).
	ErrParse = errors.New("sdp: malformed session description")
	// ErrTooLarge reports a description or fragment longer than MaxSize.
	ErrTooLarge = errors.New("sdp: description too large")
	// ErrConfig reports an invalid local Config.
	ErrConfig = errors.New("sdp: invalid config")
	// ErrNoFingerprint reports a Config without a certificate fingerprint.
	ErrNoFingerprint = errors.New("sdp: no local certificate fingerprint configured")
	// ErrRemoteICE reports an accepted m-section without a=ice-ufrag/a=ice-pwd.
	ErrRemoteICE = errors.New("sdp: remote ICE credentials missing")
	// ErrRemoteFingerprint reports an accepted m-section without a=fingerprint.
	ErrRemoteFingerprint = errors.New("sdp: remote certificate fingerprint missing")
	// ErrSetup reports an a=setup value from which no DTLS role follows (holdconn,
	// an unknown value, an actpass answer, both sides active or passive); the
	// dtlsparams error (ErrBadSetup, ErrRoleConflict) is wrapped as well.
	ErrSetup = errors.New("sdp: unusable a=setup")
	// ErrNoMedia reports an offer in which no m-section could be accepted.
	ErrNoMedia = errors.New("sdp: no acceptable media section")
	// ErrAnswerMismatch reports an answer that does not fit the offer it answers.
	ErrAnswerMismatch = errors.New("sdp: answer does not match offer")
	// ErrBadSDPFrag reports a malformed trickle-ice-sdpfrag body (RFC 8840).
	ErrBadSDPFrag = errors.New("sdp: malformed trickle-ice-sdpfrag")
)

// MaxSize is the largest offer, answer or SDP fragment this package accepts, in
// bytes. A Chromium video m-section is about 5.5 KB (some 170 rtcp-fb lines), so a
// browser that opens many transceivers, as an SFU subscriber does, sends about
// 350 KB for 64 video m-sections; 1 MiB holds some 180 of them.
const MaxSize = 1 << 20

// Kind is the media type of an m-section (RFC 8866 §5.14).
type Kind uint8

// Media kinds.
const (
	KindUnknown     Kind = iota // any other media type (text, message, ...); always rejected
	KindAudio                   // m=audio
	KindVideo                   // m=video
	KindApplication             // m=application (data channels)
)

// String returns the m= line media name: "audio", "video", "application" or
// "unknown".
func (k Kind) String() string {
	switch k {
	case KindAudio:
		return "audio"
	case KindVideo:
		return "video"
	case KindApplication:
		return "application"
	}
	return "unknown"
}

func kindOf(media string) Kind {
	switch media {
	case "audio":
		return KindAudio
	case "video":
		return KindVideo
	case "application":
		return KindApplication
	}
	return KindUnknown
}

// Direction is an RTP stream direction (RFC 8866 §6.7, RFC 3264 §6.1), always seen
// from the side that writes it. The zero value is SendRecv, so a zero MediaConfig
// both sends and receives.
type Direction uint8

// Directions.
const (
	SendRecv Direction = iota // a=sendrecv (the SDP default when no attribute is present)
	SendOnly                  // a=sendonly
	RecvOnly                  // a=recvonly
	Inactive                  // a=inactive
)

// String returns the attribute name: "sendrecv", "sendonly", "recvonly" or
// "inactive".
func (d Direction) String() string {
	switch d {
	case SendOnly:
		return "sendonly"
	case RecvOnly:
		return "recvonly"
	case Inactive:
		return "inactive"
	}
	return "sendrecv"
}

// Sends reports whether the side that wrote d sends media.
func (d Direction) Sends() bool { return d == SendRecv || d == SendOnly }

// Receives reports whether the side that wrote d receives media.
func (d Direction) Receives() bool { return d == SendRecv || d == RecvOnly }

func parseDirection(v string) (Direction, bool) {
	switch v {
	case "sendrecv":
		return SendRecv, true
	case "sendonly":
		return SendOnly, true
	case "recvonly":
		return RecvOnly, true
	case "inactive":
		return Inactive, true
	}
	return SendRecv, false
}

func directionOf(sends, receives bool) Direction {
	switch {
	case sends && receives:
		return SendRecv
	case sends:
		return SendOnly
	case receives:
		return RecvOnly
	}
	return Inactive
}

// Extension is a negotiated RTP header extension (RFC 8285 §6): its local ID, which
// is the offerer's ID, and its URI.
type Extension struct {
	// ID is the extension's local identifier, 1-14 for one-byte headers or
	// 1-255 for two-byte ones (RFC 8285 §4).
	ID int
	// URI names the extension ("urn:ietf:params:rtp-hdrext:sdes:mid").
	URI string
}
