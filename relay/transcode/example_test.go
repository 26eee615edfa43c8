package transcode_test

import (
	"errors"
	"fmt"
	"log"

	"github.com/streamwire/streamwire/relay/transcode"
)

// A stream's AAC becomes 20 ms Opus packets on the stream's own
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
