package relay

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// TestSubscribeWaiting: a subscriber of a name nobody publishes waits for
// its publisher and reads its frames; the name is not a stream until
// then; a second publisher is still refused.
func TestSubscribeWaiting(t *testing.T) {
	h := NewHub(Config{})
	if _, err := h.Subscribe("live/w"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Subscribe of an unpublished name: %v", err)
	}
	sub, err := h.SubscribeWaiting("live/w")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if got := h.Streams(); len(got) != 0 || h.Subscribers("live/w") != 1 {
		t.Fatalf("streams %v, %d subscribers while waiting", got, h.Subscribers("live/w"))
	}
	pub, err := h.Publish("live/w")
	if err != nil {
		t.Fatalf("Publish of a name with waiting subscribers: %v", err)
	}
	if _, err := h.Publish("live/w"); !errors.Is(err, ErrStreamBusy) {
		t.Fatalf("second Publish: %v", err)
	}
	if got := h.Streams(); !slices.Equal(got, []string{"live/w"}) {
		t.Fatalf("streams %v once published", got)
	}
	mustWrite(t, pub, Unit{Type: Video, Codec: H264, Keyframe: true, Data: []byte{0, 0, 0, 1, 0x65}})
	pub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	f, err := sub.Read(ctx)
	if err != nil || !f.Keyframe {
		t.Fatalf("the waiting subscriber read %+v, %v", f, err)
	}
}

// TestSubscribeWaitingForgotten: when the last waiting subscriber leaves,
// the name is forgotten: a later Publish makes a new stream, and a later
// SubscribeWaiting waits again.
func TestSubscribeWaitingForgotten(t *testing.T) {
	h := NewHub(Config{})
	a, _ := h.SubscribeWaiting("live/w")
	b, _ := h.SubscribeWaiting("live/w")
	a.Close()
	if n := h.Subscribers("live/w"); n != 1 {
		t.Fatalf("%d subscribers after one of two left", n)
	}
	b.Close()
	if n := h.Subscribers("live/w"); n != 0 {
		t.Fatalf("%d subscribers after both left", n)
	}
	h.mu.Lock()
	_, kept := h.streams["live/w"]
	h.mu.Unlock()
	if kept {
		t.Fatal("the hub keeps a name nobody waits for")
	}
	c, err := h.SubscribeWaiting("live/w")
	if err != nil || h.Subscribers("live/w") != 1 {
		t.Fatalf("waiting again: %v", err)
	}
	c.Close()
	if _, err := h.SubscribeWaiting(string(make([]byte, 1<<16))); !errors.Is(err, ErrBadName) {
		t.Fatalf("a bad name: %v", err)
	}
}

// TestWebRTCSubscriberCodecMismatch: a viewer answered with H.264 before
// the publisher came ends with ErrCodecMismatch at the publisher's first
// VP8 frame under CloseOnCodecMismatch.
func TestWebRTCSubscriberCodecMismatch(t *testing.T) {
	h := NewHub(Config{})
	sub, _ := h.SubscribeWaiting("live/w")
	_, wait := runViewer(t, sub, WebRTCSubscriberConfig{CloseOnCodecMismatch: true}, newFakeLocal("H264"), nil)
	pub, _ := h.Publish("live/w")
	defer pub.Close()
	mustWrite(t, pub, Unit{Type: Video, Codec: VP8, Keyframe: true, Data: []byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a}})
	if err := wait(); !errors.Is(err, ErrCodecMismatch) {
		t.Fatalf("Run: %v, want ErrCodecMismatch", err)
	}
}
