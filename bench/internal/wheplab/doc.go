// Package wheplab is a light WHEP load client for benchmarks: many viewers
// in one process and few goroutines, so that the client costs far less CPU
// than the server it loads.
//
// Each viewer is one non-blocking UDP socket on loopback. It makes a
// recvonly offer with package sdp, POSTs it to a WHEP URL
// (draft-ietf-wish-whep §4.2: 201 and the answer), sends a STUN Binding
// request with USE-CANDIDATE to the server's first UDP candidate as the
// controlling agent (RFC 8445 §7.2.2, §8.1.1: aggressive nomination is all an
// ICE-lite server needs, and a full agent such as pion's accepts it too),
// runs the DTLS-SRTP handshake with package dtlssrtp in the role the answer
// gives, and then only counts: RTP packets and bytes per SSRC, and the
// sequence numbers expected (RFC 3550 §A.3: highest extended sequence
// number minus the first, plus one), whose difference with the packets
// received is the loss. Media is not decoded. SRTP authentication is
// checked on a sample (Config.VerifyEvery), which proves the keys without
// paying AES-GCM on every packet in the client.
//
// Goroutines: a few epoll shards read every socket with recvmmsg
// (Config.Shards), one pacer sends consent checks every ~5 s per viewer
// (RFC 7675 §5.1), and Config.SetupConcurrency goroutines set viewers up.
// No goroutine of this package belongs to one viewer; pion/dtls keeps three
// idle ones per established connection (its record reader, and the
// handshake waiting to answer a retransmitted last flight), which do
// nothing while media flows and end with the session's close_notify. A full
// ICE server (pion) also sends checks to the client: the shards answer
// them.
//
// Linux only (epoll, recvmmsg).
package wheplab
