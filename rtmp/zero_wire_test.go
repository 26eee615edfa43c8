package rtmp

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// TestZeroWireTypes: the zero ChunkReader, ChunkWriter and Conn fail with
// ErrNoConn instead of a nil dereference; a zero ChunkWriter still encodes.
func TestZeroWireTypes(t *testing.T) {
	var r ChunkReader
	if _, err := r.ReadMessage(); !errors.Is(err, ErrNoConn) {
		t.Errorf("ChunkReader.ReadMessage: %v", err)
	}
	m := Message{ChunkStreamID: CSIDVideo, Type: TypeVideo, StreamID: 1, Payload: []byte{0x17, 1}}
	var w ChunkWriter
	if err := w.WriteMessage(m); !errors.Is(err, ErrNoConn) {
		t.Errorf("ChunkWriter.WriteMessage: %v", err)
	}
	got, err := w.AppendMessage(nil, m)
	var want bytes.Buffer
	_ = NewChunkWriter(&want).WriteMessage(m)
	if err != nil || !bytes.Equal(got, want.Bytes()) {
		t.Errorf("zero ChunkWriter.AppendMessage = %x, %v; want %x", got, err, want.Bytes())
	}
	var c Conn
	ctx := context.Background()
	if _, err := c.ReadMessage(ctx); !errors.Is(err, ErrNoConn) {
		t.Errorf("Conn.ReadMessage: %v", err)
	}
	if err := c.WriteMessage(ctx, m); !errors.Is(err, ErrNoConn) {
		t.Errorf("Conn.WriteMessage: %v", err)
	}
	if err := c.WithWriter(ctx, func(*ChunkWriter) error { return nil }); !errors.Is(err, ErrNoConn) {
		t.Errorf("Conn.WithWriter: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Conn.Close: %v", err)
	}
}
