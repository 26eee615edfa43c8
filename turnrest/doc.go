// Package turnrest mints and verifies ephemeral TURN credentials as the TURN
// REST API describes them (draft-uberti-behave-turn-rest-00) and as coturn
// checks them in its use-auth-secret mode, and serves them over HTTP.
//
// # Credentials
//
// The application server and the TURN servers share a secret. For each
// client the server mints
//
//	username = "<expiry unix time>:<user id>"    (or "<expiry>" alone)
//	password = base64(HMAC-SHA1(secret, username))
//
// and hands out the pair with a TTL and the TURN URIs. The TURN server
// recomputes the password from the username, so it keeps no per-user state
// (coturn: --use-auth-secret --static-auth-secret=<secret> --realm=<realm>).
// Minter.Mint produces credentials; Config.Secrets may hold several secrets
// so that one can be rotated: the first signs, all verify, as coturn tries
// each of its static-auth-secret values (and turn_secret rows) in turn.
//
// # Verification, as coturn does it
//
// Minter.Verify and Minter.Keys follow coturn's get_user_key
// (src/apps/relay/userdb.c): the timestamp is found with the rules of
// get_rest_api_timestamp (see ParseUsername; "<ts>:<user>", "<user>:<ts>",
// ":<ts>" and "<ts>" are all accepted, split at the first separator), the
// credential is accepted iff ts >= now (ns_turn_defs.h turn_time_before), and
// the HMAC covers the whole username. Passwords are compared in constant time.
//
// A TURN server written in Go authenticates a request with the long-term
// credential mechanism of RFC 8489 §9.2: the MESSAGE-INTEGRITY key is
// MD5(username ":" realm ":" password) (§9.2.2; LongTermKey). Minter.Keys
// returns that key for every configured secret, and Minter.FindKey returns
// the one that verifies a given message, which is what rotation needs.
// coturn refuses a REST credential whose MESSAGE-INTEGRITY is not the
// HMAC-SHA1 size; LongTermKeySHA256 serves servers that implement the
// SHA-256 password algorithm of RFC 8489 §18.5.1.2 as well.
//
// # HTTP
//
// Handler answers the draft's request "GET /?service=turn&username=U&key=K"
// (and Janus's POST of the same parameters) with
//
//	{"username":"1700086400:U","password":"...","ttl":86400,"uris":["turn:..."]}
//
// (FormatREST) or, for browsers and AppRTC clients (POST /v1alpha/iceconfig),
// with the W3C RTCIceServer list (FormatICE, webrtc-pc §4.2.4):
//
//	{"lifetimeDuration":"86400.000s","iceServers":[{"urls":["turn:..."],"username":"...","credential":"..."}]}
//
// Credential.LinkHeaders gives the same credential as the Link header values a
// WHIP/WHEP server sends (RFC 9725 §4.6).
//
// Every error is answered as JSON {"error":"..."}, a body that cannot be
// read included (413, 408, 400; see Handler), also behind
// internal/httpserver's body cap.
//
// Optional API keys (Config.APIKeys) are checked in constant time; optional
// CORS (Config.AllowOrigin) lets pages on other origins fetch credentials.
// Responses are never cached (Cache-Control: no-store), and neither the
// secret nor any password or API key is ever written to a log.
//
// Mint makes usernames of at most MaxUsernameLen (508) bytes: RFC 8489 §14.3
// wants USERNAME shorter than 509 bytes, and browsers reject longer ones.
// Verify accepts up to MaxParsedUsernameLen (513) bytes, as coturn does.
//
// Credentials cannot be revoked before they expire (the draft says so too):
// keep the TTL as short as the application allows.
package turnrest
