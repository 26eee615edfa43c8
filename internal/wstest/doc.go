// Package wstest is the WebSocket client of the signaling packages' tests
// (signaling/apprtc, signaling/natsbackplane): a github.com/coder/websocket
// connection whose frames, from the first read on, a goroutine reads as
// they come, so that a read that times out leaves the connection open
// (coder/websocket drops a connection whose read's context ends) and
// pings and the server's close handshake are answered at once; a client
// that never reads answers nothing, as a dead one. With the Collider's
// register, send and msg frames.
package wstest
