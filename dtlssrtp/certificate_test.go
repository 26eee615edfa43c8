package dtlssrtp

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/streamwire/streamwire/dtlsparams"
)

func TestGenerateCertificate(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	serial := bytes.Repeat([]byte{0xff}, 8)
	c, err := GenerateCertificate(CertificateConfig{
		Rand:       io.MultiReader(bytes.NewReader(serial), rand.Reader),
		Now:        func() time.Time { return now },
		Validity:   48 * time.Hour,
		CommonName: "test-peer",
	})
	if err != nil {
		t.Fatal(err)
	}
	leaf := c.Leaf()
	if !leaf.NotAfter.Equal(now.Add(48 * time.Hour)) {
		t.Errorf("NotAfter %v, want %v", leaf.NotAfter, now.Add(48*time.Hour))
	}
	if !leaf.NotBefore.Equal(now.Add(-24 * time.Hour)) {
		t.Errorf("NotBefore %v, want a day before %v", leaf.NotBefore, now)
	}
	if c.NotAfter() != leaf.NotAfter {
		t.Error("NotAfter disagrees with the leaf")
	}
	// The serial comes from Rand, top bit cleared to stay positive.
	if got := leaf.SerialNumber.Text(16); got != "7fffffffffffffff" {
		t.Errorf("serial %s", got)
	}
	if leaf.Subject.CommonName != "test-peer" {
		t.Errorf("CN %q", leaf.Subject.CommonName)
	}
	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Fatalf("key %T, want ECDSA P-256", leaf.PublicKey)
	}
	if leaf.SignatureAlgorithm != x509.ECDSAWithSHA256 {
		t.Errorf("signature %v", leaf.SignatureAlgorithm)
	}
	if err := leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
	f, _ := c.Fingerprint(dtlsparams.SHA256)
	if !f.Matches(c.TLSCertificate().Certificate[0]) {
		t.Error("fingerprint does not match the DER handed to DTLS")
	}
}

func TestGenerateCertificateDefaults(t *testing.T) {
	before := time.Now()
	c, err := GenerateCertificate(CertificateConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if d := c.NotAfter().Sub(before); d < DefaultCertificateValidity-time.Minute || d > DefaultCertificateValidity+time.Minute {
		t.Errorf("default validity %v", d)
	}
	d, _ := GenerateCertificate(CertificateConfig{})
	if c.Leaf().SerialNumber.Cmp(d.Leaf().SerialNumber) == 0 {
		t.Error("two certificates share a serial number")
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("entropy exhausted") }

func TestGenerateCertificateRandFailure(t *testing.T) {
	if _, err := GenerateCertificate(CertificateConfig{Rand: failingReader{}}); err == nil {
		t.Fatal("a failing Rand must fail certificate generation")
	}
}

func TestLoadCertificateErrors(t *testing.T) {
	a, b := newTestCert(t), newTestCert(t)
	mismatched := tls.Certificate{Certificate: a.TLSCertificate().Certificate, PrivateKey: b.TLSCertificate().PrivateKey}
	cases := map[string]tls.Certificate{
		"empty chain":    {PrivateKey: a.TLSCertificate().PrivateKey},
		"garbage leaf":   {Certificate: [][]byte{{0x30, 0x03, 1, 2, 3}}, PrivateKey: a.TLSCertificate().PrivateKey},
		"no key":         {Certificate: a.TLSCertificate().Certificate},
		"mismatched key": mismatched,
	}
	for name, c := range cases {
		if _, err := LoadCertificate(c); !errors.Is(err, ErrBadCertificate) {
			t.Errorf("%s: %v, want ErrBadCertificate", name, err)
		}
	}
	again, err := LoadCertificate(a.TLSCertificate())
	if err != nil {
		t.Fatal(err)
	}
	fa, _ := a.Fingerprint(dtlsparams.SHA256)
	fb, _ := again.Fingerprint(dtlsparams.SHA256)
	if fa != fb {
		t.Error("reloading changed the fingerprint")
	}
}
