package bench

// The RTMP fan-out load: one publisher of synthetic ~600 kbps H.264/AAC at
// 25 fps (real sequence headers from a recorded ffmpeg publish, frames of
// the sizes such a stream has) and N cheap players that drain bytes.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streamwire/streamwire/rtmp"
)

// Stream shape: a 2 s GOP of one 15,000-byte keyframe and 49 P frames of
// 2,600 bytes (570 kbit/s), and 1024-sample AAC frames of 180 bytes at
// 44.1 kHz (62 kbit/s): about 630 kbit/s in all.
const (
	fanoutFPS       = 25
	fanoutGOP       = 50
	fanoutKeyBytes  = 15000
	fanoutPBytes    = 2600
	fanoutAACBytes  = 180
	fanoutAACPerSec = 44100.0 / 1024
	fanoutBitrate   = (fanoutKeyBytes + (fanoutGOP-1)*fanoutPBytes) * 8 / (fanoutGOP / fanoutFPS) // video bit/s
)

// recordedHeaders returns the metadata, AVC and AAC sequence headers of the
// recorded ffmpeg publish in ../rtmp/testdata.
func recordedHeaders(b *testing.B) (meta, avc, aac []byte) {
	r := rtmp.NewChunkReader(bytes.NewReader(recordedRTMP(b)), rtmp.ReaderConfig{})
	for meta == nil || avc == nil || aac == nil {
		m, err := r.ReadMessage()
		if err != nil {
			b.Fatalf("recording ends before the sequence headers: %v", err)
		}
		p := append([]byte(nil), m.Payload...)
		switch {
		case m.Type == rtmp.TypeDataAMF0 && meta == nil:
			meta = p
		case m.Type == rtmp.TypeVideo && len(p) > 1 && p[1] == 0:
			avc = p
		case m.Type == rtmp.TypeAudio && len(p) > 1 && p[1] == 0:
			aac = p
		}
	}
	return meta, avc, aac
}

// publishSynthetic publishes the synthetic stream to url in real time until
// ctx ends.
func publishSynthetic(ctx context.Context, b *testing.B, url string) error {
	meta, avc, aac := recordedHeaders(b)
	cl, err := rtmp.Dial(ctx, url, rtmp.ClientConfig{})
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.Publish(ctx); err != nil {
		return err
	}
	for _, m := range []rtmp.Media{{Type: rtmp.TypeDataAMF0, Payload: meta}, {Type: rtmp.TypeVideo, Payload: avc}, {Type: rtmp.TypeAudio, Payload: aac}} {
		if err := cl.WriteMedia(ctx, m); err != nil {
			return err
		}
	}
	key := append([]byte{0x17, 1, 0, 0, 0}, make([]byte, fanoutKeyBytes-5)...)
	inter := append([]byte{0x27, 1, 0, 0, 0}, make([]byte, fanoutPBytes-5)...)
	audio := append([]byte{0xaf, 1}, make([]byte, fanoutAACBytes-2)...)
	start := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var frame, sample int
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		now := time.Since(start)
		for ; time.Duration(frame)*time.Second/fanoutFPS <= now; frame++ {
			p := inter
			if frame%fanoutGOP == 0 {
				p = key
			}
			if err := cl.WriteMedia(ctx, rtmp.Media{Type: rtmp.TypeVideo, Timestamp: uint32(frame * 1000 / fanoutFPS), Payload: p}); err != nil {
				return err
			}
		}
		for ; time.Duration(float64(sample)/fanoutAACPerSec*float64(time.Second)) <= now; sample++ {
			ts := uint32(float64(sample) * 1000 / fanoutAACPerSec)
			if err := cl.WriteMedia(ctx, rtmp.Media{Type: rtmp.TypeAudio, Timestamp: ts, Payload: audio}); err != nil {
				return err
			}
		}
	}
}

// players is the load generator: N RTMP players that, after play, only
// read bytes (64 KiB reads, no chunk parsing) and acknowledge every window.
type players struct {
	bytes  atomic.Int64
	failed atomic.Int64
	wg     sync.WaitGroup
	conns  []*rtmp.Client
	mu     sync.Mutex
}

// startPlayers connects n players to url, at most 32 connecting at once.
func startPlayers(ctx context.Context, url string, n int) (*players, error) {
	ps := &players{}
	sem := make(chan struct{}, 32)
	errc := make(chan error, n)
	var connecting sync.WaitGroup
	for i := 0; i < n; i++ {
		connecting.Add(1)
		sem <- struct{}{}
		go func() {
			defer connecting.Done()
			defer func() { <-sem }()
			cl, err := rtmp.Dial(ctx, url, rtmp.ClientConfig{Handshake: rtmp.HandshakeConfig{Simple: true}})
			if err == nil {
				if err = cl.Play(ctx); err != nil {
					cl.Close()
				}
			}
			if err != nil {
				errc <- err
				return
			}
			ps.mu.Lock()
			ps.conns = append(ps.conns, cl)
			ps.mu.Unlock()
			ps.wg.Add(1)
			go ps.drain(cl)
		}()
	}
	connecting.Wait()
	close(errc)
	if err := <-errc; err != nil {
		ps.close()
		return nil, fmt.Errorf("player: %w", err)
	}
	return ps, nil
}

func (ps *players) drain(cl *rtmp.Client) {
	defer ps.wg.Done()
	nc := cl.NetConn()
	buf := make([]byte, 64<<10)
	const window = 2500000
	var sinceAck, total uint32
	for {
		n, err := nc.Read(buf)
		ps.bytes.Add(int64(n))
		sinceAck += uint32(n)
		total += uint32(n)
		if sinceAck >= window {
			sinceAck = 0
			seq := total
			cl.Conn().WithWriter(context.Background(), func(w *rtmp.ChunkWriter) error { return w.WriteAck(seq) })
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				ps.failed.Add(1)
			}
			return
		}
	}
}

func (ps *players) close() {
	ps.mu.Lock()
	for _, c := range ps.conns {
		c.NetConn().Close()
	}
	ps.mu.Unlock()
	ps.wg.Wait()
}
