package interop

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streamwire/streamwire/internal/testcert"
	"github.com/streamwire/streamwire/rtmp"
)

// TestRTMPFFmpegPublishFFmpegPlay: ffmpeg publishes the test pattern to our
// server and another ffmpeg plays it back (digest handshake with S1/S2
// validation on ffmpeg's side) and decodes frames without errors; our
// client and rtmpplay play it too.
func TestRTMPFFmpegPublishFFmpegPlay(t *testing.T) {
	base, hub := startOurRTMP(t, nil)
	url := base + "/live/test"
	pubOut := startProcess(t, 60*time.Second, "ffmpeg", ffmpegPublishArgs(url, 8)...)
	waitStream(t, hub, "live/test", 15*time.Second, pubOut)
	time.Sleep(1500 * time.Millisecond) // let a GOP build up: the player starts on a cached keyframe

	// ffmpeg decodes 3 s and prints one line per decoded frame.
	out, err := runCmd(t, 30*time.Second, "ffmpeg", "-hide_banner", "-v", "error", "-i", url, "-t", "3", "-map", "0:v", "-f", "framecrc", "-")
	if err != nil {
		t.Fatalf("ffmpeg play: %v\n%s", err, out)
	}
	frames := 0
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "0,"):
			frames++
		case strings.HasPrefix(line, "#"), strings.TrimSpace(line) == "":
		default:
			t.Errorf("ffmpeg reported: %s", line)
		}
	}
	if frames < 50 {
		t.Errorf("ffmpeg decoded %d frames in 3 s, want >= 50", frames)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := playWithClient(ctx, url, 50, rtmp.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if !st.videoSeq || !st.audioSeq || !st.firstKey || st.meta == 0 || st.video != 50 || st.audio == 0 || !st.monotonic {
		t.Errorf("our client played %+v", st)
	}
}

// TestRTMPPlayWritesFLV runs examples/rtmpplay against our server while
// ffmpeg publishes and checks that ffprobe reads H.264 and AAC from its output.
func TestRTMPPlayWritesFLV(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "rtmpplay")
	if out, err := runCmd(t, 120*time.Second, "go", "build", "-C", "../examples", "-o", bin, "./rtmpplay"); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	base, hub := startOurRTMP(t, nil)
	url := base + "/live/rec"
	pubOut := startProcess(t, 60*time.Second, "ffmpeg", ffmpegPublishArgs(url, 6)...)
	waitStream(t, hub, "live/rec", 15*time.Second, pubOut)
	flv := filepath.Join(dir, "out.flv")
	if out, err := runCmd(t, 30*time.Second, bin, "-duration", "3s", "-timeout", "5s", "-o", flv, url); err != nil {
		t.Fatalf("rtmpplay: %v\n%s", err, out)
	}
	counts := ffprobeCount(t, flv)
	if counts["h264"] < 50 || counts["aac"] < 50 {
		t.Errorf("ffprobe read %v from rtmpplay's FLV, want >= 50 h264 and aac packets", counts)
	}
}

// TestRTMPExtendedTimestamps: our client publishes timestamps that start
// 2 s below 0xFFFFFF and cross it; ffprobe playing from our server sees
// them continue monotonically past 16,777,215 ms.
func TestRTMPExtendedTimestamps(t *testing.T) {
	src := makeFLV(t, 8)
	base, hub := startOurRTMP(t, nil)
	url := base + "/live/ext"
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- publishFLV(ctx, url, src, 0xFFFFFF-2000, 1, rtmp.ClientConfig{}) }()
	waitStream(t, hub, "live/ext", 10*time.Second, &strings.Builder{})
	out, err := runCmd(t, 30*time.Second, "ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "packet=pts",
		"-of", "csv=p=0", "-read_intervals", "%+#120", url)
	if err != nil {
		t.Fatalf("ffprobe: %v\n%s", err, out)
	}
	var pts []int64
	for _, f := range strings.Fields(out) {
		v, err := strconv.ParseInt(strings.Trim(f, ","), 10, 64)
		if err != nil {
			t.Fatalf("ffprobe line %q", f)
		}
		pts = append(pts, v)
	}
	if len(pts) < 100 {
		t.Fatalf("ffprobe read %d video packets", len(pts))
	}
	// pts is in ms (FLV time base); allow B-frame-free reordering of none.
	for i := 1; i < len(pts); i++ {
		if pts[i] <= pts[i-1] {
			t.Fatalf("pts %d after %d", pts[i], pts[i-1])
		}
	}
	if pts[0] > 0xFFFFFF || pts[len(pts)-1] <= 0xFFFFFF {
		t.Errorf("pts from %d to %d do not cross 16777215", pts[0], pts[len(pts)-1])
	}
	cancel()
	<-errc
}

// TestRTMPClientToFFmpegListen: ffmpeg listens as an RTMP server, our
// client publishes to it, ffmpeg writes an FLV that ffprobe reads.
func TestRTMPClientToFFmpegListen(t *testing.T) {
	src := makeFLV(t, 4)
	port := freeTCPPort(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "got.flv")
	url := fmt.Sprintf("rtmp://127.0.0.1:%d/live/x", port)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-v", "warning", "-listen", "1", "-i", url, "-c", "copy", "-f", "flv", out)
	var buf strings.Builder
	cmd.Stdout, cmd.Stderr = &buf, &buf
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cancel()
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err = publishFLV(ctx, url, src, 0, 4, rtmp.ClientConfig{}); err == nil {
			break
		}
		if c, derr := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); derr == nil {
			c.Close()
			break // listening, but the publish failed: report it
		}
	}
	if err != nil {
		t.Fatalf("publish to ffmpeg -listen: %v\n%s", err, buf.String())
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ffmpeg -listen: %v\n%s", err, buf.String())
	}
	counts := ffprobeCount(t, out)
	if counts["h264"] != 100 || counts["aac"] < 150 {
		t.Errorf("ffmpeg received %v, want 100 h264 packets and ~188 aac", counts)
	}
}

// TestRTMPSFFmpeg: ffmpeg publishes over TLS (rtmps) to our server, our
// client plays over TLS.
func TestRTMPSFFmpeg(t *testing.T) {
	if out, _ := runCmd(t, 10*time.Second, "ffmpeg", "-hide_banner", "-protocols"); !strings.Contains(out, "rtmps") {
		t.Fatalf("this ffmpeg lacks rtmps:\n%s", out)
	}
	stc, ctc := testcert.Loopback(t)
	base, hub := startOurRTMP(t, stc)
	url := base + "/live/tls"
	pubOut := startProcess(t, 60*time.Second, "ffmpeg", ffmpegPublishArgs(url, 8)...)
	waitStream(t, hub, "live/tls", 15*time.Second, pubOut)
	time.Sleep(time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := playWithClient(ctx, url, 40, rtmp.ClientConfig{TLSConfig: ctc})
	if err != nil {
		t.Fatal(err)
	}
	if !st.videoSeq || !st.audioSeq || !st.firstKey || st.video != 40 {
		t.Errorf("played over rtmps: %+v", st)
	}
	// ffmpeg plays over TLS too (it does not verify certificates by default).
	out, err := runCmd(t, 30*time.Second, "ffmpeg", "-hide_banner", "-v", "error", "-i", url, "-t", "2", "-map", "0:v", "-f", "framecrc", "-")
	if err != nil {
		t.Fatalf("ffmpeg play over rtmps: %v\n%s", err, out)
	}
	if n := strings.Count(out, "\n0,"); n < 30 {
		t.Errorf("ffmpeg decoded %d frames over rtmps in 2 s\n%s", n, out)
	}
}
