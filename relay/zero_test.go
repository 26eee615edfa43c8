package relay

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/streamwire/streamwire/rtmp"
)

// A zero RTMPHandler served by rtmp.NewServer relays a publish to a player
// through a Hub of its own (it used to dereference its nil Hub and crash).
func TestZeroRTMPHandler(t *testing.T) {
	base := startRTMP(t, &RTMPHandler{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pub, err := rtmp.Dial(ctx, base+"/live/zero", rtmp.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := pub.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	seq := []byte{0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 0}
	key := []byte{0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65}
	for i, p := range [][]byte{seq, key} {
		if err := pub.WriteMedia(ctx, rtmp.Media{Type: rtmp.TypeVideo, Timestamp: uint32(i * 40), Payload: p}); err != nil {
			t.Fatal(err)
		}
	}
	play, err := rtmp.Dial(ctx, base+"/live/zero", rtmp.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer play.Close()
	if err := play.Play(ctx); err != nil {
		t.Fatal(err)
	}
	for _, want := range [][]byte{seq, key} {
		m, err := play.ReadMedia(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Payload) != string(want) {
			t.Fatalf("played %x, want %x", m.Payload, want)
		}
	}
}

// The zero Hub publishes, subscribes and checks names with Config's defaults.
func TestZeroHub(t *testing.T) {
	var h Hub
	if _, err := h.Subscribe("none"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Subscribe before any publish: %v", err)
	}
	if _, err := h.Publish(""); !errors.Is(err, ErrBadName) {
		t.Fatalf("empty name: %v", err)
	}
	p, err := h.Publish("live/a")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := h.Subscribe("live/a")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Write(Unit{Type: Audio, Data: []byte{0xaf, 1}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if f, err := sub.Read(ctx); err != nil || f.Type != Audio {
		t.Fatalf("Read: %v %v", f, err)
	}
	if got := h.Subscribers("live/a"); got != 1 {
		t.Errorf("Subscribers = %d", got)
	}
	if got := h.Streams(); len(got) != 1 || got[0] != "live/a" {
		t.Errorf("Streams = %q", got)
	}
	p.Close()
	if _, err := sub.Read(ctx); err == nil {
		t.Error("Read after the publisher left")
	}
}

// Zero Publishers, Subscribers and Frames fail cleanly instead of
// dereferencing nil, and a zero Subscriber's read does not block.
func TestZeroValues(t *testing.T) {
	var p Publisher
	if err := p.Write(Unit{Type: Video}); !errors.Is(err, ErrClosed) {
		t.Errorf("zero Publisher Write: %v", err)
	}
	if p.Name() != "" || p.Close() != nil {
		t.Error("zero Publisher Name/Close")
	}

	var sub Subscriber
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := sub.Read(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("zero Subscriber Read: %v", err)
	}
	if !sub.Ready() {
		t.Error("zero Subscriber not Ready, though Read would not wait")
	}
	sub.NotifyReady(func() {})
	if sub.Name() != "" || sub.Close() != nil || sub.Dropped() != 0 {
		t.Error("zero Subscriber Name/Close/Dropped")
	}

	var f Frame
	if f.FLVTag() != nil || len(f.RTMPChunks()) == 0 || !f.rtpEncoding().has(rtpNoMedia) {
		t.Error("zero Frame's encodings")
	}
}
