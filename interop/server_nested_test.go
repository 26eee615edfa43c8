package interop

// End-to-end test of examples/server with a stream name that has a slash,
// as ffmpeg publishes rtmp://HOST/live/a/b: ffmpeg's RTMP splits that URL
// into the app "live/a" and the stream name "b" (libavformat/rtmpproto.c
// takes the app up to the last '/'), and the server names the stream by
// the whole path, live/a/b, as MediaMTX does.

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServerFFmpegNestedName: ffmpeg publishes H.264 to
// rtmp://HOST/live/a/b; /api/streams lists live/a/b with WHEP and player
// URLs under /whep/live/a/b and /play/live/a/b; the player page loads, a
// pion/webrtc WHEP viewer of the listed URL receives video and deletes its
// session at its nested Location, and ffmpeg plays the listed RTMP URL and
// decodes frames.
func TestServerFFmpegNestedName(t *testing.T) {
	s := startServerBinary(t)
	const stream = "live/a/b"
	ff := startProcess(t, 90*time.Second, "ffmpeg", "-hide_banner", "-loglevel", "warning", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30",
		"-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-profile:v", "baseline", "-bf", "0", "-g", "30",
		"-pix_fmt", "yuv420p", "-an", "-t", "60", "-f", "flv", s.RTMP+"/"+stream)
	s.waitStream(t, stream, 20*time.Second, ff)

	res, err := s.HTTP.Get(s.Web + "/api/streams")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Streams []struct {
			Path, App, Name string
			URLs            struct{ RTMP, WHEP, Player string }
		}
	}
	err = json.NewDecoder(res.Body).Decode(&doc)
	res.Body.Close()
	if err != nil || len(doc.Streams) != 1 {
		t.Fatalf("/api/streams: %+v, %v", doc, err)
	}
	st := doc.Streams[0]
	t.Logf("listed: %+v", st)
	if st.App != "live" || st.Name != "a/b" || st.URLs.RTMP != s.RTMP+"/"+stream ||
		st.URLs.WHEP != s.Web+"/whep/"+stream || st.URLs.Player != s.Web+"/play/"+stream {
		t.Fatalf("/api/streams lists %+v", st)
	}

	page, err := s.HTTP.Get(st.URLs.Player)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if page.StatusCode != http.StatusOK || !strings.Contains(string(body), "<video") {
		t.Fatalf("player page %s: %d", st.URLs.Player, page.StatusCode)
	}

	v, err := startPionWHEPViewer(t, st.URLs.WHEP)
	if err != nil {
		t.Fatalf("WHEP %s: %v", st.URLs.WHEP, err)
	}
	if !strings.HasPrefix(v.res.URL, st.URLs.WHEP+"/") {
		t.Errorf("session Location %s is not under %s", v.res.URL, st.URLs.WHEP)
	}
	deadline := time.Now().Add(10 * time.Second)
	for video, _, _ := v.counts(); video < 30; video, _, _ = v.counts() {
		if time.Now().After(deadline) {
			t.Fatalf("the WHEP viewer got %d video packets in 10 s\nserver:\n%s", video, tail(s.out.String(), 3000))
		}
		time.Sleep(50 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := v.res.Delete(ctx); err != nil {
		t.Errorf("DELETE %s: %v", v.res.URL, err)
	}

	out, err := runCmd(t, 30*time.Second, "ffmpeg", "-hide_banner", "-loglevel", "error", "-i", st.URLs.RTMP,
		"-frames:v", "10", "-f", "null", "-")
	if err != nil {
		t.Fatalf("ffmpeg playing %s: %v\n%s", st.URLs.RTMP, err, out)
	}
}
