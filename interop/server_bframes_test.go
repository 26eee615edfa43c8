package interop

// End-to-end tests of examples/server with H.264 that has B-frames, as
// ffmpeg's libx264 makes by default (here -bf 2 with its default
// B-pyramid): browsers do not decode B-frames over WebRTC, so the server
// refuses WebRTC viewers of such a stream with an error that names
// B-frames, unless -drop-bframes leaves the B-frames out.

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/streamwire/streamwire/signaling/whip"
)

// bframeMessage is the part of relay.ErrBFrames that the server's log and
// the viewer's error must carry.
const bframeMessage = "B-frames"

// publishBFrames publishes 60 s of a 640x360 30 fps test pattern over RTMP
// to stream with ffmpeg, H.264 from libx264 with two B-frames between
// references (-bf 2; veryfast keeps x264's B-pyramid), no audio, and waits
// until the server lists the stream.
func publishBFrames(t *testing.T, s *serverProc, stream string) {
	t.Helper()
	ff := startProcess(t, 90*time.Second, "ffmpeg", "-hide_banner", "-loglevel", "warning", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
		"-c:v", "libx264", "-preset", "veryfast", "-bf", "2", "-g", "30", "-pix_fmt", "yuv420p",
		"-an", "-t", "60", "-f", "flv", s.RTMP+"/"+stream)
	s.waitStream(t, stream, 20*time.Second, ff)
}

// viewerEnded reports whether pion's viewer was closed by the server: its
// connection is closed or failed, or its DTLS transport got close_notify.
func (v *pionWHEPViewer) viewerEnded() bool {
	switch v.pc.ConnectionState() {
	case webrtc.PeerConnectionStateClosed, webrtc.PeerConnectionStateFailed:
		return true
	}
	for _, tr := range v.pc.GetTransceivers() {
		if d := tr.Receiver().Transport(); d != nil {
			if st := d.State(); st == webrtc.DTLSTransportStateClosed || st == webrtc.DTLSTransportStateFailed {
				return true
			}
		}
	}
	return false
}

// refusedForBFrames plays stream with a pion WHEP viewer and checks that the
// server refuses it, at the POST (an error whose text names B-frames) or,
// once connected, by closing the session, with a log line for this session
// that names B-frames. It returns how the viewer was refused.
func refusedForBFrames(t *testing.T, s *serverProc, stream string) string {
	t.Helper()
	v, err := startPionWHEPViewer(t, s.Web+"/whep/"+stream)
	if err != nil {
		var herr *whip.Error
		if !errors.As(err, &herr) || !strings.Contains(err.Error(), bframeMessage) {
			t.Fatalf("the WHEP POST failed with an error that does not name B-frames: %v", err)
		}
		return "refused at the POST: " + err.Error()
	}
	began := time.Now()
	for !v.viewerEnded() {
		if time.Since(began) > 15*time.Second {
			video, _, _ := v.counts()
			t.Fatalf("the server did not close a WHEP viewer of a stream with B-frames in 15 s (%d video packets received, connection %s)\nserver:\n%s",
				video, v.pc.ConnectionState(), tail(s.out.String(), 3000))
		}
		time.Sleep(50 * time.Millisecond)
	}
	video, _, _ := v.counts()
	id := v.res.URL[strings.LastIndexByte(v.res.URL, '/')+1:]
	var ended string
	for deadline := time.Now().Add(5 * time.Second); ended == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for _, l := range serverLines(s, "whip: session ended", "kind=whep") {
			if _, after, ok := strings.Cut(l, " session="); ok && strings.HasPrefix(id, strings.Fields(after)[0]) {
				ended = l
			}
		}
	}
	if !strings.Contains(ended, bframeMessage) {
		t.Errorf("the server's log of the closed WHEP session %s does not name B-frames: %q\nserver:\n%s", id, ended, tail(s.out.String(), 3000))
	}
	return fmt.Sprintf("closed %v after the answer, after %d video packets; server: %s",
		time.Since(began).Round(time.Millisecond), video, ended)
}

// TestServerBFramesRefused: ffmpeg publishes H.264 with B-frames over
// RTMP; two pion WHEP viewers, one after the other, are each refused (at
// the POST, or closed once connected) with an error that names B-frames,
// and the server logs the B-frame warning once for the stream, not once
// per viewer.
func TestServerBFramesRefused(t *testing.T) {
	s := startServerBinary(t)
	publishBFrames(t, s, "live/bframes")
	for i := range 2 {
		t.Logf("WHEP viewer %d: %s", i+1, refusedForBFrames(t, s, "live/bframes"))
	}
	// The stream's warning is the WARN line naming B-frames that names no
	// session; each refused session also has its own lines.
	var warnings []string
	for _, l := range serverLines(s, "level=WARN", bframeMessage) {
		if !strings.Contains(l, " session=") {
			warnings = append(warnings, l)
		}
	}
	t.Logf("lines naming B-frames: %d, of which stream warnings: %d", len(serverLines(s, bframeMessage)), len(warnings))
	if len(warnings) != 1 {
		t.Errorf("the server logged the B-frame warning %d times for one stream and two viewers, want once:\n%s",
			len(warnings), strings.Join(warnings, "\n"))
	}
}

// TestServerBFramesDropped: with -drop-bframes, a stock headless Chromium
// plays the same kind of stream on the player page: the B-frames are left
// out, and what remains decodes (framesDecoded rises), with no viewer
// stopped for B-frames.
func TestServerBFramesDropped(t *testing.T) {
	s := startServerBinary(t, "-drop-bframes")
	publishBFrames(t, s, "live/bframes")
	ctx := newBrowser(t, true)
	console := watchConsole(ctx, t)
	first, st := openPlayer(t, ctx, s, "live/bframes", 5*time.Second)
	st = framesRise(t, ctx, st.Stats.FramesDecoded, 5*time.Second)
	t.Logf("-drop-bframes: first frame %v after the page loaded; player %+v", first.Round(time.Millisecond), st.Stats)
	for _, words := range [][]string{{"viewer stopped", bframeMessage}, {"session ended", bframeMessage}} {
		if l := serverLines(s, words...); len(l) > 0 {
			t.Errorf("with -drop-bframes the server still ends viewers for B-frames:\n%s", strings.Join(l, "\n"))
		}
	}
	// The relay's once-per-stream note that the stream has B-frames is the
	// same text as the refusal's (see the report of this test's commit).
	noted := serverLines(s, bframeMessage)
	for _, l := range noted {
		t.Logf("server: %s", l)
	}
	if len(noted) == 0 {
		t.Errorf("the server noticed no B-frames in the stream: nothing was dropped\nserver:\n%s", tail(s.out.String(), 3000))
	}
	console.check(t, "player page")
}

// TestServerBFramesPlayerPageSaysWhy: a viewer that arrives when the
// stream is already known to carry B-frames is to be refused, not closed
// (issue 10: "refused (or closed, if the B-frames start later) with an
// error that names B-frames"), so that a player can tell its user why:
// the server's own player page, in a stock headless Chromium, must show a
// status that names B-frames within 15 s. The page shows the text of a
// refused POST ("error: STATUS: BODY"); a session closed after it
// connected leaves it no reason to show.
func TestServerBFramesPlayerPageSaysWhy(t *testing.T) {
	s := startServerBinary(t)
	publishBFrames(t, s, "live/bframes")
	// A first viewer makes the server see the B-frames.
	t.Logf("first WHEP viewer: %s", refusedForBFrames(t, s, "live/bframes"))
	ctx := newBrowser(t, true)
	navigateNoWait(t, ctx, s.Web+"/play/live/bframes")
	var seen []string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		st, err := readPlayer(ctx)
		if err != nil || st.Status == "" {
			continue // the page is still loading
		}
		if strings.Contains(st.Status, bframeMessage) {
			t.Logf("the player page says: %q", st.Status)
			return
		}
		if !slices.Contains(seen, st.Status) {
			seen = append(seen, st.Status)
		}
	}
	t.Errorf("the player page never says that the stream has B-frames in 15 s; its statuses: %q. The server answers the WHEP POST 201 "+
		"and closes the session once connected, though it already knows the stream's B-frames\nserver:\n%s", seen, tail(s.out.String(), 3000))
}
