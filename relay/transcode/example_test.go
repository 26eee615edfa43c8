package transcode_test

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/streamwire/streamwire/relay/transcode"
)

// An RTMP stream's AAC becomes 20 ms Opus packets on the stream's own
// millisecond timeline, ready to be RTP payloads at 48 kHz. ffmpeg runs
// from New to Close, which a server ties to the stream's WebRTC viewers.
// (Not run by go test: it needs ffmpeg; the package's tests run it.)
func Example() {
	asc := []byte{0x12, 0x10} // AudioSpecificConfig: AAC-LC, 44.1 kHz, stereo
	tc, err := transcode.New(transcode.Config{Bitrate: 96000}, func(p transcode.Packet) {
		// p.Data is valid during the call only: an RTP payload
		// (RFC 7587) at RTP time p.Timestamp*48.
		fmt.Printf("%d ms: %d bytes of Opus, %v after its first AAC sample came\n", p.Timestamp, len(p.Data), p.Delay)
	})
	if errors.Is(err, transcode.ErrNoFFmpeg) {
		log.Print("video only: ", err) // once per stream
		return
	}
	defer tc.Close()
	if err := tc.SetConfig(asc); err != nil {
		log.Print(err)
		return
	}
	var frames []struct {
		ms   uint32
		data []byte
	} // the stream's AAC raw frames, as they come
	for _, f := range frames {
		_ = tc.Write(f.ms, f.data) // never blocks: ErrQueueFull drops and counts
	}
}

// Without ffmpeg, New says so with ErrNoFFmpeg: the caller logs it once
// per stream and sends the video alone.
func ExampleNew_noFFmpeg() {
	_, err := transcode.New(transcode.Config{FFmpeg: "/nonexistent/ffmpeg"}, func(transcode.Packet) {})
	fmt.Println(errors.Is(err, transcode.ErrNoFFmpeg))
	// Output: true
}

// A WHIP publisher's Opus becomes AAC for the RTMP players that do not
// take Opus: raw AAC frames on the stream's millisecond timeline, each
// with the AudioSpecificConfig to send as the FLV AAC sequence header
// first. Here the publisher sends a second of Opus silence from 1000 ms
// on. (It runs ffmpeg, as the package's tests do.)
func ExampleNewOpusToAAC() {
	frames := make(chan string, 64)
	var sent []byte // the AudioSpecificConfig the players have
	tc, err := transcode.NewOpusToAAC(transcode.Config{}, func(p transcode.Packet) {
		if !bytes.Equal(p.Config, sent) {
			sent = p.Config // p.Config may be kept; p.Data is valid during the call only
			frames <- fmt.Sprintf("FLV AAC sequence header % x", sent)
		}
		select {
		case frames <- fmt.Sprintf("%d ms: FLV AAC raw frame, %d samples", p.Timestamp, p.Samples):
		default: // a real output function sends the frame to the players
		}
	})
	if errors.Is(err, transcode.ErrNoFFmpeg) {
		log.Print("RTMP players get no audio: ", err) // once per stream
		return
	}
	defer tc.Close()
	silence := []byte{0xf8, 0xff, 0xfe} // 20 ms of CELT, mono (RFC 6716 §3.1)
	for ms := uint32(1000); ms < 2000; ms += 20 {
		_ = tc.Write(ms, silence) // never blocks: ErrQueueFull drops and counts
	}
	for range 4 {
		select {
		case f := <-frames:
			fmt.Println(f)
		case <-time.After(10 * time.Second):
			fmt.Println("no AAC from ffmpeg")
			return
		}
	}
	// Output:
	// FLV AAC sequence header 11 90
	// 1000 ms: FLV AAC raw frame, 1024 samples
	// 1021 ms: FLV AAC raw frame, 1024 samples
	// 1042 ms: FLV AAC raw frame, 1024 samples
}
