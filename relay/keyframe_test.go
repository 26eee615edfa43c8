package relay

import (
	"errors"
	"sync/atomic"
	"testing"
)

// A publisher's key frame requester is asked when a subscriber joins
// without a usable cached GOP, when the slow-consumer policy empties a
// queue, and by Subscriber.RequestKeyFrame; without one, RequestKeyFrame
// reports that nobody can answer.
func TestKeyFrameRequests(t *testing.T) {
	h := NewHub(Config{QueueLen: 4, MaxGOPPackets: 2})
	p, _ := h.Publish("k")
	var asked atomic.Int32
	early, _ := h.Subscribe("k")
	if early.RequestKeyFrame() {
		t.Fatal("RequestKeyFrame answered without a requester")
	}
	p.OnKeyFrameRequest(func() { asked.Add(1) })
	mustWrite(t, p, video(0, true))
	mustWrite(t, p, video(40, false))
	mustWrite(t, p, video(80, false)) // the GOP outgrows MaxGOPPackets: no cache
	if asked.Load() != 0 {
		t.Fatalf("%d requests before anyone waits", asked.Load())
	}
	late, _ := h.Subscribe("k")
	if asked.Load() != 1 {
		t.Fatalf("a joiner without a cached GOP made %d requests, want 1", asked.Load())
	}
	if !late.RequestKeyFrame() || asked.Load() != 2 {
		t.Fatalf("RequestKeyFrame: %d requests, want 2", asked.Load())
	}
	for i := range 3 { // early holds 3 frames and a 4-frame queue: it overflows
		mustWrite(t, p, video(uint32(120+40*i), false))
	}
	if asked.Load() < 3 || early.Dropped() == 0 {
		t.Fatalf("an overflowing queue made %d requests in all (dropped %d)", asked.Load(), early.Dropped())
	}
	p.OnKeyFrameRequest(nil)
	if late.RequestKeyFrame() {
		t.Error("RequestKeyFrame answered after the requester was removed")
	}
	var zero Subscriber
	if zero.RequestKeyFrame() {
		t.Error("a zero Subscriber's RequestKeyFrame answered")
	}
}

// A viewer's PLI is counted, and forwarded only to a publisher that can
// answer it.
func TestWebRTCSubscriberKeyFrameRequest(t *testing.T) {
	h := NewHub(Config{})
	p, _ := h.Publish("pli")
	sub, _ := h.Subscribe("pli")
	v := NewWebRTCSubscriber(sub, WebRTCSubscriberConfig{})
	v.OnKeyFrameRequest(nil) // an RTMP publisher cannot make a keyframe
	var asked atomic.Int32
	p.OnKeyFrameRequest(func() { asked.Add(1) })
	v.RequestKeyFrame()
	st := v.Stats()
	if st.KeyFrameRequests != 2 || st.KeyFrameRequestsForwarded != 1 || asked.Load() != 1 {
		t.Fatalf("stats %+v, publisher asked %d times", st, asked.Load())
	}
}

// TestWebRTCPublisherKeyFrameOnJoin: a WHIP publisher's keyframes come
// only on request (browsers send one at start and on PLI); when its GOP is
// not cached, a joining subscriber's request reaches the sender as a PLI
// on the next video packet.
func TestWebRTCPublisherKeyFrameOnJoin(t *testing.T) {
	aus := readH264AUs(t)
	h := NewHub(Config{MaxGOPPackets: 10})
	pub, _ := h.Publish("live/join")
	w := NewWebRTCPublisher(pub, WebRTCPublisherConfig{})
	defer w.Close()
	track := newFakeRemote("H264")
	pkts := packetizeH264(aus, 0, 0)
	write := func(from, to int) {
		for _, au := range pkts[from:to] {
			for _, p := range au {
				if err := w.WriteRTP(track, p); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	write(0, 20) // 20 frames: more than the GOP cache takes
	if n := track.requests.Load(); n != 0 {
		t.Fatalf("%d requests before a subscriber", n)
	}
	if _, err := h.Subscribe("live/join"); err != nil {
		t.Fatal(err)
	}
	write(20, 21)
	if n := track.requests.Load(); n != 1 {
		t.Fatalf("%d PLIs after a subscriber joined, want 1", n)
	}
}

// Run ends with a write's error and leaves the hub.
func TestWebRTCSubscriberWriteError(t *testing.T) {
	h := NewHub(Config{})
	pub, _ := h.Publish("fail")
	defer pub.Close()
	sub, _ := h.Subscribe("fail")
	video := newFakeLocal("H264")
	boom := errors.New("boom")
	video.fail = boom
	_, wait := runViewer(t, sub, WebRTCSubscriberConfig{}, video, nil)
	for _, p := range avcPackets(t, readH264AUs(t)[:2], false) {
		writeTags(t, pub, p)
	}
	if err := wait(); !errors.Is(err, boom) {
		t.Fatalf("Run: %v", err)
	}
	if h.Subscribers("fail") != 0 {
		t.Error("the failed viewer is still subscribed")
	}
}
