package stun

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding"
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
// rather than on every message: create one per ICE session or credential
// and reuse it. Verification never modifies the message bytes.
//
// The HMAC-SHA1 state (MESSAGE-INTEGRITY, GOOG-MESSAGE-INTEGRITY-32: all
// that ICE uses, RFC 8445 §7.2.2) is made by the constructor: the SHA-1
// states after the key's inner and outer pads (RFC 2104 §4), kept inside
// the Integrity, so that a server holding thousands of them touches one
// small block of memory per message. The HMAC-SHA256 state (crypto/hmac)
// is made by the first SHA-256 use (VerifySHA256, a Verify that finds
// MESSAGE-INTEGRITY-SHA256, AddMessageIntegritySHA256), which allocates
// it, about 0.45 KiB; later uses do not allocate.
//
// The zero Integrity has no key: Verify returns ErrZeroIntegrity and the
// Builder's integrity methods fail with it, rather than check against an
// empty key.
//
// An Integrity is not safe for concurrent use (it holds hash state and
// scratch space); give each goroutine its own, made with Clone.
type Integrity struct {
	key  []byte
	sha1 hmacSHA1         // nil hash: the zero Integrity
	s256 hash.Hash        // HMAC-SHA256; nil until the first SHA-256 use
	hdr  [HeaderSize]byte // header copy with the length adjusted
	sum  [sha256.Size]byte
}

// hmacSHA1 is HMAC-SHA1 with the key's pads already hashed (RFC 2104 §4):
// each MAC restores the inner state, hashes the message, restores the outer
// state and hashes the inner digest, three SHA-1 blocks for a 100-byte
// check and no key schedule. crypto/hmac does the same, but keeps its two
// states and two hashes in five separate allocations; here the states live
// in states, inside the Integrity.
type hmacSHA1 struct {
	h            hash.Hash                  // scratch; nil for the zero Integrity
	restore      encoding.BinaryUnmarshaler // h, to load a saved state
	inner, outer []byte                     // marshaled SHA-1 states after the pads; slices of states
	states       [2 * sha1StateSize]byte
}

// sha1StateSize is the size of a marshaled SHA-1 state (magic, chaining
// values, a block, the length); states holds two without allocating.
const sha1StateSize = 4 + sha1.Size + sha1.BlockSize + 8

// init keys h with key.
func (h *hmacSHA1) init(key []byte) {
	d := sha1.New()
	h.h, h.restore = d, d.(encoding.BinaryUnmarshaler)
	if len(key) > sha1.BlockSize {
		k := sha1.Sum(key) // RFC 2104 §2: longer keys are hashed first
		key = k[:]
	}
	// Each padded key is built in the second half of states, which the
	// outer state overwrites once the pad has been hashed: a local array
	// would escape to the heap through the hash's Write.
	pad := h.states[sha1StateSize : sha1StateSize+sha1.BlockSize]
	for i, p := range [2]byte{0x36, 0x5c} { // ipad, opad
		copy(pad, key)
		clear(pad[len(key):])
		for j := range pad {
			pad[j] ^= p
		}
		d.Reset()
		d.Write(pad)
		st := appendState(h.states[i*sha1StateSize:i*sha1StateSize], d)
		if i == 0 {
			h.inner = st
		} else {
			h.outer = st
		}
	}
	d.Reset()
}

// appendState appends the marshaled state of h to b (in place when b has
// room, as states has for SHA-1).
func appendState(b []byte, h hash.Hash) []byte {
	if a, ok := h.(encoding.BinaryAppender); ok {
		if out, err := a.AppendBinary(b); err == nil {
			return out
		}
	}
	st, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		panic("stun: crypto/sha1 state does not marshal: " + err.Error())
	}
	return append(b, st...)
}

// mac appends to dst the HMAC-SHA1 of a followed by b.
func (h *hmacSHA1) mac(dst, a, b []byte) []byte {
	if err := h.restore.UnmarshalBinary(h.inner); err != nil {
		panic("stun: crypto/sha1 state does not load: " + err.Error())
	}
	h.h.Write(a)
	h.h.Write(b)
	n := len(dst)
	dst = h.h.Sum(dst)
	if err := h.restore.UnmarshalBinary(h.outer); err != nil {
		panic("stun: crypto/sha1 state does not load: " + err.Error())
	}
	h.h.Write(dst[n:])
	return h.h.Sum(dst[:n])
}

// NewIntegrity returns an Integrity for a raw HMAC key. It copies key.
func NewIntegrity(key []byte) *Integrity {
	return newIntegrity(append([]byte(nil), key...))
}

// newIntegrity returns an Integrity that keeps key.
func newIntegrity(key []byte) *Integrity {
	i := &Integrity{key: key}
	i.sha1.init(key)
	return i
}

// NewShortTermIntegrity returns an Integrity for short-term credentials
// (RFC 8489 §9.1.1): the key is the password. For ICE (RFC 8445 §7.2.2) it
// is the ice-pwd of the agent that receives the request.
//
// RFC 8489 asks for the OpaqueString profile (RFC 8265) of the password; this
// package uses the bytes as given, which is the same for the printable ASCII
// that ICE passwords are made of (RFC 8839 §5.4).
func NewShortTermIntegrity(password string) *Integrity {
	return newIntegrity([]byte(password))
}

// NewLongTermIntegrity returns an Integrity for long-term credentials with
// the MD5 password algorithm (RFC 8489 §9.2.2): key =
// MD5(username ":" realm ":" password). See LongTermKey about SASLprep.
func NewLongTermIntegrity(username, realm, password string) *Integrity {
	return newIntegrity(LongTermKey(PasswordMD5, username, realm, password))
}

// Key returns the HMAC key. The slice is shared; do not modify it.
func (i *Integrity) Key() []byte { return i.key }

// Clone returns an independent Integrity with the same key, for use by
// another goroutine; the clone of a zero Integrity is zero.
func (i *Integrity) Clone() *Integrity {
	if i.sha1.h == nil {
		return &Integrity{} // a zero Integrity stays keyless
	}
	return NewIntegrity(i.key)
}

// Verify checks the integrity attribute of m: MESSAGE-INTEGRITY-SHA256 when
// present (the stronger of the two; RFC 8489 §14.6), else
// MESSAGE-INTEGRITY. It returns
// ErrAttributeNotFound when m has neither, ErrIntegrity when the HMAC does
// not match, ErrBadAttribute when the value has a wrong size. The comparison
// is constant-time, m's bytes are not modified, and nothing is allocated
// (but the HMAC-SHA256 state, at the first SHA-256 use of i).
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
	return i.verify(m, a, false)
}

// VerifySHA256 checks MESSAGE-INTEGRITY-SHA256 (HMAC-SHA256, RFC 8489
// §14.6), accepting values truncated to 16-32 bytes in steps of 4. The
// first SHA-256 use of i allocates its HMAC-SHA256 state.
func (i *Integrity) VerifySHA256(m *Message) error {
	a, ok := m.at(m.mi256)
	if !ok {
		return ErrAttributeNotFound
	}
	if a.length < minIntegritySHA256 || a.length > IntegritySHA256Size || a.length%4 != 0 {
		return ErrBadAttribute
	}
	return i.verify(m, a, true)
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
	return i.verify(m, a, false)
}

// verify computes the HMAC over the message up to attribute a, with the
// header length adjusted to end at a (RFC 8489 §14.5), in the scratch header
// copy, and compares it with a's value.
func (i *Integrity) verify(m *Message, a attrRef, sha256 bool) error {
	end := int(a.off) + attrHeaderSize + int(a.length)
	copy(i.hdr[:], m.raw[:HeaderSize])
	binary.BigEndian.PutUint16(i.hdr[2:4], uint16(end-HeaderSize))
	sum, err := i.mac(sha256, i.hdr[:], m.raw[HeaderSize:a.off])
	if err != nil {
		return err
	}
	if !hmac.Equal(sum[:a.length], m.raw[end-int(a.length):end]) {
		return ErrIntegrity
	}
	return nil
}

// mac returns the HMAC-SHA1 or HMAC-SHA256 of a followed by b, in i.sum,
// making the HMAC-SHA256 state at its first use; ErrZeroIntegrity for the
// zero Integrity.
func (i *Integrity) mac(sha256 bool, a, b []byte) ([]byte, error) {
	switch {
	case i.sha1.h == nil:
		return nil, ErrZeroIntegrity
	case !sha256:
		return i.sha1.mac(i.sum[:0], a, b), nil
	case i.s256 == nil:
		i.s256 = hmac.New(newSHA256, i.key)
	}
	i.s256.Reset()
	i.s256.Write(a)
	i.s256.Write(b)
	return i.s256.Sum(i.sum[:0]), nil
}

// newSHA256 is sha256.New, which the parameters named sha256 shadow.
var newSHA256 = sha256.New

// AddMessageIntegrity appends MESSAGE-INTEGRITY (HMAC-SHA1 with i's key, RFC
// 8489 §14.5) over the message built so far. Only MESSAGE-INTEGRITY-SHA256
// and FINGERPRINT may follow.
func (b *Builder) AddMessageIntegrity(i *Integrity) {
	b.addIntegrity(AttrMessageIntegrity, false, IntegritySize, sealMI, i)
}

// AddMessageIntegritySHA256 appends the full 32-byte MESSAGE-INTEGRITY-SHA256
// (HMAC-SHA256 with i's key, RFC 8489 §14.6). Only FINGERPRINT may follow.
// The first SHA-256 use of i allocates its HMAC-SHA256 state.
func (b *Builder) AddMessageIntegritySHA256(i *Integrity) {
	b.addIntegrity(AttrMessageIntegritySHA256, true, IntegritySHA256Size, sealMI256, i)
}

// AddGoogMessageIntegrity32 appends Chromium's GOOG-MESSAGE-INTEGRITY-32 (the
// HMAC-SHA1 of MESSAGE-INTEGRITY cut to 4 bytes), as GOOG-PING messages
// carry. Only FINGERPRINT may follow.
func (b *Builder) AddGoogMessageIntegrity32(i *Integrity) {
	b.addIntegrity(AttrGoogMessageIntegrity32, false, googIntegrity32Size, sealMI256, i)
}

func (b *Builder) addIntegrity(t AttrType, sha256 bool, n int, seal uint8, i *Integrity) {
	if i == nil {
		b.fail(fmt.Errorf("%w: %s without an Integrity", ErrBadAttribute, t))
		return
	}
	if i.sha1.h == nil {
		b.fail(fmt.Errorf("%w: %s", ErrZeroIntegrity, t))
		return
	}
	if !b.check(t, n) {
		return
	}
	// The HMAC covers the header with its length already counting this
	// attribute (RFC 8489 §14.5).
	b.setLength(len(b.buf) - b.start - HeaderSize + attrHeaderSize + n)
	sum, err := i.mac(sha256, b.message(), nil)
	if err != nil {
		b.fail(err)
		return
	}
	b.begin(t, n)
	b.buf = append(b.buf, sum[:n]...)
	b.end(n)
	b.sealed |= seal
}
