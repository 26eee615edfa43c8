// Package rtmp implements the wire layer of RTMP: the handshake, the chunk
// stream, protocol control messages, AMF0 (and the AMF3 parts RTMP peers
// use), and the FLV / Enhanced RTMP payloads of audio and video messages.
//
// It follows the Adobe RTMP specification 1.0 (December 2012):
//
//   - §5.2 handshake (C0/C1/C2, S0/S1/S2), plus the digest ("complex")
//     handshake Flash Player, FMS, ffmpeg, nginx-rtmp and SRS use: see
//     ServerHandshake and ClientHandshake;
//   - §5.3 chunking: ChunkReader and ChunkWriter (chunk types 0-3,
//     extended timestamps, interleaved chunk streams), and Conn, which adds
//     deadlines, automatic acknowledgements and concurrent writers;
//   - §5.4 protocol control messages (Set Chunk Size, Abort,
//     Acknowledgement, Window Acknowledgement Size, Set Peer Bandwidth) and
//     §7.1.7 user control events: control.go;
//   - §7.1.1, §7.1.2 command and data messages in AMF0 (AMF0 specification,
//     2007), with AMF3 values after the AVM+ marker (AMF3 specification
//     §3) and the AMF3 command/data message types 17 and 15: Command,
//     DecodeAMF0, AppendAMF0;
//   - §7.1.5 audio and video messages, whose bodies are FLV tag bodies (FLV
//     specification 10.1, annex E), and Veovera's Enhanced RTMP v1 and v2
//     (FourCC codecs such as hvc1, av01, vp09, Opus; multitrack; ModEx):
//     ParseVideoTag, ParseAudioTag, and FLV file writing helpers;
//   - §7.1.6 aggregate messages: AggregateIter.
//
// # Using it
//
// A server accepts a net.Conn, runs ServerHandshake, then wraps the conn
// with NewConn and loops on Conn.ReadMessage. Commands (TypeCommandAMF0 and
// TypeCommandAMF3) decode with ParseCommand and replies are built with
// Command.Message; protocol control messages are sent with the ChunkWriter
// methods inside Conn.WithWriter (WriteWindowAckSize,
// WriteSetPeerBandwidth, WriteSetChunkSize, WriteUserControl). Audio and
// video payloads parse with ParseAudioTag and ParseVideoTag. A client runs
// ClientHandshake instead and the same Conn loop.
//
// # Buffer validity
//
// Decoders work on caller-owned bytes and return values that alias them.
// ChunkReader.ReadMessage returns a Message whose Payload aliases a buffer
// owned by the reader: it is valid only until the next call to ReadMessage
// on that reader (the same contract as golang.org/x/net/http2's
// Framer.ReadFrame). Copy the payload to keep it. ParseVideoTag and
// ParseAudioTag fill structs whose byte slices alias the payload they were
// given. Encoders append to a caller-supplied slice.
//
// # Limits
//
// A peer cannot make this package allocate more than ReaderConfig allows:
// message lengths are checked against MaxMessageSize before any byte is
// buffered, and buffers grow only as payload bytes arrive. The number of
// chunk streams, the chunk size and AMF nesting are bounded, and Conn sets
// read and write deadlines on every operation.
package rtmp
