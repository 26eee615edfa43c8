package natsbackplane

import (
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/streamwire/streamwire/signaling/apprtc"
	"github.com/streamwire/streamwire/signaling/kvs"
)

// countSink is an apprtc.Sink and, through kvsCount, a kvs.Sink that
// counts what it is delivered.
type countSink struct{ n atomic.Int64 }

func (c *countSink) Deliver(string) error { c.n.Add(1); return nil }
func (c *countSink) Close()               {}

type kvsCount struct{ *countSink }

func (k kvsCount) Deliver(kvs.Message) error { return k.countSink.Deliver("") }

// backplanes returns two Backplanes on one embedded NATS server.
func backplanes(b *testing.B) (*Backplane, *Backplane) {
	ns := startNATS(b)
	var bps [2]*Backplane
	for i := range bps {
		nc, err := nats.Connect(ns.ClientURL())
		require.NoError(b, err)
		bps[i], err = New(b.Context(), nc, Config{Logger: quiet})
		require.NoError(b, err)
		b.Cleanup(func() { _ = bps[i].Close(); nc.Close() })
	}
	return bps[0], bps[1]
}

// BenchmarkAppRTCSendAcrossInstances: one Collider message from a client
// on instance A to its peer's WebSocket on instance B: a KV read of the
// room and a request to B. Parallel, one room per goroutine.
func BenchmarkAppRTCSendAcrossInstances(b *testing.B) {
	bpA, bpB := backplanes(b)
	sa, err := bpA.AppRTC(b.Context(), apprtc.Config{})
	require.NoError(b, err)
	sb, err := bpB.AppRTC(b.Context(), apprtc.Config{})
	require.NoError(b, err)
	var rooms atomic.Int64
	sink := &countSink{}
	b.ReportAllocs()
	b.SetParallelism(8) // 16 rooms in flight on 2 cores: NATS round trips overlap
	b.RunParallel(func(pb *testing.PB) {
		room := "r" + strconv.FormatInt(rooms.Add(1), 10)
		require.NoError(b, sa.Register(b.Context(), room, "a", &countSink{}))
		require.NoError(b, sb.Register(b.Context(), room, "b", sink))
		for pb.Next() {
			if err := sa.Send(b.Context(), room, "a", `{"type":"candidate","candidate":"candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host"}`); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	require.Equal(b, int64(b.N), sink.n.Load())
	reportStats(b, bpA)
}

// BenchmarkKVSSendAcrossInstances: one message from a viewer on instance
// A to the master on instance B. Parallel, one channel per goroutine.
func BenchmarkKVSSendAcrossInstances(b *testing.B) {
	bpA, bpB := backplanes(b)
	sa, err := bpA.KVS(b.Context(), kvs.Config{})
	require.NoError(b, err)
	sb, err := bpB.KVS(b.Context(), kvs.Config{})
	require.NoError(b, err)
	var chans atomic.Int64
	sink := &countSink{}
	b.ReportAllocs()
	b.SetParallelism(8) // 16 rooms in flight on 2 cores: NATS round trips overlap
	b.RunParallel(func(pb *testing.PB) {
		name := "c" + strconv.FormatInt(chans.Add(1), 10)
		require.NoError(b, sa.CreateChannel(b.Context(), kvs.Channel{Name: name, MessageTTL: kvs.DefaultMessageTTL}))
		require.NoError(b, sb.Connect(b.Context(), name, "", kvsCount{sink}))
		m := kvs.Message{Type: kvs.MessageICECandidate, Sender: "v1", Payload: "eyJjYW5kaWRhdGUiOiJjYW5kaWRhdGU6MSAxIHVkcCAyMTIyMjYwMjIzIDE5Mi4wLjIuMSA1NDMyMSB0eXAgaG9zdCJ9"}
		for pb.Next() {
			if err := sa.Send(b.Context(), name, "", m); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	require.Equal(b, int64(b.N), sink.n.Load())
	reportStats(b, bpA)
}

// reportStats reports the messages that crossed NATS and the KV reads of
// the sending instance per message.
func reportStats(b *testing.B, bp *Backplane) {
	st := bp.Stats()
	b.ReportMetric(float64(st.Forwarded)/float64(b.N), "crossed/op")
	b.ReportMetric(float64(st.KVReads)/float64(b.N), "kvreads/op")
	b.ReportMetric(float64(st.CacheHits)/float64(b.N), "cachehits/op")
	b.ReportMetric(float64(st.Forwarded)/float64(max(st.Batches, 1)), "msgs/batch")
}

// BenchmarkAppRTCSendAcrossInstancesSerial: as
// BenchmarkAppRTCSendAcrossInstances, one message at a time, so that each
// batch carries one message: the cost of a lone message, round trip
// included.
func BenchmarkAppRTCSendAcrossInstancesSerial(b *testing.B) {
	bpA, bpB := backplanes(b)
	sa, err := bpA.AppRTC(b.Context(), apprtc.Config{})
	require.NoError(b, err)
	sb, err := bpB.AppRTC(b.Context(), apprtc.Config{})
	require.NoError(b, err)
	sink := &countSink{}
	require.NoError(b, sa.Register(b.Context(), "serial", "a", &countSink{}))
	require.NoError(b, sb.Register(b.Context(), "serial", "b", sink))
	b.ReportAllocs()
	for b.Loop() {
		if err := sa.Send(b.Context(), "serial", "a", `{"type":"candidate","candidate":"candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host"}`); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	require.Equal(b, int64(b.N), sink.n.Load())
	reportStats(b, bpA)
}
