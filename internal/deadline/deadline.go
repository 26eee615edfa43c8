// Package deadline implements the settable deadlines of net.Conn for
// connections that are not sockets (an ICE session, a DTLS packet pipe):
// a point in time with a channel that is closed when it passes.
package deadline

import (
	"sync"
	"time"
)

// Deadline is a settable point in time with a channel closed when it
// passes. The zero value has no deadline. It is safe for concurrent use.
type Deadline struct {
	mu    sync.Mutex
	timer *time.Timer
	ch    chan struct{} // closed when the deadline has passed; nil: none set yet
}

// Wait returns a channel closed once the deadline passes; nil, which
// blocks forever in a select, while none is set.
func (d *Deadline) Wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ch
}

// Set moves the deadline to t; the zero t removes it. A t in the past
// expires it at once, as net.Conn's SetDeadline does.
func (d *Deadline) Set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	if d.ch != nil {
		select {
		case <-d.ch: // expired: later waits need a fresh channel
			d.ch = nil
		default:
		}
	}
	if t.IsZero() {
		return // an unexpired channel stays open: waiters keep waiting
	}
	if d.ch == nil {
		d.ch = make(chan struct{})
	}
	dur := time.Until(t)
	if dur <= 0 {
		close(d.ch)
		return
	}
	ch := d.ch
	d.timer = time.AfterFunc(dur, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.ch == ch {
			select {
			case <-ch:
			default:
				close(ch)
			}
		}
	})
}

// Stop releases the timer; the deadline no longer fires.
func (d *Deadline) Stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
}
