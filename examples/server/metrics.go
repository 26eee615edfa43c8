package main

import (
	"math"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/streamwire/streamwire/relay"
	"github.com/streamwire/streamwire/signaling/whip"
)

// metrics is the server's Prometheus registry: the Go and process
// collectors, the registry's gauges and counters read at each scrape
// (registryCollector), and the histograms of WebRTC connect times and of
// server-added latency.
type metrics struct {
	reg     *prometheus.Registry
	connect *prometheus.HistogramVec
	latency *latencyCollector
}

// connectBuckets spans a loopback connection (a few ms) to a slow mobile
// network's ICE and DTLS (seconds).
var connectBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// latencyBuckets span what the server adds to a frame on its way to a
// WebRTC viewer: tens of microseconds when idle, to a queue that a slow
// viewer let grow.
var latencyBuckets = [...]float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}

func newMetrics(r *registry) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		connect: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "streamwire_webrtc_connect_seconds",
			Help:    "Time from a WHIP or WHEP answer to the end of ICE and the DTLS handshake.",
			Buckets: connectBuckets,
		}, []string{"kind"}),
		latency: newLatencyCollector(),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.connect,
		m.latency,
		newRegistryCollector(r),
	)
	return m
}

// observeConnect records one session's connect time; m may be nil.
func (m *metrics) observeConnect(kind whip.Kind, d time.Duration) {
	if m != nil {
		m.connect.WithLabelValues(kind.String()).Observe(d.Seconds())
	}
}

// ObserveLatency implements relay.LatencyObserver: frames frames of one
// type, one per viewer, sent d after they arrived. It allocates nothing.
func (m *metrics) ObserveLatency(typ relay.Type, d time.Duration, frames int) {
	h := &m.latency.video
	if typ == relay.Audio {
		h = &m.latency.audio
	}
	h.observe(d, uint64(frames))
}

// latencyCollector is the histogram of server-added latency by frame
// type, as streamwire_webrtc_send_latency_seconds{kind}. Prometheus's
// own histogram takes one observation per call, and a viewer group
// reports the hundreds of viewers a write reached, all with the same
// latency, in one call (relay.LatencyObserver): here one call adds them
// all, with three atomic operations.
type latencyCollector struct {
	desc         *prometheus.Desc
	video, audio latencyHistogram
}

// latencyHistogram counts observations per bucket of latencyBuckets
// (not cumulative; the last is +Inf) and sums them, in seconds (the
// bits of a float64: nanoseconds in a uint64 would wrap within months at
// thousands of viewers).
type latencyHistogram struct {
	counts  [len(latencyBuckets) + 1]atomic.Uint64
	sumBits atomic.Uint64
}

func newLatencyCollector() *latencyCollector {
	return &latencyCollector{desc: prometheus.NewDesc("streamwire_webrtc_send_latency_seconds",
		"Server-added latency of each frame sent to a WebRTC viewer, by kind (video, audio): from its arrival "+
			"(an RTMP message read, a WHIP frame's last packet, the AAC-to-Opus transcoder's output) to its last RTP "+
			"packet written to the viewer's socket.", []string{"kind"}, nil)}
}

func (h *latencyHistogram) observe(d time.Duration, n uint64) {
	s := d.Seconds()
	i, _ := slices.BinarySearch(latencyBuckets[:], s) // the first bound >= s: le is inclusive
	h.counts[i].Add(n)
	for {
		old := h.sumBits.Load()
		if h.sumBits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+s*float64(n))) {
			return
		}
	}
}

// metric returns the histogram as Prometheus exposes it. Its count is
// the sum of the buckets read, so that the two agree while it grows.
func (h *latencyHistogram) metric(desc *prometheus.Desc, kind string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(latencyBuckets))
	var count uint64
	for i, le := range latencyBuckets {
		count += h.counts[i].Load()
		buckets[le] = count
	}
	count += h.counts[len(latencyBuckets)].Load()
	sum := math.Float64frombits(h.sumBits.Load())
	return prometheus.MustNewConstHistogram(desc, count, sum, buckets, kind)
}

func (c *latencyCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *latencyCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- c.video.metric(c.desc, "video")
	ch <- c.audio.metric(c.desc, "audio")
}

// handler serves /metrics.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// registryCollector turns a registry snapshot into metrics at each scrape:
// the peers' and the relay's own counters are read, so the media paths
// carry no metric code, and read without a lock of the media path (see
// session.counters), so that a scrape of thousands of sessions takes
// milliseconds however busy they are.
type registryCollector struct {
	r                                *registry
	streams, publishers, subscribers *prometheus.Desc
	bytes, packets                   *prometheus.Desc
	nacks, retransmits, plis, drops  *prometheus.Desc
}

func newRegistryCollector(r *registry) *registryCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("streamwire_"+name, help, labels, nil)
	}
	return &registryCollector{
		r:           r,
		streams:     d("streams", "Streams being published."),
		publishers:  d("publishers", "Live publishers by protocol (rtmp, whip).", "protocol"),
		subscribers: d("subscribers", "Live subscribers by protocol (rtmp, whep).", "protocol"),
		bytes: d("media_bytes_total", "Media payload bytes received from publishers (in) and sent to subscribers (out): "+
			"FLV tag bodies for RTMP, RTP payloads for WebRTC.", "protocol", "direction"),
		packets: d("media_packets_total", "RTMP media messages and RTP packets received (in) and sent (out).",
			"protocol", "direction"),
		nacks: d("nacks_total", "RTP packets NACKed by WebRTC viewers (received) and by the server to publishers (sent).",
			"protocol", "direction"),
		retransmits: d("retransmissions_total", "RTP packets retransmitted to WebRTC viewers after a NACK.", "protocol"),
		plis: d("keyframe_requests_total", "Key frame requests (PLI, FIR) from WebRTC viewers (received) and to WebRTC publishers (sent).",
			"protocol", "direction"),
		drops: d("slow_consumer_drops_total", "Frames the relay dropped for subscribers that fell behind.", "protocol"),
	}
}

// Describe implements prometheus.Collector.
func (c *registryCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.streams, c.publishers, c.subscribers, c.bytes, c.packets,
		c.nacks, c.retransmits, c.plis, c.drops} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *registryCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.r.snapshot()
	gauge := func(d *prometheus.Desc, v int, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(c.streams, len(s.streams))
	for _, p := range []string{protoRTMP, protoWHIP} {
		gauge(c.publishers, s.publishers[p], p)
	}
	for _, p := range []string{protoRTMP, protoWHEP} {
		gauge(c.subscribers, s.subscribers[p], p)
	}
	for _, p := range []string{protoRTMP, protoWHIP, protoWHEP} {
		t := s.totals[p]
		if p != protoWHEP {
			counter(c.bytes, t.bytesIn, p, "in")
			counter(c.packets, t.packetsIn, p, "in")
		}
		if p != protoWHIP {
			counter(c.bytes, t.bytesOut, p, "out")
			counter(c.packets, t.packetsOut, p, "out")
			counter(c.drops, t.drops, p)
		}
	}
	whep, whip := s.totals[protoWHEP], s.totals[protoWHIP]
	counter(c.nacks, whep.nacksReceived, protoWHEP, "received")
	counter(c.nacks, whip.nacksSent, protoWHIP, "sent")
	counter(c.retransmits, whep.retransmits, protoWHEP)
	counter(c.plis, whep.plisReceived, protoWHEP, "received")
	counter(c.plis, whip.plisSent, protoWHIP, "sent")
}
