package ffmpegtest_test

import (
	"bytes"
	"context"
	"fmt"

	"github.com/streamwire/streamwire/relay/internal/ffmpegtest"
	"github.com/streamwire/streamwire/rtmp/flv"
)

// ffmpeg encodes a tenth of a second of a tone as AAC in FLV, written to
// stdout, and the FLV's tags are read back: the script data, then the
// AAC sequence header and frames.
func ExampleExec() {
	ctx, cancel := context.WithTimeout(context.Background(), ffmpegtest.Timeout)
	defer cancel()
	out, err := ffmpegtest.Exec(ctx, "-f", "lavfi", "-i", "sine=sample_rate=48000", "-t", "0.1",
		"-c:a", "aac", "-f", "flv", "-")
	if err != nil {
		fmt.Println(err)
		return
	}
	tags, err := ffmpegtest.FLVTags(bytes.NewReader(out))
	if err != nil {
		fmt.Println(err)
		return
	}
	audio := 0
	for _, tag := range tags {
		if tag.Type == flv.TagAudio {
			audio++
		}
	}
	// A sequence header and at least 4,800 samples in 1,024-sample frames.
	fmt.Println("script data first:", tags[0].Type == flv.TagScript, "audio tags:", audio >= 1+5)
	// Output: script data first: true audio tags: true
}
