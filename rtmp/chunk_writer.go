package rtmp

import (
	"encoding/binary"
	"fmt"
	"io"
)

// outStream is the send state of one chunk stream: the last message header
// written on it, so the next header can be compressed (§5.3.1.2).
type outStream struct {
	timestamp uint32
	tsField   uint32 // last timestamp field written: absolute (type 0) or delta
	length    uint32
	typ       MessageType
	streamID  uint32
	lastFull  bool // the last header was type 0: never follow it with a new-message type 3
}

// ChunkWriter writes RTMP messages as a chunk stream (Adobe RTMP spec 1.0
// §5.3). It picks the smallest chunk message header (type 0-3) that the
// previous message on the same chunk stream allows, splits payloads at the
// current chunk size, and writes extended timestamps, repeating them in
// type 3 chunks as the spec, ffmpeg and nginx-rtmp do.
//
// Each message is encoded into a reused buffer and written with one Write
// call; in steady state WriteMessage does not allocate. A ChunkWriter is not
// safe for concurrent use (Conn serialises writers).
type ChunkWriter struct {
	w         io.Writer
	chunkSize uint32
	streams   map[uint32]*outStream
	buf       []byte
	scratch   [10]byte
}

// NewChunkWriter returns a writer of the chunk stream w, which starts right
// after the handshake, with the default chunk size of 128 bytes.
func NewChunkWriter(w io.Writer) *ChunkWriter {
	return &ChunkWriter{w: w, chunkSize: DefaultChunkSize, streams: make(map[uint32]*outStream)}
}

// ChunkSize returns the chunk size used for outgoing messages.
func (w *ChunkWriter) ChunkSize() uint32 { return w.chunkSize }

// WriteMessage encodes m as chunks and writes them. m.ChunkStreamID must be
// in 2..65599 and the payload at most 0xFFFFFF bytes.
func (w *ChunkWriter) WriteMessage(m Message) error {
	if w.w == nil {
		return ErrNoConn
	}
	b, err := w.AppendMessage(w.buf[:0], m)
	if err != nil {
		return err
	}
	w.buf = b
	_, err = w.w.Write(b)
	return err
}

// AppendMessage appends the chunks of m to b and returns the extended
// slice, updating the chunk stream state as if the bytes were written. Use
// it to batch several messages into one write.
func (w *ChunkWriter) AppendMessage(b []byte, m Message) ([]byte, error) {
	if m.ChunkStreamID < 2 || m.ChunkStreamID > 65599 {
		return b, fmt.Errorf("rtmp: chunk stream id %d: %w", m.ChunkStreamID, ErrBadChunkStreamID)
	}
	if len(m.Payload) > 0xFFFFFF {
		return b, fmt.Errorf("rtmp: payload of %d bytes: %w", len(m.Payload), ErrMessageTooLarge)
	}
	if w.streams == nil { // zero ChunkWriter: the defaults of NewChunkWriter
		w.streams = make(map[uint32]*outStream)
		w.chunkSize = DefaultChunkSize
	}
	s := w.streams[m.ChunkStreamID]
	if s == nil {
		s = &outStream{}
		w.streams[m.ChunkStreamID] = s
		b = w.appendHeader(b, s, m, 0, m.Timestamp)
	} else {
		b = w.appendNextHeader(b, s, m)
	}
	extended := s.tsField >= maxTimestampField
	p := m.Payload
	for {
		n := len(p)
		if n > int(w.chunkSize) {
			n = int(w.chunkSize)
		}
		b = append(b, p[:n]...)
		p = p[n:]
		if len(p) == 0 {
			return b, nil
		}
		b = appendBasicHeader(b, 3, m.ChunkStreamID)
		if extended {
			b = binary.BigEndian.AppendUint32(b, s.tsField)
		}
	}
}

// appendNextHeader chooses the header type for a message following another
// on the same chunk stream.
func (w *ChunkWriter) appendNextHeader(b []byte, s *outStream, m Message) []byte {
	delta := m.Timestamp - s.timestamp
	switch {
	case m.StreamID != s.streamID || delta >= 0x80000000: // other stream, or time went backwards
		return w.appendHeader(b, s, m, 0, m.Timestamp)
	case uint32(len(m.Payload)) != s.length || m.Type != s.typ:
		return w.appendHeader(b, s, m, 1, delta)
	case delta != s.tsField || s.lastFull:
		// Readers disagree on what a type 3 after a type 0 means (delta
		// = the absolute time for ffmpeg, 0 for others): send type 2.
		return w.appendHeader(b, s, m, 2, delta)
	default:
		return w.appendHeader(b, s, m, 3, delta)
	}
}

// appendHeader appends a basic header and a message header of the given
// type, with field as the timestamp or timestamp delta, and records it.
func (w *ChunkWriter) appendHeader(b []byte, s *outStream, m Message, format uint8, field uint32) []byte {
	b = appendBasicHeader(b, format, m.ChunkStreamID)
	f24 := field
	if f24 > maxTimestampField {
		f24 = maxTimestampField
	}
	if format <= 2 {
		b = append(b, byte(f24>>16), byte(f24>>8), byte(f24))
	}
	if format <= 1 {
		n := len(m.Payload)
		b = append(b, byte(n>>16), byte(n>>8), byte(n), byte(m.Type))
	}
	if format == 0 {
		b = binary.LittleEndian.AppendUint32(b, m.StreamID)
	}
	if field >= maxTimestampField {
		b = binary.BigEndian.AppendUint32(b, field)
	}
	s.timestamp = m.Timestamp
	s.tsField = field
	s.length = uint32(len(m.Payload))
	s.typ = m.Type
	s.streamID = m.StreamID
	s.lastFull = format == 0
	return b
}

// appendBasicHeader appends a chunk basic header (§5.3.1.1) in its 1, 2 or
// 3 byte form.
func appendBasicHeader(b []byte, format uint8, csid uint32) []byte {
	switch {
	case csid < 64:
		return append(b, format<<6|byte(csid))
	case csid < 320:
		return append(b, format<<6, byte(csid-64))
	default:
		id := csid - 64
		return append(b, format<<6|1, byte(id), byte(id>>8))
	}
}

// writeControl writes a protocol control message (chunk stream 2, message
// stream 0, §5.4) whose payload is in w.scratch[:n].
func (w *ChunkWriter) writeControl(typ MessageType, n int) error {
	return w.WriteMessage(Message{ChunkStreamID: CSIDControl, Type: typ, Payload: w.scratch[:n]})
}

// WriteSetChunkSize sends Set Chunk Size (§5.4.1) and uses the new size for
// every later message.
func (w *ChunkWriter) WriteSetChunkSize(size uint32) error {
	if size == 0 || size > 0x7FFFFFFF {
		return fmt.Errorf("rtmp: chunk size %d: %w", size, ErrChunkSize)
	}
	binary.BigEndian.PutUint32(w.scratch[:4], size)
	if err := w.writeControl(TypeSetChunkSize, 4); err != nil {
		return err
	}
	w.chunkSize = size
	return nil
}

// WriteAbort sends Abort (§5.4.2) for chunk stream csid.
func (w *ChunkWriter) WriteAbort(csid uint32) error {
	binary.BigEndian.PutUint32(w.scratch[:4], csid)
	return w.writeControl(TypeAbort, 4)
}

// WriteAck sends Acknowledgement (§5.4.3) with the given sequence number
// (bytes received so far, see ChunkReader.AckDue).
func (w *ChunkWriter) WriteAck(sequence uint32) error {
	binary.BigEndian.PutUint32(w.scratch[:4], sequence)
	return w.writeControl(TypeAck, 4)
}

// WriteWindowAckSize sends Window Acknowledgement Size (§5.4.4).
func (w *ChunkWriter) WriteWindowAckSize(size uint32) error {
	binary.BigEndian.PutUint32(w.scratch[:4], size)
	return w.writeControl(TypeWindowAckSize, 4)
}

// WriteSetPeerBandwidth sends Set Peer Bandwidth (§5.4.5).
func (w *ChunkWriter) WriteSetPeerBandwidth(size uint32, limit LimitType) error {
	binary.BigEndian.PutUint32(w.scratch[:4], size)
	w.scratch[4] = byte(limit)
	return w.writeControl(TypeSetPeerBandwidth, 5)
}

// WriteUserControl sends a User Control message (§6.2, §7.1.7) on chunk
// stream 2, message stream 0.
func (w *ChunkWriter) WriteUserControl(u UserControl) error {
	p := u.AppendTo(w.scratch[:0])
	return w.WriteMessage(Message{ChunkStreamID: CSIDControl, Type: TypeUserControl, Payload: p})
}
