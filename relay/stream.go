package relay

import (
	"fmt"
	"slices"
	"sync"

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

// Write publishes pkt to every subscriber. The hub takes ownership of
// pkt.Payload: the caller must not modify it afterwards. It fails with
// ErrClosed after Close.
func (p *Publisher) Write(pkt Packet) error {
	s := p.s
	if s == nil {
		return fmt.Errorf("relay: write: %w", errNoStream)
	}
	f := &Frame{Packet: pkt}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("relay: write to %q: %w", s.name, ErrClosed)
	}
	s.cache(f)
	kept := s.subs[:0]
	for _, sub := range s.subs {
		if sub.push(f) {
			kept = append(kept, sub)
		}
	}
	clear(s.subs[len(kept):])
	s.subs = kept
	return nil
}

// cache updates the late-joiner caches with f. s.mu is held.
func (s *stream) cache(f *Frame) {
	cfg := &s.hub.cfg
	if f.Type == Video {
		s.hasVideo = true
	}
	switch {
	case f.Type == Data:
		s.meta = f
		return
	case f.SequenceHeader && f.Type == Video:
		s.videoSeq = f
		return
	case f.SequenceHeader && f.Type == Audio:
		s.audioSeq = f
		return
	case f.Type == Video && f.Keyframe:
		clear(s.gop)
		s.gop = append(s.gop[:0], f)
		s.gopBytes = len(f.Payload)
		return
	}
	if len(s.gop) == 0 {
		return
	}
	if len(s.gop) >= cfg.MaxGOPPackets || s.gopBytes+len(f.Payload) > cfg.MaxGOPBytes {
		// Too long to cache: forget it until the next keyframe.
		clear(s.gop)
		s.gop = s.gop[:0]
		s.gopBytes = 0
		return
	}
	s.gop = append(s.gop, f)
	s.gopBytes += len(f.Payload)
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
	s.gop, s.meta, s.videoSeq, s.audioSeq = nil, nil, nil, nil
	s.mu.Unlock()
	s.hub.remove(s)
	for _, sub := range subs {
		sub.finish(nil)
	}
	s.hub.cfg.Logger.Info("relay: unpublish", logstr.Attr("stream", s.name), "subscribers", len(subs))
	return nil
}

func (s *stream) subscribe() (*Subscriber, error) {
	cfg := &s.hub.cfg
	sub := &Subscriber{
		s:      s,
		q:      make([]*Frame, min(initialQueue, cfg.QueueLen)),
		limit:  cfg.QueueLen,
		notify: make(chan struct{}, 1),
		policy: cfg.SlowConsumer,
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, s.name)
	}
	for _, f := range [...]*Frame{s.meta, s.videoSeq, s.audioSeq} {
		if f != nil {
			sub.push(f)
		}
	}
	if len(s.gop) > 0 && len(s.gop)+3 <= sub.limit {
		for _, f := range s.gop {
			sub.push(f)
		}
	} else if s.hasVideo {
		// Video without a usable cached GOP: wait for the next keyframe.
		sub.skipping = true
	}
	s.subs = append(s.subs, sub)
	return sub, nil
}

func (s *stream) unsubscribe(sub *Subscriber) {
	s.mu.Lock()
	if i := slices.Index(s.subs, sub); i >= 0 {
		s.subs = slices.Delete(s.subs, i, i+1)
	}
	s.mu.Unlock()
}
