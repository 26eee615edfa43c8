package rtmp

import (
	"errors"
	"strconv"
)

// MessageType is the RTMP message type id (Adobe RTMP spec 1.0 §5.4, §7.1).
type MessageType uint8

// Message type ids.
const (
	TypeSetChunkSize     MessageType = 1  // §5.4.1, protocol control
	TypeAbort            MessageType = 2  // §5.4.2, protocol control
	TypeAck              MessageType = 3  // §5.4.3, protocol control
	TypeUserControl      MessageType = 4  // §6.2 / §7.1.7, user control events
	TypeWindowAckSize    MessageType = 5  // §5.4.4, protocol control
	TypeSetPeerBandwidth MessageType = 6  // §5.4.5, protocol control
	TypeAudio            MessageType = 8  // §7.1.5, FLV audio tag body
	TypeVideo            MessageType = 9  // §7.1.5, FLV video tag body
	TypeDataAMF3         MessageType = 15 // §7.1.2, data message, AMF3 (one format byte, then AMF0 in practice)
	TypeSharedObjectAMF3 MessageType = 16 // §7.1.3
	TypeCommandAMF3      MessageType = 17 // §7.1.1, command, one format byte then AMF0 values
	TypeDataAMF0         MessageType = 18 // §7.1.2, data message (onMetaData, @setDataFrame)
	TypeSharedObjectAMF0 MessageType = 19 // §7.1.3
	TypeCommandAMF0      MessageType = 20 // §7.1.1, command (connect, createStream, publish, play, ...)
	TypeAggregate        MessageType = 22 // §7.1.6
)

// String returns the spec name of the message type.
func (t MessageType) String() string {
	switch t {
	case TypeSetChunkSize:
		return "SetChunkSize"
	case TypeAbort:
		return "Abort"
	case TypeAck:
		return "Acknowledgement"
	case TypeUserControl:
		return "UserControl"
	case TypeWindowAckSize:
		return "WindowAckSize"
	case TypeSetPeerBandwidth:
		return "SetPeerBandwidth"
	case TypeAudio:
		return "Audio"
	case TypeVideo:
		return "Video"
	case TypeDataAMF3:
		return "DataAMF3"
	case TypeSharedObjectAMF3:
		return "SharedObjectAMF3"
	case TypeCommandAMF3:
		return "CommandAMF3"
	case TypeDataAMF0:
		return "DataAMF0"
	case TypeSharedObjectAMF0:
		return "SharedObjectAMF0"
	case TypeCommandAMF0:
		return "CommandAMF0"
	case TypeAggregate:
		return "Aggregate"
	}
	return "MessageType(" + strconv.Itoa(int(t)) + ")"
}

// Conventional chunk stream ids. The protocol only requires CSIDControl
// for protocol control messages; the others follow ffmpeg and OBS.
const (
	CSIDControl uint32 = 2 // protocol control and user control messages (§5.4, §6.2)
	CSIDCommand uint32 = 3 // commands and data messages
	CSIDAudio   uint32 = 4 // audio messages
	CSIDVideo   uint32 = 6 // video messages
)

// Message is one RTMP message (§6.1): a header plus a payload reassembled
// from one or more chunks.
type Message struct {
	// ChunkStreamID is the chunk stream that carried (or will carry) the
	// message: 2..65599.
	ChunkStreamID uint32
	// Type is the message type id.
	Type MessageType
	// StreamID is the message stream id (0 for control and NetConnection
	// commands, the id returned by createStream for media).
	StreamID uint32
	// Timestamp is the absolute timestamp in milliseconds. It wraps at
	// 2^32 (about 49.7 days), as the protocol does.
	Timestamp uint32
	// Payload is the message body. On messages returned by
	// ChunkReader.ReadMessage it aliases the reader's buffer; see there.
	Payload []byte
}

// Errors reported by the chunk stream and control message codecs. They are
// wrapped with context; test with errors.Is.
var (
	// ErrMessageTooLarge: a message header announced more bytes than
	// ReaderConfig.MaxMessageSize, or a writer was given a payload longer
	// than the 24-bit length field allows.
	ErrMessageTooLarge = errors.New("rtmp: message too large")
	// ErrChunkSize: Set Chunk Size outside 1..MaxChunkSize, or with the
	// reserved top bit set.
	ErrChunkSize = errors.New("rtmp: invalid chunk size")
	// ErrTooManyChunkStreams: the peer opened more chunk streams than
	// ReaderConfig.MaxChunkStreams.
	ErrTooManyChunkStreams = errors.New("rtmp: too many chunk streams")
	// ErrBadChunk: a chunk that cannot be interpreted, e.g. a first chunk
	// on a chunk stream that is not type 0, or a continuation header that
	// changes the message header.
	ErrBadChunk = errors.New("rtmp: malformed chunk")
	// ErrBadControl: a protocol control or user control message with a
	// wrong length or unknown event.
	ErrBadControl = errors.New("rtmp: malformed control message")
	// ErrBadChunkStreamID: a chunk stream id outside 2..65599.
	ErrBadChunkStreamID = errors.New("rtmp: invalid chunk stream id")
)

// Clone returns a copy of m whose Payload is newly allocated, to keep a
// message returned by ChunkReader.ReadMessage past the next read (a GOP
// cache, a queue to another goroutine).
func (m Message) Clone() Message {
	m.Payload = append([]byte(nil), m.Payload...)
	return m
}
