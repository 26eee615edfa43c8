package apprtc

import "context"

// Store holds the state of the rooms: the room server's seats with their
// queued messages (apprtc.py's Room in memcache) and the Collider's clients
// with theirs and with the WebSocket each one registered (collider's
// roomTable). A Store is what lets more than one server instance serve the
// same rooms: MemoryStore keeps it in this process; a backplane (NATS)
// implements the same methods across instances, with each Sink living on the
// instance that holds its WebSocket.
//
// A room holds at most two seats and, separately, at most two Collider
// clients, as upstream; a seat and a client with the same id are the same
// participant. The Store frees seats on its own: a seat or client without a
// registered WebSocket is removed RegisterTimeout after it was made and
// ReconnectGrace after its WebSocket went away, and removing a client frees
// its seat too (Collider's "bye" to the room server, which upstream's room
// server never answered). A room with no seat and no client is forgotten.
//
// Every method is safe for concurrent use. Room and client ids reach a Store
// already checked with ValidID; messages are valid UTF-8 of at most
// MaxMessageBytes. Methods return ErrClosed after Close.
type Store interface {
	// Join seats client in room (apprtc.py add_client_to_room): the first
	// seat is the initiator and gets no messages; the second gets the
	// messages the first one saved, which leave the Store. Errors: ErrFull,
	// ErrDuplicateClient.
	Join(ctx context.Context, room, client string) (Joined, error)
	// Save queues msg on client's seat while it is alone in room and
	// reports saved; with two seats it saves nothing and the caller
	// forwards msg with Send (apprtc.py save_message_from_client). Errors:
	// ErrUnknownRoom, ErrUnknownClient, ErrQueueFull.
	Save(ctx context.Context, room, client, msg string) (saved bool, err error)
	// Leave frees client's seat; a remaining seat becomes the initiator
	// (apprtc.py remove_client_from_room). The Collider client, if any,
	// stays: clients send "bye" over the WebSocket after /leave. Errors:
	// ErrUnknownRoom, ErrUnknownClient.
	Leave(ctx context.Context, room, client string) error
	// Occupancy is the number of seats in room.
	Occupancy(ctx context.Context, room string) (int, error)

	// Register binds sink to client in room, making the Collider client if
	// needed, and delivers to sink every message the other client queued
	// (collider room.register). Errors: ErrRoomCapacity,
	// ErrDuplicatedRegistration.
	Register(ctx context.Context, room, client string, sink Sink) error
	// Send delivers msg from client to the other client of room, or queues
	// it on client when the other one has no WebSocket (collider
	// room.send); it makes the Collider client if needed, as Collider's
	// POST does. Errors: ErrRoomCapacity, ErrQueueFull.
	Send(ctx context.Context, room, client, msg string) error
	// Deregister unbinds sink from client after its WebSocket closed; the
	// client keeps its seat and queue for ReconnectGrace. It does nothing
	// when client is bound to another sink.
	Deregister(ctx context.Context, room, client string, sink Sink) error
	// Remove removes the Collider client and the seat of client, closing
	// its sink (Collider's DELETE); a remaining seat becomes the initiator.
	// Removing an unknown client is not an error.
	Remove(ctx context.Context, room, client string) error

	// Close stops the Store's timers and closes every sink it holds.
	Close() error
}

// Sink is where a Store delivers a client's messages: one registered
// WebSocket. Its methods must not block; the Store may call them with its
// own locks held.
type Sink interface {
	// Deliver queues msg for the WebSocket in order. It fails when the
	// socket is closed or its outbox is over budget; the Store then queues
	// msg on the sender, so that it reaches the client when it registers
	// again.
	Deliver(msg string) error
	// Close closes the WebSocket.
	Close()
}

// Joined is what Join gives a new seat.
type Joined struct {
	// Initiator is true for the room's first seat.
	Initiator bool
	// Messages are the other seat's saved messages, in order; empty for
	// the initiator.
	Messages []string
}
