package apprtc

import (
	"crypto/rand"
	"io"
	"log/slog"
	"time"

	"github.com/streamwire/streamwire/turnrest"
)

// Defaults of Config's fields.
const (
	// DefaultRegisterTimeout is how long a seat waits for its WebSocket
	// register: a client created by POST /collider/{room}/{client} (Collider's
	// registerTimeout, 10 s), and here also a client that joined over HTTP.
	// The web client registers right after the join answer, Android within
	// a round trip of it.
	DefaultRegisterTimeout = 10 * time.Second
	// DefaultReconnectGrace is how long a client whose WebSocket closed keeps
	// its seat and its queued messages so that it can register again
	// (Collider: the same 10 s timer, restarted by deregister).
	DefaultReconnectGrace = 10 * time.Second
	// DefaultMaxQueuedMessages caps each queue of messages: a client's
	// Collider queue (Collider's maxQueuedMsgCount, 1,024), its room-server
	// queue and a WebSocket's outbox. A call's offer and its candidates are
	// a few dozen messages.
	DefaultMaxQueuedMessages = 1024
	// DefaultMaxQueuedBytes caps the bytes of message text in each of those
	// queues: 1 MiB, the largest value memcache held for AppRTC's room
	// server. With DefaultMaxMessageBytes it bounds what one client can make
	// the server hold.
	DefaultMaxQueuedBytes = 1 << 20
	// DefaultMaxMessageBytes caps one signaling message (a /message body,
	// a Collider POST body, the "msg" of a send frame): 64 KiB, three times
	// a 20 KiB SDP offer with simulcast. A WebSocket frame may be
	// 2*MaxMessageBytes+1024 bytes, room for the escaping of msg in it.
	DefaultMaxMessageBytes = 64 << 10
	// DefaultPingInterval is the time between the server's WebSocket pings.
	// A client that has not answered a ping when the next one is due is
	// dropped. 25 s keeps NATs and proxies (nginx proxy_read_timeout 60 s)
	// from closing an idle signaling socket.
	DefaultPingInterval = 25 * time.Second
	// DefaultWriteTimeout bounds each WebSocket frame write.
	DefaultWriteTimeout = 10 * time.Second
	// DefaultIdleTimeout bounds the wait for a client's next frame once it
	// has registered; Collider's wsReadTimeoutSec (24 h). An initiator can
	// wait alone in its room for long; pings find dead peers sooner.
	DefaultIdleTimeout = 24 * time.Hour
	// DefaultMessageRate is the sustained rate of send frames a Collider
	// WebSocket may send, a second; DefaultMessageBurst how many it may
	// send at once above it: a browser gathers a dozen candidates within
	// a few milliseconds. Upstream Collider had no limit.
	DefaultMessageRate  = 20
	DefaultMessageBurst = 50
	// DefaultICEConfigPath is where this server's ICE endpoint is mounted
	// (turnrest.FormatICE in examples/server), the path of AppRTC's
	// ICE_SERVER_URL_TEMPLATE.
	DefaultICEConfigPath = "/v1alpha/iceconfig"
)

// ICEProvider mints the TURN credential put in pc_config.iceServers
// (AppRTC's ICE_SERVER_OVERRIDE). *turnrest.Minter implements it.
type ICEProvider interface {
	// Mint returns a credential for user (a client id, or "" for /params).
	Mint(user string) (turnrest.Credential, error)
}

// Config configures a Server and a MemoryStore. The zero value works: every
// zero field takes its DefaultXxx constant.
type Config struct {
	// Store holds rooms, seats and queued messages. Nil means a
	// MemoryStore made from this Config, closed by Server.Close.
	Store Store

	// PublicURL is the scheme and host clients reach this server at, e.g.
	// "https://rtc.example.com" behind a TLS proxy: room_link, wss_url,
	// wss_post_url and ice_server_url are built on it. Empty means the
	// request's own: https/wss when it came over TLS, http/ws otherwise,
	// and its Host header. A path in it is ignored.
	PublicURL string
	// ICEConfigPath is the path of the ICE endpoint that ice_server_url
	// names. Zero means DefaultICEConfigPath ("/v1alpha/iceconfig").
	ICEConfigPath string
	// ICE, when set, fills pc_config.iceServers with a credential minted
	// for the client (one RTCIceServer per URI, "urls" a single string as
	// Android's pc_config parser needs); clients then skip ice_server_url.
	// Nil leaves iceServers empty, as AppRTC does: clients POST to
	// ice_server_url.
	ICE ICEProvider

	// RegisterTimeout is how long a seat without a WebSocket waits for its
	// register, and how long a new WebSocket waits for its first frame.
	// Zero means DefaultRegisterTimeout (10 s).
	RegisterTimeout time.Duration
	// ReconnectGrace is how long a client whose WebSocket closed keeps its
	// seat. Zero means DefaultReconnectGrace (10 s).
	ReconnectGrace time.Duration
	// MaxQueuedMessages caps each message queue (see
	// DefaultMaxQueuedMessages). Zero means DefaultMaxQueuedMessages (1,024).
	MaxQueuedMessages int
	// MaxQueuedBytes caps the message bytes in each queue. Zero means
	// DefaultMaxQueuedBytes (1 MiB).
	MaxQueuedBytes int
	// MaxMessageBytes caps one signaling message. Zero means
	// DefaultMaxMessageBytes (64 KiB).
	MaxMessageBytes int

	// PingInterval is the time between WebSocket pings. Zero means
	// DefaultPingInterval (25 s).
	PingInterval time.Duration
	// WriteTimeout bounds each WebSocket write. Zero means
	// DefaultWriteTimeout (10 s).
	WriteTimeout time.Duration
	// IdleTimeout bounds the wait for a registered client's next frame.
	// Zero means DefaultIdleTimeout (24 h).
	IdleTimeout time.Duration
	// MessageRate and MessageBurst are each Collider WebSocket's token
	// bucket of send frames: MessageRate per second, MessageBurst at once;
	// a send over it gets an error frame. Zero means DefaultMessageRate
	// (20) and DefaultMessageBurst (50).
	MessageRate, MessageBurst int
	// OriginPatterns are the host patterns (path.Match, as
	// github.com/coder/websocket's AcceptOptions) of the pages allowed to
	// open the Collider WebSocket from another origin; "*" allows any, as
	// upstream Collider does. Empty allows only pages of the request's own
	// host and clients that send no Origin (native apps).
	OriginPatterns []string

	// Rand is the source of client ids. Nil means crypto/rand.Reader.
	Rand io.Reader
	// Logger receives joins, leaves, removals (Info) and refused requests
	// (Debug), client strings bounded by internal/logstr. Nil means
	// slog.Default().
	Logger *slog.Logger
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	c.ICEConfigPath = orDefault(c.ICEConfigPath, DefaultICEConfigPath)
	c.RegisterTimeout = orDefault(c.RegisterTimeout, DefaultRegisterTimeout)
	c.ReconnectGrace = orDefault(c.ReconnectGrace, DefaultReconnectGrace)
	c.MaxQueuedMessages = orDefault(c.MaxQueuedMessages, DefaultMaxQueuedMessages)
	c.MaxQueuedBytes = orDefault(c.MaxQueuedBytes, DefaultMaxQueuedBytes)
	c.MaxMessageBytes = orDefault(c.MaxMessageBytes, DefaultMaxMessageBytes)
	c.PingInterval = orDefault(c.PingInterval, DefaultPingInterval)
	c.WriteTimeout = orDefault(c.WriteTimeout, DefaultWriteTimeout)
	c.IdleTimeout = orDefault(c.IdleTimeout, DefaultIdleTimeout)
	c.MessageRate = orDefault(c.MessageRate, DefaultMessageRate)
	c.MessageBurst = orDefault(c.MessageBurst, DefaultMessageBurst)
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
	if v == zero || (v < zero) {
		return def
	}
	return v
}

// frameLimit is the largest WebSocket frame read: a send frame's msg is a
// JSON string inside JSON, so its escaping can double it.
func (c Config) frameLimit() int { return 2*c.MaxMessageBytes + 1024 }
