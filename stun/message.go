package stun

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"iter"
	"strings"
)

const (
	// HeaderSize is the size of the STUN message header (RFC 8489 §5).
	HeaderSize = 20
	// MagicCookie is the fixed value of header bytes 4-7 (RFC 8489 §5).
	MagicCookie uint32 = 0x2112A442
	// MaxAttributes is how many attributes a Message records. A message with
	// more (not counting those RFC 8489 §14.5 says to ignore after
	// MESSAGE-INTEGRITY) fails to decode with ErrTooManyAttributes. Real
	// messages carry about ten: a Chromium ICE check carries seven to nine.
	MaxAttributes = 32
	// attrHeaderSize is the size of the type and length of an attribute.
	attrHeaderSize = 4
)

// Class is the class of a STUN message (RFC 8489 §5): request, indication,
// success response or error response.
type Class uint8

// Message classes (RFC 8489 §5).
const (
	ClassRequest    Class = 0b00
	ClassIndication Class = 0b01
	ClassSuccess    Class = 0b10
	ClassError      Class = 0b11
)

// String returns the class name.
func (c Class) String() string {
	switch c {
	case ClassRequest:
		return "request"
	case ClassIndication:
		return "indication"
	case ClassSuccess:
		return "success response"
	case ClassError:
		return "error response"
	}
	return fmt.Sprintf("class(%d)", uint8(c))
}

// Method is a 12-bit STUN method (RFC 8489 §18.2).
type Method uint16

// Methods known to this package.
const (
	// MethodBinding is the Binding method (RFC 8489 §18.2).
	MethodBinding Method = 0x001
	// MethodGoogPing is Chromium's GOOG-PING: a cheap Binding sent instead of
	// a repeated identical one. Its request, success and error types encode
	// to 0x0200, 0x0300 and 0x0310 (WebRTC api/transport/stun.h).
	MethodGoogPing Method = 0x080
)

// String returns the method name.
func (m Method) String() string {
	switch m {
	case MethodBinding:
		return "Binding"
	case MethodGoogPing:
		return "GOOG-PING"
	}
	return fmt.Sprintf("method(0x%03x)", uint16(m))
}

// MessageType is the 14-bit message type of the header, the method and class
// bits interleaved as RFC 8489 §5 Figure 3 draws them:
//
//	 0                 1
//	 2  3  4 5 6 7 8 9 0 1 2 3 4 5
//	+--+--+-+-+-+-+-+-+-+-+-+-+-+-+
//	|M |M |M|M|M|C|M|M|M|C|M|M|M|M|
//	|11|10|9|8|7|1|6|5|4|0|3|2|1|0|
//	+--+--+-+-+-+-+-+-+-+-+-+-+-+-+
type MessageType uint16

// Message types used by ICE and plain STUN.
const (
	BindingRequest    MessageType = 0x0001
	BindingIndication MessageType = 0x0011
	BindingSuccess    MessageType = 0x0101
	BindingError      MessageType = 0x0111
	GoogPingRequest   MessageType = 0x0200
	GoogPingSuccess   MessageType = 0x0300
	GoogPingError     MessageType = 0x0310
)

// NewType interleaves method and class into a message type (RFC 8489 §5).
// Bits of m above the low 12 are dropped.
func NewType(m Method, c Class) MessageType {
	t := uint16(m)&0x000f | uint16(m)&0x0070<<1 | uint16(m)&0x0f80<<2
	t |= uint16(c)&1<<4 | uint16(c)&2<<7
	return MessageType(t)
}

// Method returns the method bits of t.
func (t MessageType) Method() Method {
	return Method(uint16(t)&0x000f | uint16(t)>>1&0x0070 | uint16(t)>>2&0x0f80)
}

// Class returns the class bits of t.
func (t MessageType) Class() Class {
	return Class(uint16(t)>>4&1 | uint16(t)>>7&2)
}

// String returns, for example, "Binding request".
func (t MessageType) String() string {
	return t.Method().String() + " " + t.Class().String()
}

// TransactionID is the 96-bit transaction ID of RFC 8489 §5.
type TransactionID [12]byte

// NewTransactionID reads a transaction ID from r, which should be a
// cryptographically secure source such as crypto/rand.Reader (RFC 8489 §5
// asks for uniform randomness).
func NewTransactionID(r io.Reader) (TransactionID, error) {
	var id TransactionID
	if _, err := io.ReadFull(r, id[:]); err != nil {
		return id, fmt.Errorf("stun: transaction id: %w", err)
	}
	return id, nil
}

// String returns the ID in hex.
func (id TransactionID) String() string { return hex.EncodeToString(id[:]) }

// Attribute is one attribute of a decoded message. Value aliases the decoded
// buffer, without padding.
type Attribute struct {
	// Type is the attribute type (RFC 8489 §14).
	Type AttrType
	// Value is the value without padding; it aliases the decoded buffer.
	Value []byte
}

// attrRef locates an attribute inside Message.raw.
type attrRef struct {
	typ    AttrType
	length uint16
	off    uint32 // offset of the attribute header in raw
}

// Message is a decoded STUN message. Decode fills it from a caller's buffer
// without copying and without allocating: Bytes and every attribute value
// returned by a getter are sub-slices of that buffer and stay valid only while
// the caller leaves the buffer unchanged (do not reuse it for the next read
// while still holding values; copy what must outlive it).
//
// Following RFC 8489 §14.5-§14.7, Decode keeps only the attributes a receiver
// may act on: every attribute up to the first MESSAGE-INTEGRITY or
// MESSAGE-INTEGRITY-SHA256, then MESSAGE-INTEGRITY-SHA256 after
// MESSAGE-INTEGRITY, then FINGERPRINT. Anything else after the integrity
// attribute, and anything after FINGERPRINT, is checked for TLV bounds and
// otherwise ignored: getters and iteration never return it.
//
// The zero Message is empty; a Message may be reused for the next Decode.
// A Message is a value of about 300 bytes; keep one per reader goroutine.
type Message struct {
	raw []byte
	typ MessageType
	n   uint8 // attributes recorded in attrs
	// Positions (index in attrs + 1; 0 when absent, so that the zero
	// Message is empty) of the attributes that end the protected part.
	mi, mi256, mi32, fp uint8
	attrs               [MaxAttributes]attrRef
}

// IsMessage reports whether b starts like a STUN message of RFC 8489: at least
// a header, top two bits zero, the magic cookie, a length that is a multiple
// of 4. It is the cheap test a demultiplexer uses (RFC 7983 §7) before Decode.
func IsMessage(b []byte) bool {
	return len(b) >= HeaderSize && b[0]&0xc0 == 0 && b[3]&3 == 0 &&
		binary.BigEndian.Uint32(b[4:8]) == MagicCookie
}

// MessageLength returns the total size (header included) of the STUN message
// that b starts with, from its header alone. Stream transports (RFC 8489 §6.2.2)
// use it to frame messages.
func MessageLength(b []byte) (int, error) {
	if len(b) < HeaderSize {
		return 0, ErrTruncated
	}
	if !IsMessage(b) {
		return 0, ErrBadHeader
	}
	return HeaderSize + int(binary.BigEndian.Uint16(b[2:4])), nil
}

// Decode parses b, which must hold exactly one STUN message (a UDP datagram,
// or a frame cut with MessageLength). It validates the header (top two bits
// zero, magic cookie 0x2112A442, length a multiple of 4 equal to len(b)-20)
// and the bounds and padding of every attribute. It does not check integrity
// or fingerprint: call Integrity.Verify and VerifyFingerprint.
//
// Messages of RFC 3489 (no magic cookie, 128-bit transaction ID) are rejected
// with ErrBadHeader on purpose: ICE (RFC 8445 §7) and every browser use RFC
// 5389 or later, and a cookie check is what tells STUN from RTP, DTLS and
// garbage on a shared port.
//
// Decode does not allocate. On error m is left empty.
func (m *Message) Decode(b []byte) error {
	m.raw, m.n, m.mi, m.mi256, m.mi32, m.fp = nil, 0, 0, 0, 0, 0
	m.typ = 0
	if len(b) < HeaderSize {
		return ErrTruncated
	}
	if b[0]&0xc0 != 0 {
		return ErrBadHeader
	}
	if binary.BigEndian.Uint32(b[4:8]) != MagicCookie {
		return ErrBadHeader
	}
	length := int(binary.BigEndian.Uint16(b[2:4]))
	if length%4 != 0 {
		return ErrBadHeader
	}
	if HeaderSize+length > len(b) {
		return ErrTruncated
	}
	if HeaderSize+length != len(b) {
		return ErrBadHeader
	}
	if err := m.decodeAttributes(b); err != nil {
		m.n, m.mi, m.mi256, m.mi32, m.fp = 0, 0, 0, 0, 0
		return err
	}
	m.raw = b
	m.typ = MessageType(binary.BigEndian.Uint16(b[0:2]))
	return nil
}

// decodeAttributes walks the TLVs of b and records the ones a receiver may
// act on (see Message).
func (m *Message) decodeAttributes(b []byte) error {
	ignoring := false // past the integrity attribute or FINGERPRINT
	for off := HeaderSize; off < len(b); {
		if len(b)-off < attrHeaderSize {
			return ErrBadAttribute
		}
		t := AttrType(binary.BigEndian.Uint16(b[off:]))
		l := int(binary.BigEndian.Uint16(b[off+2:]))
		if padded(l) > len(b)-off-attrHeaderSize {
			return ErrBadAttribute
		}
		if m.keep(t, ignoring) {
			if int(m.n) == MaxAttributes {
				return ErrTooManyAttributes
			}
			m.attrs[m.n] = attrRef{typ: t, length: uint16(l), off: uint32(off)}
			m.n++
			switch t {
			case AttrMessageIntegrity:
				m.mi = m.n
			case AttrMessageIntegritySHA256:
				m.mi256 = m.n
			case AttrGoogMessageIntegrity32:
				m.mi32 = m.n
			case AttrFingerprint:
				m.fp = m.n
			}
			ignoring = m.mi|m.mi256|m.mi32|m.fp != 0
		}
		off += attrHeaderSize + padded(l)
	}
	return nil
}

// keep reports whether an attribute of type t is recorded, given whether an
// integrity attribute or FINGERPRINT came before (RFC 8489 §14.5-§14.7).
func (m *Message) keep(t AttrType, ignoring bool) bool {
	if !ignoring {
		return true
	}
	if m.fp != 0 {
		return false
	}
	switch t {
	case AttrFingerprint:
		return true
	case AttrMessageIntegritySHA256:
		return m.mi256 == 0 && m.mi32 == 0
	}
	return false
}

// at returns the attribute at position pos (index + 1), or false for 0.
func (m *Message) at(pos uint8) (attrRef, bool) {
	if pos == 0 {
		return attrRef{}, false
	}
	return m.attrs[pos-1], true
}

// padded rounds an attribute length up to the 4-byte boundary.
func padded(n int) int { return (n + 3) &^ 3 }

// Bytes returns the decoded message: the buffer given to Decode.
func (m *Message) Bytes() []byte { return m.raw }

// Type returns the message type.
func (m *Message) Type() MessageType { return m.typ }

// TransactionID returns the transaction ID.
func (m *Message) TransactionID() TransactionID {
	var id TransactionID
	if len(m.raw) >= HeaderSize {
		copy(id[:], m.raw[8:20])
	}
	return id
}

// NumAttributes returns how many attributes Decode recorded.
func (m *Message) NumAttributes() int { return int(m.n) }

// Attribute returns the i-th recorded attribute in message order; like a
// slice index it panics unless 0 <= i < NumAttributes.
func (m *Message) Attribute(i int) Attribute {
	a := m.attrs[i]
	v := int(a.off) + attrHeaderSize
	return Attribute{Type: a.typ, Value: m.raw[v : v+int(a.length) : v+int(a.length)]}
}

// All iterates over the recorded attributes in message order.
func (m *Message) All() iter.Seq2[AttrType, []byte] {
	return func(yield func(AttrType, []byte) bool) {
		for i := range int(m.n) {
			a := m.Attribute(i)
			if !yield(a.Type, a.Value) {
				return
			}
		}
	}
}

// Get returns the value of the first attribute of type t, or
// ErrAttributeNotFound (unwrapped, no allocation).
func (m *Message) Get(t AttrType) ([]byte, error) {
	for i := range int(m.n) {
		if m.attrs[i].typ == t {
			return m.Attribute(i).Value, nil
		}
	}
	return nil, ErrAttributeNotFound
}

// Has reports whether the message holds an attribute of type t.
func (m *Message) Has(t AttrType) bool {
	_, err := m.Get(t)
	return err == nil
}

// AppendUnknown appends to dst the types of the comprehension-required
// attributes (type < 0x8000) that this package does not know (see
// AttrType.Known) and that are not listed in alsoKnown, each once. A server
// answers a request for which this is non-empty with a 420 error carrying
// UNKNOWN-ATTRIBUTES (RFC 8489 §6.3.1). It does not allocate when dst has
// room.
func (m *Message) AppendUnknown(dst []AttrType, alsoKnown ...AttrType) []AttrType {
next:
	for i := range int(m.n) {
		t := m.attrs[i].typ
		if !t.Required() || t.Known() {
			continue
		}
		for _, k := range alsoKnown {
			if k == t {
				continue next
			}
		}
		for _, d := range dst {
			if d == t {
				continue next
			}
		}
		dst = append(dst, t)
	}
	return dst
}

// String describes the message for logs (it allocates).
func (m *Message) String() string {
	var sb strings.Builder
	id := m.TransactionID()
	fmt.Fprintf(&sb, "%s id=%s len=%d", m.typ, id, len(m.raw))
	for t, v := range m.All() {
		fmt.Fprintf(&sb, " %s(%d)", t, len(v))
	}
	return sb.String()
}
