package rtmp

import (
	"fmt"

	"github.com/streamwire/streamwire/rtmp/amf0"
)

// Command is an RTMP command message (§7.1.1, §7.2): a name, a transaction
// id, a command object (an Object, or nil for AMF0 null) and optional
// arguments, e.g. connect, createStream, publish, play, _result, onStatus.
type Command struct {
	// Name is the command name, e.g. "connect" or "_result".
	Name string
	// TransactionID pairs a call with its _result or _error; 0 for
	// commands that expect no answer (onStatus, publish, play).
	TransactionID float64
	// Object is the command object: an amf0.Object (connect, the
	// properties of connect's _result) or nil, encoded as AMF0 null.
	Object any
	// Args are the values after the command object, e.g. the stream
	// name of publish or the info object of onStatus.
	Args []any
}

// DecodeAMFPayload decodes the AMF values of a command or data message
// body. For the AMF3 message types (15, 17) it skips the leading format
// byte and decodes the rest as AMF0, with AVM+ markers switching single
// values to AMF3, which is what Flash and FMS put there.
func DecodeAMFPayload(typ MessageType, payload []byte) ([]any, error) {
	switch typ {
	case TypeCommandAMF3, TypeDataAMF3:
		if len(payload) == 0 {
			return nil, fmt.Errorf("rtmp: empty %v payload: %w", typ, amf0.ErrMalformed)
		}
		payload = payload[1:]
	case TypeCommandAMF0, TypeDataAMF0:
	default:
		return nil, fmt.Errorf("rtmp: %v is not an AMF message: %w", typ, amf0.ErrMalformed)
	}
	vs, err := amf0.DecodeAll(payload)
	if err != nil {
		return nil, fmt.Errorf("rtmp: %v: %w", typ, err)
	}
	return vs, nil
}

// ParseCommand decodes a command message of type 20 (AMF0) or 17 (AMF3).
func ParseCommand(m Message) (Command, error) {
	if m.Type != TypeCommandAMF0 && m.Type != TypeCommandAMF3 {
		return Command{}, fmt.Errorf("rtmp: %v is not a command: %w", m.Type, amf0.ErrMalformed)
	}
	vs, err := DecodeAMFPayload(m.Type, m.Payload)
	if err != nil {
		return Command{}, err
	}
	var c Command
	if len(vs) == 0 {
		return c, fmt.Errorf("rtmp: command without a name: %w", amf0.ErrMalformed)
	}
	name, ok := vs[0].(string)
	if !ok {
		return c, fmt.Errorf("rtmp: command name is %T: %w", vs[0], amf0.ErrMalformed)
	}
	c.Name = name
	if len(vs) > 1 {
		// Some clients put null or nothing there; treat those as 0.
		c.TransactionID, _ = vs[1].(float64)
	}
	if len(vs) > 2 {
		c.Object = vs[2]
	}
	if len(vs) > 3 {
		c.Args = vs[3:]
	}
	return c, nil
}

// AppendTo appends the AMF0 body of the command (name, transaction id,
// command object, arguments) to b.
func (c Command) AppendTo(b []byte) ([]byte, error) {
	b = amf0.AppendString(b, c.Name)
	b = amf0.AppendNumber(b, c.TransactionID)
	var err error
	if b, err = amf0.Append(b, c.Object); err != nil {
		return b, fmt.Errorf("rtmp: command %q object: %w", c.Name, err)
	}
	if b, err = amf0.AppendValues(b, c.Args...); err != nil {
		return b, fmt.Errorf("rtmp: command %q arguments: %w", c.Name, err)
	}
	return b, nil
}

// Message returns c as an AMF0 command message (type 20) on chunk stream
// CSIDCommand and message stream streamID, with a newly allocated payload.
func (c Command) Message(streamID uint32) (Message, error) {
	p, err := c.AppendTo(nil)
	if err != nil {
		return Message{}, err
	}
	return Message{ChunkStreamID: CSIDCommand, Type: TypeCommandAMF0, StreamID: streamID, Payload: p}, nil
}
