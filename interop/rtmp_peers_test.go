package interop

// Helpers of the RTMP interop tests: our server in-process, nginx-rtmp and
// ffmpeg as peers, and an FLV publisher built on our client.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamwire/streamwire/relay"
	"github.com/streamwire/streamwire/rtmp"
	"github.com/streamwire/streamwire/rtmp/flv"
)

// ffmpegPublishArgs is the test pattern publish of the issue: H.264 + AAC,
// 25 fps, a keyframe every second, for secs seconds in real time.
func ffmpegPublishArgs(url string, secs int) []string {
	return []string{"-hide_banner", "-loglevel", "warning", "-re",
		"-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-f", "lavfi", "-i", "sine=frequency=440",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25",
		"-c:a", "aac", "-t", fmt.Sprint(secs), "-f", "flv", url}
}

// startOurRTMP serves RTMP (or RTMPS with tc) with a relay hub on loopback
// until the test ends and returns the base URL, e.g. rtmp://127.0.0.1:PORT.
func startOurRTMP(t *testing.T, tc *tls.Config) (string, *relay.Hub) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	scheme := "rtmp"
	if tc != nil {
		l, scheme = tls.NewListener(l, tc), "rtmps"
	}
	hub := relay.NewHub(relay.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		rtmp.NewServer(rtmp.ServerConfig{Handler: &relay.RTMPHandler{Hub: hub}}).Serve(ctx, l)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return scheme + "://" + l.Addr().String(), hub
}

// waitStream waits until name is published on hub.
func waitStream(t *testing.T, hub *relay.Hub, name string, limit time.Duration, out fmt.Stringer) {
	t.Helper()
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for _, s := range hub.Streams() {
			if s == name {
				return
			}
		}
	}
	t.Fatalf("stream %q was not published within %v; publisher output:\n%s", name, limit, out)
}

// runCmd runs name with args for at most limit and returns its combined
// output; a non-zero exit is an error.
func runCmd(t *testing.T, limit time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// makeFLV encodes secs seconds of the test pattern into an FLV file.
func makeFLV(t *testing.T, secs int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "src.flv")
	args := ffmpegPublishArgs(path, secs)
	args = append(args[:3], args[4:]...) // no -re
	if out, err := runCmd(t, 60*time.Second, "ffmpeg", append([]string{"-y"}, args...)...); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	return path
}

// publishFLV publishes the tags of an FLV file with our client, paced at
// speed times real time, adding offset to every timestamp.
func publishFLV(ctx context.Context, url, path string, offset uint32, speed float64, cfg rtmp.ClientConfig) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := flv.NewReader(f)
	if err != nil {
		return err
	}
	cl, err := rtmp.Dial(ctx, url, cfg)
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.Publish(ctx); err != nil {
		return err
	}
	start := time.Now()
	for {
		tag, err := r.ReadTag()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if wait := time.Duration(float64(tag.Timestamp)/speed)*time.Millisecond - time.Since(start); wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		payload := tag.Data
		if tag.Type == flv.TagScript {
			payload = append([]byte("\x02\x00\x0d@setDataFrame"), payload...)
		}
		m := rtmp.Media{Type: rtmp.MessageType(tag.Type), Timestamp: tag.Timestamp + offset, Payload: payload}
		if tag.Type == flv.TagScript {
			m.Timestamp = 0
		}
		if err := cl.WriteMedia(ctx, m); err != nil {
			return err
		}
	}
}

// playStats is what playWithClient saw.
type playStats struct {
	video, audio, meta   int
	videoSeq, audioSeq   bool
	firstKey             bool // the first coded video frame was a keyframe
	firstTS, lastVideoTS uint32
	monotonic            bool
}

// playWithClient plays url with our client until EOF, max video frames or
// ctx's end.
func playWithClient(ctx context.Context, url string, maxVideo int, cfg rtmp.ClientConfig) (playStats, error) {
	st := playStats{monotonic: true}
	cl, err := rtmp.Dial(ctx, url, cfg)
	if err != nil {
		return st, err
	}
	defer cl.Close()
	stop := context.AfterFunc(ctx, func() { cl.NetConn().Close() })
	defer stop()
	if err := cl.Play(ctx); err != nil {
		return st, err
	}
	for st.video < maxVideo {
		m, err := cl.ReadMedia(ctx)
		if errors.Is(err, io.EOF) {
			return st, nil
		}
		if err != nil {
			return st, err
		}
		switch m.Type {
		case rtmp.TypeDataAMF0:
			st.meta++
		case rtmp.TypeAudio:
			tag, err := flv.ParseAudioTag(m.Payload)
			if err != nil {
				return st, err
			}
			if tag.IsSequenceHeader() {
				st.audioSeq = true
			} else {
				st.audio++
			}
		case rtmp.TypeVideo:
			tag, err := flv.ParseVideoTag(m.Payload)
			if err != nil {
				return st, err
			}
			if tag.IsSequenceHeader() {
				st.videoSeq = true
				continue
			}
			if st.video == 0 {
				st.firstKey, st.firstTS = tag.IsKeyFrame(), m.Timestamp
			} else if m.Timestamp < st.lastVideoTS {
				st.monotonic = false
			}
			st.lastVideoTS = m.Timestamp
			st.video++
		}
	}
	return st, nil
}

// ffprobeCount returns the number of packets of each codec ffprobe reads
// from src (a file or URL), e.g. {"h264": 150, "aac": 280}.
func ffprobeCount(t *testing.T, src string, extra ...string) map[string]int {
	t.Helper()
	args := append([]string{"-v", "error", "-show_entries", "packet=codec_type,stream_index:stream=index,codec_name", "-of", "csv=p=0"}, extra...)
	args = append(args, src)
	out, err := runCmd(t, 60*time.Second, "ffprobe", args...)
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", src, err, out)
	}
	codec := map[string]string{}
	byIndex := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(strings.TrimSpace(line), ",")
		switch {
		case len(f) == 2 && (f[0] == "video" || f[0] == "audio"):
			byIndex[f[1]]++
		case len(f) == 2:
			codec[f[0]] = f[1]
		}
	}
	counts := map[string]int{}
	for i, n := range byIndex {
		counts[codec[i]] += n
	}
	return counts
}
