package bench

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/streamwire/streamwire/rtmp"
	"github.com/streamwire/streamwire/rtmp/flv"
)

// recordedRTMP is ffmpeg 5.1.9 publishing 3 s of libx264 + AAC, as received
// by a server after the handshake (see rtmp/chunk_record_test.go).
func recordedRTMP(b *testing.B) []byte {
	data, err := os.ReadFile("../rtmp/testdata/ffmpeg_publish.chunks")
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// replay serves the recording over and over, as a connection that never
// ends.
type replay struct{ r *bytes.Reader }

func (p *replay) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if err == io.EOF {
		_, _ = p.r.Seek(0, io.SeekStart)
		return p.r.Read(b)
	}
	return n, err
}

// countMessages returns how many messages one pass of the recording holds.
func countMessages(b *testing.B, data []byte) int {
	r := rtmp.NewChunkReader(bytes.NewReader(data), rtmp.ReaderConfig{})
	n := 0
	for {
		if _, err := r.ReadMessage(); err == io.EOF {
			return n
		} else if err != nil {
			b.Fatal(err)
		}
		n++
	}
}

// BenchmarkRTMPChunkRead reads the recorded chunk stream in a loop: one op
// is one pass over the recording (MB/s = chunk stream bytes parsed and
// reassembled per second). allocs/msg must be 0 in steady state.
func BenchmarkRTMPChunkRead(b *testing.B) {
	data := recordedRTMP(b)
	perPass := countMessages(b, data)
	r := rtmp.NewChunkReader(&replay{bytes.NewReader(data)}, rtmp.ReaderConfig{})
	for i := 0; i < perPass; i++ { // warm up the per-chunk-stream buffers
		if _, err := r.ReadMessage(); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := 0; j < perPass; j++ {
			if _, err := r.ReadMessage(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perPass), "ns/msg")
	allocs := testing.AllocsPerRun(perPass, func() {
		if _, err := r.ReadMessage(); err != nil {
			b.Fatal(err)
		}
	})
	b.ReportMetric(allocs, "allocs/msg")
}

// BenchmarkRTMPChunkWrite re-chunks the recording's messages (as a relay
// does towards a player): one op writes every message once.
func BenchmarkRTMPChunkWrite(b *testing.B) {
	data := recordedRTMP(b)
	var msgs []rtmp.Message
	r := rtmp.NewChunkReader(bytes.NewReader(data), rtmp.ReaderConfig{})
	for {
		m, err := r.ReadMessage()
		if err == io.EOF {
			break
		} else if err != nil {
			b.Fatal(err)
		}
		m.Payload = bytes.Clone(m.Payload)
		msgs = append(msgs, m)
	}
	w := rtmp.NewChunkWriter(io.Discard)
	if err := w.WriteSetChunkSize(4096); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	base := uint32(0)
	for i := 0; i < b.N; i++ {
		for _, m := range msgs {
			m.Timestamp += base
			if err := w.WriteMessage(m); err != nil {
				b.Fatal(err)
			}
		}
		base += 3000
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(msgs)), "ns/msg")
}

// BenchmarkRTMPParseVideoTag parses the recording's video payloads and
// iterates their NAL units.
func BenchmarkRTMPParseVideoTag(b *testing.B) {
	data := recordedRTMP(b)
	var tags [][]byte
	r := rtmp.NewChunkReader(bytes.NewReader(data), rtmp.ReaderConfig{})
	for {
		m, err := r.ReadMessage()
		if err != nil {
			break
		}
		if m.Type == rtmp.TypeVideo {
			tags = append(tags, bytes.Clone(m.Payload))
		}
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		for _, p := range tags {
			tag, err := flv.ParseVideoTag(p)
			if err != nil {
				b.Fatal(err)
			}
			if tag.IsSequenceHeader() {
				continue
			}
			it := flv.NewNALUIter(tag.Data, 4)
			for _, ok := it.Next(); ok; _, ok = it.Next() {
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(tags)), "ns/tag")
}
