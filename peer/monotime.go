package peer

// Design note: the per-packet methods of this package take the current
// instant as a monotime, nanoseconds on a monotonic clock since an origin
// the peer fixes, rather than a time.Time or a clock function. The peer
// reads its clock once per batch of packets and converts it once with a
// monoClock; the components then do plain integer arithmetic. A
// time.Time.Sub costs 16 ns here (35 ns without a monotonic reading), as
// much as most of these components cost per packet in total (7-33 ns, see
// their benchmarks), so converting in each would double the receive path.
// Tests pass made-up instants. Tables with one instant per packet
// also stay at 8 bytes per entry, without a pointer for the garbage
// collector to scan. Only the methods that need the wall clock (NTP
// timestamps in sender reports, the RTT from reception reports) take a
// time.Time.

import "time"

// monotime is an instant in nanoseconds since a monoClock's origin. Every
// monotime a monoClock returns is positive, so zero can mean "never".
type monotime int64

// sub returns the duration from o to m.
func (m monotime) sub(o monotime) time.Duration { return time.Duration(m - o) }

// add returns m shifted by d.
func (m monotime) add(d time.Duration) monotime { return m + monotime(d) }

// monoOriginLead puts the origin one second before the first instant
// converted, so that every monotime is positive.
const monoOriginLead = time.Second

// monoClock converts time.Time to monotime and back. time.Time.Sub uses the
// monotonic reading when both instants carry one, so wall clock steps do
// not move monotimes. The zero value is ready; the origin is fixed at the
// first call of at. Not safe for concurrent use.
type monoClock struct {
	origin  time.Time
	started bool
}

// at returns t as a monotime; it is positive for t at or after the first
// instant passed.
func (c *monoClock) at(t time.Time) monotime {
	if !c.started {
		c.origin = t.Add(-monoOriginLead)
		c.started = true
	}
	return monotime(t.Sub(c.origin))
}

// time returns the instant of m, for timers.
func (c *monoClock) time(m monotime) time.Time { return c.origin.Add(time.Duration(m)) }
