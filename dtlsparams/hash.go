package dtlsparams

import (
	"crypto/sha1" //nolint:gosec // sha-1 fingerprints are still sent by browsers (RFC 8122 §5)
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
)

// HashAlgorithm is a fingerprint hash function from the IANA "Hash Function
// Textual Names" registry used by a=fingerprint (RFC 8122 §5).
type HashAlgorithm uint8

// The hash functions a Fingerprint can hold, weakest first, so that a
// larger value is a stronger function (RFC 8122 §5 has the strongest one
// checked). The zero value is not a hash function.
const (
	SHA1 HashAlgorithm = iota + 1
	SHA224
	SHA256
	SHA384
	SHA512
)

// maxDigestLen is the longest digest (sha-512).
const maxDigestLen = sha512.Size

// String returns the SDP name: "sha-1", "sha-224", "sha-256", "sha-384" or
// "sha-512", or "HashAlgorithm(N)" for a value outside the constants.
func (h HashAlgorithm) String() string {
	if n := h.name(); n != "" {
		return n
	}
	return fmt.Sprintf("HashAlgorithm(%d)", uint8(h))
}

// name returns the SDP name, or "" for an unknown value.
func (h HashAlgorithm) name() string {
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
	return ""
}

// Size returns the digest length in bytes (20, 28, 32, 48 or 64), or 0 for
// an unknown algorithm.
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
	if h, ok := lookupHash(name); ok {
		return h, nil
	}
	return 0, fmt.Errorf("%w: %q", ErrUnsupportedHash, clip(name))
}

func lookupHash(name string) (HashAlgorithm, bool) {
	for h := SHA1; h <= SHA512; h++ {
		if equalFoldASCII(name, h.name()) {
			return h, true
		}
	}
	return 0, false
}

// sum hashes der into out, which holds at least h.Size() bytes.
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
