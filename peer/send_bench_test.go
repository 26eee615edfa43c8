package peer

import (
	"fmt"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/streamwire/streamwire/ice"
	"github.com/streamwire/streamwire/sdp"
)

// benchTracks returns the video LocalTracks of n peers on one Mux, each
// connected to a loopback remote that discards what it reads, with the
// default profile (AEAD_AES_128_GCM) and NACK, so with the
// retransmission history.
func benchTracks(b *testing.B, n int) []*LocalTrack {
	srv := newTestServer(b, ice.MuxConfig{})
	tracks := make([]*LocalTrack, n)
	for i := range tracks {
		r := newTestRemote(b, sdp.MediaConfig{Disabled: true}, sdp.MediaConfig{})
		p := r.answer(srv.config())
		r.connect(srv)
		select {
		case <-p.Connected():
		case <-time.After(testWait):
			b.Fatal("peer did not connect")
		}
		r.discard.Store(true)
		tracks[i] = p.LocalTracks()[0]
	}
	return tracks
}

func benchTrack(b *testing.B) *LocalTrack { return benchTracks(b, 1)[0] }

// benchPayloads are a video packet's and an audio packet's payload sizes.
var benchPayloads = []int{1200, 160}

// BenchmarkTrackProtect is the per-packet send path without the socket:
// the header, the history, the sender-report counters and SRTP.
func BenchmarkTrackProtect(b *testing.B) {
	t := benchTrack(b)
	dst := make([]byte, 0, MaxPacketSize)
	for _, size := range benchPayloads {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			pkt := &rtp.Packet{Header: rtp.Header{Timestamp: 1}, Payload: make([]byte, size)}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				pkt.SequenceNumber++
				if _, err := protectOnce(t, pkt, dst[:0], false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTrackProtectFanOut is BenchmarkTrackProtect with each packet
// protected for 100 viewers in turn, as a relay sends a frame: the
// viewers' SRTP and history state no longer stays in the CPU's caches.
// ns/op is per packet and viewer.
func BenchmarkTrackProtectFanOut(b *testing.B) {
	tracks := benchTracks(b, 100)
	dst := make([]byte, 0, MaxPacketSize)
	for _, size := range benchPayloads {
		for _, shared := range []bool{false, true} {
			name := fmt.Sprintf("%d/copied", size)
			if shared {
				name = fmt.Sprintf("%d/shared", size) // WriteRTPShared: the history keeps the payload
			}
			b.Run(name, func(b *testing.B) {
				pkt := &rtp.Packet{Header: rtp.Header{Timestamp: 1}, Payload: make([]byte, size)}
				b.SetBytes(int64(size))
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if i == len(tracks) {
						i = 0
						pkt.SequenceNumber++
					}
					if _, err := protectOnce(tracks[i], pkt, dst[:0], shared); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
	}
}

// BenchmarkBatchWriteRTP is a relay's send path: Batch.WriteRTP of every
// packet and a Flush per ice.MuxWriteBatchSize packets (sendmmsg on
// loopback).
func BenchmarkBatchWriteRTP(b *testing.B) {
	t := benchTrack(b)
	for _, size := range benchPayloads {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			var batch Batch
			pkt := &rtp.Packet{Header: rtp.Header{Timestamp: 1}, Payload: make([]byte, size)}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				pkt.SequenceNumber++
				if err := batch.WriteRTP(t, pkt); err != nil {
					b.Fatal(err)
				}
			}
			batch.Flush()
		})
	}
}

// protectOnce protects pkt on t into dst as a Batch does, without the
// socket write.
func protectOnce(t *LocalTrack, pkt *rtp.Packet, dst []byte, shared bool) ([]byte, error) {
	s, err := t.p.sendable()
	if err != nil {
		return nil, err
	}
	wall := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.protectLocked(s, pkt, dst, wall, t.p.clock.at(wall), shared)
}
