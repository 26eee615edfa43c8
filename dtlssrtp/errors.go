package dtlssrtp

import "errors"

// Sentinel errors. Functions wrap them with context using fmt.Errorf("...: %w"),
// so callers test for them with errors.Is.
var (
	// ErrNoFingerprint reports a handshake attempted without any remote
	// fingerprint to check the peer's certificate against.
	ErrNoFingerprint = errors.New("dtlssrtp: no remote fingerprint")

	// ErrFingerprintMismatch reports a peer certificate that matches none of
	// the fingerprints signalled in SDP (RFC 5763 §5, RFC 8122 §5).
	ErrFingerprintMismatch = errors.New("dtlssrtp: peer certificate does not match fingerprint")

	// ErrBadCertificate reports a certificate that cannot be used: missing or
	// unparsable leaf, or a private key of an unsupported type.
	ErrBadCertificate = errors.New("dtlssrtp: bad certificate")

	// ErrUnsupportedProfile reports an SRTP protection profile this package
	// does not negotiate.
	ErrUnsupportedProfile = errors.New("dtlssrtp: unsupported SRTP protection profile")

	// ErrNoProfile reports a completed DTLS handshake in which the peer
	// did not agree on any SRTP protection profile (no use_srtp extension,
	// RFC 5764 §4.1).
	ErrNoProfile = errors.New("dtlssrtp: no SRTP protection profile negotiated")

	// ErrBadKeyingMaterial reports exported keying material of the wrong
	// length for the profile (RFC 5764 §4.2).
	ErrBadKeyingMaterial = errors.New("dtlssrtp: bad keying material")

	// ErrHandshake reports a DTLS handshake that failed: a fatal alert from
	// the peer, an undecodable flight, or a local verification failure. The
	// cause from pion/dtls is wrapped as well.
	ErrHandshake = errors.New("dtlssrtp: DTLS handshake failed")

	// ErrHandshakeTimeout reports a DTLS handshake that did not finish before
	// Config.HandshakeTimeout or the context's deadline: a silent peer, a
	// peer in the same role, or records that were all discarded as garbage.
	// context.DeadlineExceeded and pion's error are wrapped as well. It is a
	// net.Error whose Timeout method reports true. A cancelled context is
	// not a timeout: Handshake then returns an error wrapping
	// context.Canceled.
	ErrHandshakeTimeout error = timeoutError{}

	// ErrNotEstablished reports a Session method called on a Session that
	// Handshake did not return (the zero Session).
	ErrNotEstablished = errors.New("dtlssrtp: session not established by Handshake")

	// ErrBadRTPHeader reports an RTP header that ProtectRTP or
	// ProtectRTPParts cannot protect: shorter than 12 bytes, not version
	// 2, shorter than its CSRC count and extension length say (RFC 3550
	// §5.1, §5.3.1), or, for ProtectRTPParts, longer; or with a cryptex
	// extension profile (RFC 9335), which is not negotiated.
	ErrBadRTPHeader = errors.New("dtlssrtp: malformed RTP header")

	// ErrTooManySSRCs reports a packet of a new SSRC once the Session
	// already sends MaxSendSSRCs SSRCs.
	ErrTooManySSRCs = errors.New("dtlssrtp: too many outgoing SSRCs")

	// ErrRTPIndex reports a packet whose SRTP packet index cannot be
	// formed: a sequence number older than the SSRC's first packet across
	// a wrap (a negative index), or a rollover counter past 2^32-1, after
	// which RFC 3711 §9.2 requires new keys.
	ErrRTPIndex = errors.New("dtlssrtp: SRTP packet index out of range")
)

// timeoutError is the type of ErrHandshakeTimeout: a comparable net.Error,
// so that errors.Is(err, ErrHandshakeTimeout) and Timeout() both work.
type timeoutError struct{}

func (timeoutError) Error() string   { return "dtlssrtp: DTLS handshake timed out" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// opError wraps an error of pion/srtp with the operation that failed; it
// costs one allocation, on the error path only.
type opError struct {
	op  string
	err error
}

func (e *opError) Error() string { return "dtlssrtp: " + e.op + ": " + e.err.Error() }
func (e *opError) Unwrap() error { return e.err }

// wrap returns nil for a nil err, else err wrapped with op.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return &opError{op: op, err: err}
}
