package rtmp

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"
	"time"
)

// boundaryMessages are control and media messages with values at the edge
// of what the spec allows, or that real peers send, none of which a reader
// or a server may refuse (issue 7 item 1's audit).
func boundaryMessages() []Message {
	u32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	return []Message{
		{ChunkStreamID: CSIDControl, Type: TypeAbort, Payload: u32(99)},                             // a chunk stream never used
		{ChunkStreamID: CSIDControl, Type: TypeAbort, Payload: u32(70000)},                          // outside 2..65599
		{ChunkStreamID: CSIDControl, Type: TypeWindowAckSize, Payload: u32(0xFFFFFFFF)},             // largest window
		{ChunkStreamID: CSIDControl, Type: TypeSetPeerBandwidth, Payload: append(u32(1), 7)},        // unknown limit type
		{ChunkStreamID: CSIDControl, Type: TypeSetPeerBandwidth, Payload: u32(5000000)},             // no limit type byte
		{ChunkStreamID: CSIDControl, Type: TypeAck, Payload: u32(0xFFFFFFFF)},                       // sequence number wrapped
		{ChunkStreamID: CSIDControl, Type: TypeUserControl, Payload: []byte{0, 0x1F, 0, 0, 0, 1}},   // Flash BufferEmpty
		{ChunkStreamID: CSIDControl, Type: TypeUserControl, Payload: []byte{0x12, 0x34}},            // unknown, no data
		{ChunkStreamID: CSIDControl, Type: TypeUserControl, Payload: []byte{0, 7, 0, 0, 0, 9}},      // unsolicited ping response
		{ChunkStreamID: 7, Type: MessageType(7), Payload: []byte{1}},                                // unknown message type
		{ChunkStreamID: CSIDAudio, Type: TypeAudio, StreamID: 0xFFFFFFFF, Payload: []byte{0xAF, 1}}, // media on a stream never created
		{ChunkStreamID: 320, Type: TypeDataAMF0, Payload: []byte{5}},                                // three-byte basic header
		{ChunkStreamID: 65599, Type: TypeDataAMF0, Timestamp: 0xFFFFFFFF, Payload: []byte{5}},       // largest id and timestamp
		{ChunkStreamID: 65599, Type: TypeDataAMF0, Timestamp: 3, Payload: nil},                      // time going back, empty
	}
}

func TestReaderAcceptsBoundaryValues(t *testing.T) {
	var buf bytes.Buffer
	w := NewChunkWriter(&buf)
	want := boundaryMessages()
	for _, m := range want {
		if err := w.WriteMessage(m); err != nil {
			t.Fatal(err)
		}
	}
	r := NewChunkReader(&buf, ReaderConfig{})
	got := readAll(t, r)
	if len(got) != len(want) {
		t.Fatalf("read %d of %d messages", len(got), len(want))
	}
	for i := range want {
		if got[i].ChunkStreamID != want[i].ChunkStreamID || got[i].Type != want[i].Type || got[i].StreamID != want[i].StreamID ||
			got[i].Timestamp != want[i].Timestamp || !bytes.Equal(got[i].Payload, want[i].Payload) {
			t.Errorf("message %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if r.WindowAckSize() != 0xFFFFFFFF {
		t.Errorf("window %d", r.WindowAckSize())
	}
	for _, p := range [][]byte{{0, 0x1F, 0, 0, 0, 1}, {0x12, 0x34}} {
		if _, err := ParseUserControl(p); err != nil {
			t.Errorf("user control % x: %v", p, err)
		}
	}
	if _, l, err := ParseSetPeerBandwidth(want[3].Payload); err != nil || l != 7 {
		t.Errorf("limit type 7: %d, %v", l, err)
	}
}

// The same messages in a real server session, after connect: the session
// goes on and the publish that follows arrives.
func TestServerAcceptsBoundaryValues(t *testing.T) {
	h := &memHandler{}
	base := startServer(t, ServerConfig{Handler: h}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pub, err := Dial(ctx, base+"/live/edge", ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	for _, m := range boundaryMessages() {
		if err := pub.Conn().WriteMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := pub.Publish(ctx); err != nil {
		t.Fatalf("publish after the boundary messages: %v", err)
	}
	if err := pub.WriteMedia(ctx, Media{Type: TypeAudio, Timestamp: 1, Payload: []byte{0xAF, 1, 2}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		h.mu.Lock()
		n := len(h.published["live/edge"])
		h.mu.Unlock()
		if n == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server stored %d messages, want 1", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
