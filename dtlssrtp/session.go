package dtlssrtp

import (
	"fmt"
	"slices"
	"sync"

	"github.com/pion/dtls/v3"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/streamwire/streamwire/dtlsparams"
)

// Session is an established DTLS-SRTP association: the DTLS connection
// (kept for close_notify and, if used, SCTP data channels) and the SRTP
// contexts keyed from it.
//
// The zero Session is not established: its Protect and Unprotect methods
// return ErrNotEstablished and Close does nothing.
//
// The Protect methods may be called from several goroutines, and so may
// the Unprotect methods; each direction is serialised by its own lock, so a
// sender and a receiver never wait for each other.
type Session struct {
	conn    *dtls.Conn
	role    dtlsparams.Role
	profile Profile
	keys    KeyingMaterial
	peer    []byte

	// Each direction keeps its own context and reusable headers, so the
	// hot path does not allocate; the lock guards all of them. With the
	// AEAD profiles outRTP protects outgoing RTP (aead_rtp.go) and out
	// only RTCP; with the others outRTP is nil and out does both.
	outMu      sync.Mutex
	out        *srtp.Context
	outRTP     *aeadSender
	outRTPHdr  rtp.Header
	outRTCPHdr rtcp.Header
	inMu       sync.Mutex
	in         *srtp.Context
	inRTPHdr   rtp.Header
	inRTCPHdr  rtcp.Header
}

func newSession(dc *dtls.Conn, role dtlsparams.Role, cfg Config) (*Session, error) {
	selected, ok := dc.SelectedSRTPProtectionProfile()
	if !ok {
		return nil, ErrNoProfile
	}
	p := Profile(selected)
	if !slices.Contains(cfg.profiles(), p) {
		return nil, fmt.Errorf("%w: peer selected %v, which we did not offer", ErrUnsupportedProfile, p)
	}
	state, ok := dc.ConnectionState()
	if !ok {
		return nil, fmt.Errorf("%w: no connection state after handshake", ErrHandshake)
	}
	material, err := state.ExportKeyingMaterial(ExporterLabel, nil, KeyingMaterialLen(p))
	if err != nil {
		return nil, fmt.Errorf("%w: export: %w", ErrBadKeyingMaterial, err)
	}
	keys, err := SplitKeyingMaterial(p, role, material)
	if err != nil {
		return nil, err
	}
	s := &Session{conn: dc, role: role}
	if err := s.setKeys(keys, cfg.ReplayWindow); err != nil {
		return nil, err
	}
	if len(state.PeerCertificates) > 0 {
		s.peer = state.PeerCertificates[0]
	}
	return s, nil
}

// setKeys builds the SRTP state of both directions from keys (see
// KeyingMaterial.Contexts for replayWindow).
func (s *Session) setKeys(keys KeyingMaterial, replayWindow uint) error {
	out, in, err := keys.Contexts(replayWindow)
	if err != nil {
		return err
	}
	if keys.Profile.aead() {
		if s.outRTP, err = newAEADSender(keys.LocalKey, keys.LocalSalt); err != nil {
			return err
		}
	}
	s.profile, s.keys, s.out, s.in = keys.Profile, keys, out, in
	return nil
}

// Role returns our DTLS role.
func (s *Session) Role() dtlsparams.Role { return s.role }

// Profile returns the negotiated SRTP protection profile.
func (s *Session) Profile() Profile { return s.profile }

// Keys returns the SRTP master keys and salts. They are secrets: never log
// them. The slices are shared with the Session; do not modify them.
func (s *Session) Keys() KeyingMaterial { return s.keys }

// PeerCertificate returns the DER bytes of the peer's certificate, the one
// that matched the SDP fingerprint.
func (s *Session) PeerCertificate() []byte { return s.peer }

// DTLSConn returns the DTLS connection, for application data such as SCTP
// data channels (RFC 8261). Closing it closes the Session's transport.
func (s *Session) DTLSConn() *dtls.Conn { return s.conn }

// Contexts returns the pion/srtp contexts: out encrypts what we send, in
// decrypts what we receive (with replay protection). They are not safe for
// concurrent use; callers that use them directly must not also call the
// Session's Protect and Unprotect methods. With the AEAD profiles this
// matters most: the Session protects RTP with its own state, not out's, so
// RTP protected by both would repeat AES-GCM nonces (RFC 7714 §8.1),
// which reveals the keystream and lets the tag be forged.
func (s *Session) Contexts() (out, in *srtp.Context) { return s.out, s.in }

// ProtectRTP encrypts and authenticates one RTP packet (RFC 3711 §3.3,
// RFC 7714 §9). The result is written to dst's backing array when
// cap(dst) >= len(pkt)+s.Profile().Overhead(), else to a new slice; with a
// reused dst it does not allocate. dst and pkt must not overlap.
//
// The packet index of each SSRC follows RFC 3711 §3.3.1: a sequence
// number behind the highest sent (a retransmission) keeps the rollover
// counter a receiver would guess for it. Protecting the same packet again
// is safe; protecting different bytes under an SSRC and sequence number
// already sent repeats the keystream, as in any SRTP implementation. With
// the AEAD profiles it returns ErrBadRTPHeader for a malformed header,
// ErrTooManySSRCs past MaxSendSSRCs SSRCs and ErrRTPIndex for an index
// out of range; other errors wrap pion/srtp's.
func (s *Session) ProtectRTP(dst, pkt []byte) ([]byte, error) {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	if s.out == nil {
		return nil, ErrNotEstablished
	}
	if s.outRTP != nil {
		n, err := rtpHeaderLen(pkt)
		if err != nil {
			return nil, err
		}
		return s.outRTP.seal(dst, pkt[:n], pkt[n:])
	}
	out, err := s.out.EncryptRTP(dst, pkt, &s.outRTPHdr)
	return out, wrap("protect rtp", err)
}

// ProtectRTPParts is ProtectRTP of the packet header||payload, for a
// caller that holds the two apart: no copy joins them first. header must
// be exactly one RTP header, CSRCs and extension included (RFC 3550 §5.1,
// §5.3.1; RFC 7714 §9.1 authenticates it as the AAD); payload is the rest
// of the packet, padding included. The result is written to dst's backing
// array when cap(dst) >= len(header)+len(payload)+s.Profile().Overhead(),
// else to a new slice; with a reused dst it does not allocate. header may
// be dst[:len(header)] (a header marshalled in place) and payload may
// follow it there; otherwise neither may overlap dst's backing array.
// Errors are ProtectRTP's, and ErrBadRTPHeader for a header longer than
// its fields say.
func (s *Session) ProtectRTPParts(dst, header, payload []byte) ([]byte, error) {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	if s.out == nil {
		return nil, ErrNotEstablished
	}
	if s.outRTP != nil {
		return s.outRTP.seal(dst, header, payload)
	}
	// pion/srtp takes the packet whole and encrypts it in place.
	if err := checkRTPHeader(header); err != nil {
		return nil, err
	}
	size := len(header) + len(payload)
	pkt := dst[:0]
	if cap(dst) < size+s.profile.Overhead() {
		pkt = make([]byte, 0, size+s.profile.Overhead())
	}
	pkt = append(append(pkt, header...), payload...)
	out, err := s.out.EncryptRTP(pkt, pkt, &s.outRTPHdr)
	return out, wrap("protect rtp", err)
}

// UnprotectRTP authenticates, replay-checks and decrypts one SRTP packet
// into dst, under the same buffer rules as ProtectRTP.
func (s *Session) UnprotectRTP(dst, pkt []byte) ([]byte, error) {
	s.inMu.Lock()
	defer s.inMu.Unlock()
	if s.in == nil {
		return nil, ErrNotEstablished
	}
	out, err := s.in.DecryptRTP(dst, pkt, &s.inRTPHdr)
	return out, wrap("unprotect rtp", err)
}

// ProtectRTCP encrypts and authenticates one (compound) RTCP packet
// (RFC 3711 §3.4), under the same buffer rules as ProtectRTP; SRTCP adds
// the 4-byte index and the tag. With the AEAD profiles pion/srtp
// allocates once per SRTCP packet; the RTP paths do not allocate.
func (s *Session) ProtectRTCP(dst, pkt []byte) ([]byte, error) {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	if s.out == nil {
		return nil, ErrNotEstablished
	}
	out, err := s.out.EncryptRTCP(dst, pkt, &s.outRTCPHdr)
	return out, wrap("protect rtcp", err)
}

// UnprotectRTCP authenticates, replay-checks and decrypts one SRTCP packet
// into dst, under the same buffer rules as ProtectRTP.
func (s *Session) UnprotectRTCP(dst, pkt []byte) ([]byte, error) {
	s.inMu.Lock()
	defer s.inMu.Unlock()
	if s.in == nil {
		return nil, ErrNotEstablished
	}
	out, err := s.in.DecryptRTCP(dst, pkt, &s.inRTCPHdr)
	return out, wrap("unprotect rtcp", err)
}

// Close sends a close_notify alert (RFC 6347 §4.1, RFC 5246 §7.2.1) and
// closes the DTLS connection and the underlying conn.
func (s *Session) Close() error {
	if s.conn == nil {
		return nil // the zero Session holds nothing
	}
	return wrap("close", s.conn.Close())
}
