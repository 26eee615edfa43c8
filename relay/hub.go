package relay

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/streamwire/streamwire/internal/logstr"
	"github.com/streamwire/streamwire/relay/transcode"
)

// Errors returned by the hub; test with errors.Is.
var (
	ErrStreamBusy   = errors.New("relay: stream already has a publisher")
	ErrNotFound     = errors.New("relay: no such stream")
	ErrClosed       = errors.New("relay: closed")
	ErrSlowConsumer = errors.New("relay: subscriber too slow, disconnected")
	ErrBadName      = errors.New("relay: bad stream name")
)

// Policy says what happens to a subscriber whose queue is full: it holds
// Config.QueueLen frames or Config.MaxQueueBytes bytes, or it has a backlog
// while the hub holds Config.MaxBytes.
type Policy int

const (
	// DropToKeyframe empties the queue and skips media until the next video
	// keyframe. This is the default.
	DropToKeyframe Policy = iota
	// Disconnect closes the subscriber with ErrSlowConsumer.
	Disconnect
)

// Defaults of Config's fields.
const (
	// DefaultQueueLen: about 15 s of 25 fps video with AAC audio.
	DefaultQueueLen = 1024
	// DefaultMaxGOPPackets: a 10 s GOP at 60 fps with audio.
	DefaultMaxGOPPackets = 2048
	// DefaultMaxGOPBytes: a 10 s GOP at about 13 Mbit/s.
	DefaultMaxGOPBytes = 16 << 20
	// DefaultMaxNameLen bounds "app/name" (the query is not part of it).
	DefaultMaxNameLen = 256
	// DefaultMaxQueueBytes: 64 MiB is about 10 s of a 50 Mbit/s stream
	// (the top of the bitrates that live platforms take for 4K at 60 fps)
	// and 5 s at 100 Mbit/s, so a player that catches up after a stall
	// of a few seconds loses nothing; it is also 4 times DefaultMaxGOPBytes,
	// so that a late joiner's cached GOP never fills its queue.
	DefaultMaxQueueBytes = 64 << 20
	// DefaultMaxBytes: 1 GiB leaves 512 MiB to the GOP caches (32
	// streams with full 16 MiB caches) and as much to the backlogs of
	// players (8 stalled players at DefaultMaxQueueBytes), while a normal
	// load (100 streams of 6 Mbit/s with 4 s GOPs: 300 MiB of caches)
	// stays below it. It bounds what the hub can be made to hold on a
	// server with a few GiB of memory; the rtmp server's budget for
	// partial messages (rtmp.DefaultServerMaxBufferedBytes, 512 MiB) comes
	// on top.
	DefaultMaxBytes = 1 << 30
)

// Config configures a [Hub]. The zero value works.
type Config struct {
	// QueueLen is each subscriber's queue capacity in frames. Zero means
	// DefaultQueueLen (1024).
	QueueLen int
	// SlowConsumer is the policy for a full subscriber queue (QueueLen
	// frames, MaxQueueBytes bytes, or a backlog when the hub reaches
	// MaxBytes). The zero value is DropToKeyframe.
	SlowConsumer Policy
	// MaxGOPPackets bounds the GOP cache in packets; a longer GOP is not
	// cached (late joiners then wait for the next keyframe). Zero means
	// DefaultMaxGOPPackets (2048).
	MaxGOPPackets int
	// MaxGOPBytes bounds the GOP cache in bytes, counted as in
	// [Hub.BufferedBytes]; a larger GOP is not cached either. Zero means
	// DefaultMaxGOPBytes (16 MiB).
	MaxGOPBytes int
	// MaxQueueBytes bounds, in bytes, what each subscriber's queue holds
	// (frames as counted by [Subscriber.QueuedBytes]). A frame that would
	// take a non-empty queue above it is handled like a frame that
	// overflows QueueLen: SlowConsumer applies. A single frame larger than
	// MaxQueueBytes is still queued when the queue is empty. Zero means
	// DefaultMaxQueueBytes (64 MiB).
	MaxQueueBytes int
	// MaxBytes bounds, in bytes, everything the hub holds: the caches of
	// all streams and the queues of all subscribers, each frame counted
	// once ([Hub.BufferedBytes]). Once the hub holds half of it, the GOP
	// caches stop growing (late joiners then wait for the next keyframe,
	// as with a GOP longer than MaxGOPBytes), so that they leave the
	// other half to the queues of live players. Once it holds all of it,
	// a subscriber that has a backlog is treated as if its queue were
	// full (SlowConsumer applies). Subscribers that keep up still get
	// every frame and publishing goes on: live media and publishes are
	// never refused. Metadata and sequence headers are always cached, so
	// the hub can exceed MaxBytes by those (three frames per stream) and
	// by one frame per subscriber. Zero means DefaultMaxBytes (1 GiB).
	MaxBytes int64
	// MaxNameLen bounds stream names in bytes. Zero means
	// DefaultMaxNameLen (256).
	MaxNameLen int
	// Logger receives publish/unpublish and slow-consumer events. Nil
	// means none.
	Logger *slog.Logger
	// Transcode configures the AAC to Opus transcoder that the WebRTC
	// viewers of a stream with AAC audio share: one ffmpeg per stream,
	// started with its first such viewer and closed with its last (see
	// "AAC to Opus" in the package doc). The zero value runs ffmpeg from
	// PATH at transcode.DefaultBitrate (64 kbit/s); a nil Logger means
	// Logger with the stream's name.
	Transcode transcode.Config
	// NoTranscode turns the transcoder off: WebRTC viewers of a stream
	// with AAC audio get its video only, and the stream's log says so
	// once.
	NoTranscode bool
}

func (c Config) withDefaults() Config {
	if c.QueueLen <= 0 {
		c.QueueLen = DefaultQueueLen
	}
	if c.MaxGOPPackets <= 0 {
		c.MaxGOPPackets = DefaultMaxGOPPackets
	}
	if c.MaxGOPBytes <= 0 {
		c.MaxGOPBytes = DefaultMaxGOPBytes
	}
	if c.MaxQueueBytes <= 0 {
		c.MaxQueueBytes = DefaultMaxQueueBytes
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.MaxNameLen <= 0 {
		c.MaxNameLen = DefaultMaxNameLen
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Hub holds the live streams by name. It is safe for concurrent use. The
// zero Hub works, with the zero Config's defaults; NewHub sets a Config.
type Hub struct {
	cfg     Config
	mu      sync.Mutex
	streams map[string]*stream
	bytes   atomic.Int64 // BufferedBytes; see hold and release
}

// NewHub returns an empty hub.
func NewHub(cfg Config) *Hub {
	return &Hub{cfg: cfg.withDefaults(), streams: make(map[string]*stream)}
}

// initLocked makes the zero Hub usable on first use. h.mu is held; the
// streams, which read h.cfg without it, are all made after this.
func (h *Hub) initLocked() {
	if h.streams == nil {
		h.cfg = h.cfg.withDefaults()
		h.streams = make(map[string]*stream)
	}
}

// checkName is called with h.mu held, after initLocked.
func (h *Hub) checkName(name string) error {
	if name == "" || len(name) > h.cfg.MaxNameLen {
		return fmt.Errorf("%w: length %d", ErrBadName, len(name))
	}
	return nil
}

// Publish claims name for a new publisher. It fails with ErrStreamBusy if the
// name already has one. Close the returned Publisher to end the stream.
func (h *Hub) Publish(name string) (*Publisher, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.initLocked()
	if err := h.checkName(name); err != nil {
		return nil, err
	}
	s, ok := h.streams[name]
	switch {
	case ok && s.waiting:
		// Viewers wait for it (SubscribeWaiting): the publisher takes
		// their stream over.
		s.waiting = false
	case ok:
		return nil, fmt.Errorf("%w: %q", ErrStreamBusy, name)
	default:
		s = &stream{hub: h, name: name}
		h.streams[name] = s
	}
	h.cfg.Logger.Info("relay: publish", logstr.Attr("stream", name))
	return &Publisher{s: s}, nil
}

// SubscribeWaiting is Subscribe, except that a name nobody publishes yet
// gets a subscriber that waits for its publisher, whose first frames
// (the sequence headers, then the first keyframe on) it then reads; it
// fails only for a bad name. A WHEP server answers such a viewer at once
// instead of 409 (draft-ietf-wish-whep), which most players cannot
// handle. Until a publisher comes the name is not among Streams; when its
// last waiting subscriber leaves, it is forgotten.
func (h *Hub) SubscribeWaiting(name string) (*Subscriber, error) {
	for {
		h.mu.Lock()
		h.initLocked()
		if err := h.checkName(name); err != nil {
			h.mu.Unlock()
			return nil, err
		}
		s, ok := h.streams[name]
		if !ok {
			s = &stream{hub: h, name: name, waiting: true}
			h.streams[name] = s
		}
		h.mu.Unlock()
		sub, err := s.subscribe()
		if !errors.Is(err, ErrNotFound) {
			return sub, err
		}
		// The stream ended between the lookup and subscribe: its
		// publisher left, or its last waiting subscriber. Look again.
	}
}

// Subscribe attaches a new subscriber to the live stream name. It fails with
// ErrNotFound if nobody publishes name. The subscriber's queue starts with the
// stream's metadata, sequence headers and cached GOP.
func (h *Hub) Subscribe(name string) (*Subscriber, error) {
	h.mu.Lock()
	h.initLocked()
	err := h.checkName(name)
	s, ok := h.streams[name]
	h.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return s.subscribe()
}

// Streams returns the names of the streams being published, in no order
// (not those whose subscribers wait for a publisher).
func (h *Hub) Streams() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	names := make([]string, 0, len(h.streams))
	for n, s := range h.streams {
		if !s.waiting {
			names = append(names, n)
		}
	}
	return names
}

// Subscribers returns how many subscribers stream name has (0 if it does
// not exist): each WebRTC viewer counts once, whether it reads a queue of
// its own or is sent to by one of the stream's viewer groups.
func (h *Hub) Subscribers(name string) int {
	h.mu.Lock()
	s, ok := h.streams[name]
	h.mu.Unlock()
	if !ok {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.subs)
	for _, g := range s.groups {
		n += g.size() - 1 // the group's own queue is one of subs
	}
	return n
}

func (h *Hub) remove(s *stream) {
	h.mu.Lock()
	if h.streams[s.name] == s {
		delete(h.streams, s.name)
	}
	h.mu.Unlock()
}
