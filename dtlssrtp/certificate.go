package dtlssrtp

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/streamwire/streamwire/dtlsparams"
)

// CertificateConfig configures GenerateCertificate. The zero value works.
type CertificateConfig struct {
	// Rand is the source of the serial number, the key and the signature.
	// Go 1.26 crypto ignores a caller's reader for keys and signatures
	// (using its own secure source) unless the main module's go line is
	// older than 1.26 or GODEBUG=cryptocustomrand=1; the serial number
	// always comes from Rand. Default crypto/rand.Reader.
	Rand io.Reader

	// Now gives the time the validity period starts from. Default time.Now.
	Now func() time.Time

	// Validity is how long the certificate stays valid after Now. Zero
	// means DefaultCertificateValidity (30 days), as browsers do for
	// their per-connection certificates.
	Validity time.Duration

	// CommonName is the subject and issuer common name. WebRTC peers do not
	// look at it (trust comes from the SDP fingerprint). Empty means
	// DefaultCommonName ("streamwire").
	CommonName string
}

// DefaultCertificateValidity is the Validity GenerateCertificate uses by default.
const DefaultCertificateValidity = 30 * 24 * time.Hour

// DefaultCommonName is the CommonName GenerateCertificate uses by default.
const DefaultCommonName = "streamwire"

// clockSkew backdates NotBefore so that a peer whose clock runs a little
// behind does not reject a freshly made certificate.
const clockSkew = 24 * time.Hour

// Certificate is a DTLS certificate with its private key, ready for a
// handshake, and its parsed leaf for fingerprints. Make one with
// GenerateCertificate or LoadCertificate: the zero Certificate holds none,
// Leaf returns nil, and Fingerprint and Handshake fail with
// ErrBadCertificate.
type Certificate struct {
	tls  tls.Certificate
	leaf *x509.Certificate
}

// GenerateCertificate makes a self-signed ECDSA P-256 certificate, the kind
// browsers generate for WebRTC (RFC 8827 §6.5 calls for ECDSA P-256 support).
func GenerateCertificate(cfg CertificateConfig) (*Certificate, error) {
	r := cfg.Rand
	if r == nil {
		r = rand.Reader
	}
	now := time.Now
	if cfg.Now != nil {
		now = cfg.Now
	}
	validity := cfg.Validity
	if validity <= 0 {
		validity = DefaultCertificateValidity
	}
	cn := cfg.CommonName
	if cn == "" {
		cn = DefaultCommonName
	}

	// A positive 63-bit serial: RFC 5280 §4.1.2.2 wants positive and unique.
	var serialBytes [8]byte
	if _, err := io.ReadFull(r, serialBytes[:]); err != nil {
		return nil, fmt.Errorf("dtlssrtp: certificate serial: %w", err)
	}
	serialBytes[0] &= 0x7f
	serial := new(big.Int).SetBytes(serialBytes[:])
	if serial.Sign() == 0 {
		serial.SetInt64(1)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), r)
	if err != nil {
		return nil, fmt.Errorf("dtlssrtp: certificate key: %w", err)
	}
	start := now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		Issuer:                pkix.Name{CommonName: cn},
		NotBefore:             start.Add(-clockSkew),
		NotAfter:              start.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(r, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("dtlssrtp: certificate: %w", err)
	}
	return LoadCertificate(tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key})
}

// LoadCertificate wraps an existing certificate, for example one from
// tls.LoadX509KeyPair, so that an endpoint can keep the same fingerprint
// across sessions. The chain must be non-empty, the leaf must parse, and the
// private key must be ECDSA, Ed25519 or RSA and match the leaf; otherwise
// it fails with ErrBadCertificate.
func LoadCertificate(c tls.Certificate) (*Certificate, error) {
	if len(c.Certificate) == 0 {
		return nil, fmt.Errorf("%w: empty chain", ErrBadCertificate)
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadCertificate, err)
	}
	signer, ok := c.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: private key is %T, not a crypto.Signer", ErrBadCertificate, c.PrivateKey)
	}
	switch signer.(type) {
	case *ecdsa.PrivateKey, ed25519.PrivateKey, *rsa.PrivateKey:
	default:
		return nil, fmt.Errorf("%w: unsupported private key type %T", ErrBadCertificate, c.PrivateKey)
	}
	pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(leaf.PublicKey) {
		return nil, fmt.Errorf("%w: private key does not match certificate", ErrBadCertificate)
	}
	c.Leaf = leaf
	return &Certificate{tls: c, leaf: leaf}, nil
}

// TLSCertificate returns the certificate and key in crypto/tls form.
func (c *Certificate) TLSCertificate() tls.Certificate { return c.tls }

// Leaf returns the parsed end-entity certificate. Callers must not modify it.
func (c *Certificate) Leaf() *x509.Certificate { return c.leaf }

// NotAfter returns the end of the validity period; a long-lived endpoint
// rotates its certificate (and SDP fingerprint) before then. It is the zero
// time for the zero Certificate.
func (c *Certificate) NotAfter() time.Time {
	if c.leaf == nil {
		return time.Time{}
	}
	return c.leaf.NotAfter
}

// Fingerprint returns the certificate's fingerprint with alg, for the
// a=fingerprint attribute. WebRTC endpoints send sha-256 (RFC 8827 §6.5).
// The zero Certificate fails with ErrBadCertificate.
func (c *Certificate) Fingerprint(alg dtlsparams.HashAlgorithm) (dtlsparams.Fingerprint, error) {
	if c.leaf == nil {
		return dtlsparams.Fingerprint{}, fmt.Errorf("%w: zero Certificate; use GenerateCertificate or LoadCertificate", ErrBadCertificate)
	}
	return dtlsparams.ComputeFingerprint(alg, c.leaf.Raw)
}
