package wsconn

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Defaults of Config's fields.
const (
	// DefaultWriteTimeout bounds the write of one frame.
	DefaultWriteTimeout = 10 * time.Second
	// DefaultPingInterval is the time between pings; a ping still
	// unanswered at the next drops the connection.
	DefaultPingInterval = 20 * time.Second
	// DefaultMaxQueued and DefaultMaxQueuedBytes bound the outbox.
	DefaultMaxQueued      = 1024
	DefaultMaxQueuedBytes = 1 << 20
	// DefaultReadLimit is the largest frame ReadFrame takes, in bytes.
	DefaultReadLimit = 64 << 10
)

// Sentinel errors, for errors.Is.
var (
	// ErrClosed: Enqueue after the connection began to close.
	ErrClosed = errors.New("wsconn: websocket closed")
	// ErrOutboxFull: Enqueue found the outbox at MaxQueued items or
	// MaxQueuedBytes bytes; the connection is dropped (a reader that slow
	// is gone or hostile).
	ErrOutboxFull = errors.New("wsconn: outbox full")
	// ErrFrameTooLarge: ReadFrame met a frame over ReadLimit bytes.
	ErrFrameTooLarge = errors.New("wsconn: frame too large")
)

// Abort is the close "status" of a connection dropped without a close
// handshake: its peer does not read (no pong, a full outbox, a failed
// write), so the handshake would only wait out its 5 s.
const Abort websocket.StatusCode = 0

// Config configures a Conn whose outbox holds items of type T. The zero
// value works but for AppendFrame.
type Config[T any] struct {
	// AppendFrame appends the text frame of an item to b and returns it.
	AppendFrame func(b []byte, item T) []byte
	// WriteTimeout bounds each frame's write. Zero means
	// DefaultWriteTimeout (10 s).
	WriteTimeout time.Duration
	// PingInterval is the time between pings. Zero means
	// DefaultPingInterval (20 s).
	PingInterval time.Duration
	// MaxQueued and MaxQueuedBytes bound the outbox, in items and in the
	// sizes given to Enqueue. Zero means DefaultMaxQueued (1,024) and
	// DefaultMaxQueuedBytes (1 MiB).
	MaxQueued, MaxQueuedBytes int
	// ReadLimit is the largest frame ReadFrame takes, in bytes. Zero
	// means DefaultReadLimit (64 KiB).
	ReadLimit int
}

// Conn is one server-side WebSocket with its outbox. Its methods are safe
// for concurrent use, but for ReadFrame, which only the read loop calls.
type Conn[T any] struct {
	cfg    Config[T]
	c      *websocket.Conn
	ctx    context.Context // cancelled once the connection begins to close
	cancel context.CancelFunc

	mu        sync.Mutex
	out       []T // items to write, in order
	spare     []T // the other of out's two buffers (see takeOut)
	outBytes  int
	closing   bool
	code      websocket.StatusCode // close status and reason, set once
	reason    string
	stops     []func() bool // stopped at close (timers)
	wake      chan struct{} // an item was queued (capacity 1)
	writeDone chan struct{} // the write loop returned, or never ran
	started   bool
}

// New returns a Conn that is not serving yet: items queue, and closing
// works, before Serve.
func New[T any](cfg Config[T]) *Conn[T] {
	cfg.WriteTimeout = orDefault(cfg.WriteTimeout, DefaultWriteTimeout)
	cfg.PingInterval = orDefault(cfg.PingInterval, DefaultPingInterval)
	cfg.MaxQueued = orDefault(cfg.MaxQueued, DefaultMaxQueued)
	cfg.MaxQueuedBytes = orDefault(cfg.MaxQueuedBytes, DefaultMaxQueuedBytes)
	cfg.ReadLimit = orDefault(cfg.ReadLimit, DefaultReadLimit)
	ctx, cancel := context.WithCancel(context.Background())
	return &Conn[T]{cfg: cfg, ctx: ctx, cancel: cancel, wake: make(chan struct{}, 1), writeDone: make(chan struct{})}
}

// orDefault is def when v is zero or negative, else v.
func orDefault[N int | time.Duration](v, def N) N {
	if v <= 0 {
		return def
	}
	return v
}

// Context is cancelled once the connection begins to close: requests made
// for the connection end with it.
func (cn *Conn[T]) Context() context.Context { return cn.ctx }

// Serve starts writing the outbox to c, the accepted WebSocket, and
// pinging it; it sets c's read limit. Call it once, then read frames with
// ReadFrame and call Finish when reading ends.
func (cn *Conn[T]) Serve(c *websocket.Conn) {
	c.SetReadLimit(int64(cn.cfg.ReadLimit) + 1)
	cn.mu.Lock()
	cn.c, cn.started = c, true
	cn.mu.Unlock()
	go cn.writeLoop()
}

// Finish closes the connection (status 1000 unless a close was asked
// before), waits for the write loop to send the close frame, and releases
// the WebSocket. Without Serve it only closes.
func (cn *Conn[T]) Finish() {
	cn.CloseWith(websocket.StatusNormalClosure, "")
	cn.mu.Lock()
	started := cn.started
	cn.mu.Unlock()
	if started {
		<-cn.writeDone
		_ = cn.c.CloseNow()
	}
}

// Enqueue adds item, of size bytes, to the outbox. It fails with
// ErrClosed once the connection is closing, and with ErrOutboxFull, which
// drops the connection, when the outbox is at its bounds.
func (cn *Conn[T]) Enqueue(item T, size int) error {
	cn.mu.Lock()
	if cn.closing {
		cn.mu.Unlock()
		return ErrClosed
	}
	if len(cn.out) >= cn.cfg.MaxQueued || cn.outBytes+size > cn.cfg.MaxQueuedBytes {
		cut := cn.closeLocked(Abort, "outbox over budget")
		cn.mu.Unlock()
		cut()
		return ErrOutboxFull
	}
	cn.out = append(cn.out, item)
	cn.outBytes += size
	cn.mu.Unlock()
	select {
	case cn.wake <- struct{}{}:
	default:
	}
	return nil
}

// WriteNow writes frame at once, ahead of the outbox, within
// WriteTimeout: an answer to the frame just read. It fails before Serve.
func (cn *Conn[T]) WriteNow(frame []byte) error {
	cn.mu.Lock()
	c := cn.c
	cn.mu.Unlock()
	if c == nil {
		return ErrClosed
	}
	return cn.write(c, frame)
}

// write writes one frame within WriteTimeout. Its context is not the
// Conn's: coder/websocket drops a connection whose write's context ends,
// and a close should come after the frame being written, with its close
// frame. An Abort cuts the connection, and so the write, at once.
func (cn *Conn[T]) write(c *websocket.Conn, frame []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), cn.cfg.WriteTimeout)
	defer cancel()
	return c.Write(ctx, websocket.MessageText, frame)
}

// AtClose runs arm, under the Conn's lock, unless the connection is
// closing; the function arm returns (a timer's Stop) is called at close.
// It reports whether arm ran.
func (cn *Conn[T]) AtClose(arm func() (stop func() bool)) bool {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.closing {
		return false
	}
	cn.stops = append(cn.stops, arm())
	return true
}

// CloseWith makes the write loop close the connection with code and
// reason (Abort: no close frame); the first call decides them.
func (cn *Conn[T]) CloseWith(code websocket.StatusCode, reason string) {
	cn.mu.Lock()
	cut := cn.closeLocked(code, reason)
	cn.mu.Unlock()
	cut()
}

// Closing reports whether the connection began to close.
func (cn *Conn[T]) Closing() bool {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return cn.closing
}

// closeLocked begins closing; cn.mu is held. It returns what to call
// once cn.mu is released: for an Abort of a serving connection, the cut
// of its socket, which ends a write in flight.
func (cn *Conn[T]) closeLocked(code websocket.StatusCode, reason string) (cut func()) {
	cut = func() {}
	if cn.closing {
		return cut
	}
	cn.closing, cn.code, cn.reason = true, code, reason
	for _, stop := range cn.stops {
		stop()
	}
	cn.stops = nil
	cn.out, cn.outBytes = nil, 0
	cn.cancel()
	if c := cn.c; code == Abort && c != nil {
		cut = func() { _ = c.CloseNow() }
	}
	return cut
}

// writeLoop writes the outbox in order, each frame within WriteTimeout,
// and pings every PingInterval; a ping unanswered by the next one, or a
// failed write, drops the connection. Once the connection is closing it
// sends the close frame, which ends the read loop too.
func (cn *Conn[T]) writeLoop() {
	defer close(cn.writeDone)
	ticker := time.NewTicker(cn.cfg.PingInterval)
	defer ticker.Stop()
	pong := make(chan error, 1)
	pinging := false
	var buf []byte
	for {
		select {
		case <-cn.ctx.Done():
			cn.mu.Lock()
			code, reason := cn.code, cn.reason
			cn.mu.Unlock()
			if pinging {
				<-pong // its context is cn.ctx's child: it returns now
			}
			if code == Abort {
				_ = cn.c.CloseNow()
			} else {
				_ = cn.c.Close(code, reason)
			}
			return
		case <-cn.wake:
			var ok bool
			if buf, ok = cn.flush(buf); !ok {
				cn.CloseWith(Abort, "write failed")
			}
		case <-ticker.C:
			if pinging {
				cn.CloseWith(Abort, "no pong")
				continue
			}
			pinging = true
			go func() {
				ctx, cancel := context.WithTimeout(cn.ctx, cn.cfg.PingInterval)
				defer cancel()
				pong <- cn.c.Ping(ctx)
			}()
		case err := <-pong:
			pinging = false
			if err != nil {
				cn.CloseWith(Abort, "no pong")
			}
		}
	}
}

// flush writes every queued item, until the connection begins to close;
// buf is reused across frames. It reports false when a write failed.
func (cn *Conn[T]) flush(buf []byte) ([]byte, bool) {
	for {
		items := cn.takeOut()
		if len(items) == 0 {
			return buf, true
		}
		for _, it := range items {
			if cn.ctx.Err() != nil {
				// Closing: the rest are dropped, the close frame
				// follows the frame written last.
				return buf, true
			}
			buf = cn.cfg.AppendFrame(buf[:0], it)
			if err := cn.write(cn.c, buf); err != nil {
				return buf, false
			}
		}
		cn.giveBack(items)
	}
}

// takeOut empties the outbox and returns what it held. The outbox and
// spare take turns, so that queueing does not allocate once both have
// grown to the traffic.
func (cn *Conn[T]) takeOut() []T {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	items := cn.out
	cn.out, cn.spare, cn.outBytes = cn.spare, nil, 0
	return items
}

// giveBack returns a slice from takeOut, written, to be the next spare.
func (cn *Conn[T]) giveBack(items []T) {
	clear(items) // let the items go
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.spare == nil && !cn.closing {
		cn.spare = items[:0]
	}
}

// framePool holds the buffers frames are read into.
var framePool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// ReadFrame reads one message of at most ReadLimit bytes, waiting at most
// limit for it (ErrFrameTooLarge past the limit). The frame aliases buf, a
// pooled buffer to hand to Release once done with the frame. The wait is
// not tied to Context: coder/websocket drops the connection when a read's
// context ends, and a closing connection should get its close frame from
// the write loop, which ends this read in turn.
func (cn *Conn[T]) ReadFrame(limit time.Duration) (frame []byte, buf *bytes.Buffer, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	_, rd, err := cn.c.Reader(ctx)
	if err != nil {
		return nil, nil, err
	}
	max := int64(cn.cfg.ReadLimit)
	buf = framePool.Get().(*bytes.Buffer)
	buf.Reset()
	n, err := buf.ReadFrom(io.LimitReader(rd, max+1))
	switch {
	case n > max:
		err = ErrFrameTooLarge
	case err == nil:
		return buf.Bytes(), buf, nil
	}
	framePool.Put(buf)
	return nil, nil, err
}

// Release returns a buffer from ReadFrame to the pool.
func Release(buf *bytes.Buffer) { framePool.Put(buf) }

// DiscardQueued drops the queued items as if they had been written,
// buffers kept: benchmarks of the path up to the socket use it in place
// of the write loop.
func (cn *Conn[T]) DiscardQueued() { cn.giveBack(cn.takeOut()) }
