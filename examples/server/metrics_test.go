package main

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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

// TestWHEPLockedCountersCopiedBySender: the WHEP counters that sit behind
// the media path's locks (here the subscriber's slow-consumer drops) reach
// the scrapes through the send goroutine's copy, made every statsEvery
// frames sent, and exactly when the session ends.
func TestWHEPLockedCountersCopiedBySender(t *testing.T) {
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
	require.Zero(t, s.counters().drops, "copied before any frame was sent")
	for range statsEvery - 1 {
		s.onSent(relay.Video, time.Millisecond)
	}
	require.Zero(t, s.counters().drops, "copied before statsEvery frames")
	s.onSent(relay.Video, time.Millisecond)
	require.Equal(t, dropped, s.counters().drops)
	require.Equal(t, dropped, s.final().drops)
	require.Zero(t, testing.AllocsPerRun(statsEvery, func() { s.onSent(relay.Video, time.Millisecond) }), "onSent allocates")
}
