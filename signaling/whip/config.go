package whip

import (
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/streamwire/streamwire/sdp"
	"github.com/streamwire/streamwire/turnrest"
)

// Defaults of Config's fields.
const (
	// DefaultWHIPPath is where WHIP endpoints live: /whip/APP/NAME.
	DefaultWHIPPath = "/whip/"
	// DefaultWHEPPath is where WHEP endpoints live: /whep/APP/NAME.
	DefaultWHEPPath = "/whep/"
	// DefaultMaxSessions caps the live sessions of a Handler: 16,384, the
	// connection cap of internal/httpserver, well above the viewers one
	// server core carries.
	DefaultMaxSessions = 16384
	// DefaultMaxOfferSize caps an offer or a PATCH body: 1 MiB, sdp.MaxSize.
	// Browser offers are 5 to 20 KiB.
	DefaultMaxOfferSize = sdp.MaxSize
	// DefaultRetryAfter is the Retry-After of a 409 (WHEP, stream not
	// published) and of a 503: 2 s, MediaMTX's page players' retry pause.
	DefaultRetryAfter = 2 * time.Second
	// DefaultConnectTimeout is how long a session may go without an ICE
	// check before it is logged (once) as unreachable: 10 s, twice ffmpeg's
	// handshake time-out and longer than any browser takes on a working path.
	DefaultConnectTimeout = 10 * time.Second
	// DefaultConnectHint ends the log line of an unreachable session.
	DefaultConnectHint = "the client sent no ICE check to any candidate of the answer: " +
		"are the announced addresses the server's public ones, and is the UDP (or ICE-TCP) port open in every firewall between?"
)

// MaxNameLen is the longest segment of a stream's path in a WHIP or WHEP
// URL (APP, or one segment of NAME), in bytes after percent-decoding.
const MaxNameLen = 256

// MaxNameSegments is the most segments a stream's path has, APP included:
// /whip/live/a/b names the stream "live/a/b" of three.
const MaxNameSegments = 16

// ICEServer is one STUN or TURN server handed to clients in a Link header
// (RFC 9725 §4.6). ParseLinks and ICEServers read them back.
type ICEServer struct {
	// URL is a stun:, stuns:, turn: or turns: URI (RFC 7064, RFC 7065), e.g.
	// "turn:turn.example.net:3478?transport=udp". OBS uses only stun: and
	// turn: URIs.
	URL string
	// Username and Credential are the TURN long-term credentials (RFC 8489
	// §9.2); both are required for turn: and turns: URIs in a Config, and
	// not sent for stun: URIs.
	Username, Credential string
}

// CredentialMinter mints the TURN REST credentials sent in the Link headers
// of each 201 and each non-preflight OPTIONS (RFC 9725 §4.6). *turnrest.Minter
// implements it: the credential carries the TURN URIs of its Config, and every
// turn: or turns: URI is sent with the username and password. The handler
// mints with user "" (username "<expiry>"), since the stream name is the
// client's text.
type CredentialMinter interface {
	// Mint returns a fresh credential for user, or an error, which the
	// handler logs.
	Mint(user string) (turnrest.Credential, error)
}

// Config configures a Handler. The zero value of every field but Backend
// works.
type Config struct {
	// Backend creates the media sessions. Required.
	Backend Backend

	// WHIPPath and WHEPPath are the URL path prefixes of the WHIP and WHEP
	// endpoints, where the server mounts the Handler: POST WHIPPath+"APP/NAME"
	// publishes. Each starts and ends with '/', and neither may be a prefix
	// of the other. The Handler answers 404 to every path outside both.
	// Empty means DefaultWHIPPath ("/whip/") and DefaultWHEPPath ("/whep/").
	// Mount the Handler without http.StripPrefix: it reads the whole path.
	WHIPPath, WHEPPath string

	// ICEServers are sent as Link headers on every 201 and non-preflight
	// OPTIONS, before the minted TURN credentials. Default none.
	ICEServers []ICEServer
	// TURN, when set, mints a TURN REST credential for each 201 and
	// non-preflight OPTIONS, sent as one Link header per URI. A failure to
	// mint is logged and the answer goes out without them. Default none.
	TURN CredentialMinter

	// PublishToken, when set, is the bearer token (RFC 6750 §2.1) every WHIP
	// POST must carry: OBS's "Bearer Token" field, ffmpeg's -authorization.
	// PlayToken is the same for WHEP. Default none: anyone may publish and
	// play. Compared in constant time.
	PublishToken, PlayToken string
	// Authorize, when set, replaces PublishToken and PlayToken: it decides
	// whether a POST (and a non-preflight OPTIONS) with token, "" for none,
	// may publish (KindWHIP) or play (KindWHEP) stream, for example from a
	// map of per-stream tokens. A refused request gets 401 with
	// WWW-Authenticate: Bearer. PATCH and DELETE are authorized by the
	// session URL alone (see Handler).
	Authorize func(kind Kind, stream Stream, token string) bool

	// AllowOrigins lists the origins ("https://app.example.com") whose pages
	// may call the endpoints (CORS). Empty, or a "*" entry, allows any.
	AllowOrigins []string
	// PublicURL, when set, is the scheme, host and path prefix put before
	// the path of every Location ("https://media.example.com"), for a server
	// behind a proxy that rewrites them. Default: the request's scheme and
	// Host.
	PublicURL string
	// TrustForwardedProto takes the scheme of Location from the request's
	// X-Forwarded-Proto ("http" or "https"), which a TLS-terminating proxy
	// sets. Leave it off without such a proxy: clients could set it.
	TrustForwardedProto bool

	// StrictIfMatch answers a PATCH without If-Match with 428 Precondition
	// Required, as RFC 9725 §4.3.1 says. The default accepts it: medooze's
	// whep.js and other players never send If-Match on a trickle PATCH.
	StrictIfMatch bool

	// MaxSessions caps the live sessions, WHIP and WHEP together; a POST
	// over it gets 503 with Retry-After. Zero means DefaultMaxSessions
	// (16,384); negative means no cap.
	MaxSessions int
	// MaxOfferSize caps the body of a POST or PATCH, in bytes; a longer one
	// gets 413. internal/httpserver's body cap applies as well. Zero or
	// negative means DefaultMaxOfferSize (1 MiB).
	MaxOfferSize int64
	// RetryAfter is the Retry-After of a 503 and of a WHEP 409 whose error
	// sets none; it is sent in whole seconds, rounded up. Zero or negative
	// means DefaultRetryAfter (2 s).
	RetryAfter time.Duration
	// ConnectTimeout is how long a session may go without an ICE check
	// (Session.Connected) before it is logged once with its candidates and
	// ConnectHint. Zero means DefaultConnectTimeout (10 s); negative turns the
	// diagnostic off.
	ConnectTimeout time.Duration
	// ConnectHint ends that log line; a server names its own flags here
	// ("-public-ip"). Empty means DefaultConnectHint.
	ConnectHint string

	// Logger receives a line per session start and end, refused request and
	// diagnostic. Client-supplied text is bounded by internal/logstr; session
	// IDs are logged as their first 8 characters. Nil discards.
	Logger *slog.Logger
	// Rand supplies session IDs and entity tags. Nil means crypto/rand.
	Rand io.Reader
}

// checkPath checks a WHIPPath or WHEPPath value.
func checkPath(name, p string) error {
	if !strings.HasPrefix(p, "/") || !strings.HasSuffix(p, "/") {
		return fmt.Errorf("%w: %s %q must start and end with '/'", ErrConfig, name, p)
	}
	if u, err := url.Parse(p); err != nil || u.EscapedPath() != p {
		return fmt.Errorf("%w: %s %q is not a plain URL path", ErrConfig, name, p)
	}
	return nil
}

// checkICEServer checks a configured ICE server: its URI goes between < and >
// of a Link header, and TURN needs credentials.
func checkICEServer(s ICEServer) error {
	scheme, _, _ := strings.Cut(s.URL, ":")
	switch strings.ToLower(scheme) {
	case "stun", "stuns":
	case "turn", "turns":
		if s.Username == "" || s.Credential == "" {
			return fmt.Errorf("%w: ICE server %q: a TURN server needs Username and Credential", ErrConfig, s.URL)
		}
	default:
		return fmt.Errorf("%w: ICE server %q is not a stun:, stuns:, turn: or turns: URI", ErrConfig, s.URL)
	}
	if i := strings.IndexFunc(s.URL, func(r rune) bool { return r <= ' ' || r > '~' || strings.ContainsRune(`"<>\^`+"`{|}", r) }); i >= 0 {
		return fmt.Errorf("%w: ICE server %q has a character not allowed in a URI at %d", ErrConfig, s.URL, i)
	}
	// The credentials go into quoted-strings, which hold no control characters
	// (RFC 9110 §5.6.4).
	if strings.ContainsFunc(s.Username+s.Credential, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return fmt.Errorf("%w: ICE server %q: control character in Username or Credential", ErrConfig, s.URL)
	}
	return nil
}
