package kvs

import "time"

// Clock is a Server's and a MemoryStore's time source (Config.Clock), so
// that tests can run a 10-minute idle time-out or a 5-minute clock skew in
// an instant. WebSocket write deadlines and pings use the system clock
// whatever the Clock: they bound the network, not the protocol.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f on its own goroutine once d has passed, unless
	// stop is called first; stop reports whether it stopped the call (as
	// time.Timer.Stop).
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// systemClock is the Clock of the time package.
type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}
