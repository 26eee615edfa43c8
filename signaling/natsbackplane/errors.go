package natsbackplane

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
)

// Sentinel errors of the backplane, for errors.Is. The stores return them
// wrapped with the NATS error that caused them; the KVS store wraps them
// in a kvs ServiceUnavailableException (503) too.
var (
	// ErrUnavailable: NATS did not answer, refused a request or the
	// connection is closed. The AppRTC room API answers it with result
	// ERROR (and GET /r/{room} with 503), the Collider with its error
	// texts.
	ErrUnavailable = errors.New("natsbackplane: NATS unavailable")
	// ErrTimeout: a NATS request got no answer within Config.Timeout. It
	// satisfies net.Error with Timeout() true, and errors.Is(ErrTimeout,
	// ErrUnavailable) holds.
	ErrTimeout error = timeoutError{}
	// ErrContention: a key kept changing under Config.MaxRetries
	// compare-and-set attempts in a row.
	ErrContention = errors.New("natsbackplane: too many concurrent writers")
	// ErrClosed: the Backplane was closed.
	ErrClosed = errors.New("natsbackplane: closed")
)

// timeoutError is the type of ErrTimeout.
type timeoutError struct{}

func (timeoutError) Error() string   { return "natsbackplane: NATS request timed out" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// Is makes ErrTimeout match ErrUnavailable too.
func (timeoutError) Is(target error) bool { return target == ErrUnavailable }

// failed wraps err, the failure of a NATS request made for op under
// parent: parent's own error when it was cancelled, ErrTimeout when the
// request's time-out ran out, else ErrUnavailable.
func failed(parent context.Context, op string, err error) error {
	if perr := parent.Err(); perr != nil {
		return fmt.Errorf("natsbackplane: %s: %w", op, perr)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) {
		return fmt.Errorf("natsbackplane: %s: %w (%w)", op, ErrTimeout, err)
	}
	return fmt.Errorf("natsbackplane: %s: %w: %w", op, ErrUnavailable, err)
}
