// Package whip serves WHIP, the WebRTC-HTTP Ingestion Protocol (RFC 9725),
// and WHEP, its egress twin (draft-ietf-wish-whep-03), over one http.Handler,
// and is a client of both. It knows media only through a small interface: an
// offer and a stream name go into a Backend, an answer and a Session come
// out, so the HTTP layer is built and tested without relay or peer.
//
// # URL map
//
// Under the prefixes Config.WHIPPath ("/whip/") and Config.WHEPPath
// ("/whep/"), where the server mounts the Handler:
//
//	/whip/APP/NAME             WHIP endpoint of stream APP/NAME (the stream of rtmp://HOST/APP/NAME)
//	/whep/APP/NAME             WHEP endpoint
//	/whip/APP/NAME/SESSIONID   a session: PATCH, DELETE
//
// NAME may have several segments, as MediaMTX takes the whole path for the
// stream's name: /whep/live/a/b plays "live/a/b", the stream an RTMP client
// publishes to rtmp://HOST/live/a/b (see Stream). The session ID is 192
// random bits in base64url. It alone authorizes PATCH and DELETE: OBS
// clears the query string when it resolves the Location, so a stream key in
// the query would not survive. A last segment of an ID's shape is a session
// ID when a session of it is live or the method is PATCH or DELETE, and part
// of NAME otherwise (path.go). Every other path gets 404.
//
// # What is implemented, by section of RFC 9725
//
//   - §4.1: GET and HEAD answer 2xx with no content; HEAD on a WHEP endpoint
//     answers 200 with Content-Type: application/sdp (WHEP's discoverability).
//     Unknown methods get 405 with Allow.
//   - §4.2: POST application/sdp answers exactly 201 (OBS accepts nothing
//     else) with an absolute Location, an ETag, and the backend's
//     application/sdp answer; another Content-Type gets 415, an empty or
//     malformed offer 400. DELETE answers 200 (OBS logs anything else as a
//     failure) and closes the session. OPTIONS answers 200 with Accept-Post:
//     application/sdp.
//   - §4.3.1: PATCH application/trickle-ice-sdpfrag (RFC 8840); another type
//     gets 415 with Accept-Patch, a fragment that does not parse 400. Each
//     ICE session has a strong entity tag (RFC 9110 §8.8.3), sent in the 201
//     and in the 200 of each restart; a PATCH whose If-Match does not match
//     gets 412. A Session that supports only one of trickle and restart
//     answers the other with ErrUnsupported: 422.
//   - §4.3.2: a trickle PATCH answers 204, with no body and no ETag.
//   - §4.3.3: a PATCH with new ice-ufrag and ice-pwd restarts ICE: 200, a new
//     ETag and the server's fragment; a failed restart keeps the old session.
//   - §4.4: the offer's constraints (BUNDLE, one MediaStream, DTLS role) are
//     the backend's to check; its ErrUnsupported, sdp.ErrNoMedia and
//     sdp.ErrSetup answer 422, ErrBadOffer and sdp.ErrParse 400.
//   - §4.5: ErrOverloaded and Config.MaxSessions answer 503 with Retry-After.
//     The Handler issues no redirects; Client follows a 307.
//   - §4.6: one Link: <uri>; rel="ice-server" header line per STUN or TURN
//     server (OBS reads one link per line, GStreamer one per rel and line),
//     with username, credential and credential-type="password" for TURN,
//     minted per request by a CredentialMinter such as *turnrest.Minter. They
//     go on the 201 and on an OPTIONS that is not a CORS preflight; no
//     credentials are minted for a preflight.
//   - §4.7: bearer tokens (RFC 6750 §2.1) for the server (PublishToken,
//     PlayToken) or per stream (Authorize); a refused POST gets 401 with
//     WWW-Authenticate: Bearer.
//
// WHEP (draft-ietf-wish-whep-03) adds 409 Conflict with Retry-After for a
// stream that nobody publishes (ErrNotPublished). A backend may instead
// answer such a player at once and hold it until a publisher comes, closing
// the session (through Session.Done, with a log line) on a codec mismatch.
//
// CORS (Fetch standard): every answer, errors included, allows any origin
// (or those of Config.AllowOrigins), the methods POST, PATCH, DELETE and
// OPTIONS and the request headers Authorization, Content-Type and If-Match,
// and exposes Location, Link, ETag and Retry-After, without which a page can
// read neither the session URL nor the back-off.
//
// # Deviations, and why
//
//   - A PATCH without If-Match is accepted, where RFC 9725 §4.3.1 answers 428
//     Precondition Required: medooze's whep.js never reads the 201's ETag, so
//     its trickle PATCHes carry none, nor do other players'. A stale If-Match
//     still gets 412. Config.StrictIfMatch restores the 428.
//   - RFC 9725 §4.3.3 takes any PATCH with changed credentials for an ICE
//     restart. One that carries the credentials of an ICE session that a
//     restart replaced is a trickle that arrived late (PATCHes may overlap,
//     §4.3.1); it is answered 204 and dropped, as RFC 8840 §4.4 drops it,
//     instead of restarting ICE back to old credentials.
//   - If-Match: "*" (quoted, as RFC 9725 §4.3.3's example writes it) is the
//     wildcard, and an entity tag sent without its quotes is read as if
//     quoted.
//   - An Authorization value without a scheme is taken as a bare token:
//     Eyevinn's player sends the configured key verbatim.
//   - PATCH and DELETE need no bearer token: the session URL is the
//     credential. Clients send the token anyway (RFC 9725 §4.7); it is
//     ignored.
//   - A CORS preflight is any OPTIONS with Access-Control-Request-Method;
//     RFC 9725 §4.6's own definition of one is garbled.
//   - The client always offers. The server-offer flow of early WHEP drafts
//     and WHEP -03's 406 counter-offer are not implemented: Eyevinn's player
//     reads a 406 as "the server has no audio" and retries without it.
//   - Errors are text/plain, not RFC 9457 problem details (a MAY).
//
// Not implemented: the protocol extensions of RFC 9725 §4.9 and WHEP's
// server-sent events and layer selection; simulcast (§4.8) is the backend's.
//
// # Real clients
//
// The tests replay the requests of OBS 30+, ffmpeg 8's WHIP muxer,
// GStreamer's whipclientsink, medooze's whip-whep 1.2.0 and Eyevinn's WHEP
// player, rebuilt from their source, and check the answers with the rules
// each applies: OBS and ffmpeg send no PATCH, so the answer must hold every
// server candidate (a UDP host candidate first, the only one ffmpeg reads);
// ffmpeg wants an answer that starts with "v=" and fits in 8192 bytes;
// Eyevinn uses a Location that does not start with '/' verbatim, so
// Location is always absolute (Config.PublicURL and TrustForwardedProto for
// a server behind a proxy).
//
// # Diagnostics and limits
//
// A session that receives no ICE check within Config.ConnectTimeout (10 s) is
// logged once, with the candidates of its answer and Config.ConnectHint:
// elsewhere that failure is a silent time-out. Client-supplied strings reach
// the log only through internal/logstr, and session IDs only as their first
// 8 characters. Offers and PATCH bodies are capped at Config.MaxOfferSize
// (1 MiB) and answered 413 above it; sessions at Config.MaxSessions. Each
// live session costs one parked goroutine.
package whip
