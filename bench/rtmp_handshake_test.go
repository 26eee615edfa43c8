package bench

// The server side of the RTMP handshake with ffmpeg publishing, in memory:
// C0 and the real digest C1 of ffmpeg 5.1.9 in, S0+S1+S2 out, and C2 = S1
// back, as ffmpeg sends when it publishes (it signs C2 only when it plays).
// streamwire's rtmp.ServerHandshake (which checks the C1 digest and answers
// with a signed S1 and S2) against gortmplib's handshake.DoServer as its
// server calls it (strict false; it checks no digest and answers with a
// random S1 and S2 = C1).
//
//	cd bench && go test -run '^$' -bench RTMPHandshake -benchmem .

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"testing"

	ghandshake "github.com/bluenviron/gortmplib/pkg/handshake"

	"github.com/streamwire/streamwire/rtmp"
)

// handshakeBytes is what one handshake moves: C0+C1, S0+S1+S2, C2.
const handshakeBytes = 1 + rtmp.HandshakeSize + 1 + 2*rtmp.HandshakeSize + rtmp.HandshakeSize

// ffmpegPublisher is ffmpeg's side of the handshake for a server under
// test: Read serves C0+C1, then S1 (taken from what the server wrote) as
// C2; Write keeps S0+S1+S2.
type ffmpegPublisher struct {
	c0c1 []byte
	out  []byte
	read int
}

var errHandshakeOverrun = errors.New("server wrote more than S0+S1+S2")

func newFFmpegPublisher(b *testing.B) *ffmpegPublisher {
	c1, err := os.ReadFile("../rtmp/testdata/handshake/ffmpeg-5.1.9_C1.bin")
	if err != nil {
		b.Fatal(err)
	}
	if len(c1) != rtmp.HandshakeSize {
		b.Fatalf("C1 is %d bytes", len(c1))
	}
	return &ffmpegPublisher{c0c1: append([]byte{3}, c1...), out: make([]byte, 0, 1+2*rtmp.HandshakeSize)}
}

func (p *ffmpegPublisher) reset() { p.out, p.read = p.out[:0], 0 }

func (p *ffmpegPublisher) Read(b []byte) (int, error) {
	src := p.c0c1
	off := p.read
	if off >= len(p.c0c1) {
		// C2 echoes S1, which follows S0 in what the server wrote.
		off -= len(p.c0c1)
		src = p.out[min(1, len(p.out)):min(1+rtmp.HandshakeSize, len(p.out))]
	}
	if off >= len(src) {
		return 0, io.EOF
	}
	n := copy(b, src[off:])
	p.read += n
	return n, nil
}

func (p *ffmpegPublisher) Write(b []byte) (int, error) {
	if len(p.out)+len(b) > cap(p.out) {
		return 0, errHandshakeOverrun
	}
	p.out = append(p.out, b...)
	return len(b), nil
}

// done reports whether the server read all of C0, C1 and C2 and wrote all
// of S0, S1 and S2.
func (p *ffmpegPublisher) done() bool {
	return p.read == len(p.c0c1)+rtmp.HandshakeSize && len(p.out) == cap(p.out)
}

// BenchmarkRTMPHandshake: one op is one complete server handshake
// (MB/s counts the 6,146 bytes of C0+C1, S0+S1+S2 and C2).
func BenchmarkRTMPHandshake(b *testing.B) {
	b.Run("impl=streamwire", func(b *testing.B) {
		p := newFFmpegPublisher(b)
		ctx := context.Background()
		b.SetBytes(handshakeBytes)
		b.ReportAllocs()
		for b.Loop() {
			p.reset()
			info, err := rtmp.ServerHandshake(ctx, p, rtmp.HandshakeConfig{})
			if err != nil || !info.Complex || info.PeerLayout != rtmp.LayoutDigestFirst || !info.C2EchoesS1 || !p.done() {
				b.Fatalf("%+v %v", info, err)
			}
		}
	})
	// Our handshake with crypto/rand as gortmplib uses it, instead of the
	// default AES-CTR keystream: what the HMAC work alone costs.
	b.Run("impl=streamwire-cryptorand", func(b *testing.B) {
		p := newFFmpegPublisher(b)
		ctx := context.Background()
		b.SetBytes(handshakeBytes)
		b.ReportAllocs()
		for b.Loop() {
			p.reset()
			info, err := rtmp.ServerHandshake(ctx, p, rtmp.HandshakeConfig{Rand: rand.Reader})
			if err != nil || !info.Complex || !info.C2EchoesS1 || !p.done() {
				b.Fatalf("%+v %v", info, err)
			}
		}
	})
	b.Run("impl=gortmplib", func(b *testing.B) {
		p := newFFmpegPublisher(b)
		b.SetBytes(handshakeBytes)
		b.ReportAllocs()
		for b.Loop() {
			p.reset()
			if _, _, err := ghandshake.DoServer(p, false); err != nil || !p.done() {
				b.Fatal(err)
			}
		}
	})
}
