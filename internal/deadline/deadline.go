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
// that fires are rare and serialise on a mutex among themselves.
type Deadline struct {
	mu    sync.Mutex // serialises Set, Stop and the timer's firing
	timer *time.Timer
	gen   uint64 // counts Sets, so that a timer that a later Set stopped too late does not fire
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
// expires it at once, as net.Conn's SetDeadline does.
func (d *Deadline) Set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.gen++
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	w := d.cur.Load()
	if w != nil {
		select {
		case <-w.c: // expired: later waits need a fresh channel
			w = nil
			d.cur.Store(nil)
		default:
		}
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
	gen := d.gen
	d.timer = time.AfterFunc(dur, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.gen == gen {
			select {
			case <-w.c:
			default:
				close(w.c)
			}
		}
	})
}

// Stop releases the timer; the deadline no longer fires.
func (d *Deadline) Stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.gen++
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
}
