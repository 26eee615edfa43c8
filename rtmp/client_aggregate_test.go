package rtmp

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// appendAggregateTag appends one FLV tag (11-byte header, data, back
// pointer) to an aggregate body (§7.1.6).
func appendAggregateTag(b []byte, t MessageType, ts uint32, data []byte) []byte {
	n := len(data)
	b = append(b, byte(t), byte(n>>16), byte(n>>8), byte(n), byte(ts>>16), byte(ts>>8), byte(ts), byte(ts>>24), 0, 0, 0)
	b = append(b, data...)
	size := 11 + n
	return append(b, byte(size>>24), byte(size>>16), byte(size>>8), byte(size))
}

// aggregateServer is a hand-written RTMP server that answers connect,
// createStream and play, then sends what send writes (with the
// ChunkWriter) and closes.
func aggregateServer(t *testing.T, send func(w *ChunkWriter) error) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { l.Close(); <-done })
	go func() {
		defer close(done)
		nc, err := l.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := ServerHandshake(ctx, nc, HandshakeConfig{}); err != nil {
			t.Error(err)
			return
		}
		c := NewConn(nc, ConnConfig{})
		for {
			m, err := c.ReadMessage(ctx)
			if err != nil {
				return
			}
			if m.Type != TypeCommandAMF0 {
				continue
			}
			cmd, _ := ParseCommand(m)
			var reply Command
			switch cmd.Name {
			case "connect":
				reply = connectResult(cmd.TransactionID, 0)
			case "createStream":
				reply = Command{Name: "_result", TransactionID: cmd.TransactionID, Args: []any{1.0}}
			case "play":
				reply = onStatus(LevelStatus, CodePlayStart, "go")
			default:
				continue
			}
			if err := c.WriteMessage(ctx, mustMessage(t, reply, m.StreamID)); err != nil {
				t.Error(err)
				return
			}
			if cmd.Name == "play" {
				if err := c.WithWriter(ctx, send); err != nil {
					t.Error(err)
				}
				return
			}
		}
	}()
	return "rtmp://" + l.Addr().String()
}

func mustMessage(t *testing.T, c Command, streamID uint32) Message {
	m, err := c.Message(streamID)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestClientReadMediaAggregate: the sub-messages of an aggregate come out
// of ReadMedia one by one, timestamps rebased on the aggregate's; before
// the fix they were dropped.
func TestClientReadMediaAggregate(t *testing.T) {
	var body []byte
	body = appendAggregateTag(body, TypeVideo, 5000, []byte{0x17, 1, 0, 0, 0, 0xAA})
	body = appendAggregateTag(body, TypeAudio, 5010, []byte{0xaf, 1, 0xBB})
	body = appendAggregateTag(body, TypeDataAMF0, 5020, []byte("\x02\x00\x0aonMetaData\x05"))
	body = appendAggregateTag(body, TypeDataAMF0, 5030, []byte("\x02\x00\x11|RtmpSampleAccess\x01\x01\x01\x01"))
	base := aggregateServer(t, func(w *ChunkWriter) error {
		if err := w.WriteMessage(Message{ChunkStreamID: CSIDVideo, Type: TypeAggregate, StreamID: 1, Timestamp: 100, Payload: body}); err != nil {
			return err
		}
		return w.WriteMessage(Message{ChunkStreamID: CSIDAudio, Type: TypeAudio, StreamID: 1, Timestamp: 200, Payload: []byte{0xaf, 1, 0xCC}})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := Dial(ctx, base+"/live/agg", ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.Play(ctx); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		typ  MessageType
		ts   uint32
		last byte
	}{{TypeVideo, 100, 0xAA}, {TypeAudio, 110, 0xBB}, {TypeDataAMF0, 120, 0x05}, {TypeAudio, 200, 0xCC}}
	for i, w := range want {
		m, err := cl.ReadMedia(ctx)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if m.Type != w.typ || m.Timestamp != w.ts || m.Payload[len(m.Payload)-1] != w.last {
			t.Errorf("message %d = %v@%d %x, want %v@%d ...%x", i, m.Type, m.Timestamp, m.Payload, w.typ, w.ts, w.last)
		}
	}
	if _, err := cl.ReadMedia(ctx); !errors.Is(err, io.EOF) {
		t.Errorf("after the last message: %v, want io.EOF", err)
	}
}

// TestClientReadMediaBadAggregate: a truncated aggregate is an error, not
// a silent loss.
func TestClientReadMediaBadAggregate(t *testing.T) {
	body := appendAggregateTag(nil, TypeVideo, 0, []byte{0x17, 1, 0, 0, 0})
	body = append(body, byte(TypeAudio), 0, 0, 50, 0, 0, 0, 0, 0, 0, 0, 1, 2) // announces 50 bytes, has 2
	base := aggregateServer(t, func(w *ChunkWriter) error {
		return w.WriteMessage(Message{ChunkStreamID: CSIDVideo, Type: TypeAggregate, StreamID: 1, Payload: body})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := Dial(ctx, base+"/live/agg", ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.Play(ctx); err != nil {
		t.Fatal(err)
	}
	if m, err := cl.ReadMedia(ctx); err != nil || m.Type != TypeVideo {
		t.Fatalf("first sub-message: %v %v", m.Type, err)
	}
	if _, err := cl.ReadMedia(ctx); err == nil || errors.Is(err, io.EOF) {
		t.Errorf("truncated sub-message: %v, want an error", err)
	}
}
