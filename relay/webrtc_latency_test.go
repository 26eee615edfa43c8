package relay

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// latencyFunc is a LatencyObserver that cannot be compared, which
// NewWebRTCSubscriber boxes.
type latencyFunc func(typ Type, d time.Duration, frames int)

func (f latencyFunc) ObserveLatency(typ Type, d time.Duration, frames int) { f(typ, d, frames) }

// Latency is told, once per frame sent and for no skipped frame, the time
// from the frame's arrival to its packets written: at least the age the
// frames had when published.
func TestWebRTCSubscriberLatency(t *testing.T) {
	const age = 40 * time.Millisecond
	h := NewHub(Config{NoTranscode: true})
	pub, _ := h.Publish("live/lat")
	sub, _ := h.Subscribe("live/lat")
	var mu sync.Mutex
	var got []time.Duration
	types := map[Type]int{}
	observe := latencyFunc(func(typ Type, d time.Duration, frames int) {
		mu.Lock()
		for range frames {
			got = append(got, d)
			types[typ]++
		}
		mu.Unlock()
	})
	video := newFakeLocal("H264")
	v, wait := runViewer(t, sub, WebRTCSubscriberConfig{Latency: observe}, video, newFakeLocal("opus"))
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
		t.Fatalf("Latency told of %d frames, %d frames sent; want %d", len(got), st.Frames, want)
	}
	if types[Video] != 10 || types[Audio] != 2 {
		t.Errorf("Latency told of types %v, want 10 video and 2 audio", types)
	}
	for i, d := range got {
		if d < age || d > age+10*time.Second {
			t.Errorf("frame %d: %v since arrival, want at least %v", i, d, age)
		}
	}
}

// latencyRecorder is a comparable LatencyObserver that records its calls.
type latencyRecorder struct{ calls []latencyCall }

type latencyCall struct {
	typ    Type
	d      time.Duration
	frames int
}

func (r *latencyRecorder) ObserveLatency(typ Type, d time.Duration, frames int) {
	r.calls = append(r.calls, latencyCall{typ, d, frames})
}

// TestLatencyRun: a group reports in one call the members of one write
// that sent the same frame to one observer, and apart those that differ
// in frame, type or observer; a member without an observer or without an
// unreported frame reports nothing, and every member's frame is reported
// once.
func TestLatencyRun(t *testing.T) {
	now := time.Now()
	a, b := now.Add(-3*time.Millisecond), now.Add(-5*time.Millisecond)
	o1, o2 := &latencyRecorder{}, &latencyRecorder{}
	snd := func(o LatencyObserver, typ Type, at time.Time) *sender {
		v := &WebRTCSubscriber{}
		if o != nil {
			v.cfg.Latency = o
		}
		return &sender{v: v, unsentAt: at, unsentType: typ}
	}
	members := []*sender{
		snd(o1, Video, a), snd(o1, Video, a), snd(o1, Video, a),
		snd(nil, Video, a),
		snd(o1, Video, time.Time{}),
		snd(o1, Video, b),
		snd(o1, Audio, b),
		snd(o2, Audio, b), snd(o2, Audio, b),
	}
	r := latencyRun{now: now}
	for _, s := range members {
		r.add(s)
	}
	r.report()
	want1 := []latencyCall{{Video, 3 * time.Millisecond, 3}, {Video, 5 * time.Millisecond, 1}, {Audio, 5 * time.Millisecond, 1}}
	want2 := []latencyCall{{Audio, 5 * time.Millisecond, 2}}
	if !slices.Equal(o1.calls, want1) || !slices.Equal(o2.calls, want2) {
		t.Fatalf("calls %v and %v, want %v and %v", o1.calls, o2.calls, want1, want2)
	}
	for i, s := range members {
		if !s.unsentAt.IsZero() {
			t.Errorf("member %d: its frame is still to report", i)
		}
	}
	r.report()
	if len(o1.calls) != 3 || len(o2.calls) != 1 {
		t.Error("a second report repeated calls")
	}
}

// mappingLocal is a fakeLocal that maps timestamps, as *peer.LocalTrack
// does for its sender reports.
type mappingLocal struct {
	*fakeLocal
	maps map[uint32]time.Time // RTP timestamp to instant; guarded by fakeLocal.mu
}

func (m *mappingLocal) MapTimestamp(ts uint32, at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.maps[ts] = at
}

// TestWebRTCSubscriberMapsArrival: a viewer's tracks map the RTP
// timestamp of its first frame, and then of a frame at least every
// remapEvery of arrival, as sent, to the frame's arrival, so that the
// peer's sender reports put audio and video of one instant side by side
// however late each is sent.
func TestWebRTCSubscriberMapsArrival(t *testing.T) {
	h := NewHub(Config{NoTranscode: true})
	pub, _ := h.Publish("live/sr")
	sub, _ := h.Subscribe("live/sr")
	video := &mappingLocal{newFakeLocal("H264"), map[uint32]time.Time{}}
	audio := &mappingLocal{newFakeLocal("opus"), map[uint32]time.Time{}}
	_, wait := runViewer(t, sub, WebRTCSubscriberConfig{}, video, audio)
	base := time.Now().Add(-time.Minute)
	frames := tagFrames(append(avcPackets(t, readH264AUs(t)[:10], false), opusPackets([][]byte{{0xfc, 1}, {0xfc, 2}})...))
	for _, f := range frames {
		u := f.Unit
		u.Arrival = base.Add(time.Duration(u.PTS()) * time.Millisecond)
		mustWrite(t, pub, u)
	}
	pub.Close()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	for _, tr := range []*mappingLocal{video, audio} {
		sent := tr.sent()
		if len(sent) == 0 || len(tr.maps) == 0 {
			t.Fatalf("%s: %d packets sent, %d timestamps mapped", tr.codec.Name, len(sent), len(tr.maps))
		}
		first := sent[0].ts
		perMs := tr.codec.ClockRate / 1000
		if _, ok := tr.maps[first]; !ok {
			t.Fatalf("%s: the first timestamp %d is not mapped", tr.codec.Name, first)
		}
		for ts, at := range tr.maps {
			want := base.Add(time.Duration((ts-first)/perMs) * time.Millisecond)
			if d := at.Sub(want); d < -time.Millisecond || d > time.Millisecond {
				t.Fatalf("%s: timestamp %d mapped to %v, %v from its frame's arrival", tr.codec.Name, ts, at.Sub(base), d)
			}
		}
		span := time.Duration((sent[len(sent)-1].ts-first)/perMs) * time.Millisecond
		if min := int(span/remapEvery) + 1; len(tr.maps) < min {
			t.Errorf("%s: %d timestamps mapped over %v of arrival, want at least %d", tr.codec.Name, len(tr.maps), span, min)
		}
	}
}
