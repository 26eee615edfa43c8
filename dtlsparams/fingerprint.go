package dtlsparams

import (
	"crypto/subtle"
	"fmt"
)

// Fingerprint is a certificate fingerprint as carried by the SDP
// a=fingerprint attribute (RFC 8122 §5, RFC 5763 §5): a hash function and
// the digest of the DER-encoded certificate.
//
// Its fields are unexported so that its invariant holds: a Fingerprint is
// either the zero value (IsZero; no fingerprint) or has one of the five
// supported hash functions and a digest of that function's length. It is a
// comparable value type (use ==), 65 bytes, and parsing and formatting do
// not allocate (ParseFingerprint, AppendTo). It implements
// encoding.TextMarshaler and TextUnmarshaler, so it can sit in a JSON or
// YAML configuration as "sha-256 AB:CD:...".
type Fingerprint struct {
	alg    HashAlgorithm
	digest [maxDigestLen]byte
}

// NewFingerprint returns the fingerprint with the given algorithm and raw
// digest, which must have the algorithm's length (ErrBadFingerprint). An
// unknown algorithm fails with ErrUnsupportedHash.
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

// ComputeFingerprint hashes a DER-encoded certificate with alg; an unknown
// algorithm fails with ErrUnsupportedHash.
func ComputeFingerprint(alg HashAlgorithm, der []byte) (Fingerprint, error) {
	if alg.Size() == 0 {
		return Fingerprint{}, fmt.Errorf("%w: %v", ErrUnsupportedHash, alg)
	}
	f := Fingerprint{alg: alg}
	alg.sum(&f.digest, der)
	return f, nil
}

// Algorithm returns the hash function (0 for the zero Fingerprint).
func (f Fingerprint) Algorithm() HashAlgorithm { return f.alg }

// Digest returns a copy of the raw digest, Algorithm().Size() bytes; it
// allocates, AppendDigest does not.
func (f Fingerprint) Digest() []byte { return f.AppendDigest(nil) }

// AppendDigest appends the raw digest, Algorithm().Size() bytes, to b.
func (f Fingerprint) AppendDigest(b []byte) []byte { return append(b, f.digest[:f.alg.Size()]...) }

// IsZero reports whether f is the zero Fingerprint.
func (f Fingerprint) IsZero() bool { return f.alg == 0 }

// Matches reports whether der, a DER-encoded certificate, has this
// fingerprint; the zero Fingerprint matches nothing. The digest comparison
// is constant-time. It costs one hash of der.
func (f Fingerprint) Matches(der []byte) bool {
	n := f.alg.Size()
	if n == 0 {
		return false
	}
	var got [maxDigestLen]byte
	f.alg.sum(&got, der)
	return subtle.ConstantTimeCompare(got[:n], f.digest[:n]) == 1
}

// AppendTo appends the attribute value, e.g. "sha-256 AB:CD:...", with the
// hash name in lower case and the digest in uppercase hex pairs separated
// by colons (RFC 8122 §5): the form browsers write. The zero Fingerprint
// appends nothing.
func (f Fingerprint) AppendTo(b []byte) []byte {
	const hexDigits = "0123456789ABCDEF"
	if f.IsZero() {
		return b
	}
	b = append(b, f.alg.name()...)
	b = append(b, ' ')
	for i, c := range f.digest[:f.alg.Size()] {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, hexDigits[c>>4], hexDigits[c&0x0f])
	}
	return b
}

// String returns the attribute value, as AppendTo; "" for the zero
// Fingerprint.
func (f Fingerprint) String() string {
	var buf [8 + 3*maxDigestLen]byte
	return string(f.AppendTo(buf[:0]))
}

// AppendText implements encoding.TextAppender, as AppendTo.
func (f Fingerprint) AppendText(b []byte) ([]byte, error) { return f.AppendTo(b), nil }

// MarshalText implements encoding.TextMarshaler, as String.
func (f Fingerprint) MarshalText() ([]byte, error) { return f.AppendTo(nil), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseFingerprint;
// on error f is left unchanged.
func (f *Fingerprint) UnmarshalText(text []byte) error {
	g, err := ParseFingerprint(string(text))
	if err != nil {
		return err
	}
	*f = g
	return nil
}

// ParseFingerprint parses the value of an a=fingerprint attribute: a hash
// function name, white space, and the digest as hex pairs separated by
// colons (RFC 8122 §5). It accepts what real peers send: the hash name and
// the hex digits in either case, one or more blanks or tabs between them,
// and white space (including a trailing CR) around the value. It does not
// allocate on success. It fails with ErrUnsupportedHash for a hash
// function other than sha-1, sha-224, sha-256, sha-384 and sha-512, and
// with ErrBadFingerprint for anything else that does not fit the grammar or
// the digest length.
func ParseFingerprint(s string) (Fingerprint, error) {
	s = trimSpace(s)
	sp := 0
	for sp < len(s) && s[sp] != ' ' && s[sp] != '\t' {
		sp++
	}
	if sp == len(s) {
		return Fingerprint{}, fmt.Errorf("%w: no space between hash function and digest", ErrBadFingerprint)
	}
	alg, err := ParseHashAlgorithm(s[:sp])
	if err != nil {
		return Fingerprint{}, err
	}
	hexPart := trimSpace(s[sp:])
	n := alg.Size()
	if len(hexPart) != 3*n-1 { // n pairs and n-1 colons
		return Fingerprint{}, fmt.Errorf("%w: %v digest must be %d hex pairs separated by colons", ErrBadFingerprint, alg, n)
	}
	f := Fingerprint{alg: alg}
	for i := 0; i < n; i++ {
		p := 3 * i
		if i > 0 && hexPart[p-1] != ':' {
			return Fingerprint{}, fmt.Errorf("%w: expected ':' at offset %d of the digest", ErrBadFingerprint, p-1)
		}
		hi, ok1 := unhex(hexPart[p])
		lo, ok2 := unhex(hexPart[p+1])
		if !ok1 || !ok2 {
			return Fingerprint{}, fmt.Errorf("%w: bad hex pair at offset %d of the digest", ErrBadFingerprint, p)
		}
		f.digest[i] = hi<<4 | lo
	}
	return f, nil
}

// trimSpace removes the blanks, tabs, CRs and LFs around s, which is all
// the white space an SDP line can carry.
func trimSpace(s string) string {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
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
