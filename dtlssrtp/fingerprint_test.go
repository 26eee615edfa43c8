package dtlssrtp

import (
	"bufio"
	"crypto/tls"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/streamwire/streamwire/dtlsparams"
)

// loadOpenSSLVector reads the certificate under testdata/ and the
// fingerprints OpenSSL computed for it:
//
//	openssl x509 -in openssl_p256.pem -noout -fingerprint -sha256
func loadOpenSSLVector(t *testing.T) (*Certificate, map[string]string) {
	t.Helper()
	c, err := tls.LoadX509KeyPair("testdata/openssl_p256.pem", "testdata/openssl_p256.key")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := LoadCertificate(c)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("testdata/openssl_p256.fingerprints")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "sha256 Fingerprint=3D:CD:..."
		alg, rest, ok := strings.Cut(sc.Text(), " Fingerprint=")
		if !ok {
			t.Fatalf("bad vector line %q", sc.Text())
		}
		want["sha-"+strings.TrimPrefix(alg, "sha")] = rest
	}
	if len(want) != 5 {
		t.Fatalf("%d vectors, want 5", len(want))
	}
	return cert, want
}

func TestFingerprintOpenSSLVectors(t *testing.T) {
	cert, want := loadOpenSSLVector(t)
	for h := dtlsparams.SHA1; h <= dtlsparams.SHA512; h++ {
		f, err := cert.Fingerprint(h)
		if err != nil {
			t.Fatal(err)
		}
		wantText := h.String() + " " + want[h.String()]
		if f.String() != wantText {
			t.Errorf("%v:\n got %s\nwant %s", h, f, wantText)
		}
		parsed, err := dtlsparams.ParseFingerprint(strings.ToLower(wantText))
		if err != nil || parsed != f {
			t.Errorf("ParseFingerprint(lowercase %v) = %v, %v", h, parsed, err)
		}
		if !parsed.Matches(cert.Leaf().Raw) || VerifyFingerprint(cert.Leaf().Raw, []dtlsparams.Fingerprint{parsed}) != nil {
			t.Errorf("%v fingerprint does not match its certificate", h)
		}
	}
}

func TestVerifyFingerprint(t *testing.T) {
	cert, want := loadOpenSSLVector(t)
	der := cert.Leaf().Raw
	if err := VerifyFingerprint(der, nil); !errors.Is(err, ErrNoFingerprint) {
		t.Errorf("VerifyFingerprint without fingerprints: %v", err)
	}
	if err := VerifyFingerprint(der, []dtlsparams.Fingerprint{{}}); !errors.Is(err, ErrNoFingerprint) {
		t.Errorf("VerifyFingerprint with only the zero Fingerprint: %v", err)
	}
	good, err := dtlsparams.ParseFingerprint("sha-1 " + want["sha-1"])
	if err != nil {
		t.Fatal(err)
	}
	other, err := GenerateCertificate(CertificateConfig{})
	if err != nil {
		t.Fatal(err)
	}
	wrong256, _ := other.Fingerprint(dtlsparams.SHA256)
	// RFC 8122 §5: only the strongest hash function present counts, so a
	// matching sha-1 does not rescue a mismatching sha-256.
	if err := VerifyFingerprint(der, []dtlsparams.Fingerprint{good, wrong256}); !errors.Is(err, ErrFingerprintMismatch) {
		t.Errorf("strongest hash mismatching: %v", err)
	}
	if err := VerifyFingerprint(der, []dtlsparams.Fingerprint{wrong256, good}[1:]); err != nil {
		t.Errorf("matching sha-1 alone: %v", err)
	}
}
