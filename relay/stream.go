package relay

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/streamwire/streamwire/internal/logstr"
)

// stream is one published name: the caches and the subscriber set.
type stream struct {
	hub  *Hub
	name string

	mu       sync.Mutex
	closed   bool
	subs     []*Subscriber // in joining order: Write walks an array, not a map
	meta     *Frame
	videoSeq *Frame
	audioSeq *Frame
	gop      []*Frame // from the latest video keyframe on; nil when not caching
	gopBytes int
	hasVideo bool // video has been published: late joiners wait for a keyframe
	// waiting: no publisher yet, only subscribers that wait for one
	// (Hub.SubscribeWaiting). Guarded by the hub's mu, not the stream's.
	waiting bool
	bridge  bridgeState
	toOpus  *audioTranscoder // AAC to Opus for its WebRTC viewers, if running
	toAAC   *audioTranscoder // Opus to AAC for its RTMP players without Enhanced RTMP Opus, if running
	seq     uint64           // of the last frame fanned out (Frame.seq)
	// badVideo names the video codec no WebRTC viewer can get, once a
	// frame of it came (Subscriber.UnsupportedVideo).
	badVideo string
	groups   []*webrtcGroup // sending to WebRTC viewers at the live edge, each one of subs
}

// errNoStream is what the methods of a Publisher or Subscriber that no Hub
// made (their zero value) return.
var errNoStream = fmt.Errorf("%w: not made by a Hub", ErrClosed)

// Publisher is the single writer of a stream, made by Hub.Publish. A zero
// Publisher belongs to no stream: Write fails with ErrClosed.
type Publisher struct {
	s *stream
}

// Name is the stream's name.
func (p *Publisher) Name() string {
	if p.s == nil {
		return ""
	}
	return p.s.name
}

// Write publishes the access unit u to every subscriber. The hub takes
// ownership of u.Data: the caller must not modify it afterwards. A zero
// u.Arrival becomes time.Now(), a zero u.RTPTime u.PTS() in the codec's
// clock (see Unit.RTPTime). It fails with ErrClosed after Close.
func (p *Publisher) Write(u Unit) error {
	if u.Arrival.IsZero() {
		u.Arrival = time.Now()
	}
	if u.RTPTime == 0 {
		u.RTPTime = rtpTimeOf(&u)
	}
	return p.write(&Frame{Unit: u, size: frameSize(cap(u.Data))})
}

// rtpTimeOf is u's presentation time in its codec's clock. It wraps with
// the milliseconds: 2^32 × rate/1000 is 0 mod 2^32 for the rates of
// Codec.ClockRate.
func rtpTimeOf(u *Unit) uint32 { return u.PTS() * (u.Codec.ClockRate() / 1000) }

// write publishes the frame f, which the caller made for it.
func (p *Publisher) write(f *Frame) error {
	s := p.s
	if s == nil {
		return fmt.Errorf("relay: write: %w", errNoStream)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("relay: write to %q: %w", s.name, ErrClosed)
	}
	s.cache(f)
	s.fanOut(f)
	if f.Type == Audio && (s.toOpus != nil || s.toAAC != nil) {
		s.feedTranscoders(f)
	}
	return nil
}

// fanOut pushes f to every subscriber and drops those that finished. s.mu
// is held.
func (s *stream) fanOut(f *Frame) { s.fanOutTo(f, len(s.subs), CodecUnknown) }

// fanOutTo pushes f to the n subscribers it is for: all of them, or, with
// only set, those that take the output of the stream's transcoder to
// that codec (Subscriber.takes); it drops the
// subscribers that finished. s.mu is held. f is held once for every
// subscriber it is for up front and the surplus released after, rather
// than once per queue that takes it: one atomic operation per frame
// instead of one per subscriber, and the references never reach zero
// while readers release theirs.
func (s *stream) fanOutTo(f *Frame, n int, only Codec) {
	s.seq++
	f.seq = s.seq
	if n == 0 {
		return
	}
	s.hub.holdN(f, n)
	kept := s.subs[:0]
	queued := 0
	for _, sub := range s.subs {
		if only != CodecUnknown && sub.takes != only {
			kept = append(kept, sub)
			continue
		}
		q, keep := sub.push(f)
		if q {
			queued++
		}
		if keep {
			kept = append(kept, sub)
		}
	}
	clear(s.subs[len(kept):])
	s.subs = kept
	s.hub.releaseN(f, n-queued)
}

// cache updates the late-joiner caches with f. s.mu is held.
func (s *stream) cache(f *Frame) {
	if f.Type == Video {
		s.hasVideo = true
		if f.Codec == CodecUnknown && s.badVideo == "" {
			s.badVideo = unsupportedVideoCodec(f.Data)
		}
	}
	switch {
	case f.Type == Data:
		s.keep(&s.meta, f)
	case f.SequenceHeader && f.Type == Video:
		s.keep(&s.videoSeq, f)
	case f.SequenceHeader && f.Type == Audio:
		s.keep(&s.audioSeq, f)
	case f.Type == Video && f.Keyframe:
		s.dropGOP()
		s.growGOP(f)
	case len(s.gop) > 0:
		s.growGOP(f)
	}
}

// keep makes f the cached frame in *slot, releasing the one it replaces.
func (s *stream) keep(slot **Frame, f *Frame) {
	s.hub.hold(f)
	s.hub.release(*slot)
	*slot = f
}

// growGOP appends f to the GOP cache, or forgets the GOP until the next
// keyframe when it would grow too long (MaxGOPPackets, MaxGOPBytes) or
// when the GOP caches of all streams would take more than half of the
// hub's budget (Config.MaxBytes): a GOP cut short would make late joiners
// start on an undecodable picture, and the caches, a convenience for late
// joiners, must leave the other half to the queues of live players.
func (s *stream) growGOP(f *Frame) {
	cfg := &s.hub.cfg
	if len(s.gop) >= cfg.MaxGOPPackets || s.gopBytes+f.size > cfg.MaxGOPBytes || s.hub.wouldExceed(f, cfg.MaxBytes/2) {
		s.dropGOP()
		return
	}
	s.hub.hold(f)
	s.gop = append(s.gop, f)
	s.gopBytes += f.size
}

// dropGOP empties the GOP cache.
func (s *stream) dropGOP() {
	for _, f := range s.gop {
		s.hub.release(f)
	}
	clear(s.gop)
	s.gop = s.gop[:0]
	s.gopBytes = 0
}

// Close ends the stream: the name is freed and every subscriber reads its
// remaining queue and then io.EOF. Close is idempotent.
func (p *Publisher) Close() error {
	s := p.s
	if s == nil {
		return nil
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	subs := s.subs
	s.subs = nil
	s.groups = nil // they end with their queues, which are among subs
	s.dropGOP()
	s.gop = nil
	for _, slot := range [...]**Frame{&s.meta, &s.videoSeq, &s.audioSeq} {
		s.hub.release(*slot)
		*slot = nil
	}
	tcs := s.closeTranscoders()
	s.mu.Unlock()
	for _, o := range tcs {
		o.close()
	}
	s.hub.remove(s)
	for _, sub := range subs {
		sub.finish(nil)
	}
	s.hub.cfg.Logger.Info("relay: unpublish", logstr.Attr("stream", s.name), "subscribers", len(subs))
	return nil
}

// newSubscriber makes a subscriber of the stream with the hub's queue
// limits, not yet in the stream.
func (s *stream) newSubscriber() *Subscriber {
	cfg := &s.hub.cfg
	return &Subscriber{
		s:        s,
		q:        make([]*Frame, min(initialQueue, cfg.QueueLen)),
		limit:    cfg.QueueLen,
		maxBytes: cfg.MaxQueueBytes,
		notify:   make(chan struct{}, 1),
		policy:   cfg.SlowConsumer,
	}
}

func (s *stream) subscribe() (*Subscriber, error) {
	sub := s.newSubscriber()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, s.name)
	}
	// The caches already hold these frames: queueing them costs the hub
	// nothing, so the budget checks of push do not apply. Nobody else
	// knows sub yet: its lock is not needed.
	for _, f := range [...]*Frame{s.meta, s.videoSeq, s.audioSeq} {
		if f != nil {
			s.queueCached(sub, f)
		}
	}
	if len(s.gop) > 0 && sub.n+len(s.gop) <= sub.limit && sub.bytes+s.gopBytes <= sub.maxBytes {
		for _, f := range s.gop {
			s.queueCached(sub, f)
		}
	} else if s.hasVideo {
		// Video without a usable cached GOP: wait for the next keyframe,
		// and ask a publisher that can make one for it.
		sub.skipping = true
		s.requestKeyFrame()
	}
	s.subs = append(s.subs, sub)
	return sub, nil
}

// queueCached queues the cached frame f for a new subscriber, unless its
// queue is full (a QueueLen below 3), growing the ring as needed.
func (s *stream) queueCached(sub *Subscriber, f *Frame) {
	if !sub.full() {
		sub.enqueue(f)
		s.hub.hold(f)
	}
}

func (s *stream) unsubscribe(sub *Subscriber) {
	s.mu.Lock()
	s.removeSub(sub)
	empty := len(s.subs) == 0
	s.mu.Unlock()
	if empty {
		s.forgetIfWaiting()
	}
}

// removeSub takes sub out of the stream's subscribers. s.mu is held.
func (s *stream) removeSub(sub *Subscriber) {
	if i := slices.Index(s.subs, sub); i >= 0 {
		s.subs = slices.Delete(s.subs, i, i+1)
	}
}

// forgetIfWaiting removes a stream that waits for a publisher once no
// subscriber waits for it any more. Lock order: the hub's mu, then the
// stream's (as in Hub.Publish).
func (s *stream) forgetIfWaiting() {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if !s.waiting || h.streams[s.name] != s {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.subs) == 0 {
		s.closed = true // a subscribe that raced this one looks again
		delete(h.streams, s.name)
	}
}
