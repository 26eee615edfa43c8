package dtlssrtp

import (
	"crypto/sha1" //nolint:gosec // sha-1 fingerprints are still sent by browsers (RFC 8122 §5)
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"fmt"
	"strings"
)

// HashAlgorithm is a fingerprint hash function from the IANA "Hash Function
// Textual Names" registry used by a=fingerprint (RFC 8122 §5).
type HashAlgorithm uint8

// The hash functions this package computes and checks. The zero value is
// not a hash function.
const (
	SHA1 HashAlgorithm = iota + 1
	SHA224
	SHA256
	SHA384
	SHA512
)

// maxDigestLen is the longest digest (sha-512).
const maxDigestLen = sha512.Size

// String returns the SDP name: "sha-1", "sha-224", "sha-256", "sha-384" or "sha-512".
func (h HashAlgorithm) String() string {
	switch h {
	case SHA1:
		return "sha-1"
	case SHA224:
		return "sha-224"
	case SHA256:
		return "sha-256"
	case SHA384:
		return "sha-384"
	case SHA512:
		return "sha-512"
	}
	return fmt.Sprintf("HashAlgorithm(%d)", uint8(h))
}

// Size returns the digest length in bytes, or 0 for an unknown algorithm.
func (h HashAlgorithm) Size() int {
	switch h {
	case SHA1:
		return sha1.Size
	case SHA224:
		return sha256.Size224
	case SHA256:
		return sha256.Size
	case SHA384:
		return sha512.Size384
	case SHA512:
		return sha512.Size
	}
	return 0
}

// ParseHashAlgorithm parses a hash function name case-insensitively
// ("sha-256", "SHA-256"). Names outside the five supported ones fail with
// ErrUnsupportedHash.
func ParseHashAlgorithm(name string) (HashAlgorithm, error) {
	for h := SHA1; h <= SHA512; h++ {
		if equalFoldASCII(name, h.String()) {
			return h, nil
		}
	}
	return 0, fmt.Errorf("%w: %q", ErrUnsupportedHash, name)
}

// sum hashes der into out, which must hold h.Size() bytes.
func (h HashAlgorithm) sum(out *[maxDigestLen]byte, der []byte) {
	switch h {
	case SHA1:
		d := sha1.Sum(der) //nolint:gosec // see import
		copy(out[:], d[:])
	case SHA224:
		d := sha256.Sum224(der)
		copy(out[:], d[:])
	case SHA256:
		d := sha256.Sum256(der)
		copy(out[:], d[:])
	case SHA384:
		d := sha512.Sum384(der)
		copy(out[:], d[:])
	case SHA512:
		d := sha512.Sum512(der)
		copy(out[:], d[:])
	}
}

// Fingerprint is a certificate fingerprint as carried by the SDP
// a=fingerprint attribute (RFC 8122 §5, RFC 5763 §5): a hash function and
// the digest of the DER-encoded certificate. It is a comparable value type;
// parsing and formatting do not allocate beyond the returned string.
// The zero value is not a valid fingerprint.
type Fingerprint struct {
	alg    HashAlgorithm
	digest [maxDigestLen]byte
}

// NewFingerprint returns the fingerprint with the given algorithm and
// digest, which must have the algorithm's length (ErrBadFingerprint).
func NewFingerprint(alg HashAlgorithm, digest []byte) (Fingerprint, error) {
	if alg.Size() == 0 {
		return Fingerprint{}, fmt.Errorf("%w: %v", ErrUnsupportedHash, alg)
	}
	if len(digest) != alg.Size() {
		return Fingerprint{}, fmt.Errorf("%w: %v digest is %d bytes, want %d", ErrBadFingerprint, alg, len(digest), alg.Size())
	}
	f := Fingerprint{alg: alg}
	copy(f.digest[:], digest)
	return f, nil
}

// ComputeFingerprint hashes a DER-encoded certificate with alg.
func ComputeFingerprint(alg HashAlgorithm, der []byte) (Fingerprint, error) {
	if alg.Size() == 0 {
		return Fingerprint{}, fmt.Errorf("%w: %v", ErrUnsupportedHash, alg)
	}
	f := Fingerprint{alg: alg}
	alg.sum(&f.digest, der)
	return f, nil
}

// Algorithm returns the hash function.
func (f Fingerprint) Algorithm() HashAlgorithm { return f.alg }

// Digest returns a copy of the digest bytes.
func (f Fingerprint) Digest() []byte { return append([]byte(nil), f.digest[:f.alg.Size()]...) }

// IsZero reports whether f is the zero Fingerprint.
func (f Fingerprint) IsZero() bool { return f.alg == 0 }

// Matches reports whether der, a DER-encoded certificate, has this
// fingerprint. The digest comparison is constant-time.
func (f Fingerprint) Matches(der []byte) bool {
	n := f.alg.Size()
	if n == 0 {
		return false
	}
	var got [maxDigestLen]byte
	f.alg.sum(&got, der)
	return subtle.ConstantTimeCompare(got[:n], f.digest[:n]) == 1
}

// AppendTo appends the attribute value, e.g. "sha-256 AB:CD:...", with
// the digest in uppercase hex pairs separated by colons (RFC 8122 §5).
func (f Fingerprint) AppendTo(b []byte) []byte {
	const hexDigits = "0123456789ABCDEF"
	b = append(b, f.alg.String()...)
	b = append(b, ' ')
	for i, c := range f.digest[:f.alg.Size()] {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, hexDigits[c>>4], hexDigits[c&0x0f])
	}
	return b
}

// String returns the attribute value, as AppendTo.
func (f Fingerprint) String() string {
	var buf [8 + 3*maxDigestLen]byte
	return string(f.AppendTo(buf[:0]))
}

// ParseFingerprint parses the value of an a=fingerprint attribute:
// a hash function name, white space, and the digest as hex pairs separated
// by colons (RFC 8122 §5). The hash name and the hex digits are
// case-insensitive; surrounding white space is ignored. It fails with
// ErrUnsupportedHash for an unknown hash function and ErrBadFingerprint
// for anything else that does not fit the grammar or the digest length.
func ParseFingerprint(s string) (Fingerprint, error) {
	s = strings.Trim(s, " \t\r\n")
	sp := strings.IndexAny(s, " \t")
	if sp < 0 {
		return Fingerprint{}, fmt.Errorf("%w: no space between hash function and digest", ErrBadFingerprint)
	}
	alg, err := ParseHashAlgorithm(s[:sp])
	if err != nil {
		return Fingerprint{}, err
	}
	hexPart := strings.TrimLeft(s[sp:], " \t")
	n := alg.Size()
	// n pairs and n-1 colons.
	if len(hexPart) != 3*n-1 {
		return Fingerprint{}, fmt.Errorf("%w: %v digest must be %d hex pairs", ErrBadFingerprint, alg, n)
	}
	f := Fingerprint{alg: alg}
	for i := 0; i < n; i++ {
		p := 3 * i
		if i > 0 && hexPart[p-1] != ':' {
			return Fingerprint{}, fmt.Errorf("%w: expected ':' at offset %d", ErrBadFingerprint, p-1)
		}
		hi, ok1 := unhex(hexPart[p])
		lo, ok2 := unhex(hexPart[p+1])
		if !ok1 || !ok2 {
			return Fingerprint{}, fmt.Errorf("%w: bad hex pair at offset %d", ErrBadFingerprint, p)
		}
		f.digest[i] = hi<<4 | lo
	}
	return f, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// VerifyFingerprint checks a peer's DER-encoded certificate against the
// fingerprints signalled in SDP, as RFC 8122 §5 says: take the fingerprints
// made with the strongest hash function present, and require the
// certificate to match one of them. It fails with ErrNoFingerprint when fps
// holds no usable fingerprint and ErrFingerprintMismatch otherwise.
func VerifyFingerprint(der []byte, fps []Fingerprint) error {
	var best HashAlgorithm
	for _, f := range fps {
		if f.alg.Size() != 0 && f.alg > best {
			best = f.alg
		}
	}
	if best == 0 {
		return ErrNoFingerprint
	}
	for _, f := range fps {
		if f.alg == best && f.Matches(der) {
			return nil
		}
	}
	return fmt.Errorf("%w: no %v fingerprint matches", ErrFingerprintMismatch, best)
}
