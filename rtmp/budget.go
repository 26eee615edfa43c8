package rtmp

import (
	"errors"
	"fmt"
	"sync/atomic"
)

// Memory budgets for reassembly buffers (issue: one connection announcing
// 16 MiB messages on 63 chunk streams made a server hold 1 GiB).
const (
	// DefaultMaxBufferedBytes is the default per-connection budget
	// (ReaderConfig.MaxBufferedBytes): 8 MiB. nginx-rtmp caps a message at
	// 1 MiB (max_message), which truncates the keyframes of 4K encoders: a
	// 4K HEVC keyframe at 20-50 Mbit/s is a few MiB. 8 MiB holds such a
	// keyframe with the audio and data messages interleaved with it, and
	// still lets a server of 1 GiB survive 100 hostile connections with
	// the server-wide budget below.
	DefaultMaxBufferedBytes = 8 << 20
	// DefaultServerMaxBufferedBytes is the default server-wide budget
	// (ServerConfig.MaxBufferedBytes): 512 MiB, shared by all
	// connections. Honest publishers hold little between keyframes (at
	// most retainedBufferCap per chunk stream), so this is 64 connections
	// at their full per-connection budget, or thousands of HD publishers.
	DefaultServerMaxBufferedBytes = 512 << 20
	// retainedBufferCap is the largest reassembly buffer a chunk stream
	// keeps for its next message: enough for audio, HD video frames and
	// 4K inter frames, so that steady streams do not allocate, while a
	// larger buffer (a keyframe, a hostile message) is dropped as soon as
	// its message has been returned.
	retainedBufferCap = 256 << 10
	// firstGrowth bounds the first allocation of a message's buffer, so
	// that an announced length or a large chunk size reserves nothing up
	// front: buffers then double, never past what arrived twice over.
	firstGrowth = readBufferSize
)

// ErrBudget: a peer made the reader buffer more bytes of partially
// received messages than its connection's budget
// (ReaderConfig.MaxBufferedBytes) or the server-wide budget
// (ServerConfig.MaxBufferedBytes) allows. The server closes the connection.
var ErrBudget = errors.New("rtmp: over the memory budget for partial messages")

// sharedBudget is a byte count shared by the readers of one server. It
// never exceeds its limit, even transiently, so that its value is the
// server's own accounting of what it buffers.
type sharedBudget struct {
	limit int64
	used  atomic.Int64
}

// reserve takes n bytes from the budget, or reports that it cannot.
func (b *sharedBudget) reserve(n int64) bool {
	for {
		u := b.used.Load()
		if u+n > b.limit {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

// release returns n bytes to the budget.
func (b *sharedBudget) release(n int64) { b.used.Add(-n) }

// reserve accounts n more bytes of reassembly buffer to the connection and
// to the shared budget, if any.
func (r *ChunkReader) reserve(csid uint32, n int) error {
	if r.held+n > r.cfg.MaxBufferedBytes {
		return fmt.Errorf("rtmp: chunk stream %d: %d bytes buffered, %d more would pass the connection's %d: %w",
			csid, r.held, n, r.cfg.MaxBufferedBytes, ErrBudget)
	}
	if s := r.cfg.shared; s != nil && !s.reserve(int64(n)) {
		return fmt.Errorf("rtmp: chunk stream %d: %d more bytes would pass the server's %d: %w",
			csid, n, s.limit, ErrBudget)
	}
	r.held += n
	return nil
}

// release returns n bytes of reassembly buffer to the budgets.
func (r *ChunkReader) release(n int) {
	if n == 0 {
		return
	}
	r.held -= n
	if s := r.cfg.shared; s != nil {
		s.release(int64(n))
	}
}

// dropBuffer frees s's reassembly buffer and returns it to the budgets.
func (r *ChunkReader) dropBuffer(s *inStream) {
	r.release(cap(s.buf))
	s.buf = nil
}

// resetBuffer empties s's buffer for a new message, keeping it only if it
// is small (retainedBufferCap).
func (r *ChunkReader) resetBuffer(s *inStream) {
	if cap(s.buf) > retainedBufferCap {
		r.dropBuffer(s)
		return
	}
	s.buf = s.buf[:0]
}

// grow makes room in s.buf for more of a message of which more bytes are
// due: it doubles the capacity (at least firstGrowth, at most the
// message length), charging the budgets for the difference.
func (r *ChunkReader) grow(csid uint32, s *inStream, more int) error {
	c := max(2*cap(s.buf), len(s.buf)+min(more, firstGrowth))
	c = min(c, int(s.length))
	if err := r.reserve(csid, c-cap(s.buf)); err != nil {
		return err
	}
	nb := make([]byte, len(s.buf), c)
	copy(nb, s.buf)
	s.buf = nb
	return nil
}

// BufferedBytes returns the bytes this reader holds in reassembly buffers
// (their capacity, for messages in progress and buffers kept for the next
// message), the amount charged to ReaderConfig.MaxBufferedBytes.
func (r *ChunkReader) BufferedBytes() int { return r.held }

// Release frees every reassembly buffer and returns its bytes to the
// budgets. Call it when the connection is closed, so that memory is given
// back at once rather than when the reader is collected; afterwards
// ReadMessage returns an error wrapping net.ErrClosed.
func (r *ChunkReader) Release() {
	for _, s := range r.streams {
		r.dropBuffer(s)
	}
	clear(r.streams)
	r.released = true
	r.br = nil
}

// BufferedBytes returns the bytes that all the server's connections hold in
// reassembly buffers, the amount charged to ServerConfig.MaxBufferedBytes.
func (s *Server) BufferedBytes() int64 {
	s.init()
	return s.budget.used.Load()
}

// logBudget logs, once per connection (the session ends on it), that the
// peer went over a memory budget: an operator sees who, and which budget.
func (ss *serverSession) logBudget(err error) {
	if errors.Is(err, ErrBudget) {
		ss.log.Warn("rtmp: connection closed: over its memory budget", "err", err,
			"server_buffered_bytes", ss.srv.BufferedBytes())
	}
}
