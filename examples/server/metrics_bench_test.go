package main

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/streamwire/streamwire/relay"
	"github.com/streamwire/streamwire/rtmp"
)

// whepOffer is a WHEP offer receiving video and audio, candidates
// gathered.
func whepOffer(t testing.TB) []byte {
	t.Helper()
	pc := newPC(t)
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		_, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		require.NoError(t, err)
	}
	offer, err := pc.CreateOffer(nil)
	require.NoError(t, err)
	gathered := webrtc.GatheringCompletePromise(pc)
	require.NoError(t, pc.SetLocalDescription(offer))
	<-gathered
	return []byte(pc.LocalDescription().SDP)
}

// scrapeRig is a backend with n WHEP sessions made by its Play, as the
// server makes them (a peer on the Mux, a relay subscriber and its
// WebRTCSubscriber, a registry entry), of one RTMP-published stream. The
// peers are not connected (no client answers their checks), so the
// relay's viewers do not run: load stands in for them.
type scrapeRig struct {
	b        *backend
	sink     rtmp.MediaSink
	sessions []*session
}

func newScrapeRig(tb testing.TB, n int) *scrapeRig {
	b, _ := testBackend(tb)
	b.connectTimeout = time.Hour // the peers outlive the benchmark unconnected
	sink, ss := whepSessions(tb, b, n)
	return &scrapeRig{b: b, sink: sink, sessions: ss}
}

// load stands in for a loaded server's media goroutines until stop is
// called: the publisher writes a video frame every 33 ms, and each viewer
// takes its frames from its subscriber and, per frame, maps a timestamp
// on each of its peer's tracks (which takes the track's lock, as a send
// does) and burns the CPU time that protecting and sending the frame
// costs, so that the two cores are near saturation at any viewer count,
// as the 1,000 viewers of the report were.
func (r *scrapeRig) load(tb testing.TB) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	const fps = 30
	// 1.6 CPU seconds per second spread over the viewers' frames.
	burn := time.Duration(float64(time.Second) * 1.6 / float64(fps*len(r.sessions)) * float64(runtime.GOMAXPROCS(0)) / 2)
	for _, s := range r.sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var frames []*relay.Frame
			for ctx.Err() == nil {
				var err error
				frames, err = s.sub.ReadBatch(ctx, frames[:0], 8)
				if err != nil {
					return
				}
				for _, f := range frames {
					for _, t := range s.p.LocalTracks() {
						t.MapTimestamp(uint32(f.DTS)*90, time.Now())
					}
					spin(burn)
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second / fps)
		defer tick.Stop()
		for ts := uint32(0); ; ts += 1000 / fps {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			_ = r.sink.WriteMedia(rtmp.Media{Type: rtmp.TypeVideo, Timestamp: ts, Payload: keyframe})
		}
	}()
	return func() { cancel(); wg.Wait() }
}

// spin burns d of CPU time without yielding.
func spin(d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); {
	}
}

// BenchmarkMetricsScrape measures one scrape of the registry's metrics
// (registryCollector through a Prometheus registry's Gather, as
// /metrics does) with 1,000 and 10,000 WHEP viewers, idle and under load.
//
//	cd examples && GOWORK=off go test -run '^$' -bench MetricsScrape -benchtime 5x ./server/
func BenchmarkMetricsScrape(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		r := newScrapeRig(b, n)
		pr := prometheus.NewRegistry()
		pr.MustRegister(newRegistryCollector(r.b.reg))
		for _, loaded := range []bool{false, true} {
			name := fmt.Sprintf("viewers=%d/idle", n)
			if loaded {
				name = fmt.Sprintf("viewers=%d/loaded", n)
			}
			b.Run(name, func(b *testing.B) {
				if loaded {
					defer r.load(b)()
					time.Sleep(200 * time.Millisecond) // the viewers get going
				}
				b.ReportAllocs()
				for b.Loop() {
					mf, err := pr.Gather()
					if err != nil || len(mf) == 0 {
						b.Fatalf("gather: %d families, %v", len(mf), err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/scrape")
				if live := r.b.reg.snapshot().subscribers[protoWHEP]; live != n {
					b.Fatalf("%d of the %d WHEP sessions left during the benchmark", n-live, n)
				}
			})
		}
	}
}
