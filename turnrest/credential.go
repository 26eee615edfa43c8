package turnrest

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // HMAC-SHA1 is what coturn's use-auth-secret checks.
	"encoding/base64"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// DefaultTTL is the credential lifetime the draft recommends (86400 s).
const DefaultTTL = 24 * time.Hour

// Config configures a Minter and the HTTP handlers built on it. The zero value
// of every field except Secrets works.
type Config struct {
	// Secrets are the shared secrets, the same strings as coturn's
	// static-auth-secret options (or its turn_secret table). The first one
	// signs new credentials; any of them verifies, so a secret can be rotated
	// by putting the new one first and keeping the old one until the longest
	// TTL has passed. At least one non-empty secret is required.
	Secrets []string
	// TTL is how long minted credentials stay valid, in whole seconds.
	// Zero means DefaultTTL (24 h). It must be at least 1 s and below 2^31 s
	// (coturn compares timestamps as 32-bit serial numbers).
	TTL time.Duration
	// Separator is coturn's rest-api-separator (-C), one printable ASCII byte
	// that is not a digit. Empty means DefaultSeparator (':').
	Separator string
	// URIs are the TURN (and STUN) URIs handed out with each credential, e.g.
	// "turn:turn.example.com:3478?transport=udp". Each must start with turn:,
	// turns:, stun: or stuns:. Default none (but clients such as Janus need at
	// least one turn: URI).
	URIs []string
	// Now returns the current time. Default time.Now.
	Now func() time.Time
	// Logger receives one line per request or failed verification. Secrets,
	// passwords and API keys are never logged. Default: no logging.
	Logger *slog.Logger

	// APIKeys, when not empty, makes the HTTP handlers require one of these
	// keys, sent as "Authorization: Bearer <key>" or as the key= or api=
	// parameter (the draft's key, Janus's api). Compared in constant time.
	APIKeys []string
	// AllowOrigin, when set, is sent as Access-Control-Allow-Origin on every
	// response so browser pages on another origin can fetch credentials
	// (e.g. "*" or "https://app.example.com"). Default: no CORS headers.
	AllowOrigin string
}

// Credential is one TURN REST credential in the draft's response shape
// (draft-uberti-behave-turn-rest-00, "HTTP Interactions").
type Credential struct {
	// Username is "<expiry><sep><user>", or "<expiry>" with no user.
	Username string `json:"username"`
	// Password is base64(HMAC-SHA1(secret, Username)).
	Password string `json:"password"`
	// TTL is the lifetime in seconds.
	TTL int64 `json:"ttl"`
	// URIs are the configured TURN URIs.
	URIs []string `json:"uris"`
	// Expires is the expiry time encoded in Username.
	Expires time.Time `json:"-"`
}

// ICEServer is a W3C RTCIceServer dictionary (webrtc-pc §4.2.4), with urls
// always an array as AppRTC's clients require.
type ICEServer struct {
	// URLs are the stun:, turn: or turns: URIs of one server.
	URLs []string `json:"urls"`
	// Username is the TURN username; omitted for STUN servers.
	Username string `json:"username,omitempty"`
	// Credential is the TURN password; omitted for STUN servers.
	Credential string `json:"credential,omitempty"`
}

// ICEConfig is the AppRTC / networktraversal "iceconfig" response body.
type ICEConfig struct {
	// LifetimeDuration is the TTL in Google duration syntax ("86400.000s").
	LifetimeDuration string `json:"lifetimeDuration"`
	// ICEServers is the RTCConfiguration.iceServers list; never null.
	ICEServers []ICEServer `json:"iceServers"`
}

// ICEConfig converts c to the browser shape: one RTCIceServer holding the
// turn:/turns: URIs with the credential, and one holding the stun:/stuns: URIs
// without it (a STUN server needs none).
func (c Credential) ICEConfig() ICEConfig {
	turn, stun := []string{}, []string{}
	for _, u := range c.URIs {
		if hasScheme(u, "turn:", "turns:") {
			turn = append(turn, u)
		} else {
			stun = append(stun, u)
		}
	}
	servers := []ICEServer{}
	if len(turn) > 0 {
		servers = append(servers, ICEServer{URLs: turn, Username: c.Username, Credential: c.Password})
	}
	if len(stun) > 0 {
		servers = append(servers, ICEServer{URLs: stun})
	}
	return ICEConfig{LifetimeDuration: strconv.FormatInt(c.TTL, 10) + ".000s", ICEServers: servers}
}

// LinkHeaders returns c as Link header values of RFC 9725 §4.6 (WHIP) and
// WHEP, one per URI, to be added as separate header lines (several clients
// read only the first link of a comma-joined line):
//
//	<turn:t.example:3478?transport=udp>; rel="ice-server"; username="1700000000:u"; credential="..."; credential-type="password"
//	<stun:t.example:3478>; rel="ice-server"
func (c Credential) LinkHeaders() []string {
	links := make([]string, 0, len(c.URIs))
	for _, u := range c.URIs {
		l := "<" + u + `>; rel="ice-server"`
		if hasScheme(u, "turn:", "turns:") {
			l += "; username=" + quote(c.Username) + "; credential=" + quote(c.Password) + `; credential-type="password"`
		}
		links = append(links, l)
	}
	return links
}

// quote returns s as an HTTP quoted-string (RFC 9110 §5.6.4).
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// Minter mints and verifies TURN REST credentials. It is safe for concurrent
// use; its configuration is fixed at New. Make one with New: the zero (or
// nil) Minter has no secret, and its methods fail with ErrNoSecret.
type Minter struct {
	secrets []string
	ttl     int64 // seconds
	sep     byte
	uris    []string
	now     func() time.Time
	log     *slog.Logger
	apiKeys []string
	origin  string
}

// New checks cfg, fills in defaults and returns a Minter.
func New(cfg Config) (*Minter, error) {
	if len(cfg.Secrets) == 0 {
		return nil, ErrNoSecret
	}
	for i, s := range cfg.Secrets {
		if s == "" {
			return nil, fmt.Errorf("%w: Secrets[%d] is empty", ErrNoSecret, i)
		}
	}
	m := &Minter{
		secrets: append([]string(nil), cfg.Secrets...),
		ttl:     int64(DefaultTTL / time.Second),
		sep:     DefaultSeparator,
		uris:    append([]string{}, cfg.URIs...),
		now:     cfg.Now,
		log:     cfg.Logger,
		origin:  cfg.AllowOrigin,
	}
	if cfg.TTL != 0 {
		m.ttl = int64(cfg.TTL / time.Second)
		if m.ttl < 1 || m.ttl >= maxAhead {
			return nil, fmt.Errorf("%w: TTL %v is not between 1 s and 2^31 s", ErrBadConfig, cfg.TTL)
		}
	}
	if cfg.Separator != "" {
		s := cfg.Separator
		if len(s) != 1 || s[0] <= ' ' || s[0] > '~' || (s[0] >= '0' && s[0] <= '9') {
			return nil, fmt.Errorf("%w: Separator %q must be one printable ASCII byte, not a digit", ErrBadConfig, s)
		}
		m.sep = s[0]
	}
	for _, u := range m.uris {
		if !hasScheme(u, "turn:", "turns:", "stun:", "stuns:") {
			return nil, fmt.Errorf("%w: URI %q is not a turn:, turns:, stun: or stuns: URI", ErrBadConfig, u)
		}
		// URIs go into JSON and into Link headers as <uri>: keep them to the
		// RFC 3986 characters, which excludes space, quotes and angle brackets.
		if i := strings.IndexFunc(u, func(r rune) bool { return r <= ' ' || r > '~' || strings.ContainsRune(`"<>\^`+"`{|}", r) }); i >= 0 {
			return nil, fmt.Errorf("%w: URI %q has a character not allowed in a URI at %d", ErrBadConfig, u, i)
		}
	}
	for i, k := range cfg.APIKeys {
		if k == "" {
			return nil, fmt.Errorf("%w: APIKeys[%d] is empty", ErrBadConfig, i)
		}
	}
	m.apiKeys = append([]string(nil), cfg.APIKeys...)
	if m.now == nil {
		m.now = time.Now
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	return m, nil
}

// Mint returns a credential for user (which may be empty) signed with the first
// secret, valid from now for the configured TTL. user must be printable ASCII
// without spaces or the separator; otherwise Mint returns ErrBadUser.
func (m *Minter) Mint(user string) (Credential, error) {
	if err := m.ready(); err != nil {
		return Credential{}, err
	}
	if err := validUser(user, m.sep); err != nil {
		return Credential{}, err
	}
	exp := m.now().Unix() + m.ttl
	username := strconv.FormatInt(exp, 10)
	if user != "" {
		username += string(m.sep) + user
	}
	if len(username) > MaxUsernameLen {
		return Credential{}, fmt.Errorf("%w: username would be %d bytes, more than %d", ErrBadUser, len(username), MaxUsernameLen)
	}
	return Credential{
		Username: username,
		Password: Password(m.secrets[0], username),
		TTL:      m.ttl,
		URIs:     append([]string{}, m.uris...),
		Expires:  time.Unix(exp, 0),
	}, nil
}

// ready reports ErrNoSecret for a Minter not made by New.
func (m *Minter) ready() error {
	if m == nil || len(m.secrets) == 0 {
		return fmt.Errorf("%w: zero Minter; make one with turnrest.New", ErrNoSecret)
	}
	return nil
}

// logger returns the Minter's logger, which discards for a zero Minter.
func (m *Minter) logger() *slog.Logger {
	if m == nil || m.log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return m.log
}

// Password returns base64(HMAC-SHA1(secret, username)), the password coturn
// derives for username in use-auth-secret mode. The HMAC covers the whole
// username, timestamp and separator included.
func Password(secret, username string) string {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func hasScheme(uri string, schemes ...string) bool {
	for _, s := range schemes {
		if len(uri) > len(s) && strings.EqualFold(uri[:len(s)], s) {
			return true
		}
	}
	return false
}
