package relay

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/streamwire/streamwire/internal/logstr"
)

// Subscriber receives the frames of one stream through a bounded queue. Its
// methods may be called from a goroutine other than the publisher's; Read and
// ReadBatch must not be called concurrently with each other. Subscribers are
// made by Hub.Subscribe; a zero Subscriber belongs to no stream and its reads
// fail with ErrClosed at once.
type Subscriber struct {
	s      *stream
	policy Policy
	notify chan struct{} // capacity 1: "queue changed or closed"

	mu       sync.Mutex
	ready    func()   // NotifyReady's function; read under mu, on the line push touches anyway
	q        []*Frame // ring buffer, grown up to limit frames
	limit    int      // Config.QueueLen
	maxBytes int      // Config.MaxQueueBytes
	bytes    int      // QueuedBytes: the sizes of the frames in q
	head, n  int
	skipping bool  // dropping until the next video keyframe
	takes    Codec // the codec of the stream's transcoder whose output it takes (acquireTranscoder), CodecUnknown for none; guarded by the stream's mu
	dropped  int64 // frames dropped by the slow-consumer policy
	err      error // set when finished: io.EOF, ErrSlowConsumer, ErrClosed
}

// push queues f, applying the slow-consumer policy. Called with s.mu held,
// and with a reference to f held for the queue (see stream.fanOut). It
// reports whether f was queued, taking that reference, and whether the
// subscriber goes on (false: it is finished and should leave the stream).
func (sub *Subscriber) push(f *Frame) (queued, keep bool) {
	sub.mu.Lock()
	if sub.err != nil {
		sub.mu.Unlock()
		return false, false
	}
	if sub.skipping {
		switch {
		case f.SequenceHeader || f.Type == Data:
		case f.Type == Video && f.Keyframe:
			sub.skipping = false
		default:
			sub.dropped++
			sub.mu.Unlock()
			return false, true
		}
	}
	if sub.over(f) {
		if sub.policy == Disconnect {
			sub.disconnect()
			return false, false
		}
		if !sub.dropToKeyframe(f) {
			sub.mu.Unlock()
			return false, true
		}
	}
	sub.enqueue(f)
	fn := sub.ready
	sub.mu.Unlock()
	if fn != nil {
		fn() // the consumer is told through its function, not by blocking reads
		return true, true
	}
	sub.wake()
	return true, true
}

// over reports whether queueing f would overflow the queue: QueueLen frames,
// MaxQueueBytes bytes, or the hub's MaxBytes while this queue has a backlog.
// An empty queue always takes f, so that a subscriber that keeps up gets
// every frame, however large, whatever the others do.
func (sub *Subscriber) over(f *Frame) bool {
	if sub.full() {
		return true
	}
	if sub.n == 0 {
		return false
	}
	h := sub.s.hub
	return sub.bytes+f.size > sub.maxBytes || h.wouldExceed(f, h.cfg.MaxBytes)
}

// disconnect applies the Disconnect policy: sub.mu is held and released.
func (sub *Subscriber) disconnect() {
	sub.err = ErrSlowConsumer
	sub.clearQueue()
	sub.mu.Unlock()
	sub.signalEnd()
	sub.s.hub.cfg.Logger.Warn("relay: slow subscriber disconnected", logstr.Attr("stream", sub.s.name))
}

// dropToKeyframe applies the DropToKeyframe policy to a queue that f would
// overflow, and reports whether f is still to be queued: metadata,
// sequence headers and keyframes are, other media waits for the next
// keyframe.
func (sub *Subscriber) dropToKeyframe(f *Frame) bool {
	sub.dropOverflow()
	sub.s.hub.cfg.Logger.Debug("relay: slow subscriber skips to next keyframe", logstr.Attr("stream", sub.s.name))
	key := f.Type == Video && f.Keyframe
	if sub.skipping = !key; sub.skipping {
		sub.s.requestKeyFrame()
	}
	if !key && !f.SequenceHeader && f.Type != Data {
		sub.dropped++
		return false
	}
	if sub.over(f) { // the kept metadata and headers alone fill the queue
		sub.dropped += int64(sub.n)
		sub.clearQueue()
	}
	return true
}

// enqueue appends f to the queue, which has room for it. The caller holds
// a reference to f for the queue.
func (sub *Subscriber) enqueue(f *Frame) {
	sub.q[(sub.head+sub.n)%len(sub.q)] = f
	sub.n++
	sub.bytes += f.size
}

// full reports whether the queue holds limit frames, first growing the ring
// if it is full but smaller. Rings start small (initialQueue): with
// hundreds of subscribers, 1024-slot rings put each subscriber's next slot
// on a page of its own, and the publisher's goroutine touches all of them
// at every frame.
func (sub *Subscriber) full() bool {
	if sub.n < len(sub.q) {
		return false
	}
	if len(sub.q) >= sub.limit {
		return true
	}
	q := make([]*Frame, min(2*len(sub.q), sub.limit))
	for i := 0; i < sub.n; i++ {
		q[i] = sub.q[(sub.head+i)%len(sub.q)]
	}
	sub.q, sub.head = q, 0
	return false
}

// initialQueue is the ring size a subscriber starts with (at most
// Config.QueueLen): room for a cached GOP of a few seconds at 25 fps plus
// audio, and for the frames of one PlayWriteInterval.
const initialQueue = 128

// dropOverflow empties the queue except for metadata and sequence headers,
// which the player still needs to decode what follows the next keyframe.
func (sub *Subscriber) dropOverflow() {
	kept := 0
	for i := 0; i < sub.n; i++ {
		j := (sub.head + i) % len(sub.q)
		f := sub.q[j]
		sub.q[j] = nil
		if f.SequenceHeader || f.Type == Data {
			sub.q[(sub.head+kept)%len(sub.q)] = f
			kept++
		} else {
			sub.dropped++
			sub.bytes -= f.size
			sub.s.hub.release(f)
		}
	}
	sub.n = kept
}

// clearQueue empties the queue.
func (sub *Subscriber) clearQueue() {
	for i := 0; i < sub.n; i++ {
		j := (sub.head + i) % len(sub.q)
		sub.s.hub.release(sub.q[j])
		sub.q[j] = nil
	}
	sub.head, sub.n, sub.bytes = 0, 0, 0
}

func (sub *Subscriber) wake() {
	select {
	case sub.notify <- struct{}{}:
	default:
	}
}

// finish ends the subscriber with err (nil means io.EOF after the queue
// drains). An error also ends a subscriber that has reached io.EOF but still
// has frames queued, so that Close releases them.
func (sub *Subscriber) finish(err error) {
	sub.mu.Lock()
	switch {
	case err == nil && sub.err == nil:
		sub.err = io.EOF
	case err != nil && (sub.err == nil || sub.err == io.EOF):
		sub.err = err
		sub.clearQueue()
	}
	sub.mu.Unlock()
	sub.signalEnd()
}

// signalEnd tells the consumer that the subscriber ended, whichever way it
// waits.
func (sub *Subscriber) signalEnd() {
	select {
	case sub.notify <- struct{}{}:
	default:
	}
	sub.mu.Lock()
	fn := sub.ready
	sub.mu.Unlock()
	if fn != nil {
		fn()
	}
}

// ReadBatch waits until at least one frame is queued and appends up to max
// queued frames to dst (max <= 0 means all of them). It returns io.EOF once the
// publisher has left and the queue is empty, ErrSlowConsumer if the
// Disconnect policy closed the subscriber, ErrClosed after Close, or the
// context's error. The frames are shared and must not be modified.
func (sub *Subscriber) ReadBatch(ctx context.Context, dst []*Frame, max int) ([]*Frame, error) {
	return sub.readBatch(ctx, dst, max, 0)
}

// readBatch is ReadBatch, taking frames only up to maxBytes (counted as in
// QueuedBytes; <= 0 means no bound), and at least one.
func (sub *Subscriber) readBatch(ctx context.Context, dst []*Frame, max, maxBytes int) ([]*Frame, error) {
	if sub.s == nil {
		return dst, fmt.Errorf("relay: read: %w", errNoStream)
	}
	for {
		n := len(dst)
		var err error
		if dst, err = sub.tryReadBatch(dst, max, maxBytes); len(dst) > n || err != nil {
			return dst, err
		}
		select {
		case <-sub.notify:
		case <-ctx.Done():
			return dst, ctx.Err()
		}
	}
}

// TryReadBatch is ReadBatch without waiting: it appends up to max of the
// frames queued now, possibly none, with a nil error while the stream goes
// on, and the errors of ReadBatch once it has ended.
func (sub *Subscriber) TryReadBatch(dst []*Frame, max int) ([]*Frame, error) {
	return sub.tryReadBatch(dst, max, 0)
}

// tryReadBatch is TryReadBatch with readBatch's maxBytes.
func (sub *Subscriber) tryReadBatch(dst []*Frame, max, maxBytes int) ([]*Frame, error) {
	sub.mu.Lock()
	if sub.n > 0 {
		sub.take(&dst, max, maxBytes)
		sub.mu.Unlock()
		return dst, nil
	}
	err := sub.err
	sub.mu.Unlock()
	switch {
	case err == nil:
		return dst, nil
	case err == io.EOF:
		return dst, io.EOF
	}
	return dst, fmt.Errorf("relay: stream %q: %w", sub.s.name, err)
}

// take moves queued frames to *dst, up to max frames and maxBytes bytes
// (<= 0: no bound) and at least one. The frames leave the hub's accounting:
// the reader holds them now.
func (sub *Subscriber) take(dst *[]*Frame, max, maxBytes int) {
	k, taken := 0, 0
	for k < sub.n && (max <= 0 || k < max) {
		j := (sub.head + k) % len(sub.q)
		f := sub.q[j]
		if k > 0 && maxBytes > 0 && taken+f.size > maxBytes {
			break
		}
		*dst = append(*dst, f)
		sub.q[j] = nil
		taken += f.size
		sub.s.hub.release(f)
		k++
	}
	sub.head = (sub.head + k) % len(sub.q)
	sub.n -= k
	sub.bytes -= taken
}

// Read returns the next frame, waiting for it; see ReadBatch for the errors.
func (sub *Subscriber) Read(ctx context.Context) (*Frame, error) {
	var one [1]*Frame
	b, err := sub.ReadBatch(ctx, one[:0], 1)
	if len(b) == 1 {
		return b[0], nil
	}
	return nil, err
}

// NotifyReady makes the publisher's goroutine call fn after each frame it
// queues for this subscriber, and once when the subscriber ends, instead
// of waking a blocked ReadBatch. fn runs while the stream is locked: it
// must be quick and must not call the hub or the subscriber's Close (it may
// call TryReadBatch to take the queued frames). This lets
// a consumer write to a non-blocking socket from the publisher's goroutine,
// as nginx-rtmp does from its event loop. Call it once, before reading.
func (sub *Subscriber) NotifyReady(fn func()) {
	sub.mu.Lock()
	sub.ready = fn
	sub.mu.Unlock()
}

// Ready reports whether a frame is queued or the subscriber has ended, that
// is whether ReadBatch would return without waiting.
func (sub *Subscriber) Ready() bool {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return sub.n > 0 || sub.err != nil || sub.s == nil
}

// Dropped returns how many frames the slow-consumer policy has dropped.
func (sub *Subscriber) Dropped() int64 {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return sub.dropped
}

// Name is the stream's name.
func (sub *Subscriber) Name() string {
	if sub.s == nil {
		return ""
	}
	return sub.s.name
}

// Close detaches the subscriber; later reads return ErrClosed. Idempotent.
func (sub *Subscriber) Close() error {
	if sub.s == nil {
		return nil
	}
	sub.s.unsubscribe(sub)
	sub.finish(ErrClosed)
	return nil
}
