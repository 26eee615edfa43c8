package stun

import "errors"

// Sentinel errors. Functions of this package return them either as they are or
// wrapped with context (fmt.Errorf("...: %w", err)); test with errors.Is.
//
// On the hot path (a missing attribute, a failed integrity or fingerprint
// check) the sentinel is returned unwrapped so that the failure costs no
// allocation, which matters when the input comes from an attacker.
var (
	// ErrTruncated means the input is shorter than the STUN header or than the
	// length the header announces.
	ErrTruncated = errors.New("stun: message truncated")
	// ErrBadHeader means the 20-byte header is not a STUN header of RFC 8489
	// §5: the top two bits are not zero, the magic cookie is missing, or the
	// length is not a multiple of 4 or does not match the input.
	ErrBadHeader = errors.New("stun: bad message header")
	// ErrBadAttribute means an attribute's TLV overruns the message, or its
	// value has a size or content its definition does not allow.
	ErrBadAttribute = errors.New("stun: malformed attribute")
	// ErrTooManyAttributes means a message holds more attributes than a
	// Message records (MaxAttributes).
	ErrTooManyAttributes = errors.New("stun: more attributes than stun.MaxAttributes")
	// ErrAttributeNotFound means the requested attribute is not in the
	// message (or follows MESSAGE-INTEGRITY, where RFC 8489 §14.5 says it is
	// ignored).
	ErrAttributeNotFound = errors.New("stun: attribute not found")
	// ErrAttributeTooLong means a value exceeds the limit its RFC sets
	// (USERNAME, REALM, NONCE, SOFTWARE, ERROR-CODE reason), or the message
	// would exceed the 16-bit length field.
	ErrAttributeTooLong = errors.New("stun: attribute value too long")
	// ErrIntegrity means MESSAGE-INTEGRITY or MESSAGE-INTEGRITY-SHA256 does
	// not match the key.
	ErrIntegrity = errors.New("stun: message integrity mismatch")
	// ErrFingerprint means the FINGERPRINT attribute does not match the CRC-32
	// of the message.
	ErrFingerprint = errors.New("stun: fingerprint mismatch")
	// ErrAttributeOrder means an attribute was added to a Builder after
	// MESSAGE-INTEGRITY or FINGERPRINT, where RFC 8489 §14.5-§14.7 forbid it.
	ErrAttributeOrder = errors.New("stun: attribute not allowed after integrity or fingerprint")
	// ErrZeroIntegrity means an Integrity that was not made with
	// NewIntegrity (or another constructor) was used: it holds no key.
	ErrZeroIntegrity = errors.New("stun: zero Integrity has no key; use NewIntegrity")
)
