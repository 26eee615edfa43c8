package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
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
	return offerSDP(t, pc)
}

// BenchmarkMetricsScrape measures one scrape of the registry's metrics
// (registryCollector through a Prometheus registry's Gather, as /metrics
// does) with 1,000 and 10,000 WHEP viewers of real peers and relay
// subscribers:
//
//	cd examples && GOWORK=off go test -run '^$' -bench MetricsScrape -benchtime 10x ./server/
//
// Its peers are not connected (no client answers their checks), so no
// media flows and no lock is contended: it measures the walk itself. What
// made scrapes of a loaded server take a minute was the wait for locks
// that viewers hold while they queue for the shared UDP socket's write
// lock (each track's, in peer.LocalTrack.WriteRTP): the server with 1,000
// wheplab viewers of a 600 kbit/s stream, on two shared cores, answered
// no scrape within 60 s, and a goroutine dump showed the scrape in
// LocalTrack.Stats and 824 viewers in WriteRTP waiting for the socket.
// With the counters copied by the senders, its scrapes took 5 to 20 ms.
// TestMetricsScrapeWaitsForNoPeer checks that a scrape waits for no peer.
func BenchmarkMetricsScrape(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		be, _ := testBackend(b)
		be.connectTimeout = time.Hour // the peers outlive the benchmark unconnected
		whepSessions(b, be, n)
		pr := prometheus.NewRegistry()
		pr.MustRegister(newRegistryCollector(be.reg))
		b.Run(fmt.Sprintf("viewers=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				mf, err := pr.Gather()
				if err != nil || len(mf) == 0 {
					b.Fatalf("gather: %d families, %v", len(mf), err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/scrape")
			if live := be.reg.snapshot().subscribers[protoWHEP]; live != n {
				b.Fatalf("%d of the %d WHEP sessions left during the benchmark", n-live, n)
			}
		})
	}
}
