package ice

import (
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/streamwire/streamwire/internal/logstr"
)

var (
	// ErrCandidate is matched (errors.Is) by every error of ParseCandidate,
	// Candidate.Parse and Candidate.Validate: the text is not a
	// candidate-attribute of RFC 8839 §5.1. The error is a *CandidateError
	// naming the field.
	ErrCandidate = errors.New("ice: malformed candidate")
	// ErrUnsupported is matched, besides ErrCandidate, when the line is well
	// formed up to a transport or candidate type this package does not know
	// (a transport-extension or a cand-type token, RFC 8839 §5.1). RFC 8839
	// §5.1 asks that such a candidate be ignored rather than the offer
	// refused.
	ErrUnsupported = errors.New("ice: unsupported candidate")
	// ErrUfrag reports an ice-ufrag that is not 4-256 ice-chars
	// (RFC 8839 §5.4).
	ErrUfrag = errors.New("ice: invalid ice-ufrag")
	// ErrPwd reports an ice-pwd that is not 22-256 ice-chars (RFC 8839 §5.4).
	ErrPwd = errors.New("ice: invalid ice-pwd")
)

// Field names a CandidateError reports, in the order of RFC 8839 §5.1.
const (
	FieldLine       = "line"
	FieldFoundation = "foundation"
	FieldComponent  = "component-id"
	FieldTransport  = "transport"
	FieldPriority   = "priority"
	FieldAddress    = "connection-address"
	FieldPort       = "port"
	FieldType       = "cand-type"
	FieldRelAddr    = "rel-addr"
	FieldRelPort    = "rel-port"
	FieldTCPType    = "tcptype"
	FieldExtension  = "extension"
)

// CandidateError is the error of a candidate that cannot be parsed or
// written. It matches ErrCandidate, and ErrUnsupported when Unsupported is
// set, with errors.Is.
type CandidateError struct {
	// Field is one of the Field* constants.
	Field string
	// Value is the offending text, cut to 64 bytes (internal/logstr), so that
	// the error can be logged whole.
	Value string
	// Reason says what the grammar wants, e.g. "1-256".
	Reason string
	// Unsupported is set for an unknown transport or candidate type.
	Unsupported bool
}

// Error returns "ice: malformed candidate: <field> "<value>": <reason>".
func (e *CandidateError) Error() string {
	head := ErrCandidate.Error()
	if e.Unsupported {
		head = ErrUnsupported.Error()
	}
	return head + ": " + e.Field + " " + strconv.Quote(e.Value) + ": " + e.Reason
}

// Is reports whether target is ErrCandidate, or ErrUnsupported for an
// unsupported candidate.
func (e *CandidateError) Is(target error) bool {
	return target == ErrCandidate || (e.Unsupported && target == ErrUnsupported)
}

// candErr builds a *CandidateError with the value bounded for logs.
func candErr(field, value, reason string) error {
	return &CandidateError{Field: field, Value: logstr.BoundN(value, 64), Reason: reason}
}

// unsupported builds a *CandidateError with Unsupported set.
func unsupported(field, value string) error {
	return &CandidateError{Field: field, Value: logstr.BoundN(value, 64), Reason: "not supported", Unsupported: true}
}

// Errors of the Mux and its sessions.
var (
	// ErrServerClosed is what Mux.Serve and Mux.ServeTCP return once their
	// context is done or Mux.Close was called: the normal end of serving,
	// as http.ErrServerClosed.
	ErrServerClosed = errors.New("ice: server closed")
	// ErrDuplicateUfrag is returned by Mux.NewSession when a session with
	// the same local ufrag is already registered: checks are routed by it
	// (RFC 8445 §7.3), so it must be unique on the Mux.
	ErrDuplicateUfrag = errors.New("ice: local ufrag already in use on this mux")
	// ErrSessionClosed is returned by a Session's Read and Write after the
	// session or its Mux was closed. It wraps net.ErrClosed, as the errors of
	// a closed net.Conn do.
	ErrSessionClosed = fmt.Errorf("ice: session closed: %w", net.ErrClosed)
	// ErrConsentExpired is the error of a Session that the Mux closed
	// because no connectivity check of the peer succeeded for
	// MuxConfig.ConsentTimeout (RFC 7675 §5.1: consent expires 30 s after
	// the last one). It matches ErrSessionClosed and net.ErrClosed too.
	ErrConsentExpired = fmt.Errorf("ice: consent expired (RFC 7675): %w", ErrSessionClosed)
	// ErrNoPath is returned by Session.Write before any connectivity check
	// of the peer succeeded: there is no valid candidate pair to send on
	// (RFC 8445 §7.2.5.3.2).
	ErrNoPath = errors.New("ice: no valid candidate pair yet")
)

// Errors of ICE-TCP (Mux.ServeTCP).
var (
	// ErrNilListener is returned by Mux.ServeTCP for a nil net.Listener.
	ErrNilListener = errors.New("ice: ServeTCP: nil listener")
	// ErrPathClosed is returned by a Session's Write and WriteBatch when
	// the selected path is a TCP connection whose write failed (it timed
	// out after MuxConfig.TCPWriteTimeout, or the peer reset or closed
	// it): the connection is closed and the session falls back to another
	// valid path, if it has one. The session itself stays open, so the
	// error does not match net.ErrClosed; it names the cause in its text.
	ErrPathClosed = errors.New("ice: TCP path closed")
	// ErrFrameTooLarge is returned by a Session's Write and WriteBatch on a
	// TCP path for a datagram longer than the 65,535 bytes that an RFC
	// 4571 frame's 16-bit length can carry.
	ErrFrameTooLarge = errors.New("ice: datagram longer than an RFC 4571 frame (65535 bytes)")
)
