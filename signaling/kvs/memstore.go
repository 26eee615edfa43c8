package kvs

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// MemoryStore is the Store of one server instance: channels in a map under
// one mutex. Kept messages expire by the Clock, checked whenever the
// channel is used, so a MemoryStore runs no goroutine and no timer; an
// unused channel's expired messages stay counted against its caps
// (MaxQueuedMessages, MaxQueuedBytes) until its next use. Make one with
// NewMemoryStore.
type MemoryStore struct {
	maxChannels, maxViewers int
	maxMsgs, maxBytes       int
	clock                   Clock
	log                     *slog.Logger

	mu       sync.Mutex
	channels map[string]*memChannel
	closed   bool
}

// memChannel is one channel and its connections.
type memChannel struct {
	ch      Channel
	master  Sink
	viewers map[string]Sink
	kept    []keptMessage // for clients not connected, in arrival order
	bytes   int           // payload bytes in kept
}

// keptMessage is a message waiting for its recipient to connect.
type keptMessage struct {
	to      string
	m       Message
	expires time.Time
}

// NewMemoryStore returns an empty MemoryStore with cfg's MaxChannels,
// MaxViewers, MaxQueuedMessages, MaxQueuedBytes, Clock and Logger (zero
// fields take their defaults); the other fields are the Server's.
func NewMemoryStore(cfg Config) *MemoryStore {
	cfg = cfg.withDefaults()
	return &MemoryStore{
		maxChannels: cfg.MaxChannels,
		maxViewers:  cfg.MaxViewers,
		maxMsgs:     cfg.MaxQueuedMessages,
		maxBytes:    cfg.MaxQueuedBytes,
		clock:       cfg.Clock,
		log:         cfg.Logger,
		channels:    map[string]*memChannel{},
	}
}

// CreateChannel implements Store.
func (s *MemoryStore) CreateChannel(_ context.Context, ch Channel) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return ErrClosed
	case s.channels[ch.Name] != nil:
		return Errorf(ErrResourceInUse, "The signaling channel %s already exists.", ch.Name)
	case len(s.channels) >= s.maxChannels:
		return Errorf(ErrAccountChannelLimitExceeded, "The account already has %d signaling channels.", s.maxChannels)
	}
	ch.Tags = maps.Clone(ch.Tags)
	s.channels[ch.Name] = &memChannel{ch: ch, viewers: map[string]Sink{}}
	return nil
}

// Channel implements Store.
func (s *MemoryStore) Channel(_ context.Context, name string) (Channel, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.channel(name)
	if err != nil {
		return Channel{}, err
	}
	return c.ch, nil
}

// ListChannels implements Store.
func (s *MemoryStore) ListChannels(_ context.Context, prefix, after string, max int) ([]Channel, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	var names []string
	for name := range s.channels {
		if strings.HasPrefix(name, prefix) && name > after {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	if len(names) > max {
		names = names[:max]
	}
	out := make([]Channel, len(names))
	for i, n := range names {
		out[i] = s.channels[n].ch
	}
	return out, nil
}

// DeleteChannel implements Store.
func (s *MemoryStore) DeleteChannel(_ context.Context, name, version string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.channel(name)
	if err != nil {
		return err
	}
	if version != "" && version != c.ch.Version {
		return Errorf(ErrVersionMismatch, "The channel's version is not %s.", version)
	}
	c.closeSinks()
	delete(s.channels, name)
	return nil
}

// Connect implements Store.
func (s *MemoryStore) Connect(_ context.Context, name, client string, sink Sink) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.channel(name)
	if err != nil {
		return err
	}
	var old Sink
	if client == "" {
		old, c.master = c.master, sink
	} else {
		old = c.viewers[client]
		if old == nil && len(c.viewers) >= s.maxViewers {
			return Errorf(ErrClientLimitExceeded, "The channel already has %d viewers.", s.maxViewers)
		}
		c.viewers[client] = sink
	}
	if old != nil && old != sink {
		old.Close()
	}
	c.flush(client, sink, s.clock.Now())
	return nil
}

// Disconnect implements Store.
func (s *MemoryStore) Disconnect(_ context.Context, name, client string, sink Sink) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.channel(name)
	if err != nil {
		return nil // deleted meanwhile: nothing to unbind
	}
	switch {
	case client == "" && c.master == sink:
		c.master = nil
	case client != "" && c.viewers[client] == sink:
		delete(c.viewers, client)
	}
	return nil
}

// Send implements Store.
func (s *MemoryStore) Send(_ context.Context, name, to string, m Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.channel(name)
	if err != nil {
		return err
	}
	sink := c.master
	if to != "" {
		sink = c.viewers[to]
	}
	if sink != nil && sink.Deliver(m) == nil {
		return nil
	}
	now := s.clock.Now()
	c.expire(now)
	if m.Type == MessageSDPOffer {
		c.dropOffer(to, m.Sender)
	}
	if len(c.kept) >= s.maxMsgs || c.bytes+len(m.Payload) > s.maxBytes {
		return Errorf(ErrClientLimitExceeded, "Too many messages are kept for clients of channel %s.", name)
	}
	c.kept = append(c.kept, keptMessage{to: to, m: m, expires: now.Add(c.ch.MessageTTL)})
	c.bytes += len(m.Payload)
	return nil
}

// Close implements Store: it closes every sink and drops every channel.
func (s *MemoryStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	for _, c := range s.channels {
		c.closeSinks()
	}
	s.channels = nil
	return nil
}

// Counts reports how many channels the Store holds, how many clients are
// connected to them, and how many messages are kept; for tests and
// metrics.
func (s *MemoryStore) Counts() (channels, connected, kept int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.channels {
		channels++
		connected += len(c.viewers)
		if c.master != nil {
			connected++
		}
		kept += len(c.kept)
	}
	return channels, connected, kept
}

// channel returns the channel called name. s.mu is held.
func (s *MemoryStore) channel(name string) (*memChannel, error) {
	if s.closed {
		return nil, ErrClosed
	}
	c := s.channels[name]
	if c == nil {
		return nil, Errorf(ErrResourceNotFound, "The requested channel %s is not found or not active.", name)
	}
	return c, nil
}

// closeSinks closes every sink of the channel.
func (c *memChannel) closeSinks() {
	if c.master != nil {
		c.master.Close()
	}
	for _, v := range c.viewers {
		v.Close()
	}
}

// flush delivers to sink, in order, the unexpired messages kept for
// client; what sink refuses stays kept.
func (c *memChannel) flush(client string, sink Sink, now time.Time) {
	c.expire(now)
	c.filter(func(k keptMessage) bool {
		return k.to != client || sink.Deliver(k.m) != nil
	})
}

// expire drops the messages whose time is up.
func (c *memChannel) expire(now time.Time) {
	c.filter(func(k keptMessage) bool { return now.Before(k.expires) })
}

// dropOffer drops the kept SDP_OFFER from sender to to, and the ICE
// candidates sender queued for to after it: a newer offer replaces them
// (the candidates belong to the older offer's ICE session).
func (c *memChannel) dropOffer(to, sender string) {
	found := false
	c.filter(func(k keptMessage) bool {
		if k.to != to || k.m.Sender != sender {
			return true
		}
		if k.m.Type == MessageSDPOffer {
			found = true
			return false
		}
		return !(found && k.m.Type == MessageICECandidate)
	})
}

// filter keeps, in order, the kept messages for which keep is true.
func (c *memChannel) filter(keep func(keptMessage) bool) {
	n := 0
	c.bytes = 0
	for _, k := range c.kept {
		if keep(k) {
			c.kept[n] = k
			c.bytes += len(k.m.Payload)
			n++
		}
	}
	clear(c.kept[n:])
	c.kept = c.kept[:n]
}
