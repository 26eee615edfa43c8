// Package apprtc is an AppRTC room server and Collider (the WebSocket
// signaling server that comes with it) in one http.Handler, speaking the
// wire format of webrtc/apprtc (apprtc.py, constants.py and
// src/collider/collider) so that AppRTC's web client, the AppRTCMobile apps
// for Android and iOS, and pages written against them work unchanged.
// signaling.md §1 in the project's shared reference gives the format field
// by field; this overview sums it up.
//
// # URL layout
//
// Mount a Server on every pattern of Paths (see Server and Paths):
//
//	POST   /join/{room}                 seat a new client (room server)
//	POST   /message/{room}/{client}     a signaling message from the client
//	POST   /leave/{room}/{client}       free the client's seat
//	GET    /params                      the room-independent parameters
//	GET    /r/{room}                    the two-party call page (HTML)
//	GET    /collider/ws                 the Collider WebSocket
//	POST   /collider/{room}/{client}    a message from the client (Collider)
//	DELETE /collider/{room}/{client}    remove the client (Collider)
//	GET    /collider/status             Collider's counters
//
// The ICE endpoint is not here: ice_server_url names this server's
// /v1alpha/iceconfig (Config.ICEConfigPath), which turnrest's FormatICE
// handler serves. Room and client ids are 1 to MaxIDLen (64) of
// [a-zA-Z0-9_-]; other paths get 404 (room server) or "Invalid path"
// (Collider).
//
// # Room server
//
// POST /join/{room} answers, with HTTP 200 in every case,
//
//	{"result":"SUCCESS","params":{"room_id":"R","room_link":"https://host/r/R",
//	 "client_id":"12345678","is_initiator":"true","messages":[],
//	 "pc_config":"{\"iceServers\": [], \"bundlePolicy\": \"max-bundle\", \"rtcpMuxPolicy\": \"require\"}",
//	 "pc_constraints":"{\"optional\": []}","offer_options":"{}",
//	 "media_constraints":"{\"audio\": true, \"video\": true}",
//	 "ice_server_url":"https://host/v1alpha/iceconfig","ice_server_transports":"",
//	 "wss_url":"wss://host/collider/ws","wss_post_url":"https://host/collider",
//	 "is_loopback":"false","include_loopback_js":"","header_message":null,
//	 "error_messages":[],"warning_messages":[],"bypass_join_confirmation":"false",
//	 "version_info":"null"}}
//
// or {"result":"FULL","params":{"messages":[]}} (likewise DUPLICATE_CLIENT
// and ERROR). is_initiator, pc_config and the other values apprtc.py
// writes with json.dumps are strings holding JSON, with Python's ", " and
// ": " separators; clients rely on that (the web client compares
// is_initiator with the string 'true'). A room has two seats. The first
// joiner is the initiator; while alone it POSTs its messages to
// /message/{room}/{client}, which saves them ({"result":"SUCCESS"}); the
// second joiner gets them, in order, as the strings of params.messages.
// Once the room has two seats, /message forwards the message through the
// Collider as a POST from the client would, and a forward that fails is
// HTTP 500, as upstream. /message answers UNKNOWN_ROOM, UNKNOWN_CLIENT or
// ERROR (not UTF-8, a full queue) in "result"; a body over MaxMessageBytes
// is 413 with {"result":"ERROR"}. /leave answers 200 with an empty body; the
// seat left becomes the initiator. /params is the params object without
// room_id, room_link, client_id, is_initiator and messages.
//
// The query parameters AppRTC clients pass through are honoured: wstls
// (false: ws:// and http://; true: wss:// and https://), wshpp (the
// Collider's host:port), ts (the ICE server's base URL; empty: no
// ice_server_url), apikey (?key= on ice_server_url), it (iceTransports in
// pc_config), tt (ice_server_transports), audio and video (true/false),
// dtls, dscp and ipv6 (pc_constraints). room_link repeats the query,
// HTML-escaped as apprtc.py does.
//
// # Collider
//
// A client opens the WebSocket and sends, once, right after the join,
//
//	{"cmd":"register","roomid":"R","clientid":"C"}
//
// then {"cmd":"send","msg":"<JSON text of a signaling message>"} (msg is a
// string). The server writes {"msg":"<that text>","error":""} followed by a
// newline, exactly as Go's json.Encoder in Collider: both keys always
// present, <, > and & escaped. A message to a client that has not
// registered is queued on its sender, and every queue of the other client
// is delivered when a client registers. Errors are {"msg":"","error":TEXT}
// with Collider's texts: "Duplicated register request", "Invalid register
// request: missing 'clientid' or 'roomid'", "Max room capacity reached",
// "Duplicated registration", "Client not registered", "Invalid send
// request: missing 'msg'", "websocket.JSON.Receive error: <encoding/json's
// error>" (a frame over the limit: "... websocket: frame payload size
// exceeds limit"), each followed by a close; "Invalid message: unexpected
// 'cmd'" and "Too many messages queued for the client" leave the socket
// open. POST /collider/{room}/{client} sends its body as the client's
// message and DELETE removes the client; both answer "OK\n", errors are
// 500 text/plain ("Invalid path: ...", "Empty request body", "Failed to send
// the message: ..."). Every Collider HTTP answer carries
// Access-Control-Allow-Origin: *. GET /collider/status answers
// {"upsec":...,"openws":...,"totalws":...,"wserrors":...,"httperrors":...}.
//
// # Seats are never held forever
//
// A client that joined and has not registered a WebSocket within
// RegisterTimeout (10 s) loses its seat; so does a Collider client made by
// POST. A client whose WebSocket closed keeps its seat and its queues for
// ReconnectGrace (10 s) so that it can register again, and is then removed.
// Removing a Collider client (time-out, grace, DELETE) frees its room seat
// too: upstream Collider posted a "bye" for this to a room server that never
// served it, so a crashed client held its seat until /leave and the room
// stayed FULL. A WebSocket must send its register within RegisterTimeout;
// the server pings every PingInterval (25 s) and drops a client that has
// not answered by the next ping; a registered client may stay quiet for
// IdleTimeout (24 h, Collider's read deadline).
//
// # Limits
//
// Each queue (a client's Collider queue, its saved room-server messages, a
// WebSocket's outbox) holds at most MaxQueuedMessages (1,024, Collider's
// maxQueuedMsgCount) messages and MaxQueuedBytes (1 MiB). A WebSocket whose
// outbox is over that (a client that does not read) is dropped and the
// message stays queued for its reconnect. One message is at most
// MaxMessageBytes (64 KiB); a frame at most 2*MaxMessageBytes+1 KiB. Each
// WebSocket sends at most MessageRate send frames a second (20), with
// bursts of MessageBurst (50); a send over the rate gets the error frame
// "Invalid send request: too many messages" and is dropped, the socket
// stays open. Every read and write has a deadline; client strings reach
// logs through internal/logstr.
//
// # ICE
//
// By default pc_config.iceServers is empty and clients POST to
// ice_server_url, this server's turnrest endpoint, as AppRTC clients do
// when no server is configured. With Config.ICE (a *turnrest.Minter),
// pc_config carries the minted credential instead, one RTCIceServer per URI
// with "urls" a string, which Android's parser needs.
//
// # State across instances
//
// Rooms, seats, queues and registrations live behind Store. MemoryStore
// keeps them in one process; a backplane implements the same methods
// across server instances (a Sink is the WebSocket on the instance that
// holds it), so that two clients of one room may be served by different
// instances.
//
// # Differences from upstream AppRTC
//
//   - The Collider is under /collider on the same host, so wss_url is
//     wss://host/collider/ws and wss_post_url https://host/collider; wshpp
//     replaces the host:port only. /message reaches it in-process rather
//     than by an HTTP POST to wss_post_url.
//   - The scheme follows the request (or PublicURL) unless wstls says
//     otherwise; upstream always said wss:// unless wstls=false.
//   - ice_server_url has ?key= only when the client gave apikey (upstream
//     sent key=None, webrtc/apprtc#394).
//   - Seats are freed by the time-outs above; upstream held them for 24 h.
//   - Limits upstream did not have: id grammar and length, message size,
//     bytes per queue, a message rate, an error frame (not a silent drop) when a WebSocket
//     send finds the queue full or msg too large, a register deadline,
//     pings. Collider reused one frame struct across reads, so a send
//     without msg could repeat the previous message; here each frame
//     stands alone.
//   - Not served: debug=loopback (loopback.js), media constraint strings
//     other than true/false for audio and video, the hd parameter, the main
//     page at /, /a/ and /compute/ (analytics, GCE admin).
//
// The real AppRTC web client and AppRTCMobile cannot run in this project's
// tests; the tests' client is ours, golden transcripts from signaling.md
// pin every byte, and the interop tests run the call page of /r/{room},
// which calls the room server and the Collider as the web client does, in
// two headless Chromium processes.
package apprtc
