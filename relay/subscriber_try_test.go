package relay

import (
	"errors"
	"io"
	"testing"
)

// TryReadBatch never waits: nothing queued is (dst, nil); then the queued
// frames; io.EOF once the publisher has left and the queue is drained;
// ErrClosed after Close.
func TestTryReadBatch(t *testing.T) {
	h := NewHub(Config{})
	p, err := h.Publish("live/try")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := h.Subscribe("live/try")
	if err != nil {
		t.Fatal(err)
	}
	closed, err := h.Subscribe("live/try")
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	if _, err := closed.TryReadBatch(nil, 0); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
	if got, err := sub.TryReadBatch(nil, 0); len(got) != 0 || err != nil {
		t.Fatalf("empty queue: %d frames, %v", len(got), err)
	}
	mustWrite(t, p, video(0, true))
	mustWrite(t, p, audio(10))
	mustWrite(t, p, video(40, false))
	got, err := sub.TryReadBatch(nil, 2)
	if len(got) != 2 || err != nil {
		t.Fatalf("queued: %d frames, %v", len(got), err)
	}
	p.Close()
	if got, err = sub.TryReadBatch(got, 0); len(got) != 3 || err != nil {
		t.Fatalf("the rest after the publisher left: %d frames, %v", len(got), err)
	}
	if _, err := sub.TryReadBatch(nil, 0); !errors.Is(err, io.EOF) {
		t.Fatalf("drained: %v, want io.EOF", err)
	}
}
