package bench

import (
	"bytes"
	"io"
	"os"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/bytecounter"
	"github.com/bluenviron/gortmplib/pkg/rawmessage"

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

// recordedMessages returns one pass of the recording as messages with
// their own payloads.
func recordedMessages(b *testing.B, data []byte) []rtmp.Message {
	var msgs []rtmp.Message
	r := rtmp.NewChunkReader(bytes.NewReader(data), rtmp.ReaderConfig{})
	for {
		m, err := r.ReadMessage()
		if err == io.EOF {
			return msgs
		} else if err != nil {
			b.Fatal(err)
		}
		msgs = append(msgs, m.Clone())
	}
}

// benchPerMessage times b.N passes of perPass calls of next (one op is one
// pass over the recording, so MB/s is chunk stream bytes per second) and
// reports ns/msg and allocs/msg, the latter measured over one more pass
// after the timer stops.
func benchPerMessage(b *testing.B, streamBytes, perPass int, next func() error) {
	b.SetBytes(int64(streamBytes))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := 0; j < perPass; j++ {
			if err := next(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perPass), "ns/msg")
	allocs := testing.AllocsPerRun(1, func() {
		for j := 0; j < perPass; j++ {
			if err := next(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(allocs/float64(perPass), "allocs/msg")
}

// BenchmarkRTMPChunkRead parses and reassembles the recorded chunk stream
// in a loop, applying Set Chunk Size and Window Acknowledgement Size as a
// server must: streamwire's ChunkReader against gortmplib's
// rawmessage.Reader (the layer under its message.Reader, which does the
// same two things and then decodes each message into a typed struct).
func BenchmarkRTMPChunkRead(b *testing.B) {
	data := recordedRTMP(b)
	perPass := countMessages(b, data)
	b.Run("impl=streamwire", func(b *testing.B) {
		r := rtmp.NewChunkReader(&replay{bytes.NewReader(data)}, rtmp.ReaderConfig{})
		next := func() error { _, err := r.ReadMessage(); return err }
		for i := 0; i < perPass; i++ { // warm up the per-chunk-stream buffers
			if err := next(); err != nil {
				b.Fatal(err)
			}
		}
		benchPerMessage(b, len(data), perPass, next)
	})
	b.Run("impl=gortmplib", func(b *testing.B) {
		bc := bytecounter.NewReader(&replay{bytes.NewReader(data)})
		r := rawmessage.NewReader(bc, bc, func(uint32) error { return nil })
		next := func() error {
			m, err := r.Read()
			if err != nil {
				return err
			}
			switch rtmp.MessageType(m.Type) {
			case rtmp.TypeSetChunkSize:
				n, err := rtmp.ParseSetChunkSize(m.Body)
				if err != nil {
					return err
				}
				return r.SetChunkSize(n)
			case rtmp.TypeWindowAckSize:
				n, err := rtmp.ParseWindowAckSize(m.Body)
				if err != nil {
					return err
				}
				r.SetWindowAckSize(n)
			}
			return nil
		}
		for i := 0; i < perPass; i++ {
			if err := next(); err != nil {
				b.Fatal(err)
			}
		}
		benchPerMessage(b, len(data), perPass, next)
	})
}

// BenchmarkRTMPChunkWrite re-chunks the recording's messages at chunk size
// 4096 (as a relay does towards a player), one Write per message: one op
// writes every message once, timestamps moving on by the recording's
// length each pass.
func BenchmarkRTMPChunkWrite(b *testing.B) {
	data := recordedRTMP(b)
	msgs := recordedMessages(b, data)
	b.Run("impl=streamwire", func(b *testing.B) {
		w := rtmp.NewChunkWriter(io.Discard)
		if err := w.WriteSetChunkSize(4096); err != nil {
			b.Fatal(err)
		}
		i, base := 0, uint32(0)
		benchPerMessage(b, len(data), len(msgs), func() error {
			m := msgs[i]
			m.Timestamp += base
			if i++; i == len(msgs) {
				i, base = 0, base+3000
			}
			return w.WriteMessage(m)
		})
	})
	b.Run("impl=gortmplib", func(b *testing.B) {
		w := rawmessage.NewWriter(io.Discard, bytecounter.NewWriter(io.Discard), false)
		w.SetChunkSize(4096)
		gm := make([]rawmessage.Message, len(msgs))
		for k, m := range msgs {
			if m.ChunkStreamID > 63 {
				b.Fatalf("chunk stream %d: gortmplib writes only 2..63", m.ChunkStreamID)
			}
			gm[k] = rawmessage.Message{ChunkStreamID: byte(m.ChunkStreamID), Timestamp: time.Duration(m.Timestamp) * time.Millisecond,
				Type: uint8(m.Type), MessageStreamID: m.StreamID, Body: m.Payload}
		}
		i, base := 0, time.Duration(0)
		benchPerMessage(b, len(data), len(gm), func() error {
			m := gm[i]
			m.Timestamp += base
			if i++; i == len(gm) {
				i, base = 0, base+3*time.Second
			}
			return w.Write(&m)
		})
	})
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
