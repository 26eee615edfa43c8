// Package httpserver is the one HTTP server that every HTTP endpoint of the
// streamwire server goes through: TURN REST and the ICE config today, WHIP/WHEP,
// the AppRTC room API, the Collider and KVS WebSockets later.
//
// It wraps net/http.Server with what a server facing the Internet needs and
// net/http leaves off by default:
//
//   - read-header, read, write and idle time-outs, so that a header or body
//     trickled at 1 byte/s and parked keep-alive connections are cut
//     (RFC 9112 §9.3 allows a server to close an idle connection at any time);
//   - a cap on header and body size: reading a body over Config.MaxBodyBytes
//     fails with an *http.MaxBytesError, which the handler answers with
//     413 Content Too Large (RFC 9110 §15.5.14) in its own format (BodyStatus
//     classifies read errors for it; BodyError answers in plain text);
//   - a per-IP and a server-wide connection cap, enforced at accept.
//
// # Long-lived exchanges
//
// A request's deadlines are set by the server: the read deadline ReadTimeout
// after the request starts, the write deadline WriteTimeout after its header
// was read. A long poll (KVS's SendAlexaOfferToMaster, an AppRTC message wait)
// that answers later than that calls Extend first, which moves both deadlines
// of its connection through http.ResponseController; without it the response
// is lost and the request's context is cancelled at ReadTimeout.
//
// A WebSocket takes its connection over (http.Hijacker), and net/http clears
// every deadline when it does: from then on nothing bounds the connection but
// the handler. A WebSocket handler therefore bounds each read and each write
// itself, with a context deadline on every github.com/coder/websocket call
// (the library closes the connection when one expires), so that a client that
// vanishes is dropped. Server.Serve still closes hijacked connections at
// shutdown, after ShutdownTimeout; RegisterOnShutdown lets their handlers say
// goodbye first (a Close frame, KVS's GO_AWAY).
package httpserver
