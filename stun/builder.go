package stun

import (
	"encoding/binary"
	"fmt"
)

// maxMessageLength is the largest value of the 16-bit length field that is a
// multiple of 4.
const maxMessageLength = 0xFFFC

// Builder encodes a STUN message by appending to a caller's buffer. Start
// writes the header; each Add method appends one attribute with its padding
// and keeps the header's length field current; AddMessageIntegrity,
// AddMessageIntegritySHA256 and AddFingerprint seal the message (RFC 8489
// §14.5-§14.7); Finish returns the buffer.
//
// Errors are sticky: the first one stops further appends and is returned by
// Finish, so a sequence of Add calls needs one check. A Builder is a small
// value meant to live on the stack; with a buffer of sufficient capacity
// nothing allocates.
type Builder struct {
	buf    []byte
	start  int // offset of the header in buf
	err    error
	pad    byte
	sealed uint8 // sealMI, sealMI256, sealFP bits already appended
}

const (
	sealMI    uint8 = 1 << iota
	sealMI256       // also GOOG-MESSAGE-INTEGRITY-32: only FINGERPRINT may follow
	sealFP
)

// Start begins a message of type t with transaction ID id, appended to dst
// (which may already hold other data, for example a previous message on a
// stream). Start resets the Builder, including the padding byte to zero.
func (b *Builder) Start(dst []byte, t MessageType, id TransactionID) {
	*b = Builder{buf: dst, start: len(dst)}
	if t > 0x3fff {
		b.err = fmt.Errorf("%w: message type 0x%04x has the top bits set", ErrBadHeader, uint16(t))
		return
	}
	b.buf = binary.BigEndian.AppendUint16(b.buf, uint16(t))
	b.buf = binary.BigEndian.AppendUint16(b.buf, 0)
	b.buf = binary.BigEndian.AppendUint32(b.buf, MagicCookie)
	b.buf = append(b.buf, id[:]...)
}

// SetPadding sets the byte used to pad attribute values to 4 bytes (zero by
// default). RFC 8489 §14 lets padding be any value; RFC 5769 vectors pad with
// spaces, which this reproduces.
func (b *Builder) SetPadding(p byte) { b.pad = p }

// Err returns the first error met so far.
func (b *Builder) Err() error { return b.err }

// Finish returns dst with the message appended, or the first error met.
// The message is the tail of the returned slice from the length dst had at
// Start.
func (b *Builder) Finish() ([]byte, error) {
	if b.err != nil {
		return nil, b.err
	}
	if b.buf == nil || len(b.buf)-b.start < HeaderSize {
		return nil, fmt.Errorf("%w: Builder.Start was not called", ErrBadHeader)
	}
	return b.buf, nil
}

// message returns the bytes of the message under construction.
func (b *Builder) message() []byte { return b.buf[b.start:] }

// setLength stores n in the header's length field.
func (b *Builder) setLength(n int) {
	binary.BigEndian.PutUint16(b.buf[b.start+2:], uint16(n))
}

// begin checks that an attribute of type t with a value of n bytes may be
// appended, then appends its type and length. It returns false (with b.err
// set) when the attribute may not be added.
func (b *Builder) begin(t AttrType, n int) bool {
	if !b.check(t, n) {
		return false
	}
	b.buf = binary.BigEndian.AppendUint16(b.buf, uint16(t))
	b.buf = binary.BigEndian.AppendUint16(b.buf, uint16(n))
	return true
}

// check reports whether an attribute of type t with an n-byte value may be
// appended, setting b.err when not.
func (b *Builder) check(t AttrType, n int) bool {
	if b.err != nil {
		return false
	}
	if b.buf == nil || len(b.buf)-b.start < HeaderSize {
		b.err = fmt.Errorf("%w: Builder.Start was not called", ErrBadHeader)
		return false
	}
	if !b.allowed(t) {
		b.err = fmt.Errorf("%w: %s", ErrAttributeOrder, t)
		return false
	}
	if n > 0xffff || len(b.buf)-b.start-HeaderSize+attrHeaderSize+padded(n) > maxMessageLength {
		b.err = fmt.Errorf("%w: %s of %d bytes overflows the message", ErrAttributeTooLong, t, n)
		return false
	}
	return true
}

// allowed applies RFC 8489 §14.5-§14.7 ordering to the next attribute.
func (b *Builder) allowed(t AttrType) bool {
	switch {
	case b.sealed&sealFP != 0:
		return false
	case t == AttrFingerprint:
		return true
	case b.sealed&sealMI256 != 0:
		return false
	case t == AttrMessageIntegritySHA256:
		return true
	case t == AttrGoogMessageIntegrity32:
		return b.sealed == 0
	default:
		return b.sealed == 0
	}
}

// end pads the value just appended (n bytes) and updates the header length.
func (b *Builder) end(n int) {
	for range padded(n) - n {
		b.buf = append(b.buf, b.pad)
	}
	b.setLength(len(b.buf) - b.start - HeaderSize)
}

// Add appends an attribute of type t with value v. The typed Add methods
// check the value; Add does not, beyond the ordering and size rules.
func (b *Builder) Add(t AttrType, v []byte) {
	if b.begin(t, len(v)) {
		b.buf = append(b.buf, v...)
		b.end(len(v))
	}
}

// addString is Add for a string value.
func (b *Builder) addString(t AttrType, v string) {
	if b.begin(t, len(v)) {
		b.buf = append(b.buf, v...)
		b.end(len(v))
	}
}

// AddUint32 appends a 4-byte big-endian attribute.
func (b *Builder) AddUint32(t AttrType, v uint32) {
	if b.begin(t, 4) {
		b.buf = binary.BigEndian.AppendUint32(b.buf, v)
		b.end(4)
	}
}

// AddUint64 appends an 8-byte big-endian attribute.
func (b *Builder) AddUint64(t AttrType, v uint64) {
	if b.begin(t, 8) {
		b.buf = binary.BigEndian.AppendUint64(b.buf, v)
		b.end(8)
	}
}

// fail records err unless an earlier error is already recorded.
func (b *Builder) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}
