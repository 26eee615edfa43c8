package rtmp

import (
	"strings"

	"github.com/streamwire/streamwire/internal/logstr"
	"github.com/streamwire/streamwire/rtmp/amf0"
)

// StatusError is a NetConnection or NetStream status of level "error" that
// a peer answered a command with: the info object of an _error reply
// (§7.2.1.1) or of an onStatus command (§7.2.2). Get it with errors.As:
//
//	var se *rtmp.StatusError
//	if errors.As(err, &se) && se.Code == rtmp.CodePublishBadName { ... }
//
// errors.Is(err, ErrRejected) holds for every StatusError, and the codes
// that map to a sentinel match it too: *.Unauthorized matches
// ErrUnauthorized, NetStream.Publish.BadName matches ErrBadName and
// NetStream.Play.StreamNotFound matches ErrStreamNotFound.
type StatusError struct {
	// Command is the command the peer answered ("connect",
	// "createStream", "publish", "play"...).
	Command string
	// Level is the info object's level, normally LevelError.
	Level string
	// Code is the status code, e.g. CodeConnectRejected or
	// CodePlayStreamNotFound.
	Code string
	// Description is the peer's free-form text, as sent (it may be long:
	// Error bounds it with logstr.Bound).
	Description string
}

// statusErrorOf returns the StatusError carried by an _error or an
// error-level onStatus reply to command.
func statusErrorOf(command string, reply Command) *StatusError {
	level, code, desc := statusCode(reply)
	if level == "" {
		level = LevelError
	}
	return &StatusError{Command: command, Level: level, Code: code, Description: desc}
}

// Error returns "rtmp: <command> rejected by peer: <code>: <description>",
// with the peer's strings bounded for log lines. A StatusError without a
// Command, as a Handler returns one to a Server, reads "rtmp: rejected:
// <code>: <description>"; an empty code or description is left out.
func (e *StatusError) Error() string {
	var b strings.Builder
	b.WriteString("rtmp: ")
	if e.Command != "" {
		b.WriteString(logstr.Bound(e.Command))
		b.WriteString(" rejected by peer")
	} else {
		b.WriteString("rejected")
	}
	if e.Code != "" {
		b.WriteString(": ")
		b.WriteString(logstr.Bound(e.Code))
	}
	if e.Description != "" {
		b.WriteString(": ")
		b.WriteString(logstr.Bound(e.Description))
	}
	return b.String()
}

// Is reports whether target is ErrRejected or the sentinel that e.Code
// maps to (see StatusError).
func (e *StatusError) Is(target error) bool {
	switch target {
	case ErrRejected:
		return true
	case ErrUnauthorized:
		return strings.HasSuffix(e.Code, ".Unauthorized")
	case ErrBadName:
		return e.Code == CodePublishBadName
	case ErrStreamNotFound:
		return e.Code == CodePlayStreamNotFound
	}
	return false
}

// Info returns the status as the AMF0 info object a server sends.
func (e *StatusError) Info() amf0.Object { return statusInfo(e.Level, e.Code, e.Description) }
