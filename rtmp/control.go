package rtmp

import (
	"encoding/binary"
	"fmt"
	"strconv"
)

// LimitType is the limit type of Set Peer Bandwidth (§5.4.5).
type LimitType uint8

// Limit types.
const (
	LimitHard    LimitType = 0 // limit output bandwidth to the window size
	LimitSoft    LimitType = 1 // limit to the window or the current limit, whichever is smaller
	LimitDynamic LimitType = 2 // hard if the previous limit was hard, else ignore
)

func parseUint32Control(typ MessageType, p []byte) (uint32, error) {
	if len(p) < 4 {
		return 0, fmt.Errorf("rtmp: %v payload of %d bytes, want 4: %w", typ, len(p), ErrBadControl)
	}
	return binary.BigEndian.Uint32(p), nil
}

// ParseSetChunkSize returns the chunk size carried by a Set Chunk Size
// payload (§5.4.1). The top bit must be zero and the size at least 1.
func ParseSetChunkSize(p []byte) (uint32, error) {
	n, err := parseUint32Control(TypeSetChunkSize, p)
	if err != nil {
		return 0, err
	}
	if n == 0 || n > 0x7FFFFFFF {
		return 0, fmt.Errorf("rtmp: Set Chunk Size %d: %w", n, ErrChunkSize)
	}
	return n, nil
}

// ParseAbort returns the chunk stream id carried by an Abort payload
// (§5.4.2).
func ParseAbort(p []byte) (csid uint32, err error) {
	return parseUint32Control(TypeAbort, p)
}

// ParseAck returns the sequence number carried by an Acknowledgement
// payload (§5.4.3).
func ParseAck(p []byte) (sequence uint32, err error) {
	return parseUint32Control(TypeAck, p)
}

// ParseWindowAckSize returns the window carried by a Window Acknowledgement
// Size payload (§5.4.4).
func ParseWindowAckSize(p []byte) (uint32, error) {
	return parseUint32Control(TypeWindowAckSize, p)
}

// ParseSetPeerBandwidth returns the window and limit type of a Set Peer
// Bandwidth payload (§5.4.5). A missing limit byte reads as LimitDynamic.
func ParseSetPeerBandwidth(p []byte) (size uint32, limit LimitType, err error) {
	size, err = parseUint32Control(TypeSetPeerBandwidth, p)
	if err != nil {
		return 0, 0, err
	}
	limit = LimitDynamic
	if len(p) >= 5 {
		limit = LimitType(p[4])
	}
	return size, limit, nil
}

// UserControlEvent is the event type of a User Control message (§7.1.7).
type UserControlEvent uint16

// User control event types.
const (
	EventStreamBegin      UserControlEvent = 0 // stream id: the stream became functional
	EventStreamEOF        UserControlEvent = 1 // stream id: playback ended
	EventStreamDry        UserControlEvent = 2 // stream id: no more data for now
	EventSetBufferLength  UserControlEvent = 3 // stream id + buffer length in ms (client to server)
	EventStreamIsRecorded UserControlEvent = 4 // stream id
	EventPingRequest      UserControlEvent = 6 // timestamp (server to client)
	EventPingResponse     UserControlEvent = 7 // timestamp echoed from the request
)

// String returns the spec name of the event.
func (e UserControlEvent) String() string {
	switch e {
	case EventStreamBegin:
		return "StreamBegin"
	case EventStreamEOF:
		return "StreamEOF"
	case EventStreamDry:
		return "StreamDry"
	case EventSetBufferLength:
		return "SetBufferLength"
	case EventStreamIsRecorded:
		return "StreamIsRecorded"
	case EventPingRequest:
		return "PingRequest"
	case EventPingResponse:
		return "PingResponse"
	}
	return "UserControlEvent(" + strconv.Itoa(int(e)) + ")"
}

// UserControl is a decoded User Control message (§7.1.7).
type UserControl struct {
	// Event is the event type (§7.1.7).
	Event UserControlEvent
	// StreamID is set for the stream events (StreamBegin, StreamEOF,
	// StreamDry, SetBufferLength, StreamIsRecorded).
	StreamID uint32
	// BufferLength is the buffer length in milliseconds (SetBufferLength).
	BufferLength uint32
	// Timestamp is set for PingRequest and PingResponse.
	Timestamp uint32
	// Data is the raw event data of events this package does not know
	// (e.g. Flash's buffer empty/ready 0x1f/0x20); it aliases the payload.
	Data []byte
}

// ParseUserControl decodes a User Control payload. Unknown events are not an
// error: their data is returned in Data.
func ParseUserControl(p []byte) (UserControl, error) {
	if len(p) < 2 {
		return UserControl{}, fmt.Errorf("rtmp: user control payload of %d bytes: %w", len(p), ErrBadControl)
	}
	u := UserControl{Event: UserControlEvent(binary.BigEndian.Uint16(p))}
	d := p[2:]
	need := 4
	if u.Event == EventSetBufferLength {
		need = 8
	}
	switch u.Event {
	case EventStreamBegin, EventStreamEOF, EventStreamDry, EventStreamIsRecorded, EventSetBufferLength, EventPingRequest, EventPingResponse:
		if len(d) < need {
			return UserControl{}, fmt.Errorf("rtmp: user control %v with %d data bytes, want %d: %w", u.Event, len(d), need, ErrBadControl)
		}
	default:
		u.Data = d
		return u, nil
	}
	v := binary.BigEndian.Uint32(d)
	switch u.Event {
	case EventPingRequest, EventPingResponse:
		u.Timestamp = v
	case EventSetBufferLength:
		u.StreamID = v
		u.BufferLength = binary.BigEndian.Uint32(d[4:])
	default:
		u.StreamID = v
	}
	return u, nil
}

// AppendTo appends the User Control payload to b.
func (u UserControl) AppendTo(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(u.Event))
	switch u.Event {
	case EventPingRequest, EventPingResponse:
		return binary.BigEndian.AppendUint32(b, u.Timestamp)
	case EventSetBufferLength:
		b = binary.BigEndian.AppendUint32(b, u.StreamID)
		return binary.BigEndian.AppendUint32(b, u.BufferLength)
	case EventStreamBegin, EventStreamEOF, EventStreamDry, EventStreamIsRecorded:
		return binary.BigEndian.AppendUint32(b, u.StreamID)
	}
	return append(b, u.Data...)
}
