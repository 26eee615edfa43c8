package stun

import (
	"crypto/sha256"
	"fmt"
	"unicode/utf8"
)

// Length limits of the text attributes.
const (
	// MaxUsernameBytes bounds USERNAME on encode: RFC 8489 §14.3 asks for
	// fewer than 509 bytes.
	MaxUsernameBytes = 508
	// MaxUsernameDecode bounds USERNAME on decode. RFC 5389 §15.3 allowed
	// fewer than 513 bytes, and ICE's "remote-ufrag:local-ufrag" (RFC 8445
	// §7.2.2) reaches 513 bytes with two ufrags of 256 characters, the
	// longest RFC 8839 §5.4 allows and Chromium accepts.
	MaxUsernameDecode = 2*256 + 1
	// MaxTextChars bounds REALM, NONCE, SOFTWARE and the ERROR-CODE reason
	// phrase: fewer than 128 characters (RFC 8489 §14.8-§14.10, §14.14).
	MaxTextChars = 127
	// maxTextEncode and maxTextDecode are the byte limits the same sections
	// give for those 127 characters: 509 bytes when encoding, 763 when
	// decoding.
	maxTextEncode = 509
	maxTextDecode = 763
)

// Username returns USERNAME (RFC 8489 §14.3), at most MaxUsernameDecode
// (513) bytes. For ICE it
// is "remote-ufrag:local-ufrag" (RFC 8445 §7.2.2). The slice aliases the
// decoded buffer.
func (m *Message) Username() ([]byte, error) {
	return m.text(AttrUsername, MaxUsernameDecode)
}

// Realm returns REALM (RFC 8489 §14.9). The slice aliases the decoded buffer.
func (m *Message) Realm() ([]byte, error) { return m.text(AttrRealm, maxTextDecode) }

// Nonce returns NONCE (RFC 8489 §14.10). The slice aliases the decoded buffer.
func (m *Message) Nonce() ([]byte, error) { return m.text(AttrNonce, maxTextDecode) }

// Software returns SOFTWARE (RFC 8489 §14.14). The slice aliases the decoded
// buffer.
func (m *Message) Software() ([]byte, error) { return m.text(AttrSoftware, maxTextDecode) }

// AlternateDomain returns ALTERNATE-DOMAIN (RFC 8489 §14.16), a host name of
// at most 255 bytes. The slice aliases the decoded buffer.
func (m *Message) AlternateDomain() ([]byte, error) { return m.text(AttrAlternateDomain, 255) }

// text returns a text attribute after checking its byte limit.
func (m *Message) text(t AttrType, limit int) ([]byte, error) {
	v, err := m.Get(t)
	if err != nil {
		return nil, err
	}
	if len(v) > limit {
		return nil, fmt.Errorf("%w: %s of %d bytes (limit %d)", ErrAttributeTooLong, t, len(v), limit)
	}
	return v, nil
}

// AddUsername appends USERNAME; it must be fewer than 509 bytes (RFC 8489
// §14.3). The caller applies the OpaqueString profile if the name is not
// plain ASCII.
func (b *Builder) AddUsername(name string) {
	if len(name) > MaxUsernameBytes {
		b.fail(fmt.Errorf("%w: USERNAME of %d bytes (limit %d)", ErrAttributeTooLong, len(name), MaxUsernameBytes))
		return
	}
	b.addString(AttrUsername, name)
}

// AddRealm appends REALM: fewer than 128 characters (RFC 8489 §14.9).
func (b *Builder) AddRealm(realm string) { b.addText(AttrRealm, realm) }

// AddNonce appends NONCE: fewer than 128 characters (RFC 8489 §14.10).
func (b *Builder) AddNonce(nonce string) { b.addText(AttrNonce, nonce) }

// AddSoftware appends SOFTWARE: fewer than 128 characters (RFC 8489 §14.14).
func (b *Builder) AddSoftware(software string) { b.addText(AttrSoftware, software) }

// AddAlternateDomain appends ALTERNATE-DOMAIN (RFC 8489 §14.16).
func (b *Builder) AddAlternateDomain(host string) {
	if len(host) > 255 {
		b.fail(fmt.Errorf("%w: ALTERNATE-DOMAIN of %d bytes", ErrAttributeTooLong, len(host)))
		return
	}
	b.addString(AttrAlternateDomain, host)
}

// addText appends a text attribute limited to 127 characters and 509 bytes.
func (b *Builder) addText(t AttrType, s string) {
	if err := checkText(t, s); err != nil {
		b.fail(err)
		return
	}
	b.addString(t, s)
}

// checkText applies the character and byte limits of RFC 8489 to s.
func checkText(t AttrType, s string) error {
	if len(s) > maxTextEncode || utf8.RuneCountInString(s) > MaxTextChars {
		return fmt.Errorf("%w: %s of %d bytes (limit %d characters, %d bytes)",
			ErrAttributeTooLong, t, len(s), MaxTextChars, maxTextEncode)
	}
	return nil
}

// Userhash returns the 32-byte USERHASH (RFC 8489 §14.4). The slice aliases
// the decoded buffer.
func (m *Message) Userhash() ([]byte, error) {
	v, err := m.Get(AttrUserhash)
	if err != nil {
		return nil, err
	}
	if len(v) != sha256.Size {
		return nil, fmt.Errorf("%w: USERHASH of %d bytes", ErrBadAttribute, len(v))
	}
	return v, nil
}

// UserhashOf computes USERHASH = SHA-256(username ":" realm) (RFC 8489
// §14.4). The caller applies the OpaqueString profile to non-ASCII input.
func UserhashOf(username, realm string) [32]byte {
	h := sha256.New()
	h.Write([]byte(username))
	h.Write([]byte{':'})
	h.Write([]byte(realm))
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// AddUserhash appends USERHASH (RFC 8489 §14.4); see UserhashOf.
func (b *Builder) AddUserhash(h [32]byte) { b.Add(AttrUserhash, h[:]) }
