package peer

// Design note: the components of this package take the current instant as
// an argument (the peer reads its clock once per batch of packets and tests
// pass a fake one). Tables with one time per packet store int64 nanoseconds
// from an origin instead of time.Time, which is three times larger and
// holds a pointer the garbage collector has to scan. time.Time.Sub uses the
// monotonic clock when both instants carry it, so wall clock steps do not
// age or rejuvenate entries.

import "time"

// monoOriginLead puts the origin one second before the first instant seen,
// so that every stored instant is positive and zero can mean "never".
const monoOriginLead = time.Second

// monoClock converts instants to nanoseconds since an origin fixed at the
// first call. The zero value is ready. Not safe for concurrent use.
type monoClock struct {
	origin  time.Time
	started bool
}

// nanos returns t as nanoseconds since the origin; it is positive for t at
// or after the first instant passed.
func (c *monoClock) nanos(t time.Time) int64 {
	if !c.started {
		c.origin = t.Add(-monoOriginLead)
		c.started = true
	}
	return int64(t.Sub(c.origin))
}
