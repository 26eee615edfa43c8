// Package deadline implements the settable deadlines of net.Conn for
// connections that are not sockets (an ICE session, a DTLS packet pipe):
// a point in time with a channel that is closed when it passes.
package deadline

import (
	"sync"
	"sync/atomic"
	"time"
)

// Deadline is a settable point in time with a channel closed when it
// passes. The zero value has no deadline. It is safe for concurrent use.
//
// Wait and Expired take no lock: a connection calls them on every read or
// write, from the goroutine that moves packets, while Set and the timer
// that fires are rare and serialise on a mutex among themselves. Set
// reuses one timer, so that a caller that moves its deadline on a timer
// of its own (peer re-arms its read deadline for every RTCP tick) does
// not allocate.
type Deadline struct {
	mu    sync.Mutex  // serialises Set, Stop and the timer's firing
	timer *time.Timer // made by the first Set with a future time, then reset
	when  time.Time   // the armed deadline; zero when none is armed
	// cur is the channel of the current deadline, closed when it has
	// passed; nil while none was ever set. Written under mu, read without.
	cur atomic.Pointer[waitCh]
}

// waitCh is one deadline's channel; Set replaces it once it has fired.
type waitCh struct{ c chan struct{} }

// Wait returns a channel closed once the deadline passes; nil, which
// blocks forever in a select, while none is set. It takes no lock and
// does not allocate.
func (d *Deadline) Wait() <-chan struct{} {
	if w := d.cur.Load(); w != nil {
		return w.c
	}
	return nil
}

// Expired reports whether the deadline has passed: the non-blocking test
// a read or write makes before it tries its queue, so that an operation
// past its deadline fails even when data is ready, as on a socket. It
// takes no lock and does not allocate.
func (d *Deadline) Expired() bool {
	w := d.cur.Load()
	if w == nil {
		return false
	}
	select {
	case <-w.c:
		return true
	default:
		return false
	}
}

// Set moves the deadline to t; the zero t removes it. A t in the past
// expires it at once, as net.Conn's SetDeadline does. Moving an unexpired
// deadline does not allocate.
func (d *Deadline) Set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.when = time.Time{}
	if d.timer != nil {
		d.timer.Stop()
	}
	w := d.cur.Load()
	if w != nil && isClosed(w.c) {
		w = nil // expired: later waits need a fresh channel
		d.cur.Store(nil)
	}
	if t.IsZero() {
		return // an unexpired channel stays open: waiters keep waiting
	}
	if w == nil {
		w = &waitCh{c: make(chan struct{})}
		d.cur.Store(w)
	}
	dur := time.Until(t)
	if dur <= 0 {
		close(w.c)
		return
	}
	d.when = t
	if d.timer == nil {
		d.timer = time.AfterFunc(dur, d.fire)
	} else {
		d.timer.Reset(dur)
	}
}

// fire is the timer's function. A firing that a later Stop came too late
// to stop finds no deadline armed and does nothing; one that comes before
// the armed deadline (a later Set moved it, or the wall clock of a t
// without a monotonic reading stepped) re-arms the timer for the rest.
func (d *Deadline) fire() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.when.IsZero() {
		return
	}
	if left := time.Until(d.when); left > 0 {
		d.timer.Reset(left)
		return
	}
	d.when = time.Time{}
	if w := d.cur.Load(); w != nil && !isClosed(w.c) {
		close(w.c)
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// Stop releases the timer; the deadline no longer fires.
func (d *Deadline) Stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.when = time.Time{}
	if d.timer != nil {
		d.timer.Stop()
	}
}
