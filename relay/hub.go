package relay

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/streamwire/streamwire/internal/logstr"
)

// Errors returned by the hub; test with errors.Is.
var (
	ErrStreamBusy   = errors.New("relay: stream already has a publisher")
	ErrNotFound     = errors.New("relay: no such stream")
	ErrClosed       = errors.New("relay: closed")
	ErrSlowConsumer = errors.New("relay: subscriber too slow, disconnected")
	ErrBadName      = errors.New("relay: bad stream name")
)

// Policy says what happens to a subscriber whose queue is full.
type Policy int

const (
	// DropToKeyframe empties the queue and skips media until the next video
	// keyframe. This is the default.
	DropToKeyframe Policy = iota
	// Disconnect closes the subscriber with ErrSlowConsumer.
	Disconnect
)

// Config configures a [Hub]. The zero value works.
type Config struct {
	// QueueLen is each subscriber's queue capacity in frames. Default 1024
	// (about 15 s of 25 fps video with AAC audio).
	QueueLen int
	// SlowConsumer is the policy for a full subscriber queue. Default DropToKeyframe.
	SlowConsumer Policy
	// MaxGOPPackets bounds the GOP cache in packets; a longer GOP is not cached
	// (late joiners then wait for the next keyframe). Default 2048.
	MaxGOPPackets int
	// MaxGOPBytes bounds the GOP cache in payload bytes. Default 16 MiB.
	MaxGOPBytes int
	// MaxNameLen bounds stream names. Default 256.
	MaxNameLen int
	// Logger receives publish/unpublish and slow-consumer events. Default: none.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.QueueLen <= 0 {
		c.QueueLen = 1024
	}
	if c.MaxGOPPackets <= 0 {
		c.MaxGOPPackets = 2048
	}
	if c.MaxGOPBytes <= 0 {
		c.MaxGOPBytes = 16 << 20
	}
	if c.MaxNameLen <= 0 {
		c.MaxNameLen = 256
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
	if _, ok := h.streams[name]; ok {
		return nil, fmt.Errorf("%w: %q", ErrStreamBusy, name)
	}
	s := &stream{hub: h, name: name}
	h.streams[name] = s
	h.cfg.Logger.Info("relay: publish", logstr.Attr("stream", name))
	return &Publisher{s: s}, nil
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

// Streams returns the names of the streams being published, in no order.
func (h *Hub) Streams() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	names := make([]string, 0, len(h.streams))
	for n := range h.streams {
		names = append(names, n)
	}
	return names
}

// Subscribers returns how many subscribers stream name has (0 if it does not exist).
func (h *Hub) Subscribers(name string) int {
	h.mu.Lock()
	s, ok := h.streams[name]
	h.mu.Unlock()
	if !ok {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.subs)
}

func (h *Hub) remove(s *stream) {
	h.mu.Lock()
	if h.streams[s.name] == s {
		delete(h.streams, s.name)
	}
	h.mu.Unlock()
}
