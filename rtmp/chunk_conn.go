package rtmp

import (
	"context"
	"io"
	"sync"
	"time"
)

// ConnConfig configures a Conn. The zero value works.
type ConnConfig struct {
	// Reader limits the peer (message size, chunk size, chunk streams).
	Reader ReaderConfig
	// ReadTimeout bounds each ReadMessage when the underlying stream has
	// SetReadDeadline (net.Conn) and the context has no earlier deadline.
	// Zero means DefaultReadTimeout (60 s); negative disables it.
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

// ReadMessage reads the next message, with the deadline of ctx or
// ReadTimeout, and sends an Acknowledgement when a window of bytes has been
// received. The Payload is valid until the next ReadMessage call (see
// ChunkReader.ReadMessage). Cancelling ctx does not interrupt a read in
// progress; close the connection for that.
func (c *Conn) ReadMessage(ctx context.Context) (Message, error) {
	if err := ctx.Err(); err != nil {
		return Message{}, err
	}
	if d, ok := c.rw.(readDeadliner); ok {
		if err := d.SetReadDeadline(c.deadline(ctx, c.cfg.ReadTimeout)); err != nil {
			return Message{}, err
		}
	}
	m, err := c.r.ReadMessage()
	if err != nil {
		return Message{}, err
	}
	if seq, due := c.r.AckDue(); due {
		if err := c.write(ctx, func(w *ChunkWriter) error { return w.WriteAck(seq) }); err != nil {
			return Message{}, err
		}
	}
	return m, nil
}

func (c *Conn) write(ctx context.Context, f func(w *ChunkWriter) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := c.rw.(writeDeadliner); ok {
		if err := d.SetWriteDeadline(c.deadline(ctx, c.cfg.WriteTimeout)); err != nil {
			return err
		}
	}
	return f(c.w)
}

// WriteMessage writes one message; see ChunkWriter.WriteMessage.
func (c *Conn) WriteMessage(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := c.rw.(writeDeadliner); ok {
		if err := d.SetWriteDeadline(c.deadline(ctx, c.cfg.WriteTimeout)); err != nil {
			return err
		}
	}
	return c.w.WriteMessage(m)
}

// WithWriter runs f with the ChunkWriter under the write lock and write
// deadline, e.g. to send Set Chunk Size or several control messages.
func (c *Conn) WithWriter(ctx context.Context, f func(w *ChunkWriter) error) error {
	return c.write(ctx, f)
}
