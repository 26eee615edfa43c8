package rtmp

import (
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"slices"
	"sync/atomic"

	"github.com/streamwire/streamwire/internal/sockio"
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

// Owners of a player's socket writes in inline mode.
const (
	ownFree   int32 = iota // nobody: the next ready may write
	ownReady               // the source's goroutine, inside ready, never blocking
	ownWriter              // the player's writer goroutine (kicked or running)
	ownClosed              // the player has ended: fd is closed, nobody writes
)

// player is the write side of one playing stream. Exactly one goroutine
// owns the socket writes at a time: the player's writer goroutine, or the
// source's goroutine through ready (inline mode); owner arbitrates.
type player struct {
	ss     *serverSession
	st     *serverStream
	shared bool // the session's parameters match AppendSharedChunks
	// c and src are ss.c and st.source, kept here so that ready, run for
	// every player at every message, touches neither ss nor st.
	c   *Conn
	src MediaSource

	// Inline mode.
	owner   atomic.Int32  // who writes: ownFree, ownReady, ownWriter, ownClosed
	kick    chan struct{} // hands ownership to the writer goroutine
	pending [][]byte      // unwritten tail of an inline write
	fd      sockio.DupFD  // the player's own duplicate of the socket, for ready

	// Buffers, used only by the owner. They start on the arrays below, in
	// the player itself: an inline write then touches one object per
	// player instead of five, which counts when hundreds of players'
	// state is cold in the cache at each message.
	batch []Media
	bufs  [][]byte
	own   []byte
	ends  []int

	batchArr [inlineBatch]Media
	bufsArr  [inlineBatch][]byte
	endsArr  [inlineBatch]int
	iov      sockio.Vectors // iovecs of the socket writes, inline too
}

// inlineBatch is how many messages a player's buffers hold before they
// grow: usually one message is ready at a time.
const inlineBatch = 4

// playLoop is a player's single writer goroutine.
func (ss *serverSession) playLoop(ctx context.Context, st *serverStream) {
	defer close(st.done)
	defer func() {
		ss.mu.Lock()
		ss.playing--
		ss.mu.Unlock()
	}()
	p := &player{ss: ss, st: st, shared: st.id == SharedStreamID && ss.cfg.ChunkSize == SharedChunkSize, c: ss.c, src: st.source}
	p.batch, p.bufs, p.ends = p.batchArr[:0], p.bufsArr[:0], p.endsArr[:0]
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
		ss.log.Info("rtmp: play ended", errAttr(err))
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
		bufs, err := p.collectReady()
		if werr := p.write(ctx, bufs); werr != nil {
			return werr
		}
		if err != nil {
			return err
		}
	}
}

// canInline reports whether inline writes are possible: a plain TCP
// socket and a source that notifies. ready writes to a duplicate of the
// socket's descriptor with raw non-blocking send(2)/writev(2) calls: going
// through the net package instead (RawConn.Write: the fd's reference lock,
// the poller's reset) touched three more objects per player and write,
// cold in the cache after each pause between messages. The duplicate lives
// until inlineLoop returns; closeFD makes sure that no ready uses it then.
func (p *player) canInline() bool {
	if _, ok := p.st.source.(ReadyNotifier); !ok {
		return false
	}
	tc, ok := p.ss.nc.(*net.TCPConn)
	if !ok {
		return false
	}
	fd, err := sockio.Dup(tc) // errors.ErrUnsupported off Linux
	if err != nil {
		return false
	}
	p.fd = fd
	return true
}

// inlineLoop runs when the source's goroutine hands over the writes: at
// start (the cached GOP), when the socket is full, and at the end.
func (p *player) inlineLoop(ctx context.Context) error {
	p.kick = make(chan struct{}, 1)
	p.owner.Store(ownWriter) // ours first: write what the source queued at subscribe
	defer p.closeFD()
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
			bufs, err := p.collectReady()
			if werr := p.write(ctx, bufs); werr != nil {
				return werr
			}
			if err != nil {
				return err
			}
			if len(bufs) > 0 {
				continue
			}
			p.owner.Store(ownFree)
			// Media queued between collect and the release found the
			// socket owned and was left to us: take it back if needed.
			if !p.st.source.(ReadyNotifier).Ready() || !p.owner.CompareAndSwap(ownFree, ownWriter) {
				break
			}
		}
	}
}

// ready is called by the source's goroutine after it queued media: it
// writes what it can without blocking and hands the rest to the writer
// goroutine.
func (p *player) ready() {
	if !p.owner.CompareAndSwap(ownFree, ownReady) {
		return // the writer goroutine owns the socket and will see the media
	}
	c := p.c
	if !c.mu.TryLock() { // the read goroutine is answering a command
		p.handOff()
		return
	}
	bufs, err := p.collectReady()
	if err != nil { // the end: let the writer goroutine say so
		c.mu.Unlock()
		p.handOff()
		return
	}
	rest, werr := p.fd.SendNonblock(bufs, &p.iov)
	c.mu.Unlock()
	if werr != nil || len(rest) > 0 {
		p.pending = rest // a failed write is retried, and reported, by the writer goroutine
		p.handOff()
		return
	}
	p.owner.Store(ownFree)
}

// handOff gives the socket, owned by ready, to the writer goroutine.
func (p *player) handOff() {
	p.owner.Store(ownWriter)
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// closeFD ends inline writes for good and closes the duplicate descriptor.
// It runs on the writer goroutine, which owns the socket in state
// ownWriter; in state ownReady a ready call is finishing a non-blocking
// write and is waited for.
func (p *player) closeFD() {
	for !p.owner.CompareAndSwap(ownFree, ownClosed) && !p.owner.CompareAndSwap(ownWriter, ownClosed) {
		runtime.Gosched()
	}
	p.fd.Close()
}

// collect waits for media from the source and returns the chunk bytes to
// write (see chunks).
func (p *player) collect(ctx context.Context) ([][]byte, error) {
	p.forget()
	var err error
	p.batch, err = p.src.ReadMedia(ctx, p.batch[:0])
	p.dropNonMedia()
	return p.chunks(), err
}

// collectReady is collect without waiting: it takes only the media that is
// ready now, possibly none.
func (p *player) collectReady() ([][]byte, error) {
	p.forget()
	var err error
	p.batch, err = p.src.TryReadMedia(p.batch[:0])
	p.dropNonMedia()
	return p.chunks(), err
}

// dropNonMedia removes from p.batch what a MediaSource must not hand a
// player: any message other than audio, video and data.
func (p *player) dropNonMedia() {
	p.batch = slices.DeleteFunc(p.batch, func(m Media) bool { return !m.Type.isMedia() })
}

// forget drops the references of the last batch, which has been written,
// so that a player waiting for media pins no frame it has already sent.
func (p *player) forget() {
	clear(p.batch)
	clear(p.bufs)
}

// chunks returns the chunk bytes of p.batch, in order: the source's shared
// chunks where the session's parameters allow, else this session's own
// encoding.
func (p *player) chunks() [][]byte {
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
	return p.bufs
}

// write writes bufs under the connection's write lock and deadline,
// waiting for the socket as needed.
func (p *player) write(ctx context.Context, bufs [][]byte) error {
	if len(bufs) == 0 {
		return nil
	}
	err := p.ss.c.WithWriter(ctx, func(*ChunkWriter) error {
		return sockio.WriteBuffers(p.ss.nc, bufs, &p.iov)
	})
	if err != nil {
		p.ss.log.Debug("rtmp: player write failed", errAttr(err))
		return errWrite
	}
	return nil
}
