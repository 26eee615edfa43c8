package stun

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
)

// PasswordAlgorithm identifies how a long-term key is derived (RFC 8489
// §14.11, §18.5).
type PasswordAlgorithm uint16

// Password algorithms of RFC 8489 §18.5.
const (
	PasswordMD5    PasswordAlgorithm = 0x0001
	PasswordSHA256 PasswordAlgorithm = 0x0002
)

// String returns the algorithm name.
func (a PasswordAlgorithm) String() string {
	switch a {
	case PasswordMD5:
		return "MD5"
	case PasswordSHA256:
		return "SHA-256"
	}
	return fmt.Sprintf("password-algorithm(%d)", uint16(a))
}

// LongTermKey derives the long-term credential key of RFC 8489 §9.2.2:
// alg(username ":" realm ":" password), 16 bytes for MD5 and 32 for SHA-256
// (any other algorithm is treated as MD5, the RFC's default).
//
// The RFC asks for the OpaqueString profile (RFC 8265) of username and
// password (SASLprep, RFC 4013, in RFC 5389). This package does not apply it:
// it uses the strings as given, which is correct for ASCII credentials without
// control characters (TURN REST credentials are) and for inputs the caller
// has already prepared. RFC 5769 §2.4's password, for example, is passed as
// "TheMatrIX", its SASLprep form.
func LongTermKey(alg PasswordAlgorithm, username, realm, password string) []byte {
	var h hash.Hash
	if alg == PasswordSHA256 {
		h = sha256.New()
	} else {
		h = md5.New()
	}
	h.Write([]byte(username))
	h.Write([]byte{':'})
	h.Write([]byte(realm))
	h.Write([]byte{':'})
	h.Write([]byte(password))
	return h.Sum(nil)
}

// PasswordAlgorithm returns the algorithm of PASSWORD-ALGORITHM (RFC 8489
// §14.12); its parameters, empty for MD5 and SHA-256, are checked for bounds
// and otherwise ignored.
func (m *Message) PasswordAlgorithm() (PasswordAlgorithm, error) {
	v, err := m.Get(AttrPasswordAlgorithm)
	if err != nil {
		return 0, err
	}
	alg, rest, ok := nextPasswordAlgorithm(v)
	if !ok || len(rest) != 0 {
		return 0, fmt.Errorf("%w: PASSWORD-ALGORITHM of %d bytes", ErrBadAttribute, len(v))
	}
	return alg, nil
}

// PasswordAlgorithms appends to dst the algorithms listed in
// PASSWORD-ALGORITHMS (RFC 8489 §14.11).
func (m *Message) PasswordAlgorithms(dst []PasswordAlgorithm) ([]PasswordAlgorithm, error) {
	v, err := m.Get(AttrPasswordAlgorithms)
	if err != nil {
		return dst, err
	}
	for len(v) > 0 {
		alg, rest, ok := nextPasswordAlgorithm(v)
		if !ok {
			return dst, fmt.Errorf("%w: PASSWORD-ALGORITHMS entry overruns the attribute", ErrBadAttribute)
		}
		dst = append(dst, alg)
		v = rest
	}
	return dst, nil
}

// nextPasswordAlgorithm splits one algorithm entry (type, parameter length,
// padded parameters) from v.
func nextPasswordAlgorithm(v []byte) (PasswordAlgorithm, []byte, bool) {
	if len(v) < 4 {
		return 0, nil, false
	}
	n := padded(int(binary.BigEndian.Uint16(v[2:4])))
	if n > len(v)-4 {
		return 0, nil, false
	}
	return PasswordAlgorithm(binary.BigEndian.Uint16(v)), v[4+n:], true
}

// AddPasswordAlgorithm appends PASSWORD-ALGORITHM with empty parameters (RFC
// 8489 §14.12).
func (b *Builder) AddPasswordAlgorithm(alg PasswordAlgorithm) {
	b.AddUint32(AttrPasswordAlgorithm, uint32(alg)<<16)
}

// AddPasswordAlgorithms appends PASSWORD-ALGORITHMS listing algs, each with
// empty parameters (RFC 8489 §14.11).
func (b *Builder) AddPasswordAlgorithms(algs ...PasswordAlgorithm) {
	n := 4 * len(algs)
	if b.begin(AttrPasswordAlgorithms, n) {
		for _, a := range algs {
			b.buf = binary.BigEndian.AppendUint16(b.buf, uint16(a))
			b.buf = binary.BigEndian.AppendUint16(b.buf, 0)
		}
		b.end(n)
	}
}
