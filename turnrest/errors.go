package turnrest

import "errors"

// Sentinel errors. Functions wrap them with context (fmt.Errorf("...: %w")), so
// test for them with errors.Is.
var (
	// ErrNoSecret means Config.Secrets is empty or holds an empty string.
	ErrNoSecret = errors.New("turnrest: no shared secret configured")
	// ErrBadConfig means a Config field other than Secrets is invalid.
	ErrBadConfig = errors.New("turnrest: invalid config")
	// ErrBadUser means a user id given to Mint (or the HTTP username parameter) is
	// too long or holds a character that is not allowed.
	ErrBadUser = errors.New("turnrest: invalid user id")
	// ErrMalformedUsername means a TURN username holds no timestamp where coturn
	// looks for one, or is empty or too long.
	ErrMalformedUsername = errors.New("turnrest: malformed TURN REST username")
	// ErrExpired means the timestamp in the username is before now.
	ErrExpired = errors.New("turnrest: credential expired")
	// ErrMismatch means the password was not produced by any configured secret.
	ErrMismatch = errors.New("turnrest: password does not match any secret")
)
