package rtmp

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readAll(t *testing.T, r *ChunkReader) []Message {
	t.Helper()
	var ms []Message
	for {
		m, err := r.ReadMessage()
		if err == io.EOF {
			return ms
		}
		if err != nil {
			t.Fatalf("ReadMessage after %d messages: %v", len(ms), err)
		}
		m.Payload = append([]byte(nil), m.Payload...)
		ms = append(ms, m)
	}
}

// Adobe RTMP spec 1.0 §5.3.2.1, example 1: four audio messages of 32 bytes
// on chunk stream 3, stream 12345, timestamps 1000, 1020, 1040, 1060:
// type 0, type 2, type 3, type 3.
func TestChunkReaderSpecExample1(t *testing.T) {
	p := bytes.Repeat([]byte{0xAA}, 32)
	var in []byte
	in = append(in, 0x03, 0x00, 0x03, 0xE8, 0x00, 0x00, 0x20, 0x08, 0x39, 0x30, 0x00, 0x00)
	in = append(in, p...)
	in = append(in, 0x83>>0&0x3f|2<<6, 0x00, 0x00, 0x14)
	in = append(in, p...)
	in = append(in, 0xC3)
	in = append(in, p...)
	in = append(in, 0xC3)
	in = append(in, p...)
	ms := readAll(t, NewChunkReader(bytes.NewReader(in), ReaderConfig{}))
	if len(ms) != 4 {
		t.Fatalf("got %d messages, want 4", len(ms))
	}
	for i, m := range ms {
		if m.Timestamp != uint32(1000+20*i) || m.StreamID != 12345 || m.Type != TypeAudio || m.ChunkStreamID != 3 || !bytes.Equal(m.Payload, p) {
			t.Errorf("message %d = %+v", i, m)
		}
	}
}

// §5.3.2.2, example 2: a 307-byte message split into a type 0 chunk of 128
// bytes and type 3 chunks.
func TestChunkReaderSpecExample2(t *testing.T) {
	p := make([]byte, 307)
	for i := range p {
		p[i] = byte(i)
	}
	var in []byte
	in = append(in, 0x04, 0x00, 0x03, 0xE8, 0x00, 0x01, 0x33, 0x09, 0x01, 0x00, 0x00, 0x00)
	in = append(in, p[:128]...)
	in = append(in, 0xC4)
	in = append(in, p[128:256]...)
	in = append(in, 0xC4)
	in = append(in, p[256:]...)
	ms := readAll(t, NewChunkReader(bytes.NewReader(in), ReaderConfig{}))
	if len(ms) != 1 || !bytes.Equal(ms[0].Payload, p) || ms[0].Timestamp != 1000 || ms[0].Type != TypeVideo || ms[0].StreamID != 1 {
		t.Fatalf("got %+v", ms)
	}
}

func TestChunkRoundTrip(t *testing.T) {
	big := make([]byte, 70000)
	for i := range big {
		big[i] = byte(i * 7)
	}
	msgs := []Message{
		{ChunkStreamID: 3, Type: TypeCommandAMF0, Payload: []byte("connect")},
		{ChunkStreamID: 6, Type: TypeVideo, StreamID: 1, Timestamp: 0, Payload: big[:5000]},
		{ChunkStreamID: 4, Type: TypeAudio, StreamID: 1, Timestamp: 0, Payload: big[:10]},
		{ChunkStreamID: 4, Type: TypeAudio, StreamID: 1, Timestamp: 23, Payload: big[10:20]},
		{ChunkStreamID: 4, Type: TypeAudio, StreamID: 1, Timestamp: 46, Payload: big[20:30]}, // type 3
		{ChunkStreamID: 4, Type: TypeAudio, StreamID: 1, Timestamp: 69, Payload: big[30:40]}, // type 3
		{ChunkStreamID: 6, Type: TypeVideo, StreamID: 1, Timestamp: 33, Payload: big[:4000]},
		{ChunkStreamID: 6, Type: TypeVideo, StreamID: 1, Timestamp: 30, Payload: big[:4000]},         // backwards: type 0
		{ChunkStreamID: 6, Type: TypeVideo, StreamID: 1, Timestamp: 0xFFFFF0, Payload: big[:1000]},   // delta > 0xFFFFFF? no
		{ChunkStreamID: 6, Type: TypeVideo, StreamID: 1, Timestamp: 0x1000010, Payload: big[:1000]},  // crosses 0xFFFFFF
		{ChunkStreamID: 6, Type: TypeVideo, StreamID: 1, Timestamp: 0x1000030, Payload: big[:1000]},  // type 3 continuation past 4.66 h
		{ChunkStreamID: 7, Type: TypeVideo, StreamID: 1, Timestamp: 0x2000000, Payload: big},         // type 0 with extended timestamp, many type 3
		{ChunkStreamID: 7, Type: TypeVideo, StreamID: 1, Timestamp: 0x3000000, Payload: big},         // extended delta, repeated
		{ChunkStreamID: 7, Type: TypeVideo, StreamID: 1, Timestamp: 0x4000000, Payload: big},         // type 3 new message with extended delta
		{ChunkStreamID: 300, Type: TypeDataAMF0, StreamID: 2, Timestamp: 5, Payload: nil},            // 2-byte... 3-byte basic header, empty
		{ChunkStreamID: 64, Type: TypeDataAMF0, StreamID: 2, Timestamp: 5, Payload: []byte{1}},       // 2-byte basic header
		{ChunkStreamID: 65599, Type: TypeDataAMF0, StreamID: 2, Timestamp: 5, Payload: []byte{1, 2}}, // largest id
	}
	for _, size := range []uint32{0, 1, 100, 4096, 1 << 20} {
		var buf bytes.Buffer
		w := NewChunkWriter(&buf)
		if size != 0 {
			if err := w.WriteSetChunkSize(size); err != nil {
				t.Fatal(err)
			}
		}
		for _, m := range msgs {
			if err := w.WriteMessage(m); err != nil {
				t.Fatal(err)
			}
		}
		got := readAll(t, NewChunkReader(&buf, ReaderConfig{}))
		if size != 0 {
			if got[0].Type != TypeSetChunkSize {
				t.Fatalf("first message %v", got[0].Type)
			}
			got = got[1:]
		}
		if len(got) != len(msgs) {
			t.Fatalf("chunk size %d: %d messages, want %d", size, len(got), len(msgs))
		}
		for i := range msgs {
			g, w := got[i], msgs[i]
			if g.ChunkStreamID != w.ChunkStreamID || g.Type != w.Type || g.StreamID != w.StreamID || g.Timestamp != w.Timestamp || !bytes.Equal(g.Payload, w.Payload) {
				t.Errorf("chunk size %d, message %d: got csid %d type %v stream %d ts %#x len %d, want csid %d type %v stream %d ts %#x len %d",
					size, i, g.ChunkStreamID, g.Type, g.StreamID, g.Timestamp, len(g.Payload), w.ChunkStreamID, w.Type, w.StreamID, w.Timestamp, len(w.Payload))
			}
		}
	}
}

// Interleaved chunk streams: a video message's chunks alternate with whole
// audio messages on another chunk stream (§5.3.2.2 allows any interleaving).
func TestChunkReaderInterleaved(t *testing.T) {
	video := bytes.Repeat([]byte{'v'}, 300)
	var in []byte
	in = append(in, 0x06, 0, 0, 10, 0, 0x01, 0x2C, 9, 1, 0, 0, 0)
	in = append(in, video[:128]...)
	in = append(in, 0x04, 0, 0, 5, 0, 0, 3, 8, 1, 0, 0, 0, 'a', 'a', 'a')
	in = append(in, 0xC6)
	in = append(in, video[128:256]...)
	in = append(in, 0xC4, 'b', 'b', 'b') // new audio message: same header, same delta (5)
	in = append(in, 0xC6)
	in = append(in, video[256:]...)
	ms := readAll(t, NewChunkReader(bytes.NewReader(in), ReaderConfig{}))
	if len(ms) != 3 {
		t.Fatalf("%d messages", len(ms))
	}
	if string(ms[0].Payload) != "aaa" || ms[0].Timestamp != 5 || string(ms[1].Payload) != "bbb" || ms[1].Timestamp != 10 {
		t.Errorf("audio: %+v %+v", ms[0], ms[1])
	}
	if !bytes.Equal(ms[2].Payload, video) || ms[2].Timestamp != 10 || ms[2].ChunkStreamID != 6 {
		t.Errorf("video: %+v", ms[2])
	}
}

// Extended timestamps on type 3 continuation chunks: the spec and ffmpeg
// repeat them, older librtmp/OBS do not; both must read the same.
func TestChunkReaderExtendedTimestampType3(t *testing.T) {
	p := bytes.Repeat([]byte{0x17}, 200)
	const ts = 0x01020304 // past 0xFFFFFF ms (4.66 h)
	hdr := []byte{0x06, 0xFF, 0xFF, 0xFF, 0, 0, 200, 9, 1, 0, 0, 0, 0x01, 0x02, 0x03, 0x04}
	for _, repeat := range []bool{true, false} {
		in := append([]byte(nil), hdr...)
		in = append(in, p[:128]...)
		in = append(in, 0xC6)
		if repeat {
			in = append(in, 0x01, 0x02, 0x03, 0x04)
		}
		in = append(in, p[128:]...)
		ms := readAll(t, NewChunkReader(bytes.NewReader(in), ReaderConfig{}))
		if len(ms) != 1 || ms[0].Timestamp != ts || !bytes.Equal(ms[0].Payload, p) {
			t.Errorf("repeat=%v: %+v", repeat, ms)
		}
	}
	// Our writer repeats it.
	var buf bytes.Buffer
	if err := NewChunkWriter(&buf).WriteMessage(Message{ChunkStreamID: 6, Type: TypeVideo, StreamID: 1, Timestamp: ts, Payload: p}); err != nil {
		t.Fatal(err)
	}
	want := append(append(append(append([]byte(nil), hdr...), p[:128]...), 0xC6, 1, 2, 3, 4), p[128:]...)
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("writer:\n got %x\nwant %x", buf.Bytes(), want)
	}
}

func TestChunkReaderLimits(t *testing.T) {
	t.Run("message too large", func(t *testing.T) {
		in := []byte{0x03, 0, 0, 0, 0xFF, 0xFF, 0xFF, 20, 0, 0, 0, 0}
		_, err := NewChunkReader(bytes.NewReader(in), ReaderConfig{MaxMessageSize: 1 << 20}).ReadMessage()
		if !errors.Is(err, ErrMessageTooLarge) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("hostile length allocates what arrives", func(t *testing.T) {
		in := []byte{0x03, 0, 0, 0, 0xFF, 0xFF, 0x00, 20, 0, 0, 0, 0, 1, 2, 3}
		r := NewChunkReader(bytes.NewReader(in), ReaderConfig{MaxMessageSize: 16 << 20, MaxBufferedBytes: 16 << 20})
		_, err := r.ReadMessage()
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("err = %v", err)
		}
		if c := cap(r.streams[3].buf); c > DefaultChunkSize {
			t.Fatalf("buffer cap %d for a 16 MiB header with 3 bytes sent", c)
		}
	})
	t.Run("too many chunk streams", func(t *testing.T) {
		var in []byte
		for id := 2; id < 10; id++ {
			in = append(in, byte(id), 0, 0, 0, 0, 0, 1, 8, 0, 0, 0, 0, 'x')
		}
		r := NewChunkReader(bytes.NewReader(in), ReaderConfig{MaxChunkStreams: 4})
		var err error
		for i := 0; err == nil; i++ {
			_, err = r.ReadMessage()
			if i > 5 {
				break
			}
		}
		if !errors.Is(err, ErrTooManyChunkStreams) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("chunk size above limit", func(t *testing.T) {
		in := []byte{0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0x01, 0, 0, 0}
		_, err := NewChunkReader(bytes.NewReader(in), ReaderConfig{MaxChunkSize: 65536}).ReadMessage()
		if !errors.Is(err, ErrChunkSize) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("chunk size zero", func(t *testing.T) {
		in := []byte{0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0, 0}
		_, err := NewChunkReader(bytes.NewReader(in), ReaderConfig{}).ReadMessage()
		if !errors.Is(err, ErrChunkSize) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("first chunk type 3", func(t *testing.T) {
		_, err := NewChunkReader(bytes.NewReader([]byte{0xC3, 1, 2}), ReaderConfig{}).ReadMessage()
		if !errors.Is(err, ErrBadChunk) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("truncated header", func(t *testing.T) {
		_, err := NewChunkReader(bytes.NewReader([]byte{0x03, 0, 0}), ReaderConfig{}).ReadMessage()
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestChunkReaderControl(t *testing.T) {
	var buf bytes.Buffer
	w := NewChunkWriter(&buf)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.WriteWindowAckSize(100))
	must(w.WriteSetPeerBandwidth(2500000, LimitDynamic))
	must(w.WriteUserControl(UserControl{Event: EventStreamBegin, StreamID: 1}))
	must(w.WriteUserControl(UserControl{Event: EventSetBufferLength, StreamID: 1, BufferLength: 3000}))
	must(w.WriteUserControl(UserControl{Event: EventPingRequest, Timestamp: 77}))
	must(w.WriteAck(12345))
	// A message whose chunks are aborted half way, then sent again.
	p := bytes.Repeat([]byte{1}, 300)
	full := buf.Len()
	must(w.WriteMessage(Message{ChunkStreamID: 6, Type: TypeVideo, StreamID: 1, Payload: p}))
	buf.Truncate(full + 12 + 128) // first chunk only
	must(w.WriteAbort(6))
	must(w.WriteMessage(Message{ChunkStreamID: 6, Type: TypeVideo, StreamID: 1, Timestamp: 40, Payload: p[:5]}))

	r := NewChunkReader(&buf, ReaderConfig{})
	ms := readAll(t, r)
	types := []MessageType{TypeWindowAckSize, TypeSetPeerBandwidth, TypeUserControl, TypeUserControl, TypeUserControl, TypeAck, TypeAbort, TypeVideo}
	if len(ms) != len(types) {
		t.Fatalf("%d messages", len(ms))
	}
	for i, m := range ms {
		if m.Type != types[i] {
			t.Errorf("message %d type %v, want %v", i, m.Type, types[i])
		}
	}
	if r.WindowAckSize() != 100 {
		t.Errorf("window %d", r.WindowAckSize())
	}
	if n, l, err := ParseSetPeerBandwidth(ms[1].Payload); err != nil || n != 2500000 || l != LimitDynamic {
		t.Errorf("peer bandwidth %d %d %v", n, l, err)
	}
	for i, want := range []UserControl{{Event: EventStreamBegin, StreamID: 1}, {Event: EventSetBufferLength, StreamID: 1, BufferLength: 3000}, {Event: EventPingRequest, Timestamp: 77}} {
		u, err := ParseUserControl(ms[2+i].Payload)
		if err != nil || u.Event != want.Event || u.StreamID != want.StreamID || u.BufferLength != want.BufferLength || u.Timestamp != want.Timestamp {
			t.Errorf("user control %d = %+v, %v", i, u, err)
		}
	}
	if seq, err := ParseAck(ms[5].Payload); err != nil || seq != 12345 {
		t.Errorf("ack %d %v", seq, err)
	}
	if len(ms[7].Payload) != 5 || ms[7].Timestamp != 40 {
		t.Errorf("message after abort: %+v", ms[7])
	}
	if seq, due := r.AckDue(); !due || uint64(seq) != r.BytesRead() {
		t.Errorf("AckDue = %d, %v after %d bytes with window 100", seq, due, r.BytesRead())
	}
	if _, due := r.AckDue(); due {
		t.Error("AckDue twice in a row")
	}
}

func TestParseUserControlErrors(t *testing.T) {
	for _, p := range [][]byte{nil, {0}, {0, 0, 0, 0, 1}, {0, 3, 0, 0, 0, 1, 0, 0}, {0, 6}} {
		if _, err := ParseUserControl(p); !errors.Is(err, ErrBadControl) {
			t.Errorf("ParseUserControl(%x) err = %v", p, err)
		}
	}
	u, err := ParseUserControl([]byte{0, 0x1f, 0, 0, 0, 1})
	if err != nil || u.Event != 0x1f || len(u.Data) != 4 {
		t.Errorf("unknown event: %+v %v", u, err)
	}
	if got := u.AppendTo(nil); !bytes.Equal(got, []byte{0, 0x1f, 0, 0, 0, 1}) {
		t.Errorf("AppendTo = %x", got)
	}
}

func TestChunkWriterErrors(t *testing.T) {
	w := NewChunkWriter(io.Discard)
	if err := w.WriteMessage(Message{ChunkStreamID: 1}); !errors.Is(err, ErrBadChunkStreamID) {
		t.Errorf("csid 1: %v", err)
	}
	if err := w.WriteMessage(Message{ChunkStreamID: 65600}); !errors.Is(err, ErrBadChunkStreamID) {
		t.Errorf("csid 65600: %v", err)
	}
	if err := w.WriteSetChunkSize(0); !errors.Is(err, ErrChunkSize) {
		t.Errorf("chunk size 0: %v", err)
	}
}

// loopReader replays a byte slice forever.
type loopReader struct {
	b   []byte
	off int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := copy(p, l.b[l.off:])
	l.off = (l.off + n) % len(l.b)
	return n, nil
}

func TestChunkSteadyStateAllocs(t *testing.T) {
	var buf bytes.Buffer
	w := NewChunkWriter(&buf)
	video := make([]byte, 3000)
	audio := make([]byte, 200)
	// A loop of messages whose chunk headers repeat exactly: type 0 first,
	// then the stream repeats one cycle (timestamps restart → type 0).
	for i := 0; i < 10; i++ {
		if err := w.WriteMessage(Message{ChunkStreamID: 6, Type: TypeVideo, StreamID: 1, Timestamp: uint32(i * 33), Payload: video}); err != nil {
			t.Fatal(err)
		}
		if err := w.WriteMessage(Message{ChunkStreamID: 4, Type: TypeAudio, StreamID: 1, Timestamp: uint32(i * 23), Payload: audio}); err != nil {
			t.Fatal(err)
		}
	}
	r := NewChunkReader(&loopReader{b: buf.Bytes()}, ReaderConfig{})
	for i := 0; i < 40; i++ { // warm up buffers
		if _, err := r.ReadMessage(); err != nil {
			t.Fatal(err)
		}
	}
	if a := testing.AllocsPerRun(1000, func() {
		if _, err := r.ReadMessage(); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("ReadMessage: %v allocs per message", a)
	}
	ts := uint32(0)
	if a := testing.AllocsPerRun(1000, func() {
		ts += 33
		if err := w.WriteMessage(Message{ChunkStreamID: 6, Type: TypeVideo, StreamID: 1, Timestamp: ts, Payload: video}); err != nil {
			t.Fatal(err)
		}
		buf.Reset()
	}); a != 0 {
		t.Errorf("WriteMessage: %v allocs per message", a)
	}
}

func TestParseControlErrors(t *testing.T) {
	if _, err := ParseSetChunkSize([]byte{0x80, 0, 0, 1}); !errors.Is(err, ErrChunkSize) {
		t.Errorf("top bit: %v", err)
	}
	for _, f := range []func([]byte) (uint32, error){ParseSetChunkSize, ParseAbort, ParseAck, ParseWindowAckSize} {
		if _, err := f([]byte{1, 2}); !errors.Is(err, ErrBadControl) {
			t.Errorf("short: %v", err)
		}
	}
	if _, _, err := ParseSetPeerBandwidth([]byte{1}); !errors.Is(err, ErrBadControl) {
		t.Errorf("short peer bandwidth: %v", err)
	}
	if n, l, err := ParseSetPeerBandwidth(binary.BigEndian.AppendUint32(nil, 5)); n != 5 || l != LimitDynamic || err != nil {
		t.Errorf("4-byte peer bandwidth: %d %d %v", n, l, err)
	}
}

func TestMessageClone(t *testing.T) {
	var buf bytes.Buffer
	w := NewChunkWriter(&buf)
	_ = w.WriteMessage(Message{ChunkStreamID: 4, Type: TypeAudio, StreamID: 1, Payload: []byte{1, 2, 3}})
	_ = w.WriteMessage(Message{ChunkStreamID: 4, Type: TypeAudio, StreamID: 1, Timestamp: 20, Payload: []byte{4, 5, 6}})
	r := NewChunkReader(&buf, ReaderConfig{})
	m1, _ := r.ReadMessage()
	kept := m1.Clone()
	m2, _ := r.ReadMessage()
	// The reader reuses its buffer: m1.Payload now shows the second message.
	if !bytes.Equal(m1.Payload, m2.Payload) || !bytes.Equal(kept.Payload, []byte{1, 2, 3}) || kept.Timestamp != 0 || kept.Type != TypeAudio {
		t.Errorf("m1 %v, kept %v, m2 %v", m1.Payload, kept.Payload, m2.Payload)
	}
}

// A chunk stream may start with a type 1 header (message stream 0), as
// ffmpeg's reader accepts; a type 3 chunk that starts a new message after
// an extended timestamp without repeating it (go-rtmp before PR #72) reads
// as a new message with the same delta.
func TestChunkReaderTolerance(t *testing.T) {
	in := []byte{0x43, 0, 0, 5, 0, 0, 2, 20, 'h', 'i'}
	ms := readAll(t, NewChunkReader(bytes.NewReader(in), ReaderConfig{}))
	if len(ms) != 1 || ms[0].Timestamp != 5 || ms[0].StreamID != 0 || string(ms[0].Payload) != "hi" {
		t.Errorf("type 1 first: %+v", ms)
	}
	in = []byte{0x04, 0xFF, 0xFF, 0xFF, 0, 0, 2, 8, 1, 0, 0, 0, 0x01, 0, 0, 0, 'a', 'b', 0xC4, 'c', 'd'}
	ms = readAll(t, NewChunkReader(bytes.NewReader(in), ReaderConfig{}))
	if len(ms) != 2 || ms[0].Timestamp != 0x01000000 || ms[1].Timestamp != 0x02000000 || string(ms[1].Payload) != "cd" {
		t.Errorf("type 3 without extended timestamp: %+v", ms)
	}
}
