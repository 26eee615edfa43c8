package stun

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
)

// Sizes of the integrity attributes' values.
const (
	// IntegritySize is the size of MESSAGE-INTEGRITY (HMAC-SHA1, RFC 8489 §14.5).
	IntegritySize = sha1.Size
	// IntegritySHA256Size is the full size of MESSAGE-INTEGRITY-SHA256
	// (HMAC-SHA256, RFC 8489 §14.6). Receivers accept truncations to 16-32
	// bytes in steps of 4.
	IntegritySHA256Size = sha256.Size
	minIntegritySHA256  = 16
	googIntegrity32Size = 4
)

// Integrity verifies and computes MESSAGE-INTEGRITY (HMAC-SHA1) and
// MESSAGE-INTEGRITY-SHA256 (HMAC-SHA256) with one key (RFC 8489 §9):
//   - short-term credentials, as ICE uses: key = the password
//     (NewShortTermIntegrity);
//   - long-term credentials: key = MD5(username ":" realm ":" password)
//     (NewLongTermIntegrity, LongTermKey).
//
// An Integrity keeps keyed HMAC states, so the HMAC key schedule runs once
// when it is created rather than on every message: create one per ICE session
// or credential and reuse it. Verification never modifies the message bytes.
//
// The zero Integrity has no key: Verify returns ErrZeroIntegrity and the
// Builder's integrity methods fail with it, rather than check against an
// empty key.
//
// An Integrity is not safe for concurrent use (it holds hash state and
// scratch space); give each goroutine its own, made with Clone.
type Integrity struct {
	key  []byte
	sha1 hash.Hash
	s256 hash.Hash
	hdr  [HeaderSize]byte // header copy with the length adjusted
	sum  [sha256.Size]byte
}

// NewIntegrity returns an Integrity for a raw HMAC key. It copies key.
func NewIntegrity(key []byte) *Integrity {
	k := append([]byte(nil), key...)
	return &Integrity{
		key:  k,
		sha1: hmac.New(sha1.New, k),
		s256: hmac.New(sha256.New, k),
	}
}

// NewShortTermIntegrity returns an Integrity for short-term credentials
// (RFC 8489 §9.1.1): the key is the password. For ICE (RFC 8445 §7.2.2) it
// is the ice-pwd of the agent that receives the request.
//
// RFC 8489 asks for the OpaqueString profile (RFC 8265) of the password; this
// package uses the bytes as given, which is the same for the printable ASCII
// that ICE passwords are made of (RFC 8839 §5.4).
func NewShortTermIntegrity(password string) *Integrity {
	return NewIntegrity([]byte(password))
}

// NewLongTermIntegrity returns an Integrity for long-term credentials with
// the MD5 password algorithm (RFC 8489 §9.2.2): key =
// MD5(username ":" realm ":" password). See LongTermKey about SASLprep.
func NewLongTermIntegrity(username, realm, password string) *Integrity {
	return NewIntegrity(LongTermKey(PasswordMD5, username, realm, password))
}

// Key returns the HMAC key. The slice is shared; do not modify it.
func (i *Integrity) Key() []byte { return i.key }

// Clone returns an independent Integrity with the same key, for use by
// another goroutine; the clone of a zero Integrity is zero.
func (i *Integrity) Clone() *Integrity {
	if i.sha1 == nil {
		return &Integrity{} // a zero Integrity stays keyless
	}
	return NewIntegrity(i.key)
}

// Verify checks the integrity attribute of m: MESSAGE-INTEGRITY-SHA256 when
// present (the stronger of the two; RFC 8489 §14.6), else
// MESSAGE-INTEGRITY. It returns
// ErrAttributeNotFound when m has neither, ErrIntegrity when the HMAC does
// not match, ErrBadAttribute when the value has a wrong size. The comparison
// is constant-time, m's bytes are not modified, and nothing is allocated.
func (i *Integrity) Verify(m *Message) error {
	if m.mi256 != 0 {
		return i.VerifySHA256(m)
	}
	return i.VerifySHA1(m)
}

// VerifySHA1 checks MESSAGE-INTEGRITY (HMAC-SHA1, RFC 8489 §14.5).
func (i *Integrity) VerifySHA1(m *Message) error {
	a, ok := m.at(m.mi)
	if !ok {
		return ErrAttributeNotFound
	}
	if a.length != IntegritySize {
		return ErrBadAttribute
	}
	return i.verify(m, a, i.sha1)
}

// VerifySHA256 checks MESSAGE-INTEGRITY-SHA256 (HMAC-SHA256, RFC 8489
// §14.6), accepting values truncated to 16-32 bytes in steps of 4.
func (i *Integrity) VerifySHA256(m *Message) error {
	a, ok := m.at(m.mi256)
	if !ok {
		return ErrAttributeNotFound
	}
	if a.length < minIntegritySHA256 || a.length > IntegritySHA256Size || a.length%4 != 0 {
		return ErrBadAttribute
	}
	return i.verify(m, a, i.s256)
}

// VerifyGoogMessageIntegrity32 checks Chromium's GOOG-MESSAGE-INTEGRITY-32:
// the first 4 bytes of the HMAC-SHA1 that MESSAGE-INTEGRITY would carry,
// which Chromium puts in GOOG-PING requests and responses instead of
// MESSAGE-INTEGRITY. Four bytes are a weak check; accept it only where
// Chromium does (a GOOG-PING on a pair that passed full Binding checks).
func (i *Integrity) VerifyGoogMessageIntegrity32(m *Message) error {
	a, ok := m.at(m.mi32)
	if !ok {
		return ErrAttributeNotFound
	}
	if a.length != googIntegrity32Size {
		return ErrBadAttribute
	}
	return i.verify(m, a, i.sha1)
}

// verify computes the HMAC over the message up to attribute a, with the
// header length adjusted to end at a (RFC 8489 §14.5), in the scratch header
// copy, and compares it with a's value.
func (i *Integrity) verify(m *Message, a attrRef, h hash.Hash) error {
	if h == nil {
		return ErrZeroIntegrity
	}
	end := int(a.off) + attrHeaderSize + int(a.length)
	copy(i.hdr[:], m.raw[:HeaderSize])
	binary.BigEndian.PutUint16(i.hdr[2:4], uint16(end-HeaderSize))
	h.Reset()
	h.Write(i.hdr[:])
	h.Write(m.raw[HeaderSize:a.off])
	sum := h.Sum(i.sum[:0])
	if !hmac.Equal(sum[:a.length], m.raw[end-int(a.length):end]) {
		return ErrIntegrity
	}
	return nil
}

// AddMessageIntegrity appends MESSAGE-INTEGRITY (HMAC-SHA1 with i's key, RFC
// 8489 §14.5) over the message built so far. Only MESSAGE-INTEGRITY-SHA256
// and FINGERPRINT may follow.
func (b *Builder) AddMessageIntegrity(i *Integrity) {
	b.addIntegrity(AttrMessageIntegrity, hashOf(i, false), IntegritySize, sealMI, i)
}

// AddMessageIntegritySHA256 appends the full 32-byte MESSAGE-INTEGRITY-SHA256
// (HMAC-SHA256 with i's key, RFC 8489 §14.6). Only FINGERPRINT may follow.
func (b *Builder) AddMessageIntegritySHA256(i *Integrity) {
	b.addIntegrity(AttrMessageIntegritySHA256, hashOf(i, true), IntegritySHA256Size, sealMI256, i)
}

// AddGoogMessageIntegrity32 appends Chromium's GOOG-MESSAGE-INTEGRITY-32 (the
// HMAC-SHA1 of MESSAGE-INTEGRITY cut to 4 bytes), as GOOG-PING messages
// carry. Only FINGERPRINT may follow.
func (b *Builder) AddGoogMessageIntegrity32(i *Integrity) {
	b.addIntegrity(AttrGoogMessageIntegrity32, hashOf(i, false), googIntegrity32Size, sealMI256, i)
}

// hashOf returns i's HMAC-SHA256 or HMAC-SHA1 state, or nil for a nil i.
func hashOf(i *Integrity, sha256 bool) hash.Hash {
	switch {
	case i == nil:
		return nil
	case sha256:
		return i.s256
	}
	return i.sha1
}

func (b *Builder) addIntegrity(t AttrType, h hash.Hash, n int, seal uint8, i *Integrity) {
	if i == nil {
		b.fail(fmt.Errorf("%w: %s without an Integrity", ErrBadAttribute, t))
		return
	}
	if h == nil {
		b.fail(fmt.Errorf("%w: %s", ErrZeroIntegrity, t))
		return
	}
	if !b.check(t, n) {
		return
	}
	// The HMAC covers the header with its length already counting this
	// attribute (RFC 8489 §14.5).
	b.setLength(len(b.buf) - b.start - HeaderSize + attrHeaderSize + n)
	h.Reset()
	h.Write(b.message())
	sum := h.Sum(i.sum[:0])
	b.begin(t, n)
	b.buf = append(b.buf, sum[:n]...)
	b.end(n)
	b.sealed |= seal
}
