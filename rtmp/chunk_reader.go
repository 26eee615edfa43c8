package rtmp

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
)

// Defaults for ReaderConfig.
const (
	DefaultChunkSize = 128 // §5.4.1: initial chunk size in both directions
	// DefaultMaxMessageSize is the default ReaderConfig.MaxMessageSize:
	// the per-connection budget, since a longer message could never be
	// reassembled.
	DefaultMaxMessageSize = DefaultMaxBufferedBytes
	// DefaultMaxChunkSize is the default ReaderConfig.MaxChunkSize: the
	// whole range of §5.4.1 (the top bit is reserved).
	DefaultMaxChunkSize = 0x7FFFFFFF
	// DefaultMaxChunkStreams is the default ReaderConfig.MaxChunkStreams.
	// Encoders use 2 to 8 chunk streams.
	DefaultMaxChunkStreams = 64
	// maxMessageLength is the largest length a chunk message header can
	// announce (24 bits, §5.3.1.2.1). A chunk size at or above it puts
	// every message in one chunk, which is why §5.4.1 makes larger chunk
	// sizes equivalent to it.
	maxMessageLength  = 0xFFFFFF
	maxTimestampField = 0xFFFFFF // a 24-bit timestamp field with this value announces an extended timestamp (§5.3.1.3)
	readBufferSize    = 16 << 10
)

// ReaderConfig limits what a peer can make a ChunkReader do. The zero value
// works.
type ReaderConfig struct {
	// MaxMessageSize is the largest message length accepted in a chunk
	// message header, in bytes. Zero means DefaultMaxMessageSize (8 MiB);
	// it is at most 0xFFFFFF (the 24-bit length field) and at most
	// MaxBufferedBytes. Buffers grow as payload bytes actually arrive,
	// never up front from the header. Longer messages fail with
	// ErrMessageTooLarge.
	MaxMessageSize int
	// MaxChunkSize is the largest chunk size a peer may set with Set
	// Chunk Size; a larger one fails with ErrChunkSize. Zero means
	// DefaultMaxChunkSize (0x7FFFFFFF, all that §5.4.1 allows). Sizes
	// above 0xFFFFFF are used as 0xFFFFFF, as §5.4.1 says. 0 and sizes
	// with the top bit set are always refused.
	MaxChunkSize uint32
	// MaxChunkStreams is how many distinct chunk stream ids a peer may use
	// on one connection. Zero means DefaultMaxChunkStreams (64). More fail
	// with ErrTooManyChunkStreams.
	MaxChunkStreams int
	// MaxBufferedBytes is the per-connection budget for reassembly
	// buffers, in bytes: the capacity held for all partially received
	// messages of all chunk streams together, plus the small buffers kept
	// for the next message (at most 256 KiB per chunk stream). Zero means
	// DefaultMaxBufferedBytes (8 MiB). A peer that needs more fails with
	// ErrBudget.
	MaxBufferedBytes int

	// shared, when set (by a Server), is the server-wide budget that every
	// reservation is also charged to.
	shared *sharedBudget
}

func (c ReaderConfig) withDefaults() ReaderConfig {
	if c.MaxBufferedBytes <= 0 {
		c.MaxBufferedBytes = DefaultMaxBufferedBytes
	}
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	c.MaxMessageSize = min(c.MaxMessageSize, maxMessageLength, c.MaxBufferedBytes)
	if c.MaxChunkSize == 0 || c.MaxChunkSize > DefaultMaxChunkSize {
		c.MaxChunkSize = DefaultMaxChunkSize
	}
	if c.MaxChunkStreams <= 0 {
		c.MaxChunkStreams = DefaultMaxChunkStreams
	}
	return c
}

// inStream is the receive state of one chunk stream (§5.3.1): the last
// message header seen on it and the message being reassembled.
type inStream struct {
	timestamp uint32 // absolute timestamp of the current message
	tsField   uint32 // last timestamp field: absolute (type 0) or delta (types 1, 2)
	extended  bool   // the last type 0/1/2 header carried an extended timestamp
	length    uint32
	typ       MessageType
	streamID  uint32
	partial   bool   // a message is being reassembled
	buf       []byte // reassembly buffer, reused across messages up to retainedBufferCap
}

// countingReader counts the bytes received from the network, for
// acknowledgements (§5.4.3).
type countingReader struct {
	r io.Reader
	n uint64
}

// Read reads from the underlying reader and counts the bytes.
func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += uint64(n)
	return n, err
}

// ChunkReader reads RTMP messages from a chunk stream (Adobe RTMP spec 1.0
// §5.3): it parses chunk basic and message headers of types 0-3, extended
// timestamps, and reassembles messages across interleaved chunk streams.
// It applies the protocol control messages that change how chunks are read
// (Set Chunk Size, Abort) and remembers Window Acknowledgement Size, then
// returns those messages to the caller as well.
//
// A ChunkReader is not safe for concurrent use.
type ChunkReader struct {
	cfg       ReaderConfig
	cr        countingReader
	br        *bufio.Reader
	chunkSize uint32
	streams   map[uint32]*inStream
	hdr       [11]byte

	extRepeats int // type 3 chunks that repeated the extended timestamp (for tests)

	window  uint32 // acknowledgement window set by the peer; 0 = none
	lastAck uint64 // bytes received when the last acknowledgement was due

	held     int       // capacity of all reassembly buffers, charged to the budgets
	last     *inStream // stream of the message returned last, whose buffer the caller may still use
	released bool      // Release was called
}

// NewChunkReader returns a reader of the chunk stream r, which starts right
// after the handshake. The chunk size starts at 128 bytes (§5.4.1).
func NewChunkReader(r io.Reader, cfg ReaderConfig) *ChunkReader {
	cr := &ChunkReader{
		cfg:       cfg.withDefaults(),
		chunkSize: DefaultChunkSize,
		streams:   make(map[uint32]*inStream),
	}
	cr.cr.r = r
	cr.br = bufio.NewReaderSize(&cr.cr, readBufferSize)
	return cr
}

// ChunkSize returns the peer's current chunk size.
func (r *ChunkReader) ChunkSize() uint32 { return r.chunkSize }

// BytesRead returns how many bytes were received from the underlying reader
// (including bytes still buffered), the count acknowledgements report.
func (r *ChunkReader) BytesRead() uint64 { return r.cr.n }

// WindowAckSize returns the acknowledgement window the peer asked for with
// Window Acknowledgement Size (0 until it does).
func (r *ChunkReader) WindowAckSize() uint32 { return r.window }

// SetWindowAckSize sets the acknowledgement window, as a received Window
// Acknowledgement Size message does.
func (r *ChunkReader) SetWindowAckSize(n uint32) { r.window = n }

// AckDue reports whether at least one window of bytes has been received
// since the last acknowledgement was due (§5.4.3). If so it returns the
// sequence number to send in an Acknowledgement message (bytes received,
// modulo 2^32) and starts a new window. Conn calls it after every message;
// callers of a bare ChunkReader send the acknowledgement themselves.
func (r *ChunkReader) AckDue() (sequence uint32, due bool) {
	if r.window == 0 || r.cr.n-r.lastAck < uint64(r.window) {
		return 0, false
	}
	r.lastAck = r.cr.n
	return uint32(r.cr.n), true
}

// ReadMessage reads chunks until a message is complete and returns it.
//
// The returned Message's Payload aliases a buffer owned by the reader. It is
// valid only until the next call to ReadMessage; copy it to keep it. In
// steady state ReadMessage does not allocate: each chunk stream keeps its
// buffer for the next message, up to 256 KiB (a larger one is freed at the
// next call, and regrown as bytes arrive).
//
// Set Chunk Size and Abort messages are applied before they are returned;
// Window Acknowledgement Size sets the window used by AckDue.
func (r *ChunkReader) ReadMessage() (Message, error) {
	if r.br == nil {
		return Message{}, ErrNoConn
	}
	if r.released {
		return Message{}, fmt.Errorf("rtmp: chunk reader released: %w", net.ErrClosed)
	}
	// The caller is done with the last message: free its buffer if large.
	if s := r.last; s != nil && cap(s.buf) > retainedBufferCap && !s.partial {
		r.dropBuffer(s)
	}
	r.last = nil
	for {
		s, csid, done, err := r.readChunk()
		if err != nil {
			return Message{}, err
		}
		if !done {
			continue
		}
		m := Message{
			ChunkStreamID: csid,
			Type:          s.typ,
			StreamID:      s.streamID,
			Timestamp:     s.timestamp,
			Payload:       s.buf[:s.length],
		}
		r.last = s
		if err := r.apply(m); err != nil {
			return Message{}, err
		}
		return m, nil
	}
}

// apply acts on the protocol control messages that change reader state.
func (r *ChunkReader) apply(m Message) error {
	switch m.Type {
	case TypeSetChunkSize:
		n, err := ParseSetChunkSize(m.Payload)
		if err != nil {
			return err
		}
		if n > r.cfg.MaxChunkSize {
			return fmt.Errorf("rtmp: peer set chunk size %d above limit %d: %w", n, r.cfg.MaxChunkSize, ErrChunkSize)
		}
		r.chunkSize = min(n, maxMessageLength) // §5.4.1: larger is equivalent to 0xFFFFFF
	case TypeAbort:
		csid, err := ParseAbort(m.Payload)
		if err != nil {
			return err
		}
		if s := r.streams[csid]; s != nil { // an unknown chunk stream has nothing to abort
			s.partial = false
			r.resetBuffer(s)
		}
	case TypeWindowAckSize:
		n, err := ParseWindowAckSize(m.Payload)
		if err != nil {
			return err
		}
		r.window = n
	}
	return nil
}

// readBasicHeader reads the chunk basic header (§5.3.1.1).
func (r *ChunkReader) readBasicHeader() (format uint8, csid uint32, err error) {
	b0, err := r.br.ReadByte()
	if err != nil {
		return 0, 0, err
	}
	format, csid = b0>>6, uint32(b0&0x3f)
	switch csid {
	case 0:
		b1, err := r.br.ReadByte()
		if err != nil {
			return 0, 0, unexpectedEOF(err)
		}
		csid = 64 + uint32(b1)
	case 1:
		if _, err := io.ReadFull(r.br, r.hdr[:2]); err != nil {
			return 0, 0, unexpectedEOF(err)
		}
		csid = 64 + uint32(r.hdr[0]) + uint32(r.hdr[1])<<8
	}
	return format, csid, nil
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// stream returns the state of chunk stream csid, creating it within the
// configured limit.
func (r *ChunkReader) stream(csid uint32, format uint8) (*inStream, error) {
	if s := r.streams[csid]; s != nil {
		return s, nil
	}
	if len(r.streams) >= r.cfg.MaxChunkStreams {
		return nil, fmt.Errorf("rtmp: chunk stream %d would exceed %d: %w", csid, r.cfg.MaxChunkStreams, ErrTooManyChunkStreams)
	}
	// The first chunk of a chunk stream needs a full header. Type 1 is
	// accepted too (message stream id 0), as ffmpeg does; types 2 and 3
	// leave the length unknown.
	if format > 1 {
		return nil, fmt.Errorf("rtmp: chunk stream %d starts with a type %d chunk: %w", csid, format, ErrBadChunk)
	}
	s := &inStream{}
	r.streams[csid] = s
	return s, nil
}

// readChunk reads one chunk and reports whether it completed a message.
func (r *ChunkReader) readChunk() (s *inStream, csid uint32, done bool, err error) {
	format, csid, err := r.readBasicHeader()
	if err != nil {
		return nil, 0, false, err
	}
	if s, err = r.stream(csid, format); err != nil {
		return nil, 0, false, err
	}
	if err := r.readMessageHeader(s, format); err != nil {
		return nil, 0, false, fmt.Errorf("rtmp: chunk stream %d: %w", csid, err)
	}
	if s.length > uint32(r.cfg.MaxMessageSize) {
		return nil, 0, false, fmt.Errorf("rtmp: chunk stream %d: message length %d above limit %d: %w",
			csid, s.length, r.cfg.MaxMessageSize, ErrMessageTooLarge)
	}
	n := min(s.length-uint32(len(s.buf)), r.chunkSize)
	if err := r.readPayload(csid, s, int(n)); err != nil {
		return nil, 0, false, err
	}
	if uint32(len(s.buf)) < s.length {
		s.partial = true
		return s, csid, false, nil
	}
	s.partial = false
	return s, csid, true, nil
}

// readPayload appends the n payload bytes of a chunk to s.buf. The buffer
// grows (see grow) only when full, so that memory follows the bytes that
// arrive, whatever the announced length and the chunk size.
func (r *ChunkReader) readPayload(csid uint32, s *inStream, n int) error {
	for n > 0 {
		if len(s.buf) == cap(s.buf) {
			if err := r.grow(csid, s, n); err != nil {
				return err
			}
		}
		start := len(s.buf)
		k := min(n, cap(s.buf)-start)
		s.buf = s.buf[:start+k]
		if _, err := io.ReadFull(r.br, s.buf[start:]); err != nil {
			s.buf = s.buf[:start]
			return unexpectedEOF(err)
		}
		n -= k
	}
	return nil
}

// readMessageHeader reads the chunk message header of the given type
// (§5.3.1.2) and the extended timestamp (§5.3.1.3), and updates s.
func (r *ChunkReader) readMessageHeader(s *inStream, format uint8) error {
	if format == 3 {
		return r.readType3(s)
	}
	size := [3]int{11, 7, 3}[format]
	h := r.hdr[:size]
	if _, err := io.ReadFull(r.br, h); err != nil {
		return unexpectedEOF(err)
	}
	// A new header in the middle of a message: the sender gave up on the
	// partial message without an Abort. Drop it and start over.
	s.partial = false
	r.resetBuffer(s)
	field := uint32(h[0])<<16 | uint32(h[1])<<8 | uint32(h[2])
	if format <= 1 {
		s.length = uint32(h[3])<<16 | uint32(h[4])<<8 | uint32(h[5])
		s.typ = MessageType(h[6])
	}
	if format == 0 {
		s.streamID = binary.LittleEndian.Uint32(h[7:11]) // §5.3.1.2.1: little-endian
	}
	s.extended = field == maxTimestampField
	if s.extended {
		if _, err := io.ReadFull(r.br, r.hdr[:4]); err != nil {
			return unexpectedEOF(err)
		}
		field = binary.BigEndian.Uint32(r.hdr[:4])
	}
	s.tsField = field
	if format == 0 {
		s.timestamp = field
	} else {
		s.timestamp += field
	}
	return nil
}

// readType3 handles a type 3 chunk: a continuation of the current message,
// or a new message that repeats the previous header and timestamp delta.
//
// When the last header had an extended timestamp, the spec (§5.3.1.3, and
// ffmpeg, nginx-rtmp, SRS as writers) repeats it in type 3 chunks, but some
// writers (older librtmp/OBS, go-rtmp) omit it. Both are accepted: the next
// four bytes are consumed only if they equal the extended timestamp.
func (r *ChunkReader) readType3(s *inStream) error {
	if s.extended {
		// Peek blocks until four bytes arrive. When this chunk's payload
		// is shorter than four bytes and the writer omits the field, that
		// waits for the peer's next chunk (live streams send one within
		// milliseconds; otherwise the read deadline ends it). A short peek
		// (peer closed) leaves the error to the payload read.
		p, _ := r.br.Peek(4)
		if len(p) == 4 && binary.BigEndian.Uint32(p) == s.tsField {
			r.extRepeats++
			if _, err := r.br.Discard(4); err != nil {
				return unexpectedEOF(err)
			}
		}
	}
	if s.partial {
		return nil
	}
	r.resetBuffer(s)
	s.timestamp += s.tsField
	return nil
}
