// Package peer is streamwire's server-side WebRTC endpoint: what a media
// server creates for each viewer and each publisher. It composes package
// ice (an ICE-lite session on a Mux that every peer shares), package
// dtlssrtp (the DTLS handshake and the SRTP keys, RFC 5763, RFC 5764) and
// package sdp (the offer/answer, RFC 8829), and keeps the RTP/RTCP state of
// each track.
//
// # Connecting
//
// Answer takes a remote offer and a Config (the shared Mux, the
// certificate, the local candidates, and the media in Config.SDP), and
// returns a Peer whose LocalDescription is the answer: ice-lite, the
// candidates in order, a=end-of-candidates, one codec per m-section plus
// RTX, and the data channel m-section rejected (port 0), as there is no
// SCTP. Every accepted m-section must be bundled (RFC 8843). The peer then
// waits for the remote side's nomination (RFC 8445 §7.3.1.5) and runs the
// DTLS handshake in the role the answer set; Connected is closed once
// media can flow, within Config.ConnectTimeout. SRTP packets that arrive
// before the handshake ends on our side are kept and handled once the
// keys are there, since the remote side sends its first key frame as soon
// as its own side is done. Offer makes the peer's own offer instead (an
// Offering, whose Accept reads the remote answer and returns the Peer).
// Renegotiate answers a later offer that restarts
// ICE (RFC 8445 §9), and RestartICE does the same for a WHIP/WHEP PATCH
// (RFC 9725 §4.4); the media keeps flowing on the selected pair meanwhile.
//
// # Sending (a viewer)
//
// A LocalTrack is one sending m-section. LocalTrack.WriteRTP writes a
// packet's sequence number, timestamp, marker and payload under the
// track's SSRC and payload type, with abs-send-time when negotiated,
// protects it and sends it on the selected pair, without allocating;
// WriteRTPBatch sends a frame's packets in one sendmmsg(2), and a Batch
// sends the packets of many viewers' tracks in one (ice.Mux.WriteBatch),
// with their sender reports. WriteRTPShared, for a payload nobody
// modifies (a relay's frame, sent to every viewer), keeps a reference to
// it for retransmissions instead of a copy.
// Sender reports (RFC 3550 §6.4.1) map the newest RTP timestamp to when
// it was sent, or, after LocalTrack.MapTimestamp, to the instant its user
// says it belongs to: a relay maps each frame to its arrival, so that
// audio delayed by a transcoder still lines up with the video. Key
// frame requests from the remote side (PLI, RFC 4585 §6.3.1; FIR, RFC 5104
// §4.3.1) reach Config.OnKeyFrameRequest at most once per
// KeyFrameRequestInterval per track.
//
// # Receiving (a publisher)
//
// A RemoteTrack is one receiving m-section. Its packets are routed by the
// SSRCs of the offer (RFC 5576), or by payload type for an offer without
// a=ssrc lines; RTX packets (RFC 4588) are turned back into the packets
// they repair; Config.OnRTP receives each on the peer's read goroutine.
// RemoteTrack.RequestKeyFrame sends a PLI.
//
// # Bandwidth feedback
//
// For media it receives, the answer negotiates transport-cc
// (draft-holmer-rmcat-transport-wide-cc-extensions-01) and goog-remb when
// the offer has them: libwebrtc's send-side estimator ramps a browser
// publisher up on transport-wide feedback, and REMB serves senders without
// it. A peer that only sends (MediaConfig.Direction SendOnly) leaves
// transport-cc out and writes abs-send-time, so that the remote receiver
// estimates the bandwidth itself and reports it with REMB.
//
// # Goroutines and shutdown
//
// A connected Peer runs six goroutines (see Peer). Close, a consent expiry
// on the Mux (RFC 7675) and a close_notify from the remote side each stop
// the peer; Done is closed when its goroutines, ICE session, DTLS
// association, timers and buffers are released, and Err says why.
package peer
