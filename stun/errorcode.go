package stun

import (
	"encoding/binary"
	"fmt"
)

// Error codes of RFC 8489 §14.8 and ICE (RFC 8445 §7.3.1.1).
const (
	CodeTryAlternate     = 300
	CodeBadRequest       = 400
	CodeUnauthorized     = 401
	CodeUnknownAttribute = 420
	CodeStaleNonce       = 438
	CodeRoleConflict     = 487
	CodeServerError      = 500
)

// ErrorReason returns the reason phrase RFC 8489 §14.8 (or RFC 8445 for 487)
// suggests for code, or "" for a code it does not name.
func ErrorReason(code int) string {
	switch code {
	case CodeTryAlternate:
		return "Try Alternate"
	case CodeBadRequest:
		return "Bad Request"
	case CodeUnauthorized:
		return "Unauthenticated"
	case CodeUnknownAttribute:
		return "Unknown Attribute"
	case CodeStaleNonce:
		return "Stale Nonce"
	case CodeRoleConflict:
		return "Role Conflict"
	case CodeServerError:
		return "Server Error"
	}
	return ""
}

// ErrorCode returns the code (300-699) and reason phrase of ERROR-CODE (RFC
// 8489 §14.8). The reason aliases the decoded buffer.
func (m *Message) ErrorCode() (code int, reason []byte, err error) {
	v, err := m.Get(AttrErrorCode)
	if err != nil {
		return 0, nil, err
	}
	if len(v) < 4 || len(v) > 4+maxTextDecode {
		return 0, nil, fmt.Errorf("%w: ERROR-CODE of %d bytes", ErrBadAttribute, len(v))
	}
	class, number := int(v[2]&0x07), int(v[3])
	if class < 3 || class > 6 || number > 99 {
		return 0, nil, fmt.Errorf("%w: ERROR-CODE class %d number %d", ErrBadAttribute, class, number)
	}
	return class*100 + number, v[4:], nil
}

// AddErrorCode appends ERROR-CODE with code 300-699 and a reason phrase of
// fewer than 128 characters (RFC 8489 §14.8); an empty reason is replaced by
// ErrorReason(code).
func (b *Builder) AddErrorCode(code int, reason string) {
	if code < 300 || code > 699 {
		b.fail(fmt.Errorf("%w: error code %d outside 300-699", ErrBadAttribute, code))
		return
	}
	if reason == "" {
		reason = ErrorReason(code)
	}
	if err := checkText(AttrErrorCode, reason); err != nil {
		b.fail(err)
		return
	}
	n := 4 + len(reason)
	if b.begin(AttrErrorCode, n) {
		b.buf = append(b.buf, 0, 0, byte(code/100), byte(code%100))
		b.buf = append(b.buf, reason...)
		b.end(n)
	}
}

// UnknownAttributes appends to dst the types listed in UNKNOWN-ATTRIBUTES
// (RFC 8489 §14.13).
func (m *Message) UnknownAttributes(dst []AttrType) ([]AttrType, error) {
	v, err := m.Get(AttrUnknownAttributes)
	if err != nil {
		return dst, err
	}
	if len(v)%2 != 0 {
		return dst, fmt.Errorf("%w: UNKNOWN-ATTRIBUTES of %d bytes", ErrBadAttribute, len(v))
	}
	for i := 0; i < len(v); i += 2 {
		dst = append(dst, AttrType(binary.BigEndian.Uint16(v[i:])))
	}
	return dst, nil
}

// AddUnknownAttributes appends UNKNOWN-ATTRIBUTES listing types (RFC 8489
// §14.13), as a 420 error response carries.
func (b *Builder) AddUnknownAttributes(types []AttrType) {
	n := 2 * len(types)
	if b.begin(AttrUnknownAttributes, n) {
		for _, t := range types {
			b.buf = binary.BigEndian.AppendUint16(b.buf, uint16(t))
		}
		b.end(n)
	}
}
