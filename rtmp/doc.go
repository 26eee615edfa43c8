// Package rtmp implements RTMP (Adobe RTMP specification 1.0, December
// 2012): a server, a client, and the wire layer under them.
//
// # Serving
//
// NewServer returns a Server that accepts RTMP (and RTMPS) connections and
// runs their sessions: handshake, connect, createStream, publish, play and
// the legacy commands that encoders and players send. What happens to a
// stream is decided by a Handler: it authorizes each publish and play
// request and returns where media goes (a MediaSink) or comes from (a
// MediaSource). Package relay provides the Handler of a live server (one
// publisher fanned out to any number of players, starting on a keyframe):
//
//	hub := relay.NewHub(relay.Config{})
//	srv := rtmp.NewServer(rtmp.ServerConfig{Handler: &relay.RTMPHandler{Hub: hub}})
//	err := srv.ListenAndServe(ctx, ":1935") // ErrServerClosed once ctx is done
//
// # Publishing and playing
//
// Dial connects to a server with an rtmp:// or rtmps:// URL
// ("rtmp://host/app/name?query"); Client.Publish then Client.WriteMedia, or
// Client.Play then Client.ReadMedia.
//
// # Payloads
//
// Command and data messages are AMF0 (package rtmp/amf0); audio and video
// payloads are FLV tag bodies, legacy or Enhanced RTMP (package rtmp/flv).
// A server sends Enhanced RTMP codecs (Opus, HEVC, AV1...) only to players
// that announced them in their connect command: StreamRequest.AcceptsFourCC
// reads fourCcList (Enhanced RTMP v1) and the v2 FourCC info maps.
//
// # Wire layer
//
// For other servers and tools, the layers are exported:
//
//   - §5.2 handshake (C0/C1/C2, S0/S1/S2), plus the digest ("complex")
//     handshake of Flash Player, FMS, ffmpeg, nginx-rtmp and SRS:
//     ServerHandshake and ClientHandshake;
//   - §5.3 chunking: ChunkReader and ChunkWriter (chunk types 0-3,
//     extended timestamps, interleaved chunk streams), and Conn, which adds
//     deadlines, acknowledgements and concurrent writers;
//   - §5.4 protocol control messages and §7.1.7 user control events:
//     control.go;
//   - §7.1.1, §7.1.2 command messages: Command, ParseCommand, and the AMF3
//     command and data message types 17 and 15 (DecodeAMFPayload);
//   - §7.1.6 aggregate messages: AggregateIter.
//
// # Buffer validity
//
// ChunkReader.ReadMessage returns a Message whose Payload aliases a buffer
// owned by the reader: it is valid only until the next call to ReadMessage
// on that reader (the same contract as golang.org/x/net/http2's
// Framer.ReadFrame). Message.Clone keeps it. Encoders append to a
// caller-supplied slice.
//
// # Limits
//
// A peer cannot make this package allocate more than ReaderConfig allows:
// message lengths are checked against MaxMessageSize before any byte is
// buffered, buffers grow only as payload bytes arrive, and all partial
// messages of a connection share one budget (MaxBufferedBytes), and those
// of a Server one more (ServerConfig.MaxBufferedBytes); past either, the
// connection ends with ErrBudget. The number of
// chunk streams, the chunk size and AMF nesting are bounded, and Conn sets
// read and write deadlines on every operation.
package rtmp
