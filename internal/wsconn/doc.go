// Package wsconn is the server side of a signaling WebSocket
// (github.com/coder/websocket, RFC 6455) as signaling/apprtc and
// signaling/kvs serve it: an outbox of items that one goroutine writes in
// order, each frame within a write time-out; a ping every interval, the
// connection dropped when the previous one is unanswered (RFC 6455 §5.5.2,
// §5.5.3); a close handshake with the status chosen by the first close
// (§7.1.2), or none when the peer does not read; bounded frame reads into
// pooled buffers; and a token bucket for a per-connection message rate.
//
// A Conn is made before the upgrade (New), so that it can be bound in a
// store and armed with timers first; Serve starts its write loop on the
// accepted WebSocket; the read loop is the caller's, and Finish ends the
// connection once it returns.
package wsconn
