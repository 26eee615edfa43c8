package rtmp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// ConnConfig configures a Conn. The zero value works.
type ConnConfig struct {
	// Reader limits the peer (message size, chunk size, chunk streams).
	Reader ReaderConfig
	// ReadTimeout bounds each ReadMessage when the underlying stream has
	// SetReadDeadline (net.Conn); the context's deadline, if earlier, ends
	// the read too (see ReadMessage). Zero means DefaultReadTimeout (60 s);
	// negative disables it.
	ReadTimeout time.Duration
	// WriteTimeout bounds each write likewise. Zero means
	// DefaultWriteTimeout (30 s); negative disables it.
	WriteTimeout time.Duration
	// Now returns the current time, for deadlines. Nil means time.Now.
	Now func() time.Time
}

type readDeadliner interface{ SetReadDeadline(time.Time) error }
type writeDeadliner interface{ SetWriteDeadline(time.Time) error }

// Conn is a chunk stream over a connection after the handshake: a
// ChunkReader and a ChunkWriter with read and write deadlines, automatic
// Acknowledgement messages (§5.4.3) once the peer's window has been
// received, and writes that are safe for concurrent use (one reader
// goroutine, any number of writers).
type Conn struct {
	rw  io.ReadWriter
	cfg ConnConfig
	r   *ChunkReader

	mu sync.Mutex // guards w and writes to rw
	w  *ChunkWriter

	// Cancellation of reads (see watch). watched is written by the reading
	// goroutine under watchMu and read by it without.
	watchMu sync.Mutex
	watched <-chan struct{} // Done of the context reads are interrupted by
	unwatch func() bool

	state atomic.Int32 // connIdle, connReading or connClosed
}

// NewConn returns a Conn reading and writing chunks on rw (typically a
// net.Conn whose handshake is done).
func NewConn(rw io.ReadWriter, cfg ConnConfig) *Conn {
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Conn{rw: rw, cfg: cfg, r: NewChunkReader(rw, cfg.Reader), w: NewChunkWriter(rw)}
}

// Reader returns the underlying ChunkReader (for BytesRead, ChunkSize...).
// Do not call its ReadMessage concurrently with Conn.ReadMessage.
func (c *Conn) Reader() *ChunkReader { return c.r }

func (c *Conn) deadline(ctx context.Context, timeout time.Duration) time.Time {
	d, ok := ctx.Deadline()
	if timeout > 0 {
		t := c.cfg.Now().Add(timeout)
		if !ok || t.Before(d) {
			d, ok = t, true
		}
	}
	if !ok {
		return time.Time{}
	}
	return d
}

// ReadMessage reads the next message, with ReadTimeout as the read
// deadline, and sends an Acknowledgement when a window of bytes has been
// received. The Payload is valid until the next ReadMessage call (see
// ChunkReader.ReadMessage).
//
// When ctx is done (cancelled, or past its deadline) a read in progress is
// interrupted if the stream has SetReadDeadline (net.Conn): ReadMessage
// then returns an error wrapping ctx.Err() (context.Canceled or
// context.DeadlineExceeded). A read that ReadTimeout ends returns an error
// satisfying net.Error with Timeout() true. Either way the chunk stream may have been
// left in the middle of a chunk: close the connection after such an
// error. In steady state ReadMessage does not allocate; a new cancellable
// ctx costs one registration (context.AfterFunc) when it first comes.
func (c *Conn) ReadMessage(ctx context.Context) (Message, error) {
	if c.r == nil {
		return Message{}, ErrNoConn
	}
	if !c.state.CompareAndSwap(connIdle, connReading) {
		return Message{}, errConnClosed
	}
	m, err := c.readMessage(ctx)
	if !c.state.CompareAndSwap(connReading, connIdle) {
		// Close came meanwhile and left the buffers to us.
		c.r.Release()
		return Message{}, errConnClosed
	}
	return m, err
}

func (c *Conn) readMessage(ctx context.Context) (Message, error) {
	if err := ctx.Err(); err != nil {
		return Message{}, fmt.Errorf("rtmp: read: %w", err)
	}
	if d, ok := c.rw.(readDeadliner); ok {
		c.watch(ctx, d)
		// The context's own deadline ends the read through watch, as a
		// cancellation: it is reported as context.DeadlineExceeded.
		var dl time.Time
		if c.cfg.ReadTimeout > 0 {
			dl = c.cfg.Now().Add(c.cfg.ReadTimeout)
		}
		if err := d.SetReadDeadline(dl); err != nil {
			return Message{}, err
		}
		// A cancellation that came before the deadline above overwrote
		// the interrupting one: see it here.
		if err := ctx.Err(); err != nil {
			return Message{}, fmt.Errorf("rtmp: read: %w", err)
		}
	}
	m, err := c.r.ReadMessage()
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return Message{}, fmt.Errorf("rtmp: read interrupted: %w", cerr)
		}
		return Message{}, err
	}
	if seq, due := c.r.AckDue(); due {
		if err := c.write(ctx, func(w *ChunkWriter) error { return w.WriteAck(seq) }); err != nil {
			return Message{}, err
		}
	}
	return m, nil
}

// States of a Conn, for Close.
const (
	connIdle    int32 = iota // no ReadMessage running
	connReading              // a ReadMessage is running
	connClosed               // Close was called
)

var errConnClosed = fmt.Errorf("rtmp: conn closed: %w", net.ErrClosed)

// Close closes the underlying stream if it is an io.Closer, stops the
// cancellation of reads by their context, and frees the reassembly
// buffers (see ChunkReader.Release), at once or, when a ReadMessage is
// running, as that call returns. Later reads return an error wrapping
// net.ErrClosed. Close may be called from any goroutine, more than once.
func (c *Conn) Close() error {
	prev := c.state.Swap(connClosed)
	if prev == connClosed {
		return nil
	}
	c.watchMu.Lock()
	if c.unwatch != nil {
		c.unwatch()
		c.unwatch = nil
	}
	c.watchMu.Unlock()
	var err error
	if cl, ok := c.rw.(io.Closer); ok {
		err = cl.Close()
	}
	if prev == connIdle && c.r != nil {
		c.r.Release()
	}
	return err
}

// SetReadTimeout changes ReadTimeout for the following ReadMessage calls
// (negative: none). Call it from the goroutine that reads, e.g. to stop
// timing out a peer that has started to play and may stay silent.
func (c *Conn) SetReadTimeout(d time.Duration) { c.cfg.ReadTimeout = d }

// watch makes the cancellation of ctx interrupt reads on d: it sets a read
// deadline in the past. The registration is kept while the reader passes
// contexts with the same Done channel, so that a session reading with one
// context registers once, not once per message.
func (c *Conn) watch(ctx context.Context, d readDeadliner) {
	done := ctx.Done()
	if done == c.watched {
		return
	}
	c.watchMu.Lock()
	defer c.watchMu.Unlock()
	if c.unwatch != nil {
		c.unwatch()
		c.unwatch = nil
	}
	c.watched = done
	if done == nil || c.state.Load() == connClosed {
		return // never cancelled, or Close has stopped watching for good
	}
	c.unwatch = context.AfterFunc(ctx, func() {
		c.watchMu.Lock()
		defer c.watchMu.Unlock()
		// A read with another context must not be interrupted by this one.
		if c.watched == done {
			d.SetReadDeadline(aLongTimeAgo)
		}
	})
}

// aLongTimeAgo is a read deadline that has passed: it wakes a blocked read
// at once (as net/http does to abort reads).
var aLongTimeAgo = time.Unix(1, 0)

func (c *Conn) write(ctx context.Context, f func(w *ChunkWriter) error) error {
	if err := c.lockWrite(ctx); err != nil {
		return err
	}
	defer c.mu.Unlock()
	return c.writeErr(ctx, f(c.w))
}

// WriteMessage writes one message; see ChunkWriter.WriteMessage. The write
// ends at WriteTimeout or at the deadline of ctx, whichever comes first:
// an error satisfying net.Error with Timeout() true for the first, one
// wrapping context.DeadlineExceeded for the second.
func (c *Conn) WriteMessage(ctx context.Context, m Message) error {
	if err := c.lockWrite(ctx); err != nil {
		return err
	}
	defer c.mu.Unlock()
	return c.writeErr(ctx, c.w.WriteMessage(m))
}

// lockWrite takes the write lock and sets the write deadline; on success
// the caller unlocks.
func (c *Conn) lockWrite(ctx context.Context) error {
	if c.w == nil {
		return ErrNoConn
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("rtmp: write: %w", err)
	}
	c.mu.Lock()
	if d, ok := c.rw.(writeDeadliner); ok {
		if err := d.SetWriteDeadline(c.deadline(ctx, c.cfg.WriteTimeout)); err != nil {
			c.mu.Unlock()
			return err
		}
	}
	return nil
}

// writeErr reports a write that the context's deadline ended as that
// deadline (context.DeadlineExceeded), not as a timeout of the socket.
func (c *Conn) writeErr(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("rtmp: write: %w", cerr)
	}
	var ne net.Error
	if d, ok := ctx.Deadline(); ok && errors.As(err, &ne) && ne.Timeout() && !c.cfg.Now().Before(d) {
		return fmt.Errorf("rtmp: write: %w", context.DeadlineExceeded)
	}
	return err
}

// WithWriter runs f with the ChunkWriter under the write lock and write
// deadline, e.g. to send Set Chunk Size or several control messages.
func (c *Conn) WithWriter(ctx context.Context, f func(w *ChunkWriter) error) error {
	return c.write(ctx, f)
}
