package dtlssrtp

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/streamwire/streamwire/dtlsparams"
	"github.com/streamwire/streamwire/internal/logstr"
)

// Config configures a DTLS-SRTP handshake. Certificate and
// RemoteFingerprints are required; the zero value of every other field
// picks the documented default.
type Config struct {
	// Certificate is our certificate; its fingerprint is what we put in our
	// SDP. Required.
	Certificate *Certificate

	// RemoteFingerprints are the peer's a=fingerprint values from its SDP.
	// The peer's certificate must match them (see VerifyFingerprint) or the
	// handshake fails with ErrFingerprintMismatch. Required: a handshake
	// without a fingerprint to check would accept any man in the middle.
	RemoteFingerprints []dtlsparams.Fingerprint

	// Profiles is our SRTP protection profile preference, most preferred
	// first, offered in the use_srtp extension (RFC 5764 §4.1.1). As client
	// we offer them in this order and the server picks; as server we pick
	// the first of ours the client offered. Nil means DefaultProfiles.
	Profiles []Profile

	// ReplayWindow is the SRTP and SRTCP replay window in packets for the
	// inbound context. Zero means DefaultReplayWindow (1024).
	ReplayWindow uint

	// HandshakeTimeout bounds the handshake when the context has no earlier
	// deadline. Zero means DefaultHandshakeTimeout (30 s).
	HandshakeTimeout time.Duration

	// RetransmitInterval is the first flight retransmission timeout; pion
	// doubles it on each retransmission (RFC 6347 §4.2.4.1). Zero means
	// DefaultRetransmitInterval (1 s).
	RetransmitInterval time.Duration

	// MTU caps the size of the DTLS records we send, in bytes. Zero means
	// DefaultMTU (1200 bytes), which fits any path carrying WebRTC media.
	MTU int

	// Logger receives pion/dtls's logs. Default: discard.
	Logger *slog.Logger

	// KeyLogWriter, if set, receives the DTLS master secret in NSS key log
	// format ("CLIENT_RANDOM <client random> <master secret>"), which lets
	// Wireshark decrypt the DTLS records and anyone derive the SRTP keys
	// (RFC 5764 §4.2). For debugging only: it hands out the session's
	// secrets. Default nil.
	KeyLogWriter io.Writer
}

// Config defaults.
const (
	// DefaultHandshakeTimeout is the HandshakeTimeout Config uses by default.
	DefaultHandshakeTimeout = 30 * time.Second
	// DefaultRetransmitInterval is the RetransmitInterval Config uses by
	// default: RFC 6347 §4.2.4.1's initial timer of 1 s.
	DefaultRetransmitInterval = time.Second
	// DefaultMTU is the MTU Config uses by default, in bytes.
	DefaultMTU = 1200
)

// maxErrLog bounds the error text of a failed handshake in a log line: it
// holds pion's description of what the peer sent.
const maxErrLog = 512

// Client runs the handshake as DTLS client (we sent or answered
// a=setup:active). See Handshake.
func Client(ctx context.Context, conn net.Conn, cfg Config) (*Session, error) {
	return Handshake(ctx, conn, dtlsparams.RoleClient, cfg)
}

// Server runs the handshake as DTLS server (we sent or answered
// a=setup:passive). See Handshake.
func Server(ctx context.Context, conn net.Conn, cfg Config) (*Session, error) {
	return Handshake(ctx, conn, dtlsparams.RoleServer, cfg)
}

// Handshake runs a DTLS 1.2 handshake with the use_srtp extension in role
// over conn (RFC 5764 §4), checks the peer's certificate against
// cfg.RemoteFingerprints (RFC 5763 §5), exports the SRTP keys (RFC 5764
// §4.2) and returns a Session ready to protect and unprotect media. Both
// sides present certificates (the server requires one), and the extended
// master secret (RFC 7627) is required, as Chromium, Firefox, pion and
// OpenSSL 1.1+ all offer it.
//
// conn carries one peer's datagrams, boundaries preserved, and only DTLS
// ones once the handshake runs: on a shared ICE socket, demultiplex with
// Classify and hand this function a connection that yields ClassDTLS
// packets. conn must honour read and write deadlines. The Session owns
// conn: Session.Close closes it, and so does a failed Handshake.
//
// The handshake ends when cfg.HandshakeTimeout or ctx's deadline passes,
// with an error wrapping ErrHandshakeTimeout (a net.Error whose Timeout is
// true) and context.DeadlineExceeded, or when ctx is cancelled, with an
// error wrapping context.Canceled (not a timeout). A peer certificate that
// does not match gives ErrFingerprintMismatch (wrapped in ErrHandshake);
// any other failure gives ErrHandshake. pion/dtls's error is wrapped in
// each case, for errors.As.
func Handshake(ctx context.Context, conn net.Conn, role dtlsparams.Role, cfg Config) (*Session, error) {
	if err := cfg.check(conn, role); err != nil {
		if conn != nil {
			_ = conn.Close()
		}
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, positiveOr(cfg.HandshakeTimeout, DefaultHandshakeTimeout))
	defer cancel()

	logger := cfg.logger()
	start := time.Now()
	verify := &peerVerifier{fingerprints: cfg.RemoteFingerprints}
	dc, err := newDTLSConn(newPacketConn(conn), role, cfg, verify)
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	if err := dc.HandshakeContext(ctx); err != nil {
		_ = dc.Close()
		err = classifyHandshakeError(ctx, verify, err)
		logger.Debug("dtls handshake failed", "role", role, "remote", conn.RemoteAddr(),
			"err", logstr.BoundN(err.Error(), maxErrLog))
		return nil, err
	}
	s, err := newSession(dc, role, cfg)
	if err != nil {
		_ = dc.Close()
		return nil, err
	}
	logger.Debug("dtls handshake done", "role", role, "remote", conn.RemoteAddr(),
		"profile", s.profile, "elapsed", time.Since(start))
	return s, nil
}

func (cfg *Config) check(conn net.Conn, role dtlsparams.Role) error {
	switch {
	case conn == nil:
		return fmt.Errorf("%w: nil conn", ErrHandshake)
	case role != dtlsparams.RoleClient && role != dtlsparams.RoleServer:
		return fmt.Errorf("%w: %v", dtlsparams.ErrBadRole, role)
	case cfg.Certificate == nil:
		return fmt.Errorf("%w: Config.Certificate is nil", ErrBadCertificate)
	case cfg.Certificate.leaf == nil:
		return fmt.Errorf("%w: zero Certificate; use GenerateCertificate or LoadCertificate", ErrBadCertificate)
	}
	usable := false
	for _, f := range cfg.RemoteFingerprints {
		usable = usable || !f.IsZero()
	}
	if !usable {
		return ErrNoFingerprint
	}
	for _, p := range cfg.Profiles {
		if !p.Supported() {
			return fmt.Errorf("%w: %v", ErrUnsupportedProfile, p)
		}
	}
	return nil
}

func (cfg *Config) logger() *slog.Logger {
	if cfg.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return cfg.Logger
}

func (cfg *Config) profiles() []Profile {
	if len(cfg.Profiles) == 0 {
		return DefaultProfiles
	}
	return cfg.Profiles
}

// newDTLSConn builds pion's connection. Certificates are self-signed in
// WebRTC, so chain verification is off and the SDP fingerprint is the only
// trust anchor; the server requires a client certificate so that both
// directions are authenticated (RFC 5763 §5).
func newDTLSConn(pc *packetConn, role dtlsparams.Role, cfg Config, verify *peerVerifier) (*dtls.Conn, error) {
	profiles := cfg.profiles()
	dp := make([]dtls.SRTPProtectionProfile, len(profiles))
	for i, p := range profiles {
		dp[i] = p.dtlsProfile()
	}
	logger := cfg.logger()
	opts := []dtls.Option{
		dtls.WithCertificates(cfg.Certificate.TLSCertificate()),
		dtls.WithSRTPProtectionProfiles(dp...),
		dtls.WithInsecureSkipVerify(true),
		dtls.WithVerifyPeerCertificate(verify.check),
		dtls.WithExtendedMasterSecret(dtls.RequireExtendedMasterSecret),
		dtls.WithLoggerFactory(slogFactory{logger}),
	}
	opts = append(opts,
		dtls.WithFlightInterval(positiveOr(cfg.RetransmitInterval, DefaultRetransmitInterval)),
		dtls.WithMTU(positiveOr(cfg.MTU, DefaultMTU)))
	if cfg.KeyLogWriter != nil {
		opts = append(opts, dtls.WithKeyLogWriter(cfg.KeyLogWriter))
	}
	if role == dtlsparams.RoleClient {
		co := make([]dtls.ClientOption, 0, len(opts))
		for _, o := range opts {
			co = append(co, o)
		}
		return dtls.ClientWithOptions(pc, pc.peer, co...)
	}
	so := make([]dtls.ServerOption, 0, len(opts)+1)
	for _, o := range opts {
		so = append(so, o)
	}
	so = append(so, dtls.WithClientAuth(dtls.RequireAnyClientCert))
	return dtls.ServerWithOptions(pc, pc.peer, so...)
}

// peerVerifier checks the peer's certificate against the SDP fingerprints
// and remembers the failure, because pion/dtls reports it to us only as a
// handshake error.
type peerVerifier struct {
	fingerprints []dtlsparams.Fingerprint

	mu  sync.Mutex
	err error
}

func (v *peerVerifier) check(rawCerts [][]byte, _ [][]*x509.Certificate) error {
	var err error
	if len(rawCerts) == 0 {
		err = fmt.Errorf("%w: peer sent no certificate", ErrFingerprintMismatch)
	} else {
		err = VerifyFingerprint(rawCerts[0], v.fingerprints)
	}
	if err != nil {
		v.mu.Lock()
		v.err = err
		v.mu.Unlock()
	}
	return err
}

func (v *peerVerifier) failure() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.err
}

// classifyHandshakeError maps pion's error to this package's sentinels.
func classifyHandshakeError(ctx context.Context, verify *peerVerifier, err error) error {
	if verr := verify.failure(); verr != nil {
		return fmt.Errorf("%w: %w", ErrHandshake, verr)
	}
	switch ctxErr := ctx.Err(); {
	case errors.Is(ctxErr, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w: %w", ErrHandshakeTimeout, ctxErr, err)
	case ctxErr != nil:
		return fmt.Errorf("dtlssrtp: DTLS handshake: %w: %w", ctxErr, err)
	}
	var te *dtls.TimeoutError
	if errors.As(err, &te) {
		return fmt.Errorf("%w: %w", ErrHandshakeTimeout, err)
	}
	return fmt.Errorf("%w: %w", ErrHandshake, err)
}

// positiveOr returns v, or def when v is not positive: the rule for every
// Config field whose zero value means a default.
func positiveOr[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}
