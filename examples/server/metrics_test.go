package main

import (
	"context"
	"fmt"
	"math"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/streamwire/streamwire/relay"
	"github.com/streamwire/streamwire/rtmp"
	"github.com/streamwire/streamwire/signaling/whip"
)

// whepSessions publishes live/cam over RTMP (through the relay's RTMP
// handler) and opens n WHEP sessions of it through the backend's Play.
func whepSessions(t testing.TB, b *backend, n int) (rtmp.MediaSink, []*session) {
	t.Helper()
	h := &relay.RTMPHandler{Hub: b.hub}
	sink, err := h.Publish(context.Background(), &rtmp.StreamRequest{App: "live", Name: "cam"})
	require.NoError(t, err)
	require.NoError(t, sink.WriteMedia(rtmp.Media{Type: rtmp.TypeVideo, Payload: seqHeader}))
	offer := whepOffer(t)
	var ss []*session
	for i := range n {
		s, _, err := b.Play(context.Background(), &whip.Offer{Kind: whip.KindWHEP, Stream: whip.Stream{App: "live", Name: "cam"},
			SDP: offer, LogID: fmt.Sprint(i)})
		require.NoError(t, err)
		ss = append(ss, s.(*session))
	}
	t.Cleanup(func() {
		for _, s := range ss {
			s.p.Close()
		}
		for _, s := range ss {
			<-s.Done()
		}
		sink.Close()
	})
	return sink, ss
}

// TestMetricsScrapeWaitsForNoPeer: a scrape of WHEP sessions completes
// while every peer's statistics are stuck (their clock blocks, as a track
// lock held across a socket write blocks them), because it reads no
// statistic that waits on the media path. Before the fix every scrape
// called each track's Stats, which waited, once per track of every
// session: 34 s at 1,000 loaded viewers.
func TestMetricsScrapeWaitsForNoPeer(t *testing.T) {
	b, _ := testBackend(t)
	var clock sync.RWMutex
	b.now = func() time.Time { clock.RLock(); defer clock.RUnlock(); return time.Now() }
	_, ss := whepSessions(t, b, 20)
	pr := prometheus.NewRegistry()
	pr.MustRegister(newRegistryCollector(b.reg))

	clock.Lock()
	done := make(chan error, 1)
	go func() { _, err := pr.Gather(); done <- err }()
	select {
	case err := <-done:
		clock.Unlock()
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		clock.Unlock()
		<-done
		t.Fatal("the scrape waited for the peers' statistics")
	}
	require.Equal(t, len(ss), b.reg.snapshot().subscribers[protoWHEP])
}

// TestWHEPLockedCountersCopied: the WHEP counters that sit behind the
// media path's locks (here the subscriber's slow-consumer drops) reach
// the scrapes through the session's copy, made every interval by the
// registry's refresh loop, and exactly when the session ends.
func TestWHEPLockedCountersCopied(t *testing.T) {
	b, _ := testBackend(t)
	sink, ss := whepSessions(t, b, 1)
	s := ss[0]
	// Nobody reads the subscriber (its peer never connects): past its
	// queue, frames are dropped until the next keyframe.
	for i := range 2 * relay.DefaultQueueLen {
		payload := []byte{0x27, 1, 0, 0, 0, 0, 0, 0, 1, 0x41}
		if i == 0 {
			payload = keyframe
		}
		require.NoError(t, sink.WriteMedia(rtmp.Media{Type: rtmp.TypeVideo, Timestamp: uint32(i * 33), Payload: payload}))
	}
	dropped := uint64(s.sub.Dropped())
	require.Positive(t, dropped, "the unread subscriber dropped nothing")
	require.Zero(t, s.counters().drops, "copied before a refresh")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.reg.refresh(ctx, 5*time.Millisecond); close(done) }()
	require.Eventually(t, func() bool { return s.counters().drops == dropped }, 5*time.Second, time.Millisecond)
	cancel()
	<-done
	require.Equal(t, dropped, s.final().drops)
}

// TestLatencyHistogram: the latency histogram, which takes many frames
// in one observation, exposes what Prometheus's own histogram exposes
// for the same frames observed one by one (bounds inclusive, +Inf, count
// and sum), scraped and parsed with expfmt.
func TestLatencyHistogram(t *testing.T) {
	m := newMetrics(newRegistry())
	ref := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ref", Buckets: latencyBuckets[:]}, []string{"kind"})
	obs := []struct {
		typ    relay.Type
		d      time.Duration
		frames int
	}{
		{relay.Video, 3 * time.Millisecond, 300}, {relay.Video, time.Millisecond, 2}, // on a bound
		{relay.Video, 2 * time.Second, 1}, {relay.Audio, 50 * time.Microsecond, 7}, {relay.Video, 0, 1},
	}
	for _, o := range obs {
		m.ObserveLatency(o.typ, o.d, o.frames)
		kind := "video"
		if o.typ == relay.Audio {
			kind = "audio"
		}
		for range o.frames {
			ref.WithLabelValues(kind).Observe(o.d.Seconds())
		}
	}
	r := prometheus.NewRegistry()
	r.MustRegister(ref)
	want, err := r.Gather()
	require.NoError(t, err)
	srv := httptest.NewServer(m.handler())
	defer srv.Close()
	got := scrape(t, srv.URL)["streamwire_webrtc_send_latency_seconds"]
	require.NotNil(t, got)
	require.Len(t, got.Metric, 2)
	for _, gm := range got.Metric {
		var wm *dto.Metric
		for _, c := range want[0].Metric {
			if c.Label[0].GetValue() == gm.Label[0].GetValue() {
				wm = c
			}
		}
		require.NotNil(t, wm, gm.Label[0].GetValue())
		gh, wh := gm.Histogram, wm.Histogram
		require.Equal(t, wh.GetSampleCount(), gh.GetSampleCount(), gm.Label[0].GetValue())
		require.InDelta(t, wh.GetSampleSum(), gh.GetSampleSum(), 1e-9)
		require.Len(t, gh.Bucket, len(wh.Bucket)+1) // the text has +Inf; Gather leaves it out
		inf := gh.Bucket[len(wh.Bucket)]
		require.True(t, math.IsInf(inf.GetUpperBound(), 1))
		require.Equal(t, gh.GetSampleCount(), inf.GetCumulativeCount())
		for i := range wh.Bucket {
			require.Equal(t, wh.Bucket[i].GetUpperBound(), gh.Bucket[i].GetUpperBound())
			require.Equal(t, wh.Bucket[i].GetCumulativeCount(), gh.Bucket[i].GetCumulativeCount(), "le=%v", wh.Bucket[i].GetUpperBound())
		}
	}
	require.Zero(t, testing.AllocsPerRun(100, func() { m.ObserveLatency(relay.Video, time.Millisecond, 256) }), "an observation allocates")
}
