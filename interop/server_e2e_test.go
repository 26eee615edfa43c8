package interop

// End-to-end tests of examples/server, the binary a newcomer runs with
// `go run ./examples/server`: it is built and started as a process, and
// real peers use it as users do: ffmpeg publishes and plays RTMP, headless
// Chromium opens its pages (driven with chromedp), publishes from a fake
// camera via WHIP and plays via WHEP.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/streamwire/streamwire/internal/syncbuf"
)

// screenshotDir is where the page tests save screenshots (git-ignored).
const screenshotDir = "screenshots"

// serverProc is a running examples/server.
type serverProc struct {
	Web, RTMP string // http://127.0.0.1:PORT, rtmp://127.0.0.1:PORT
	out       *syncbuf.Buffer
	// HTTP reaches Web: http.DefaultClient, or one that dials inside the
	// network namespace the server runs in (startServerBinaryIn).
	HTTP *http.Client
}

// startServerBinary builds examples/server (in its own module, as `make
// test` builds everything: GOWORK=off) and starts it on free loopback ports
// with the given extra flags; it returns once the server printed its URLs.
func startServerBinary(t *testing.T, flags ...string) *serverProc {
	t.Helper()
	return startServerBinaryWith(t, (*exec.Cmd).Start, flags...)
}

// startServerBinaryWith is startServerBinary with start in place of
// exec.Cmd.Start (see startProcessWith). Flags given twice take their last
// value, so flags may replace the loopback defaults.
func startServerBinaryWith(t *testing.T, start func(*exec.Cmd) error, flags ...string) *serverProc {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "server")
	if out, err := runCmd(t, 3*time.Minute, "go", "build", "-C", "../examples", "-o", bin, "./server"); err != nil {
		t.Fatalf("go build examples/server: %v\n%s", err, out)
	}
	args := append([]string{"-http", "127.0.0.1:0", "-rtmp", "127.0.0.1:0", "-udp", "127.0.0.1:0", "-tcp", "127.0.0.1:0"}, flags...)
	out := startProcessWith(t, start, 3*time.Minute, bin, args...)
	page := regexp.MustCompile(`page: +(http://\S+)/\n`)
	rtmpURL := regexp.MustCompile(`play RTMP: +(rtmp://[^/\s]+)/`)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		w, r := page.FindStringSubmatch(out.String()), rtmpURL.FindStringSubmatch(out.String())
		if w != nil && r != nil && strings.Contains(out.String(), "metrics:") {
			return &serverProc{Web: w[1], RTMP: r[1], out: out, HTTP: http.DefaultClient}
		}
	}
	t.Fatalf("the server printed no URLs in 20 s:\n%s", out.String())
	return nil
}

// waitStream waits until /api/streams lists path.
func (s *serverProc) waitStream(t *testing.T, path string, limit time.Duration, peer *syncbuf.Buffer) {
	t.Helper()
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		res, err := s.HTTP.Get(s.Web + "/api/streams")
		if err != nil {
			continue
		}
		var doc struct{ Streams []struct{ Path string } }
		err = json.NewDecoder(res.Body).Decode(&doc)
		res.Body.Close()
		for _, st := range doc.Streams {
			if err == nil && st.Path == path {
				return
			}
		}
	}
	t.Fatalf("%s not published after %v; publisher:\n%s", path, limit, tail(peer.String(), 2000))
}

// newBrowser starts a headless Chromium driven by chromedp with the
// interop flags (browserFlags). stock leaves out
// --allow-loopback-in-peer-connection, which users do not set: the
// server's default loopback candidates must work without it.
func newBrowser(t *testing.T, stock bool) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath("chromium"), chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1000, 700)}
	for _, f := range browserFlags {
		if stock && f == "--allow-loopback-in-peer-connection" {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimPrefix(f, "--"), "=")
		if ok {
			opts = append(opts, chromedp.Flag(k, v))
		} else {
			opts = append(opts, chromedp.Flag(k, true))
		}
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// consoleErrors collects a tab's console errors, uncaught exceptions and
// error log entries (failed loads, CSP violations).
type consoleErrors struct {
	mu   sync.Mutex
	msgs []string
}

func watchConsole(ctx context.Context, t *testing.T) *consoleErrors {
	t.Helper()
	c := &consoleErrors{}
	err := chromedp.Listen(ctx, func(ev any) {
		var msg string
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == "error" || ev.Type == "assert" {
				var args []string
				for _, a := range ev.Args {
					args = append(args, fmt.Sprint(a.Value)+a.Description)
				}
				msg = "console." + string(ev.Type) + ": " + strings.Join(args, " ")
			}
		case *runtime.EventExceptionThrown:
			msg = "exception: " + ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				msg += " " + ev.ExceptionDetails.Exception.Description
			}
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				msg = "log: " + ev.Entry.Text + " " + ev.Entry.URL
			}
		}
		if msg != "" {
			c.mu.Lock()
			c.msgs = append(c.msgs, msg)
			c.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, log.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *consoleErrors) check(t *testing.T, page string) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.msgs) > 0 {
		t.Errorf("%s: %d console errors:\n%s", page, len(c.msgs), strings.Join(c.msgs, "\n"))
	}
}

// playerStats is window.streamwirePlayer of the player page.
type playerStats struct {
	Status       string
	AnswerMs     *float64 // offer to answer applied
	Timing       map[string]float64
	ConnectedMs  *float64 // offer to ICE and DTLS connected
	FirstFrameMs *float64
	AudioShownMs *float64 // offer to the audio track joining the media element
	Stats        struct {
		FramesDecoded   int
		Bitrate         int
		RTTMs           *int `json:"rttMs"`
		PacketsReceived int
		PacketsLost     int
		AudioSamples    int
	}
}

func readPlayer(ctx context.Context) (playerStats, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[playerStats](`window.streamwirePlayer || {}`))
}

// openPlayer opens the player page of path and waits until it decodes
// frames (framesDecoded rising), for at most limit after the navigation.
// It returns the time from the page's load to the first decoded frame and
// the page's own offer-to-first-frame time.
func openPlayer(t *testing.T, ctx context.Context, s *serverProc, path string, limit time.Duration) (time.Duration, playerStats) {
	t.Helper()
	navigated := time.Now()
	// Navigate returns on the load event, which a <video> whose stream
	// never shows a frame delays for minutes (the media element delays
	// the load event until it has data, HTML §4.8.11.5): bound it.
	nctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(nctx, chromedp.Navigate(s.Web+"/play/"+path)); err != nil {
		st, _ := readPlayer(ctx)
		t.Fatalf("open the player page: %v (after %v; a video that gets no frame delays the load event); player: %+v\nserver:\n%s",
			err, time.Since(navigated).Round(time.Millisecond), st, tail(s.out.String(), 3000))
	}
	// The page is open once its load event fired (Navigate returns then);
	// the time it took (Chromium's start-up on a busy machine) is logged.
	start := time.Now()
	t.Logf("player page loaded in %v", start.Sub(navigated).Round(time.Millisecond))
	var first time.Duration
	var st playerStats
	for time.Since(start) < limit {
		var err error
		if st, err = readPlayer(ctx); err != nil {
			t.Fatalf("read the player's state: %v", err)
		}
		if st.Stats.FramesDecoded > 0 && first == 0 {
			first = time.Since(start)
			t.Logf("navigation to first decoded frame: %v", time.Since(navigated).Round(time.Millisecond))
		}
		if first > 0 && st.FirstFrameMs != nil {
			return first, st
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the player page decoded no frame within %v of opening it: %+v\nserver:\n%s", limit, st, tail(s.out.String(), 3000))
	return 0, st
}

// lastLine is the last non-empty line of ffmpeg's progress output.
func lastLine(out string) string {
	lines := strings.FieldsFunc(out, func(r rune) bool { return r == '\n' || r == '\r' })
	if len(lines) == 0 {
		return ""
	}
	return strings.TrimSpace(lines[len(lines)-1])
}

func msOrNone(ms *float64) string {
	if ms == nil {
		return "none"
	}
	return fmt.Sprintf("%.0f ms", *ms)
}

// framesRise waits until the player decodes more frames than it had.
func framesRise(t *testing.T, ctx context.Context, from int, limit time.Duration) playerStats {
	t.Helper()
	var st playerStats
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var err error
		if st, err = readPlayer(ctx); err == nil && st.Stats.FramesDecoded > from+10 {
			return st
		}
	}
	t.Fatalf("framesDecoded stayed at %d: %+v", from, st)
	return st
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(screenshotDir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(p)
	t.Logf("screenshot: %s", abs)
}

// TestServerRTMPToPlayerPage: ffmpeg publishes an H.264 + AAC test pattern
// over RTMP; a stock headless Chromium (without
// --allow-loopback-in-peer-connection) opens the player page and decodes
// frames within 3 s of opening it, and audio arrives: the AAC goes through
// the relay's ffmpeg transcoder to Opus (totalSamplesReceived rises).
func TestServerRTMPToPlayerPage(t *testing.T) {
	s := startServerBinary(t)
	ff := startProcess(t, 60*time.Second, "ffmpeg", "-hide_banner", "-loglevel", "warning", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine=frequency=440",
		"-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-bf", "0", "-g", "30", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-t", "40", "-f", "flv", s.RTMP+"/live/e2e")
	s.waitStream(t, "live/e2e", 20*time.Second, ff)

	ctx := newBrowser(t, true)
	console := watchConsole(ctx, t)
	first, st := openPlayer(t, ctx, s, "live/e2e", 3*time.Second)
	t.Logf("page loaded to first decoded frame: %v; the page's own measures from the offer: answer %s (%v), connected %s, first frame %.0f ms",
		first.Round(time.Millisecond), msOrNone(st.AnswerMs), st.Timing, msOrNone(st.ConnectedMs), *st.FirstFrameMs)
	st = framesRise(t, ctx, st.Stats.FramesDecoded, 5*time.Second)
	t.Logf("player: %+v", st.Stats)
	for _, l := range strings.Split(s.out.String(), "\n") {
		if strings.Contains(l, "connected") || strings.Contains(l, "session started") {
			t.Log(l)
		}
	}
	if st.Stats.Bitrate <= 0 || st.Stats.RTTMs == nil {
		t.Errorf("the player shows no bitrate or RTT: %+v", st.Stats)
	}
	screenshot(t, ctx, "player-rtmp.png")
	console.check(t, "player page")
	audio := st.Stats.AudioSamples
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end) && st.Stats.AudioSamples <= audio; time.Sleep(200 * time.Millisecond) {
		if next, err := readPlayer(ctx); err == nil {
			st = next
		}
	}
	if st.Stats.AudioSamples <= audio {
		t.Errorf("no audio through the AAC to Opus path: totalSamplesReceived %d, then %d\n%s", audio, st.Stats.AudioSamples, tail(s.out.String(), 3000))
	}
	t.Logf("audio samples received: %d", st.Stats.AudioSamples)
}

// TestServerPageWHIPToWHEPAndRTMP: the index page loads without console
// errors; from it, a Chromium with a fake camera publishes via WHIP; the
// page lists the stream; a second (stock) Chromium plays it on the player
// page via WHEP, and ffmpeg plays it over RTMP and decodes 30 frames.
// Chromium sends Opus, which the relay passes to RTMP players as Enhanced
// RTMP audio (codec id 9, FourCC Opus) whether or not they announced it in
// connect's fourCcList; ffmpeg 5.1 knows no such codec, so it plays with -an
// and -analyzeduration 1 s: without the latter it keeps probing the unknown
// audio stream for its codec parameters until its probe limits (several
// MB), which takes longer than the test.
func TestServerPageWHIPToWHEPAndRTMP(t *testing.T) {
	s := startServerBinary(t)
	pub := newBrowser(t, true)
	console := watchConsole(pub, t)
	if err := chromedp.Do(pub, chromedp.Navigate(s.Web+"/"),
		chromedp.WaitVisible(chromedp.CSS("#publish-start")),
		chromedp.SetValue(chromedp.CSS("#stream"), "live/page"),
		chromedp.Click(chromedp.CSS("#publish-start"))); err != nil {
		t.Fatalf("publish from the page: %v", err)
	}
	var status string
	for deadline := time.Now().Add(15 * time.Second); !strings.HasPrefix(status, "live:"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the page is not publishing after 15 s: %q\nserver:\n%s", status, tail(s.out.String(), 3000))
		}
		var err error
		if status, err = chromedp.Run(pub, chromedp.Evaluate[string](`window.streamwirePage.status`)); err != nil {
			t.Fatal(err)
		}
	}
	s.waitStream(t, "live/page", 10*time.Second, s.out)

	play := newBrowser(t, true)
	playConsole := watchConsole(play, t)
	first, st := openPlayer(t, play, s, "live/page", 5*time.Second)
	t.Logf("WHIP to WHEP: page loaded to first decoded frame %v, offer to first frame %.0f ms", first.Round(time.Millisecond), *st.FirstFrameMs)
	framesRise(t, play, st.Stats.FramesDecoded, 5*time.Second)

	// ffmpeg 5.1 announces no Enhanced RTMP codecs: the page's Opus
	// reaches it as AAC, from the server's Opus to AAC transcoder, which
	// starts with it: its first AAC comes after the cached GOP, which
	// ffmpeg reads at once, so it decodes 30 video frames, then 100 AAC
	// frames (2.1 s).
	for _, kind := range []string{"v:30", "a:100"} {
		stream, frames, _ := strings.Cut(kind, ":")
		out, err := runCmd(t, 30*time.Second, "ffmpeg", "-hide_banner", "-nostdin", "-v", "info",
			"-i", s.RTMP+"/live/page", "-map", "0:"+stream, "-frames:"+stream, frames, "-f", "null", "-")
		if err != nil || !strings.Contains(out, "Audio: aac") || !strings.Contains(out, "Video: h264") {
			t.Fatalf("ffmpeg over RTMP: %v; want H.264 video and AAC audio, %s frames of %s:\n%s", err, frames, stream, tail(out, 3000))
		}
		t.Logf("ffmpeg over RTMP, %s frames of %s: %s", frames, stream, lastLine(out))
	}

	// The index page lists the stream with its viewers.
	var rows string
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(rows, "whep 1"); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the page's stream list shows %q, want live/page with a WHEP viewer", rows)
		}
		var err error
		if rows, err = chromedp.Run(pub, chromedp.Text(chromedp.CSS("#streams tbody"))); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(rows, "live/page") || !strings.Contains(rows, "whip") {
		t.Errorf("stream list: %q", rows)
	}
	screenshot(t, pub, "index-publishing.png")
	screenshot(t, play, "player-whep.png")
	console.check(t, "index page")
	playConsole.check(t, "player page")
}
