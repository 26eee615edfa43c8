package interop

// The command exchange of real peers with our server, checked against
// golden transcripts (see rtmp_transcript_test.go): ffmpeg publishing and
// playing, and nginx-rtmp's relay pushing to us.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamwire/streamwire/rtmp"
)

// TestRTMPTranscriptFFmpegPublish: ffmpeg publishes 2 s; it gets
// onBWDone (and answers _checkbw), onFCPublish and the _results, and ends
// with FCUnpublish and deleteStream.
func TestRTMPTranscriptFFmpegPublish(t *testing.T) {
	base, _ := startOurRTMP(t, nil)
	rec := startRecorder(t, strings.TrimPrefix(base, "rtmp://"))
	out, err := runCmd(t, 60*time.Second, "ffmpeg", ffmpegPublishArgs("rtmp://"+rec.Addr()+"/live/test", 2)...)
	if err != nil {
		t.Fatalf("ffmpeg publish: %v\n%s", err, out)
	}
	if strings.Contains(out, "Unexpected reply") || strings.Contains(out, "Server error") {
		t.Errorf("ffmpeg complained:\n%s", out)
	}
	checkTranscript(t, "ffmpeg-publish", rec.wait(t, 10*time.Second).transcript(t))
}

// TestRTMPTranscriptFFmpegPlay: ffmpeg plays 2 s of a stream our client
// publishes: getStreamLength gets a number (no "Unexpected reply on
// getStreamLength()" warning), play gets Play.Reset, Play.Start and
// |RtmpSampleAccess, and ffmpeg sees no empty data stream (which an
// onStatus NetStream.Data.Start data message would make).
func TestRTMPTranscriptFFmpegPlay(t *testing.T) {
	src := makeFLV(t, 6)
	base, hub := startOurRTMP(t, nil)
	rec := startRecorder(t, strings.TrimPrefix(base, "rtmp://"))
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- publishFLV(ctx, base+"/live/play", src, 0, 1, rtmp.ClientConfig{}) }()
	waitStream(t, hub, "live/play", 10*time.Second, &strings.Builder{})
	out, err := runCmd(t, 30*time.Second, "ffmpeg", "-hide_banner", "-loglevel", "verbose", "-i", "rtmp://"+rec.Addr()+"/live/play", "-t", "2", "-f", "null", "-")
	if err != nil {
		t.Fatalf("ffmpeg play: %v\n%s", err, out)
	}
	for _, bad := range []string{"Unexpected reply", "Server error", "Data: none"} {
		if strings.Contains(out, bad) {
			t.Errorf("ffmpeg output has %q:\n%s", bad, tail(out, 3000))
		}
	}
	checkTranscript(t, "ffmpeg-play", rec.wait(t, 10*time.Second).transcript(t))
	cancel()
	<-errc
}

// nginxPushConfig is nginx-rtmp with an application that pushes what is
// published to it to our server (through the recorder).
const nginxPushConfig = `load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
daemon off;
master_process off;
worker_processes 1;
error_log %[1]s/error.log info;
pid %[1]s/nginx.pid;
events { worker_connections 64; }
rtmp {
    server {
        listen 127.0.0.1:%[2]d;
        chunk_size 4096;
        application live {
            live on;
            push rtmp://%[3]s/live;
        }
    }
}
`

// TestRTMPTranscriptNginxPush: nginx-rtmp's relay pushes a stream that our
// client publishes to nginx on to our server.
func TestRTMPTranscriptNginxPush(t *testing.T) {
	src := makeFLV(t, 3)
	base, hub := startOurRTMP(t, nil)
	rec := startRecorder(t, strings.TrimPrefix(base, "rtmp://"))
	dir := t.TempDir()
	port := freeTCPPort(t)
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(nginxPushConfig, dir, port, rec.Addr())), 0o644); err != nil {
		t.Fatal(err)
	}
	startProcess(t, 2*time.Minute, "nginx", "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", conf)
	url := fmt.Sprintf("rtmp://127.0.0.1:%d/live/pushed", port)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err = publishFLV(ctx, url, src, 0, 1, rtmp.ClientConfig{}); err == nil || !strings.Contains(err.Error(), "connection refused") {
			break
		}
	}
	if err != nil {
		t.Fatalf("publish to nginx: %v", err)
	}
	rc := rec.wait(t, 15*time.Second)
	got := rc.transcript(t)
	if !strings.Contains(got, `"pushed"`) {
		t.Errorf("nginx did not publish the stream to us:\n%s", got)
	}
	_ = hub
	checkTranscript(t, "nginx-push", got)
}
