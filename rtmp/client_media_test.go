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

// TestServerDropsNonMediaFromSource: a MediaSource that hands the server a
// control or command message among its media does not reach the player,
// whose chunk stream stays in step: every media message after it arrives
// intact.
func TestServerDropsNonMediaFromSource(t *testing.T) {
	big := bytes.Repeat([]byte{0x27, 1, 0, 0, 0}, 2000)
	media := []Media{
		{Type: TypeVideo, Payload: []byte{0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f}},
		{Type: TypeSetChunkSize, Payload: []byte{0, 0, 0, 1}},
		{Type: TypeVideo, Timestamp: 40, Payload: big},
		{Type: TypeCommandAMF0, Timestamp: 40, Payload: []byte{2, 0, 1, 'x'}},
		{Type: TypeAudio, Timestamp: 50, Payload: []byte{0xaf, 1, 0x21}},
	}
	h := &memHandler{published: map[string][]Media{"live/src": media}}
	base := startServer(t, ServerConfig{Handler: h}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := Dial(ctx, base+"/live/src", ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.Play(ctx); err != nil {
		t.Fatal(err)
	}
	var got []Media
	for len(got) < 3 {
		m, err := cl.ReadMedia(ctx)
		if err != nil {
			t.Fatalf("after %d messages: %v", len(got), err)
		}
		if m.Type == TypeDataAMF0 { // |RtmpSampleAccess
			continue
		}
		m.Payload = bytes.Clone(m.Payload)
		got = append(got, m)
	}
	want := []Media{media[0], media[2], media[4]}
	for i := range want {
		if got[i].Type != want[i].Type || got[i].Timestamp != want[i].Timestamp || !bytes.Equal(got[i].Payload, want[i].Payload) {
			t.Errorf("message %d: %v at %d, %d bytes; want %v at %d, %d bytes", i, got[i].Type, got[i].Timestamp, len(got[i].Payload), want[i].Type, want[i].Timestamp, len(want[i].Payload))
		}
	}
}
