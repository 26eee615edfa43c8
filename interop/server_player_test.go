package interop

// End-to-end tests of the server's player page (/play/APP/NAME) at the
// edges of a stream's life: it ends and comes back, it has no video, it is
// not published yet, or the server refuses it with a long error.

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// publishFFmpeg publishes a test pattern (or, with args, what args give
// ffmpeg as input and codecs) over RTMP to stream, waits until the server
// lists it, and returns ffmpeg's process, so that a test can stop it.
func publishFFmpeg(t *testing.T, s *serverProc, stream string, args ...string) *exec.Cmd {
	t.Helper()
	if len(args) == 0 {
		args = []string{"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30",
			"-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-bf", "0", "-g", "30", "-pix_fmt", "yuv420p", "-an"}
	}
	var cmd *exec.Cmd
	start := func(c *exec.Cmd) error { cmd = c; return c.Start() }
	all := append(append([]string{"-hide_banner", "-loglevel", "warning", "-re"}, args...), "-t", "60", "-f", "flv", s.RTMP+"/"+stream)
	out := startProcessWith(t, start, 90*time.Second, "ffmpeg", all...)
	s.waitStream(t, stream, 20*time.Second, out)
	return cmd
}

// navigateNoWait opens url in ctx's tab without waiting for the load event.
func navigateNoWait(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		res, err := cdp.Call(ctx, tg, page.Navigate, page.NavigateParams{URL: url})
		if err == nil && res.ErrorText != "" {
			err = errors.New(res.ErrorText)
		}
		return err
	}))
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
}

// waitPlayer polls the player page until ok holds of its state, for at
// most limit, and returns the state and the time it took; what names the
// wait in the failure, which lists every status the page showed.
func waitPlayer(t *testing.T, ctx context.Context, s *serverProc, what string, limit time.Duration, ok func(playerStats) bool) (playerStats, time.Duration) {
	t.Helper()
	began := time.Now()
	var st playerStats
	var seen []string
	for time.Since(began) < limit {
		var err error
		if st, err = readPlayer(ctx); err == nil {
			if ok(st) {
				return st, time.Since(began)
			}
			if st.Status != "" && !slices.Contains(seen, st.Status) {
				seen = append(seen, st.Status)
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("%s: not within %v; the page's statuses: %q; last state %+v\nserver:\n%s", what, limit, seen, st, tail(s.out.String(), 3000))
	return st, 0
}

// TestServerPlayerPageReconnects: ffmpeg publishes over RTMP and the
// player page plays; ffmpeg is stopped (SIGINT to its PID), and the page
// leaves "playing" within 1.5 s: the server ends the WHEP session and
// Chromium's DTLS transport closes at once, though its connectionState
// stays "connected" until ICE gives up, 6-7 s later. A new ffmpeg
// publishes the same stream, and the page decodes its frames within 5 s
// of the server listing it.
func TestServerPlayerPageReconnects(t *testing.T) {
	s := startServerBinary(t)
	ff := publishFFmpeg(t, s, "live/again")
	ctx := newBrowser(t, true)
	openPlayer(t, ctx, s, "live/again", 5*time.Second)
	waitPlayer(t, ctx, s, "the page says playing", 5*time.Second, func(st playerStats) bool { return st.Status == "playing" })

	if err := ff.Process.Signal(os.Interrupt); err != nil {
		t.Fatalf("stop ffmpeg (pid %d): %v", ff.Process.Pid, err)
	}
	st, took := waitPlayer(t, ctx, s, "the page leaves playing after the publisher stopped", 1500*time.Millisecond,
		func(st playerStats) bool { return st.Status != "playing" })
	t.Logf("publisher stopped: the page says %q after %v", st.Status, took.Round(time.Millisecond))

	publishFFmpeg(t, s, "live/again")
	// The page asks again as the 409's Retry-After (2 s) says: the first
	// frame comes at most that and a connection's time after the listing.
	// (Its stats, framesDecoded among them, are polled once a second.)
	st, took = waitPlayer(t, ctx, s, "the page plays the restarted publisher", 5*time.Second, func(st playerStats) bool {
		return st.Status == "playing" && st.FirstFrameMs != nil
	})
	t.Logf("publisher restarted: first frame %v after the server listed the stream (offer to first frame %.0f ms)",
		took.Round(time.Millisecond), *st.FirstFrameMs)
	framesRise(t, ctx, 0, 5*time.Second)
}

// TestServerPlayerPageAudioOnly: ffmpeg publishes AAC only (a sine) over
// RTMP; the player page plays it: the media element holds the audio track
// and the audio receiver's totalSamplesReceived rises, which in Chromium
// needs a sink for the track. The page adds audio after the first video
// frame, which an audio-only stream never has.
func TestServerPlayerPageAudioOnly(t *testing.T) {
	s := startServerBinary(t)
	publishFFmpeg(t, s, "live/radio", "-f", "lavfi", "-i", "sine=frequency=440", "-c:a", "aac")
	ctx := newBrowser(t, true)
	console := watchConsole(ctx, t)
	navigateNoWait(t, ctx, s.Web+"/play/live/radio") // the load event is TestServerPlayerPageLoadsUnpublished's
	st, took := waitPlayer(t, ctx, s, "audio samples arrive", 10*time.Second, func(st playerStats) bool { return st.Stats.AudioSamples > 0 })
	t.Logf("first audio samples %v after the page was opened", took.Round(time.Millisecond))
	first := st.Stats.AudioSamples
	st, _ = waitPlayer(t, ctx, s, "totalSamplesReceived rises", 5*time.Second, func(st playerStats) bool { return st.Stats.AudioSamples > first+48000/2 })
	tracks, err := chromedp.Run(ctx, chromedp.Evaluate[int](`(document.getElementById('video').srcObject || {getAudioTracks: () => []}).getAudioTracks().length`))
	if err != nil || tracks != 1 {
		t.Errorf("the media element holds %d audio tracks (%v), want 1", tracks, err)
	}
	t.Logf("audio samples: %d, then %d; status %q; the audio track joined the element %s after the offer",
		first, st.Stats.AudioSamples, st.Status, msOrNone(st.AudioShownMs))
	console.check(t, "player page")
}

// TestServerPlayerPageLoadsUnpublished: the player page of a stream that
// nobody publishes fires its load event within 2 s (Navigate returns on
// it) while it retries on 409: a media element with a source, even an
// empty MediaStream, delays the document's load event until it has data,
// so embedding iframes' onload and automation would wait for the stream.
func TestServerPlayerPageLoadsUnpublished(t *testing.T) {
	s := startServerBinary(t)
	ctx := newBrowser(t, true)
	nctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	began := time.Now()
	if err := chromedp.Do(nctx, chromedp.Navigate(s.Web+"/play/live/nobody")); err != nil {
		state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState`))
		t.Fatalf("the player page of an unpublished stream did not fire its load event in 2 s (%v; readyState %q)", err, state)
	}
	t.Logf("load event after %v", time.Since(began).Round(time.Millisecond))
	waitPlayer(t, ctx, s, "the page waits for the stream", 5*time.Second, func(st playerStats) bool {
		return strings.HasPrefix(st.Status, "waiting for the stream")
	})
}

// playerLayout is where the player page's parts are, in CSS pixels.
type playerLayout struct {
	Status, Stats, Picture, View         rect
	StatusScrollWidth, StatusClientWidth int
}

type rect struct{ Left, Top, Right, Bottom float64 }

func (r rect) overlaps(o rect) bool {
	return r.Left < o.Right && o.Left < r.Right && r.Top < o.Bottom && o.Top < r.Bottom
}

func (r rect) inside(o rect) bool {
	return r.Left >= o.Left && r.Top >= o.Top && r.Right <= o.Right && r.Bottom <= o.Bottom
}

// checkPlayerLayout checks that the status covers neither the picture nor
// the stats, and that its text wraps within the window.
func checkPlayerLayout(t *testing.T, ctx context.Context) {
	t.Helper()
	l, err := chromedp.Run(ctx, chromedp.Evaluate[playerLayout](`(() => {
		const r = (id) => { const b = document.querySelector(id).getBoundingClientRect(); return {left: b.left, top: b.top, right: b.right, bottom: b.bottom}; };
		const s = document.getElementById('status');
		return {status: r('#status'), stats: r('#stats'), picture: r('#video'),
			view: {left: 0, top: 0, right: innerWidth, bottom: innerHeight},
			statusScrollWidth: s.scrollWidth, statusClientWidth: s.clientWidth};
	})()`))
	if err != nil {
		t.Fatalf("read the page's layout: %v", err)
	}
	t.Logf("layout: %+v", l)
	if l.Status.overlaps(l.Stats) {
		t.Errorf("the status %+v covers the stats %+v", l.Status, l.Stats)
	}
	if l.Status.overlaps(l.Picture) {
		t.Errorf("the status %+v covers the picture %+v", l.Status, l.Picture)
	}
	if !l.Status.inside(l.View) || l.StatusScrollWidth > l.StatusClientWidth {
		t.Errorf("the status %+v does not wrap within the window %+v (scroll width %d, client width %d)",
			l.Status, l.View, l.StatusScrollWidth, l.StatusClientWidth)
	}
}

// TestServerBFramesPlayerPageClosedSaysWhy: the player page is the first
// viewer of a stream with B-frames, so the server sees them only once it
// sends (a later viewer is refused at its POST: see
// TestServerBFramesPlayerPageSaysWhy) and closes the session; the page
// retries at once and shows the server's 422 message, which names
// B-frames, within 4 s of opening. The long message wraps in its own row,
// covering neither the picture nor the stats (a screenshot is saved).
func TestServerBFramesPlayerPageClosedSaysWhy(t *testing.T) {
	s := startServerBinary(t)
	publishBFrames(t, s, "live/bframes")
	ctx := newBrowser(t, true)
	navigateNoWait(t, ctx, s.Web+"/play/live/bframes")
	st, took := waitPlayer(t, ctx, s, "the page names B-frames", 4*time.Second, func(st playerStats) bool {
		return strings.Contains(st.Status, bframeMessage)
	})
	t.Logf("the page says %q %v after it was opened", st.Status, took.Round(time.Millisecond))
	if !strings.Contains(st.Status, "422") {
		t.Errorf("the page's status %q is not the server's 422 answer", st.Status)
	}
	closed := serverLines(s, "session ended", bframeMessage)
	t.Logf("sessions the server closed for B-frames: %d", len(closed))
	screenshot(t, ctx, "player-error.png")
	checkPlayerLayout(t, ctx)
}
