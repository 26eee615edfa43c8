package rtmp

import (
	"sync"
	"sync/atomic"
	"time"
)

// flushClock wakes every merged-write player of a server at the same
// instants, so that the process wakes once per interval for all of them
// instead of once per player (ServerConfig.PlayWriteInterval). Its
// goroutine runs only while at least one player uses it.
type flushClock struct {
	interval time.Duration
	ch       atomic.Pointer[chan struct{}] // closed at the next tick

	mu    sync.Mutex
	users int
	stop  chan struct{}
}

func newFlushClock(interval time.Duration) *flushClock {
	c := &flushClock{interval: interval}
	ch := make(chan struct{})
	c.ch.Store(&ch)
	return c
}

// next returns a channel that is closed at the next tick.
func (c *flushClock) next() <-chan struct{} { return *c.ch.Load() }

func (c *flushClock) acquire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.users++
	if c.users == 1 {
		c.stop = make(chan struct{})
		go c.run(c.stop)
	}
}

func (c *flushClock) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.users--
	if c.users == 0 {
		close(c.stop)
	}
}

func (c *flushClock) run(stop chan struct{}) {
	t := time.NewTicker(c.interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			c.mu.Lock()
			ch := make(chan struct{})
			old := c.ch.Swap(&ch)
			close(*old)
			c.mu.Unlock()
		case <-stop:
			return
		}
	}
}
