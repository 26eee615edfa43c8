package rtmp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamwire/streamwire/rtmp/amf0"
)

// header0 is a type 0 chunk header on csid (< 64) announcing a message of
// n bytes of type typ on message stream 1.
func header0(csid byte, n int, typ MessageType) []byte {
	return []byte{csid, 0, 0, 0, byte(n >> 16), byte(n >> 8), byte(n), byte(typ), 1, 0, 0, 0}
}

// setChunkSize is a Set Chunk Size message in one chunk.
func setChunkSize(n uint32) []byte {
	return []byte{0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
}

// heldCapacity sums the capacity of r's buffers, which the accounting
// must equal.
func heldCapacity(r *ChunkReader) int {
	n := 0
	for _, s := range r.streams {
		n += cap(s.buf)
	}
	return n
}

// The exact Set Chunk Size of the report, 134,217,728: accepted and used
// as 0xFFFFFF (§5.4.1); the whole spec range is accepted, only 0 and the
// top bit are refused.
func TestChunkSizeAboveMaxMessageLength(t *testing.T) {
	for _, size := range []uint32{0x08000000, 0x01000000, 0x7FFFFFFF} {
		in := setChunkSize(size)
		msg := bytes.Repeat([]byte{7}, 70000) // one chunk at that size
		in = append(append(in, header0(6, len(msg), TypeVideo)...), msg...)
		r := NewChunkReader(bytes.NewReader(in), ReaderConfig{})
		ms := readAll(t, r)
		if len(ms) != 2 || !bytes.Equal(ms[1].Payload, msg) {
			t.Fatalf("chunk size %#x: %d messages", size, len(ms))
		}
		if r.ChunkSize() != 0xFFFFFF {
			t.Errorf("chunk size %#x used as %#x, want 0xFFFFFF", size, r.ChunkSize())
		}
	}
	if got := unhex(t, "02 000000 000004 01 00000000 08000000"); !bytes.Equal(got, setChunkSize(134217728)) {
		t.Fatalf("setChunkSize(134217728) = % x", setChunkSize(134217728))
	}
	for _, size := range []uint32{0, 0x80000000, 0xFFFFFFFF} {
		_, err := NewChunkReader(bytes.NewReader(setChunkSize(size)), ReaderConfig{}).ReadMessage()
		if !errors.Is(err, ErrChunkSize) {
			t.Errorf("chunk size %#x: err = %v, want ErrChunkSize", size, err)
		}
	}
}

// After Set Chunk Size 0xFFFFFF, a 28-byte header announcing 16 MiB
// reserves what arrives, not 16 MiB.
func TestBigChunkSizeReservesWhatArrives(t *testing.T) {
	in := append(setChunkSize(0xFFFFFF), header0(6, 0xFFFFFF, TypeVideo)...)
	in = append(in, 1, 2, 3)
	r := NewChunkReader(bytes.NewReader(in), ReaderConfig{MaxMessageSize: 16 << 20, MaxBufferedBytes: 16 << 20})
	if _, err := r.ReadMessage(); err != nil { // Set Chunk Size
		t.Fatal(err)
	}
	if _, err := r.ReadMessage(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v", err)
	}
	if c := cap(r.streams[6].buf); c > firstGrowth {
		t.Errorf("buffer of %d bytes for 3 bytes received", c)
	}
	if r.BufferedBytes() != heldCapacity(r) {
		t.Errorf("accounted %d, held %d", r.BufferedBytes(), heldCapacity(r))
	}
}

func TestPerConnectionBudget(t *testing.T) {
	const budget = 256 << 10
	// Many chunk streams, each starting a message of 200 kB and sending
	// 64 kB of it: the fourth would need more than the budget.
	var in []byte
	in = append(in, setChunkSize(65536)...)
	for csid := byte(4); csid < 20; csid++ {
		in = append(in, header0(csid, 200000, TypeVideo)...)
		in = append(in, make([]byte, 65536)...)
	}
	r := NewChunkReader(bytes.NewReader(in), ReaderConfig{MaxBufferedBytes: budget})
	var err error
	for err == nil {
		_, err = r.ReadMessage()
		if r.BufferedBytes() > budget || r.BufferedBytes() != heldCapacity(r) {
			t.Fatalf("accounted %d, held %d, budget %d", r.BufferedBytes(), heldCapacity(r), budget)
		}
	}
	if !errors.Is(err, ErrBudget) {
		t.Fatalf("err = %v, want ErrBudget", err)
	}
	r.Release()
	if r.BufferedBytes() != 0 {
		t.Errorf("%d bytes accounted after Release", r.BufferedBytes())
	}
	if _, err := r.ReadMessage(); err == nil {
		t.Error("ReadMessage after Release succeeded")
	}
}

// Two readers charge one shared budget, which never goes over its limit;
// what they release comes back to it.
func TestSharedBudget(t *testing.T) {
	shared := &sharedBudget{limit: 300 << 10}
	cfg := ReaderConfig{MaxBufferedBytes: 1 << 20, shared: shared}
	partial := func() []byte { // 200 kB announced, 150 kB sent
		return append(append(setChunkSize(1<<20), header0(6, 200000, TypeVideo)...), make([]byte, 150000)...)
	}
	r1 := NewChunkReader(bytes.NewReader(partial()), cfg)
	r2 := NewChunkReader(bytes.NewReader(partial()), cfg)
	readAllErr := func(r *ChunkReader) error {
		for {
			if _, err := r.ReadMessage(); err != nil {
				return err
			}
		}
	}
	if err := readAllErr(r1); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("r1: %v", err)
	}
	if used := shared.used.Load(); used != int64(r1.BufferedBytes()) || used == 0 {
		t.Fatalf("shared %d, r1 %d", used, r1.BufferedBytes())
	}
	if err := readAllErr(r2); !errors.Is(err, ErrBudget) {
		t.Fatalf("r2: err = %v, want ErrBudget", err)
	}
	if used := shared.used.Load(); used > shared.limit || used != int64(r1.BufferedBytes()+r2.BufferedBytes()) {
		t.Fatalf("shared %d, limit %d, readers %d+%d", used, shared.limit, r1.BufferedBytes(), r2.BufferedBytes())
	}
	r1.Release()
	r2.Release()
	if used := shared.used.Load(); used != 0 {
		t.Errorf("shared budget %d after both released", used)
	}
}

// A large buffer is dropped once its message has been returned and the
// caller reads on; small buffers are kept (no allocation per message);
// Abort and a new header in the middle of a message release theirs.
func TestLargeBuffersNotRetained(t *testing.T) {
	var buf bytes.Buffer
	w := NewChunkWriter(&buf)
	if err := w.WriteSetChunkSize(65536); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 3<<20)
	small := make([]byte, 1000)
	for _, p := range [][]byte{big, small} {
		if err := w.WriteMessage(Message{ChunkStreamID: CSIDVideo, Type: TypeVideo, StreamID: 1, Payload: p}); err != nil {
			t.Fatal(err)
		}
	}
	// partial is 320 kB of a 1 MiB message on csid, in 64 kB chunks.
	partial := func(in []byte, csid byte) []byte {
		in = append(in, header0(csid, 1<<20, TypeVideo)...)
		for i := 0; i < 5; i++ {
			if i > 0 {
				in = append(in, 0xC0|csid)
			}
			in = append(in, make([]byte, 65536)...)
		}
		return in
	}
	// A partial message aborted; another replaced by a new header.
	in := partial(buf.Bytes(), 8)
	in = append(in, 0x02, 0, 0, 0, 0, 0, 4, byte(TypeAbort), 0, 0, 0, 0, 0, 0, 0, 8)
	in = partial(in, 9)
	in = append(in, header0(9, 10, TypeVideo)...)
	in = append(in, make([]byte, 10)...)

	r := NewChunkReader(bytes.NewReader(in), ReaderConfig{})
	next := func() Message {
		t.Helper()
		m, err := r.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	next() // Set Chunk Size
	if m := next(); len(m.Payload) != len(big) || r.BufferedBytes() < len(big) {
		t.Fatalf("big message: %d bytes, %d buffered", len(m.Payload), r.BufferedBytes())
	}
	if m := next(); len(m.Payload) != len(small) || r.BufferedBytes() > retainedBufferCap {
		t.Fatalf("after the big message: %d buffered", r.BufferedBytes())
	}
	if m := next(); m.Type != TypeAbort || cap(r.streams[8].buf) != 0 {
		t.Fatalf("after Abort: %v, csid 8 holds %d", m.Type, cap(r.streams[8].buf))
	}
	if m := next(); len(m.Payload) != 10 || cap(r.streams[9].buf) > retainedBufferCap {
		t.Fatalf("after a new header: csid 9 holds %d", cap(r.streams[9].buf))
	}
	if r.BufferedBytes() != heldCapacity(r) {
		t.Errorf("accounted %d, held %d", r.BufferedBytes(), heldCapacity(r))
	}
}

// The report's input through a real server session: after connect, Set
// Chunk Size 134,217,728; the publish that follows (written in chunks of
// that size) arrives whole.
func TestServerChunkSize134217728(t *testing.T) {
	h := &memHandler{}
	base := startServer(t, ServerConfig{Handler: h}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pub, err := Dial(ctx, base+"/live/big", ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	raw := unhex(t, "02 000000 000004 01 00000000 08000000")
	err = pub.Conn().WithWriter(ctx, func(w *ChunkWriter) error {
		if _, err := w.w.Write(raw); err != nil {
			return err
		}
		w.chunkSize = 134217728 // the encoder now sends every message in one chunk
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx); err != nil {
		t.Fatalf("publish after Set Chunk Size 134217728: %v", err)
	}
	want := testMedia()
	for _, m := range want {
		if err := pub.WriteMedia(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		h.mu.Lock()
		got := append([]Media(nil), h.published["live/big"]...)
		h.mu.Unlock()
		if len(got) == len(want) {
			for i := 1; i < len(want); i++ {
				if got[i].Timestamp != want[i].Timestamp || !bytes.Equal(got[i].Payload, want[i].Payload) {
					t.Fatalf("message %d differs", i)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server received %d of %d messages", len(got), len(want))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// recordHandler keeps the slog records it is given.
type recordHandler struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.recs = append(h.recs, r.Clone())
	h.mu.Unlock()
	return nil
}
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordHandler) WithGroup(string) slog.Handler      { return h }

// A session over its connection's budget ends with ErrBudget, logged once
// as a warning, and its bytes return to the server's budget.
func TestServerClosesOverBudgetOnce(t *testing.T) {
	logs := &recordHandler{}
	srv := NewServer(ServerConfig{Handler: &memHandler{}, Logger: slog.New(logs),
		Reader: ReaderConfig{MaxBufferedBytes: 100 << 10}})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, l) }()
	defer func() {
		cancel()
		<-served
	}()
	c, nc := rawSession(t, "rtmp://"+l.Addr().String())
	sendCmd(t, c, 0, Command{Name: "connect", TransactionID: 1, Object: amf0.Object{{Key: "app", Value: "live"}}})
	in := setChunkSize(40000)
	for csid := byte(4); csid < 8; csid++ { // the first 40 kB chunks of four 60 kB messages
		in = append(append(in, header0(csid, 60000, TypeVideo)...), make([]byte, 40000)...)
	}
	if _, err := nc.Write(in); err != nil {
		t.Fatal(err)
	}
	readUntilClosed(t, c)
	deadline := time.Now().Add(5 * time.Second)
	for srv.BufferedBytes() != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := srv.BufferedBytes(); n != 0 {
		t.Errorf("server still accounts %d bytes", n)
	}
	logs.mu.Lock()
	defer logs.mu.Unlock()
	warned := 0
	for _, r := range logs.recs {
		if r.Level == slog.LevelWarn && strings.Contains(r.Message, "memory budget") {
			warned++
			r.Attrs(func(a slog.Attr) bool {
				if a.Key == "err" && !strings.Contains(a.Value.String(), ErrBudget.Error()) {
					t.Errorf("logged err %q", a.Value)
				}
				return true
			})
		}
	}
	if warned != 1 {
		t.Errorf("%d budget warnings, want 1", warned)
	}
}
