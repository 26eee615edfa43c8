package dtlsparams

import "errors"

// Sentinel errors. Functions wrap them with context using fmt.Errorf("...: %w"),
// so callers test for them with errors.Is.
var (
	// ErrBadSetup reports an a=setup value that is not actpass, active,
	// passive or holdconn (RFC 4145 §4).
	ErrBadSetup = errors.New("dtlsparams: bad a=setup value")

	// ErrRoleConflict reports an offer/answer pair of a=setup values from
	// which no DTLS role follows: both sides active or both passive, an
	// answer of actpass, or holdconn for a new session (RFC 5763 §5,
	// RFC 8842 §5).
	ErrRoleConflict = errors.New("dtlsparams: impossible DTLS role combination")

	// ErrBadRole reports a Role other than RoleClient or RoleServer, or a
	// Side other than Offerer or Answerer.
	ErrBadRole = errors.New("dtlsparams: bad DTLS role")

	// ErrBadFingerprint reports a malformed a=fingerprint value (RFC 8122 §5)
	// or a digest of the wrong length for its hash function.
	ErrBadFingerprint = errors.New("dtlsparams: bad fingerprint")

	// ErrUnsupportedHash reports a fingerprint hash function other than
	// sha-1, sha-224, sha-256, sha-384 and sha-512.
	ErrUnsupportedHash = errors.New("dtlsparams: unsupported fingerprint hash function")
)
