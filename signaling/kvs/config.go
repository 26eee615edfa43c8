package kvs

import (
	"crypto/rand"
	"io"
	"log/slog"
	"time"

	"github.com/streamwire/streamwire/turnrest"
)

// Defaults of Config's fields. The numbers AWS documents are in the KVS
// WebRTC developer guide's "Service quotas" page (signaling.md §3.6).
const (
	// DefaultPrefix is the path the server is mounted under: the control
	// plane at DefaultPrefix+"/createSignalingChannel" and so on (a
	// client's BaseEndpoint is https://host/kvs), the data plane at
	// DefaultPrefix+"/v1/...", the WebSocket at DefaultPrefix+"/ws".
	DefaultPrefix = "/kvs"
	// DefaultRegion is the region put in channel ARNs, LocalStack's.
	// Clients sign with their own region; any is accepted.
	DefaultRegion = "us-east-1"
	// DefaultAccountID is the account put in channel ARNs, LocalStack's.
	DefaultAccountID = "000000000000"
	// DefaultMaxViewers caps the viewers connected to one channel at once:
	// 10, AWS's ConnectAsViewer quota.
	DefaultMaxViewers = 10
	// DefaultMaxChannels caps the channels of a Store: 5,000, AWS's
	// default signaling channels quota per account and region.
	DefaultMaxChannels = 5000
	// DefaultMessageTTL is a channel's MessageTtlSeconds when
	// CreateSignalingChannel gives none: 60 s (AWS's console default;
	// the API allows 5 to 120 s).
	DefaultMessageTTL = 60 * time.Second
	// DefaultMaxMessageBytes caps a message's base64 messagePayload, and
	// the body of an HTTP request is capped at twice it. AWS documents 10
	// KB; a browser's offer with several codecs and simulcast is 6 to
	// 20 KB before base64, so 64 KiB leaves room for that.
	DefaultMaxMessageBytes = 64 << 10
	// DefaultMaxQueuedMessages caps the messages a channel holds for
	// clients that are not connected, and a WebSocket's outbox. An offer
	// and its candidates are a few dozen messages; 1,024 holds ten
	// viewers' worth many times over.
	DefaultMaxQueuedMessages = 1024
	// DefaultMaxQueuedBytes caps the payload bytes of the same queues:
	// 1 MiB.
	DefaultMaxQueuedBytes = 1 << 20
	// DefaultMessageRate is the sustained rate of messages a WebSocket
	// may send, per second: AWS allows 5 offers or answers and 20
	// candidates per second.
	DefaultMessageRate = 20
	// DefaultMessageBurst is how many messages a WebSocket may send at
	// once above the rate: a browser gathers a dozen candidates within
	// milliseconds of its offer.
	DefaultMessageBurst = 50
	// DefaultMaxConnsPerIP caps the KVS WebSockets from one IP address.
	// Viewers of one office share an address; 100 is ten channels' worth
	// of viewers.
	DefaultMaxConnsPerIP = 100
	// DefaultIdleTimeout closes a WebSocket on which the client has sent
	// nothing for this long: 10 minutes, as AWS.
	DefaultIdleTimeout = 10 * time.Minute
	// DefaultMaxConnDuration is the longest a WebSocket stays open: at 1
	// hour, as AWS, the server sends GO_AWAY and closes it GoAwayGrace
	// later.
	DefaultMaxConnDuration = time.Hour
	// DefaultGoAwayGrace is the time between GO_AWAY and the close. AWS
	// gives 1 minute; a server shutting down has 5 s in all
	// (internal/httpserver's ShutdownTimeout), so 2 s.
	DefaultGoAwayGrace = 2 * time.Second
	// DefaultPingInterval is the time between WebSocket pings; a client
	// that has not answered one when the next is due is dropped.
	DefaultPingInterval = 25 * time.Second
	// DefaultWriteTimeout bounds each WebSocket frame write.
	DefaultWriteTimeout = 10 * time.Second
	// DefaultMaxClockSkew is how far a request's X-Amz-Date may be from
	// the server's clock: 5 minutes, as AWS.
	DefaultMaxClockSkew = 5 * time.Minute
	// DefaultAllowOrigin is the Access-Control-Allow-Origin of every REST
	// answer, as AWS sends it (seed 001).
	DefaultAllowOrigin = "*"
)

// ICEProvider mints the TURN credential that GetIceServerConfig hands out.
// *turnrest.Minter implements it.
type ICEProvider interface {
	// Mint returns a credential for user (the request's Username, else
	// its ClientId, else "").
	Mint(user string) (turnrest.Credential, error)
}

// Config configures a Server and a MemoryStore. The zero value works: every
// zero (or negative) field takes its DefaultXxx constant.
type Config struct {
	// Store holds channels, connections and queued messages. Nil means a
	// MemoryStore made from this Config, closed by Server.Close.
	Store Store
	// Prefix is the path the Server answers under, without a trailing
	// slash. Zero means DefaultPrefix ("/kvs").
	Prefix string
	// PublicURL is the scheme and host clients reach this server at, e.g.
	// "https://rtc.example.com" behind a TLS proxy; GetSignalingChannelEndpoint
	// returns https://HOST/PREFIX and wss://HOST/PREFIX/ws on its host.
	// Empty means the request's Host header. The endpoints are always
	// https and wss: the KVS JS SDK refuses any other WebSocket scheme.
	PublicURL string
	// Region and AccountID are put in the ARNs of new channels. Zero means
	// DefaultRegion and DefaultAccountID.
	Region, AccountID string

	// Credentials maps access key ids to secret keys. When it is not
	// empty, every request must carry a valid SigV4 signature (service
	// kinesisvideo) by one of them: the Authorization header on HTTP calls,
	// the presigned query on the WebSocket. Empty accepts unsigned
	// requests (local development) and ignores signatures.
	Credentials map[string]string
	// MaxClockSkew is how far X-Amz-Date may be from the server's clock.
	// Zero means DefaultMaxClockSkew (5 min).
	MaxClockSkew time.Duration

	// ICE, when set, mints the credential of GetIceServerConfig's single
	// IceServer, whose Uris are the credential's turn: and turns: URIs.
	// Nil answers an empty IceServerList.
	ICE ICEProvider

	// MaxViewers caps the viewers of a channel. Zero means
	// DefaultMaxViewers (10).
	MaxViewers int
	// MaxChannels caps the channels of the MemoryStore. Zero means
	// DefaultMaxChannels (5,000).
	MaxChannels int
	// MaxMessageBytes caps a message's base64 payload. Zero means
	// DefaultMaxMessageBytes (64 KiB).
	MaxMessageBytes int
	// MaxQueuedMessages caps the messages held per channel for clients
	// that are not connected, and per WebSocket outbox. Zero means
	// DefaultMaxQueuedMessages (1,024).
	MaxQueuedMessages int
	// MaxQueuedBytes caps the payload bytes of the same queues. Zero means
	// DefaultMaxQueuedBytes (1 MiB).
	MaxQueuedBytes int
	// MessageRate and MessageBurst are each WebSocket's token bucket of
	// messages: MessageRate per second, MessageBurst at once. Zero means
	// DefaultMessageRate (20) and DefaultMessageBurst (50).
	MessageRate, MessageBurst int
	// MaxConnsPerIP caps the WebSockets from one IP address. Zero means
	// DefaultMaxConnsPerIP (100).
	MaxConnsPerIP int

	// IdleTimeout closes a WebSocket whose client sent nothing for that
	// long. Zero means DefaultIdleTimeout (10 min).
	IdleTimeout time.Duration
	// MaxConnDuration is how long a WebSocket may stay open before
	// GO_AWAY. Zero means DefaultMaxConnDuration (1 h).
	MaxConnDuration time.Duration
	// GoAwayGrace is the time from GO_AWAY to the close. Zero means
	// DefaultGoAwayGrace (2 s).
	GoAwayGrace time.Duration
	// PingInterval is the time between WebSocket pings. Zero means
	// DefaultPingInterval (25 s).
	PingInterval time.Duration
	// WriteTimeout bounds each WebSocket write. Zero means
	// DefaultWriteTimeout (10 s).
	WriteTimeout time.Duration

	// AllowOrigin is the Access-Control-Allow-Origin of the REST answers.
	// Zero means DefaultAllowOrigin ("*").
	AllowOrigin string
	// OriginPatterns are the host patterns (path.Match, as
	// github.com/coder/websocket's AcceptOptions) of the pages allowed to
	// open a WebSocket from another origin; "*" allows any. Empty allows
	// pages of the request's own host and clients that send no Origin
	// (the C SDK, Node).
	OriginPatterns []string

	// Clock is the time source of signatures, message expiry, rate limits
	// and the idle, duration and GO_AWAY timers. Nil means the system
	// clock.
	Clock Clock
	// Rand is the source of channel versions and request ids. Nil means
	// crypto/rand.Reader.
	Rand io.Reader
	// Logger receives channel changes and connections (Info) and refused
	// requests (Debug), client strings bounded by internal/logstr. Nil
	// means slog.Default().
	Logger *slog.Logger
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	c.Prefix = orDefault(c.Prefix, DefaultPrefix)
	c.Region = orDefault(c.Region, DefaultRegion)
	c.AccountID = orDefault(c.AccountID, DefaultAccountID)
	c.MaxClockSkew = orDefault(c.MaxClockSkew, DefaultMaxClockSkew)
	c.MaxViewers = orDefault(c.MaxViewers, DefaultMaxViewers)
	c.MaxChannels = orDefault(c.MaxChannels, DefaultMaxChannels)
	c.MaxMessageBytes = orDefault(c.MaxMessageBytes, DefaultMaxMessageBytes)
	c.MaxQueuedMessages = orDefault(c.MaxQueuedMessages, DefaultMaxQueuedMessages)
	c.MaxQueuedBytes = orDefault(c.MaxQueuedBytes, DefaultMaxQueuedBytes)
	c.MessageRate = orDefault(c.MessageRate, DefaultMessageRate)
	c.MessageBurst = orDefault(c.MessageBurst, DefaultMessageBurst)
	c.MaxConnsPerIP = orDefault(c.MaxConnsPerIP, DefaultMaxConnsPerIP)
	c.IdleTimeout = orDefault(c.IdleTimeout, DefaultIdleTimeout)
	c.MaxConnDuration = orDefault(c.MaxConnDuration, DefaultMaxConnDuration)
	c.GoAwayGrace = orDefault(c.GoAwayGrace, DefaultGoAwayGrace)
	c.PingInterval = orDefault(c.PingInterval, DefaultPingInterval)
	c.WriteTimeout = orDefault(c.WriteTimeout, DefaultWriteTimeout)
	c.AllowOrigin = orDefault(c.AllowOrigin, DefaultAllowOrigin)
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// orDefault is def when v is zero or negative (none of these fields has a
// meaning below zero), else v.
func orDefault[T int | time.Duration | string](v, def T) T {
	var zero T
	if v <= zero {
		return def
	}
	return v
}

// frameLimit is the largest WebSocket frame read: a payload at the limit
// plus the JSON around it.
func (c Config) frameLimit() int { return c.MaxMessageBytes + 1024 }

// bodyLimit is the largest HTTP request body read: SendAlexaOfferToMaster
// carries a payload at the limit.
func (c Config) bodyLimit() int64 { return int64(2*c.MaxMessageBytes) + 1024 }
