package apprtc

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// MemoryStore is the Store of one server instance: rooms in a map under one
// mutex, time-outs on time.AfterFunc timers (no goroutine until one fires).
// Make one with NewMemoryStore.
type MemoryStore struct {
	registerTimeout time.Duration
	grace           time.Duration
	maxMsgs         int
	maxBytes        int
	log             *slog.Logger

	mu     sync.Mutex
	rooms  map[string]*memRoom
	epoch  uint64 // numbers timers, so that a stale one does nothing
	closed bool
}

// memRoom is one room: the room server's seats and the Collider's clients,
// each at most two.
type memRoom struct {
	seats   map[string]*memSeat
	clients map[string]*memClient
}

// memSeat is a room-server seat (apprtc.py Client).
type memSeat struct {
	initiator bool
	msgs      queue
	// timer frees the seat if its client has not registered a WebSocket
	// RegisterTimeout after the join; epoch identifies it.
	timer *time.Timer
	epoch uint64
}

// memClient is a Collider client (collider client.go).
type memClient struct {
	sink  Sink // nil while no WebSocket is registered
	msgs  queue
	timer *time.Timer // removes the client while sink is nil
	epoch uint64
}

// maxSeats is the capacity of a room, for seats and Collider clients alike
// (apprtc.py "occupancy >= 2", collider maxRoomCapacity).
const maxSeats = 2

// NewMemoryStore returns an empty MemoryStore with cfg's RegisterTimeout,
// ReconnectGrace, MaxQueuedMessages, MaxQueuedBytes and Logger (zero
// fields take their defaults); the other fields are the Server's.
func NewMemoryStore(cfg Config) *MemoryStore {
	cfg = cfg.withDefaults()
	return &MemoryStore{
		registerTimeout: cfg.RegisterTimeout,
		grace:           cfg.ReconnectGrace,
		maxMsgs:         cfg.MaxQueuedMessages,
		maxBytes:        cfg.MaxQueuedBytes,
		log:             cfg.Logger,
		rooms:           map[string]*memRoom{},
	}
}

// Join implements Store.
func (s *MemoryStore) Join(_ context.Context, room, client string) (Joined, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Joined{}, ErrClosed
	}
	rm := s.room(room)
	if len(rm.seats) >= maxSeats {
		return Joined{}, ErrFull
	}
	if rm.seats[client] != nil {
		return Joined{}, ErrDuplicateClient
	}
	var j Joined
	seat := &memSeat{}
	if len(rm.seats) == 0 {
		j.Initiator = true
	} else {
		for _, other := range rm.seats {
			j.Messages = other.msgs.take()
		}
	}
	seat.initiator = j.Initiator
	rm.seats[client] = seat
	if c := rm.clients[client]; c == nil || c.sink == nil {
		seat.epoch = s.next()
		seat.timer = time.AfterFunc(s.registerTimeout, s.expireFunc(room, client, seat.epoch, "no WebSocket register after join"))
	}
	if j.Messages == nil {
		j.Messages = []string{}
	}
	return j, nil
}

// Save implements Store.
func (s *MemoryStore) Save(_ context.Context, room, client, msg string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false, ErrClosed
	}
	rm := s.rooms[room]
	if rm == nil || len(rm.seats) == 0 {
		return false, ErrUnknownRoom
	}
	seat := rm.seats[client]
	if seat == nil {
		return false, ErrUnknownClient
	}
	if len(rm.seats) > 1 {
		return false, nil
	}
	if err := seat.msgs.push(msg, s.maxMsgs, s.maxBytes); err != nil {
		return false, err
	}
	return true, nil
}

// Leave implements Store.
func (s *MemoryStore) Leave(_ context.Context, room, client string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	rm := s.rooms[room]
	if rm == nil || len(rm.seats) == 0 {
		return ErrUnknownRoom
	}
	if rm.seats[client] == nil {
		return ErrUnknownClient
	}
	s.freeSeat(room, rm, client)
	return nil
}

// Occupancy implements Store.
func (s *MemoryStore) Occupancy(_ context.Context, room string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	if rm := s.rooms[room]; rm != nil {
		return len(rm.seats), nil
	}
	return 0, nil
}

// Register implements Store.
func (s *MemoryStore) Register(_ context.Context, room, client string, sink Sink) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	rm := s.room(room)
	c, err := s.client(room, rm, client, false)
	if err != nil {
		s.forgetIfEmpty(room, rm)
		return err
	}
	if c.sink != nil {
		return ErrDuplicatedRegistration
	}
	c.sink = c.stopTimer(sink)
	if seat := rm.seats[client]; seat != nil && seat.timer != nil {
		seat.timer.Stop()
		seat.timer = nil
	}
	for id, other := range rm.clients {
		if id != client {
			other.msgs.deliverTo(sink)
		}
	}
	return nil
}

// Send implements Store.
func (s *MemoryStore) Send(_ context.Context, room, client, msg string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	rm := s.room(room)
	src, err := s.client(room, rm, client, true)
	if err != nil {
		s.forgetIfEmpty(room, rm)
		return err
	}
	for id, other := range rm.clients {
		if id != client && other.sink != nil && other.sink.Deliver(msg) == nil {
			return nil
		}
	}
	return src.msgs.push(msg, s.maxMsgs, s.maxBytes)
}

// Deregister implements Store.
func (s *MemoryStore) Deregister(_ context.Context, room, client string, sink Sink) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	rm := s.rooms[room]
	if rm == nil {
		return nil
	}
	c := rm.clients[client]
	if c == nil || c.sink != sink {
		return nil
	}
	c.sink = nil
	c.epoch = s.next()
	c.timer = time.AfterFunc(s.grace, s.expireFunc(room, client, c.epoch, "no reconnect within the grace"))
	return nil
}

// Remove implements Store.
func (s *MemoryStore) Remove(_ context.Context, room, client string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if rm := s.rooms[room]; rm != nil {
		s.removeParticipant(room, rm, client)
	}
	return nil
}

// Close implements Store: it stops every timer and closes every sink.
func (s *MemoryStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	for _, rm := range s.rooms {
		for _, seat := range rm.seats {
			if seat.timer != nil {
				seat.timer.Stop()
			}
		}
		for _, c := range rm.clients {
			if c.sink != nil {
				c.sink.Close()
			}
			c.stopTimer(nil)
		}
	}
	s.rooms = nil
	return nil
}

// Counts reports how many rooms, seats and Collider clients the Store holds,
// and how many of those clients have a WebSocket; for tests and metrics.
func (s *MemoryStore) Counts() (rooms, seats, clients, registered int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rm := range s.rooms {
		rooms++
		seats += len(rm.seats)
		clients += len(rm.clients)
		for _, c := range rm.clients {
			if c.sink != nil {
				registered++
			}
		}
	}
	return rooms, seats, clients, registered
}

// room returns the room, making it if needed. s.mu is held.
func (s *MemoryStore) room(id string) *memRoom {
	rm := s.rooms[id]
	if rm == nil {
		rm = &memRoom{seats: map[string]*memSeat{}, clients: map[string]*memClient{}}
		s.rooms[id] = rm
	}
	return rm
}

// client returns the Collider client, making it if the room has space
// (collider room.client). A client made unregistered (by Send, that is
// Collider's POST) is removed after RegisterTimeout unless it registers.
// s.mu is held.
func (s *MemoryStore) client(room string, rm *memRoom, id string, unregistered bool) (*memClient, error) {
	if c := rm.clients[id]; c != nil {
		return c, nil
	}
	if len(rm.clients) >= maxSeats {
		return nil, ErrRoomCapacity
	}
	c := &memClient{}
	if unregistered {
		c.epoch = s.next()
		c.timer = time.AfterFunc(s.registerTimeout, s.expireFunc(room, id, c.epoch, "no WebSocket register after POST"))
	}
	rm.clients[id] = c
	return c, nil
}

// stopTimer stops c's timer and returns sink, for the assignment that
// registers it.
func (c *memClient) stopTimer(sink Sink) Sink {
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	return sink
}

// next numbers a new timer. s.mu is held.
func (s *MemoryStore) next() uint64 {
	s.epoch++
	return s.epoch
}

// expireFunc returns the timer function that removes client from room
// unless, by the time it runs, the timer numbered epoch was replaced or the
// client registered.
func (s *MemoryStore) expireFunc(room, client string, epoch uint64, why string) func() {
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		rm := s.rooms[room]
		if s.closed || rm == nil {
			return
		}
		c, seat := rm.clients[client], rm.seats[client]
		live := (c != nil && c.epoch == epoch && c.sink == nil) || (seat != nil && seat.epoch == epoch && seat.timer != nil)
		if !live || (c != nil && c.sink != nil) {
			return
		}
		s.log.Info("apprtc: seat freed", "room", room, "client", client, "why", why)
		s.removeParticipant(room, rm, client)
	}
}

// removeParticipant removes client's Collider client (closing its sink) and
// its seat. s.mu is held.
func (s *MemoryStore) removeParticipant(room string, rm *memRoom, client string) {
	if c := rm.clients[client]; c != nil {
		if c.sink != nil {
			c.sink.Close()
		}
		c.stopTimer(nil)
		delete(rm.clients, client)
	}
	if rm.seats[client] != nil {
		s.freeSeat(room, rm, client)
	}
	s.forgetIfEmpty(room, rm)
}

// freeSeat removes client's seat; the seat left, if any, becomes the
// initiator (apprtc.py remove_client_from_room).
// s.mu is held.
func (s *MemoryStore) freeSeat(room string, rm *memRoom, client string) {
	if seat := rm.seats[client]; seat.timer != nil {
		seat.timer.Stop()
	}
	delete(rm.seats, client)
	for _, other := range rm.seats {
		other.initiator = true
	}
	s.forgetIfEmpty(room, rm)
}

// forgetIfEmpty deletes a room with no seat and no client. s.mu is held.
func (s *MemoryStore) forgetIfEmpty(room string, rm *memRoom) {
	if len(rm.seats) == 0 && len(rm.clients) == 0 {
		delete(s.rooms, room)
	}
}

// queue is a bounded FIFO of messages.
type queue struct {
	msgs  []string
	bytes int
}

// push appends msg, or fails with ErrQueueFull when that would put the queue
// over maxMsgs messages or maxBytes bytes.
func (q *queue) push(msg string, maxMsgs, maxBytes int) error {
	if len(q.msgs) >= maxMsgs || q.bytes+len(msg) > maxBytes {
		return ErrQueueFull
	}
	q.msgs = append(q.msgs, msg)
	q.bytes += len(msg)
	return nil
}

// take empties the queue and returns what it held.
func (q *queue) take() []string {
	m := q.msgs
	q.msgs, q.bytes = nil, 0
	return m
}

// deliverTo delivers the queue to sink in order; what sink refuses stays
// queued (collider client.sendQueued, which lost it).
func (q *queue) deliverTo(sink Sink) {
	for i, m := range q.msgs {
		if sink.Deliver(m) != nil {
			q.msgs = q.msgs[i:]
			q.bytes = 0
			for _, rest := range q.msgs {
				q.bytes += len(rest)
			}
			return
		}
	}
	q.take()
}
