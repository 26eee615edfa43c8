package kvs

import (
	"context"
	"time"
)

// Store holds the state of the signaling channels: the channels
// themselves, which client holds each channel's master and viewer seats,
// and the messages kept for clients that are not connected. A Store is
// what lets more than one server instance serve the same channels:
// MemoryStore keeps it in this process; a backplane implements the same
// methods across instances, with each Sink living on the instance that
// holds its WebSocket.
//
// Channels are named by their ChannelName; the Server maps ARNs to names
// and checks that the ARN is the channel's. Client "" is the master; any
// other client is a viewer. Names and client ids reach a Store already
// checked (ValidName, ValidClientID); payloads are base64 of at most
// MaxMessageBytes.
//
// Errors are APIErrors (ErrResourceNotFound, ErrResourceInUse,
// ErrClientLimitExceeded, ...), made with Errorf, so that the Server
// answers them as AWS does. Every method is safe for concurrent use and
// returns ErrClosed after Close.
type Store interface {
	// CreateChannel adds ch. Errors: ErrResourceInUse (a channel of that
	// name exists), ErrAccountChannelLimitExceeded.
	CreateChannel(ctx context.Context, ch Channel) error
	// Channel returns the channel called name. Errors: ErrResourceNotFound.
	Channel(ctx context.Context, name string) (Channel, error)
	// ListChannels returns, sorted by name, at most max channels whose
	// names start with prefix and sort after after ("" for the first page).
	ListChannels(ctx context.Context, prefix, after string, max int) ([]Channel, error)
	// DeleteChannel removes the channel called name, closing its sinks and
	// dropping its queued messages; version, when not "", must be the
	// channel's Version. Errors: ErrResourceNotFound, ErrVersionMismatch.
	DeleteChannel(ctx context.Context, name, version string) error

	// Connect binds sink to client on the channel, replacing (and
	// closing) the sink that client held: one master per channel, one
	// connection per viewer id (signaling.md §3.6 "Precedence"). It then
	// delivers to sink, in order, the unexpired messages kept for client.
	// Errors: ErrResourceNotFound, ErrClientLimitExceeded (MaxViewers
	// other viewers connected).
	Connect(ctx context.Context, name, client string, sink Sink) error
	// Disconnect unbinds sink from client after its WebSocket closed; it
	// does nothing when client is bound to another sink.
	Disconnect(ctx context.Context, name, client string, sink Sink) error
	// Send delivers m to client to of the channel, or keeps it for the
	// channel's MessageTTL when to is not connected (or its sink refuses
	// it). A kept SDP_OFFER replaces an undelivered SDP_OFFER from the
	// same sender to the same client, together with the ICE candidates
	// that sender queued after it. Errors: ErrResourceNotFound,
	// ErrClientLimitExceeded (the channel's queue is full).
	Send(ctx context.Context, name, to string, m Message) error

	// Close closes every sink and drops every channel.
	Close() error
}

// Sink is where a Store delivers a client's messages: one WebSocket. Its
// methods must not block; the Store may call them with its own locks
// held.
type Sink interface {
	// Deliver queues m for the WebSocket. It fails when the socket is
	// closing or its outbox is over budget; the Store then keeps m.
	Deliver(m Message) error
	// Close closes the WebSocket: its client connected again elsewhere,
	// or its channel was deleted.
	Close()
}

// Message is one signaling message as the Store carries it.
type Message struct {
	// Type is MessageSDPOffer, MessageSDPAnswer or MessageICECandidate.
	Type string
	// Sender is the sending viewer's client id; "" for the master.
	Sender string
	// Payload is the base64 messagePayload as the sender sent it.
	Payload string
}

// The message types of the WebSocket protocol (signaling.md §3.6): the
// actions a client sends, and the messageTypes it receives.
const (
	MessageSDPOffer           = "SDP_OFFER"
	MessageSDPAnswer          = "SDP_ANSWER"
	MessageICECandidate       = "ICE_CANDIDATE"
	MessageStatusResponse     = "STATUS_RESPONSE"
	MessageGoAway             = "GO_AWAY"
	MessageReconnectICEServer = "RECONNECT_ICE_SERVER"
)

// Channel is a signaling channel, the ChannelInfo of the control plane.
type Channel struct {
	// Name is the ChannelName, 1 to 256 of [a-zA-Z0-9_.-].
	Name string
	// ARN is the ChannelARN (arn:aws:kinesisvideo:REGION:ACCOUNT:channel/NAME/MILLIS).
	ARN string
	// Created is the CreationTime.
	Created time.Time
	// MessageTTL is SingleMasterConfiguration.MessageTtlSeconds: how long
	// messages for a client that is not connected are kept (5 to 120 s).
	MessageTTL time.Duration
	// Version changes when the channel does (UpdateSignalingChannel, not
	// served); DeleteSignalingChannel's CurrentVersion is checked against
	// it.
	Version string
	// Tags are the channel's tags (at most 50), kept but not served.
	Tags map[string]string
}
