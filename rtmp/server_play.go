package rtmp

import (
	"context"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"syscall"
)

// ReadyNotifier is implemented by a MediaSource that can call a function
// each time it queues media (and when it ends), from the goroutine that
// queued it. The server then writes to plain TCP players directly from that
// goroutine with non-blocking writes, as nginx-rtmp does from its event
// loop, and wakes the player's own writer goroutine only when the socket
// is full. fn must be called without locks that ReadMedia or Close take.
type ReadyNotifier interface {
	NotifyReady(fn func())
	// Ready reports whether media is queued or the stream has ended, so
	// that ReadMedia would not block.
	Ready() bool
}

// player is the write side of one playing stream. Exactly one goroutine
// owns the socket writes at a time: the player's writer goroutine, or the
// source's goroutine through ready (inline mode); owner arbitrates.
type player struct {
	ss     *serverSession
	st     *serverStream
	shared bool // the session's parameters match AppendSharedChunks

	// Inline mode.
	owner   atomic.Bool   // someone is writing (or about to)
	kick    chan struct{} // hands ownership to the writer goroutine
	pending [][]byte      // unwritten tail of an inline write
	rc      syscall.RawConn

	// Buffers, used only by the owner.
	batch []Media
	bufs  [][]byte
	own   []byte
	ends  []int
	iov   []syscall.Iovec
}

// playLoop is a player's single writer goroutine.
func (ss *serverSession) playLoop(ctx context.Context, st *serverStream) {
	defer close(st.done)
	defer func() {
		ss.mu.Lock()
		ss.playing--
		ss.mu.Unlock()
	}()
	p := &player{ss: ss, st: st, shared: st.id == SharedStreamID && ss.cfg.ChunkSize == SharedChunkSize}
	var err error
	switch {
	case ss.srv.clock != nil:
		err = p.mergedLoop(ctx)
	case p.canInline():
		err = p.inlineLoop(ctx)
	default:
		err = p.queuedLoop(ctx)
	}
	switch {
	case errors.Is(err, io.EOF):
		// The publisher left: tell the player, as nginx-rtmp does.
		ss.c.WithWriter(ctx, func(w *ChunkWriter) error {
			if err := w.WriteUserControl(UserControl{Event: EventStreamEOF, StreamID: st.id}); err != nil {
				return err
			}
			m, err := onStatus(LevelStatus, CodePlayUnpublishNotify, "Stream ended.").Message(st.id)
			if err != nil {
				return err
			}
			return w.WriteMessage(m)
		})
	case errors.Is(err, errWrite):
		ss.nc.Close()
	case ctx.Err() == nil:
		ss.log.Info("rtmp: play ended", "err", err)
	}
}

var errWrite = errors.New("rtmp: player write failed")

// queuedLoop writes everything the source has as soon as it has it.
func (p *player) queuedLoop(ctx context.Context) error {
	for {
		bufs, err := p.collect(ctx)
		if werr := p.write(ctx, bufs); werr != nil {
			return werr
		}
		if err != nil {
			return err
		}
	}
}

// mergedLoop writes what is queued once per tick of the server's clock
// (ServerConfig.PlayWriteInterval).
func (p *player) mergedLoop(ctx context.Context) error {
	clock := p.ss.srv.clock
	clock.acquire()
	defer clock.release()
	for {
		select {
		case <-clock.next():
		case <-ctx.Done():
			return ctx.Err()
		}
		bufs, err := p.collect(doneCtx)
		if werr := p.write(ctx, bufs); werr != nil {
			return werr
		}
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
}

// canInline reports whether inline writes are possible: a plain TCP
// socket (raw non-blocking writev) and a source that notifies.
func (p *player) canInline() bool {
	if _, ok := p.st.source.(ReadyNotifier); !ok || !rawWritevSupported {
		return false
	}
	tc, ok := p.ss.nc.(*net.TCPConn)
	if !ok {
		return false
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return false
	}
	p.rc = rc
	return true
}

// inlineLoop runs when the source's goroutine hands over the writes: at
// start (the cached GOP), when the socket is full, and at the end.
func (p *player) inlineLoop(ctx context.Context) error {
	p.kick = make(chan struct{}, 1)
	p.owner.Store(true) // ours first: write what the source queued at subscribe
	p.kick <- struct{}{}
	p.st.source.(ReadyNotifier).NotifyReady(p.ready)
	for {
		select {
		case <-p.kick:
		case <-ctx.Done():
			return ctx.Err()
		}
		// We own the socket until we release it below.
		if len(p.pending) > 0 {
			if err := p.write(ctx, p.pending); err != nil {
				return err
			}
			p.pending = nil
		}
		for {
			bufs, err := p.collect(doneCtx)
			if werr := p.write(ctx, bufs); werr != nil {
				return werr
			}
			if err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			if len(bufs) > 0 {
				continue
			}
			p.owner.Store(false)
			// Media queued between collect and the release found the
			// socket owned and was left to us: take it back if needed.
			if !p.st.source.(ReadyNotifier).Ready() || !p.owner.CompareAndSwap(false, true) {
				break
			}
		}
	}
}

// ready is called by the source's goroutine after it queued media: it
// writes what it can without blocking and hands the rest to the writer
// goroutine.
func (p *player) ready() {
	if !p.owner.CompareAndSwap(false, true) {
		return // the writer goroutine owns the socket and will see the media
	}
	c := p.ss.c
	if !c.mu.TryLock() { // the read goroutine is answering a command
		p.handOff()
		return
	}
	bufs, err := p.collect(doneCtx)
	if err != nil && !errors.Is(err, context.Canceled) { // the end: let the writer goroutine say so
		c.mu.Unlock()
		p.handOff()
		return
	}
	rest, werr := rawWritevNonblock(p.rc, bufs, &p.iov)
	c.mu.Unlock()
	if werr != nil || len(rest) > 0 {
		p.pending = rest // a failed write is retried, and reported, by the writer goroutine
		p.handOff()
		return
	}
	p.owner.Store(false)
}

func (p *player) handOff() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// collect takes the ready media from the source and returns the chunk
// bytes to write, in order: the source's shared chunks where the session's
// parameters allow, else this session's own encoding.
func (p *player) collect(ctx context.Context) ([][]byte, error) {
	var err error
	p.batch, err = p.st.source.ReadMedia(ctx, p.batch[:0])
	p.bufs, p.own, p.ends = p.bufs[:0], p.own[:0], p.ends[:0]
	// Per-session encodings first (own may move while growing), then the
	// list of buffers in message order.
	for i := range p.batch {
		m := &p.batch[i]
		if !p.shared || m.Chunks == nil {
			p.own = appendChunks(p.own, m.Type, m.Timestamp, m.Payload, p.st.id, p.ss.cfg.ChunkSize)
		}
		p.ends = append(p.ends, len(p.own))
	}
	off := 0
	for i := range p.batch {
		if p.shared && p.batch[i].Chunks != nil {
			p.bufs = append(p.bufs, p.batch[i].Chunks)
		} else {
			p.bufs = append(p.bufs, p.own[off:p.ends[i]])
		}
		off = p.ends[i]
	}
	return p.bufs, err
}

// write writes bufs under the connection's write lock and deadline,
// waiting for the socket as needed.
func (p *player) write(ctx context.Context, bufs [][]byte) error {
	if len(bufs) == 0 {
		return nil
	}
	err := p.ss.c.WithWriter(ctx, func(*ChunkWriter) error {
		return writeBuffers(p.ss.nc, bufs, &p.iov)
	})
	if err != nil {
		p.ss.log.Debug("rtmp: player write failed", "err", err)
		return errWrite
	}
	return nil
}
