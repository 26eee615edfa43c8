package sdp

import (
	"errors"
	"strings"
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
	// ErrSetup reports an a=setup value that cannot be answered (holdconn, unknown).
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

// Setup is the DTLS connection role of a=setup (RFC 4145 §4, RFC 5763 §5, RFC 8842 §5).
type Setup uint8

// Setup values. The zero value is SetupActive, the RFC 4145 default when the attribute
// is absent.
const (
	SetupActive   Setup = iota // a=setup:active: this side is the DTLS client
	SetupPassive               // a=setup:passive: this side is the DTLS server
	SetupActpass               // a=setup:actpass: the offerer lets the answerer choose
	SetupHoldconn              // a=setup:holdconn: no connection yet (cannot be answered)
)

// String returns the a=setup value: "active", "passive", "actpass" or
// "holdconn".
func (s Setup) String() string {
	switch s {
	case SetupPassive:
		return "passive"
	case SetupActpass:
		return "actpass"
	case SetupHoldconn:
		return "holdconn"
	}
	return "active"
}

// ParseSetup reads an a=setup value; the comparison is case-insensitive and
// surrounding white space is ignored, as dtlssrtp.ParseSetup does.
func ParseSetup(v string) (Setup, error) {
	v = strings.Trim(v, " \t")
	switch {
	case strings.EqualFold(v, "active"):
		return SetupActive, nil
	case strings.EqualFold(v, "passive"):
		return SetupPassive, nil
	case strings.EqualFold(v, "actpass"):
		return SetupActpass, nil
	case strings.EqualFold(v, "holdconn"):
		return SetupHoldconn, nil
	}
	return 0, errorf(ErrSetup, "unknown value %q", clip(v))
}

// AnswerSetup is the a=setup value an answerer writes for the offer's value remote
// (RFC 8842 §5.3): actpass gives prefer (SetupActive or SetupPassive), active gives
// passive, passive gives active. holdconn cannot be answered with a connection.
// dtlssrtp's role function follows the same table: SetupActive means DTLS client.
func AnswerSetup(remote, prefer Setup) (Setup, error) {
	switch remote {
	case SetupActpass:
		if prefer != SetupActive && prefer != SetupPassive {
			return 0, errorf(ErrConfig, "preferred setup must be active or passive, not %s", prefer)
		}
		return prefer, nil
	case SetupActive:
		return SetupPassive, nil
	case SetupPassive:
		return SetupActive, nil
	}
	return 0, errorf(ErrSetup, "offer has a=setup:%s", remote)
}

// Fingerprint is an a=fingerprint value (RFC 8122 §5): a hash function name such as
// "sha-256" and the colon-separated upper-case hex digest.
type Fingerprint struct {
	// Algorithm is the hash function name in lower case ("sha-256"); any name of
	// the IANA registry RFC 8122 §5 refers to is kept (sha-1, sha-224, sha-256,
	// sha-384, sha-512, ...): checking it is dtlssrtp's job.
	Algorithm string
	// Value is the digest alone as written: hex pairs separated by colons, in
	// either case. dtlssrtp.Fingerprint.String() is "<Algorithm> <Value>", not a
	// Value: split it at the space.
	Value string
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
