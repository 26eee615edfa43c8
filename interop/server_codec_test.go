package interop

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/streamwire/streamwire/signaling/whip"
)

// TestServerFFmpegDefaultFLVCodec: ffmpeg publishing FLV without -c:v
// sends its flv muxer's default video codec, Sorenson H.263 (FLV1), which
// WebRTC cannot carry; a pion/webrtc WHEP viewer of it gets 422 naming
// the codec (the body goes on to say what to publish instead; whip.Client
// bounds the text it keeps), rather than a session whose
// picture stays black.
func TestServerFFmpegDefaultFLVCodec(t *testing.T) {
	s := startServerBinary(t)
	const stream = "live/flv1"
	ff := startProcess(t, 90*time.Second, "ffmpeg", "-hide_banner", "-loglevel", "warning", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-an", "-t", "60", "-f", "flv", s.RTMP+"/"+stream)
	s.waitStream(t, stream, 20*time.Second, ff)
	var refused error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		// The first frame names the codec; until it has come, the viewer
		// is answered and closed, which does not count.
		v, err := startPionWHEPViewer(t, s.Web+"/whep/"+stream)
		if err != nil {
			refused = err
			break
		}
		v.pc.Close()
		if time.Now().After(deadline) {
			t.Fatal("WHEP of ffmpeg's FLV1 stream is still answered after 10 s")
		}
	}
	var we *whip.Error
	if !errors.As(refused, &we) || we.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(we.Reason, "Sorenson H.263") {
		t.Fatalf("WHEP of ffmpeg's FLV1 stream: %v, want 422 naming Sorenson H.263", refused)
	}
	t.Logf("refused: %s", we.Reason)
}
