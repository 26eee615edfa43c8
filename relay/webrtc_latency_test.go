package relay

import (
	"sync"
	"testing"
	"time"
)

// OnSent reports, once per frame sent and for no skipped frame, the time
// from the frame's arrival to its packets written: at least the age the
// frames had when published.
func TestWebRTCSubscriberOnSent(t *testing.T) {
	const age = 40 * time.Millisecond
	h := NewHub(Config{NoTranscode: true})
	pub, _ := h.Publish("live/lat")
	sub, _ := h.Subscribe("live/lat")
	var mu sync.Mutex
	var got []time.Duration
	onSent := func(d time.Duration) {
		mu.Lock()
		got = append(got, d)
		mu.Unlock()
	}
	video := newFakeLocal("H264")
	v, wait := runViewer(t, sub, WebRTCSubscriberConfig{OnSent: onSent}, video, newFakeLocal("opus"))
	frames := tagFrames(append(avcPackets(t, readH264AUs(t)[:10], false), opusPackets([][]byte{{0xfc, 1}, {0xfc, 2}})...))
	arrival := time.Now().Add(-age)
	for _, f := range frames {
		u := f.Unit
		u.Arrival = arrival
		mustWrite(t, pub, u)
	}
	mustWrite(t, pub, Unit{Type: Audio, Codec: AAC, Data: []byte{0x21}, Arrival: arrival}) // skipped: no transcoder
	pub.Close()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	st := v.Stats()
	mu.Lock()
	defer mu.Unlock()
	if want := 10 + 2; len(got) != want || st.Frames != int64(want) {
		t.Fatalf("OnSent called %d times, %d frames sent; want %d", len(got), st.Frames, want)
	}
	for i, d := range got {
		if d < age || d > age+10*time.Second {
			t.Errorf("frame %d: %v since arrival, want at least %v", i, d, age)
		}
	}
}
