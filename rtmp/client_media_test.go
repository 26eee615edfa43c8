package rtmp

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"
)

// TestClientWriteMediaRefusesNonMedia: WriteMedia refuses control,
// command, shared object and aggregate types with ErrMediaType and sends
// nothing. WriteMedia(Media{Type: TypeSetChunkSize, Payload: {0,0,0,1}})
// used to return nil and make the server read the client's 4096-byte
// chunks at a chunk size of 1, losing all media after it.
func TestClientWriteMediaRefusesNonMedia(t *testing.T) {
	h := &memHandler{}
	base := startServer(t, ServerConfig{Handler: h}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := Dial(ctx, base+"/live/cam", ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []MessageType{TypeSetChunkSize, TypeAbort, TypeAck, TypeUserControl, TypeWindowAckSize,
		TypeSetPeerBandwidth, TypeSharedObjectAMF3, TypeCommandAMF3, TypeSharedObjectAMF0, TypeCommandAMF0,
		TypeAggregate, 0, 7, 255} {
		if err := cl.WriteMedia(ctx, Media{Type: typ, Payload: []byte{0, 0, 0, 1}}); !errors.Is(err, ErrMediaType) {
			t.Errorf("WriteMedia of type %v: %v, want ErrMediaType", typ, err)
		}
	}
	frame := append([]byte{0x17, 1, 0, 0, 0}, bytes.Repeat([]byte{0xab}, 10000)...) // several chunks
	sent := []Media{
		{Type: TypeVideo, Timestamp: 40, Payload: frame},
		{Type: TypeAudio, Timestamp: 41, Payload: []byte{0xaf, 1, 2}},
		{Type: TypeDataAMF0, Timestamp: 42, Payload: []byte{2, 0, 1, 'x'}},
		{Type: TypeDataAMF3, Timestamp: 43, Payload: []byte{0, 2, 0, 1, 'y'}},
	}
	for _, m := range sent {
		if err := cl.WriteMedia(ctx, m); err != nil {
			t.Fatalf("WriteMedia of type %v: %v", m.Type, err)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		h.mu.Lock()
		got := append([]Media(nil), h.published["live/cam"]...)
		h.mu.Unlock()
		if len(got) == len(sent) {
			if !bytes.Equal(got[0].Payload, frame) || got[3].Type != TypeDataAMF0 || string(got[3].Payload) != "\x02\x00\x01y" {
				t.Errorf("the server received %+v", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server received %d of %d media messages", len(got), len(sent))
		}
	}
}

// TestClientCloseTwice: Close is idempotent on a dialed client too.
func TestClientCloseTwice(t *testing.T) {
	base := startServer(t, ServerConfig{Handler: &memHandler{}}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := Dial(ctx, base+"/live/cam", ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		if err := cl.Close(); err != nil {
			t.Errorf("Close #%d: %v", i, err)
		}
	}
}
