package kvs

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// APIError is an error of the KVS API: its __type (the exception name AWS
// SDKs map to their typed errors), its HTTP status and a message. The
// REST API answers it as
//
//	HTTP/1.1 404 Not Found
//	X-Amzn-ErrorType: ResourceNotFoundException
//	Content-Type: application/json
//
//	{"__type":"ResourceNotFoundException","message":"..."}
//
// and the WebSocket as a STATUS_RESPONSE carrying the same type and status
// when the message had a correlationId (signaling.md §3.4, §3.6). The
// sentinels below are APIErrors with a generic message; errors.Is matches
// any APIError of the same Type against them, so that
// errors.Is(err, ErrResourceNotFound) holds for every "not found".
type APIError struct {
	// Type is the exception name, e.g. "ResourceNotFoundException".
	Type string
	// Status is the HTTP status code (STATUS_RESPONSE statusCode).
	Status int
	// Message is the human-readable message.
	Message string
}

// Error returns "kvs: Type: Message".
func (e *APIError) Error() string { return "kvs: " + e.Type + ": " + e.Message }

// Is reports whether target is an *APIError of the same Type.
func (e *APIError) Is(target error) bool {
	t, ok := target.(*APIError)
	return ok && t.Type == e.Type
}

// StatusCode is Status in decimal, the statusCode of a STATUS_RESPONSE.
func (e *APIError) StatusCode() string { return strconv.Itoa(e.Status) }

// Errorf returns an APIError of kind's Type and Status with a message
// formatted from format and args: what a Store returns, e.g.
// Errorf(ErrResourceNotFound, "channel %s not found", name).
func Errorf(kind *APIError, format string, args ...any) *APIError {
	return &APIError{Type: kind.Type, Status: kind.Status, Message: fmt.Sprintf(format, args...)}
}

// The exceptions of the KVS API that this server answers, with AWS's
// status codes (aws-sdk-go-v2 service/kinesisvideo deserializers; the
// KVS API reference). Match them with errors.Is.
var (
	// ErrAccessDenied: a missing or wrong SigV4 signature, an unknown
	// access key, a request outside the clock skew, an expired presigned
	// URL (403).
	ErrAccessDenied = &APIError{Type: "AccessDeniedException", Status: http.StatusForbidden, Message: "access denied"}
	// ErrResourceNotFound: no such channel (404).
	ErrResourceNotFound = &APIError{Type: "ResourceNotFoundException", Status: http.StatusNotFound, Message: "resource not found"}
	// ErrResourceInUse: a channel of that name exists already (400).
	ErrResourceInUse = &APIError{Type: "ResourceInUseException", Status: http.StatusBadRequest, Message: "resource in use"}
	// ErrClientLimitExceeded: too many viewers on a channel, connections
	// from an address, messages per second, or queued messages (400).
	ErrClientLimitExceeded = &APIError{Type: "ClientLimitExceededException", Status: http.StatusBadRequest, Message: "client limit exceeded"}
	// ErrInvalidArgument: a missing, malformed or out-of-range parameter
	// (400).
	ErrInvalidArgument = &APIError{Type: "InvalidArgumentException", Status: http.StatusBadRequest, Message: "invalid argument"}
	// ErrAccountChannelLimitExceeded: the Store holds MaxChannels channels
	// (400).
	ErrAccountChannelLimitExceeded = &APIError{Type: "AccountChannelLimitExceededException", Status: http.StatusBadRequest, Message: "channel limit exceeded"}
	// ErrVersionMismatch: DeleteSignalingChannel's CurrentVersion is not
	// the channel's (400).
	ErrVersionMismatch = &APIError{Type: "VersionMismatchException", Status: http.StatusBadRequest, Message: "version mismatch"}
	// ErrTagsPerResourceExceededLimit: more than 50 tags (400).
	ErrTagsPerResourceExceededLimit = &APIError{Type: "TagsPerResourceExceededLimitException", Status: http.StatusBadRequest, Message: "too many tags"}
	// ErrSerialization: a request body that is not a JSON object of the
	// operation's shape (400), as AWS's restJson1 services answer.
	ErrSerialization = &APIError{Type: "SerializationException", Status: http.StatusBadRequest, Message: "malformed request body"}
	// ErrUnknownOperation: a path under the prefix that names no operation
	// (404).
	ErrUnknownOperation = &APIError{Type: "UnknownOperationException", Status: http.StatusNotFound, Message: "unknown operation"}
	// ErrRequestTooLarge: a request body over the cap (413).
	ErrRequestTooLarge = &APIError{Type: "RequestEntityTooLargeException", Status: http.StatusRequestEntityTooLarge, Message: "request body too large"}
	// ErrServiceUnavailable: the Server or the Store is closed (503).
	ErrServiceUnavailable = &APIError{Type: "ServiceUnavailableException", Status: http.StatusServiceUnavailable, Message: "service unavailable"}
)

// ErrClosed is returned by a Store's methods after Close; it is an
// ErrServiceUnavailable.
var ErrClosed = Errorf(ErrServiceUnavailable, "kvs: closed")

// asAPIError returns err as an *APIError: itself or the one it wraps, else
// an internal failure (500) whose message does not repeat err's text, which
// may name internals.
func asAPIError(err error) *APIError {
	var e *APIError
	if errors.As(err, &e) {
		return e
	}
	return &APIError{Type: "InternalFailure", Status: http.StatusInternalServerError, Message: "internal failure"}
}
