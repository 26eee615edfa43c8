package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/streamwire/streamwire/rtmp"
	"github.com/streamwire/streamwire/sdp"
)

// TestNestedStreamNames: a stream whose name has a slash, published over
// RTMP at rtmp://HOST/live/a/b, gets URLs that play it: /api/streams lists
// it as live/a/b with its WHEP and player URLs, the player page loads, a
// WHEP viewer of the listed URL receives its video, trickles to and
// deletes its session at the nested Location, and an RTMP player of the
// listed RTMP URL reads it. A WHIP publisher of /whip/live/x/y reaches
// RTMP players of rtmp://HOST/live/x/y. Before, the WHEP and player URLs
// of such a stream were 404.
func TestNestedStreamNames(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, _, _ := startServer(t, config{})
	web := "http://" + b.HTTP.String()

	pub, err := rtmp.Dial(ctx, "rtmp://"+b.RTMP.String()+"/live/a/b", rtmp.ClientConfig{})
	require.NoError(t, err)
	defer pub.Close()
	require.NoError(t, pub.Publish(ctx))
	require.NoError(t, pub.WriteMedia(ctx, rtmp.Media{Type: rtmp.TypeVideo, Payload: seqHeader}))
	pubCtx, stopPub := context.WithCancel(ctx)
	defer stopPub()
	go func() {
		for ts := uint32(0); pubCtx.Err() == nil; ts += 33 {
			if pub.WriteMedia(pubCtx, rtmp.Media{Type: rtmp.TypeVideo, Timestamp: ts, Payload: keyframe}) != nil {
				return
			}
			time.Sleep(33 * time.Millisecond)
		}
	}()

	var s streamDoc
	require.Eventually(t, func() bool {
		streams := getStreams(t, web)
		if len(streams) == 1 {
			s = streams[0]
		}
		return len(streams) == 1
	}, 5*time.Second, 20*time.Millisecond)
	require.Equal(t, "live/a/b", s.Path)
	require.Equal(t, "live", s.App)
	require.Equal(t, "a/b", s.Name)
	require.Equal(t, "rtmp://"+b.RTMP.String()+"/live/a/b", s.URLs.RTMP)
	require.Equal(t, web+"/whep/live/a/b", s.URLs.WHEP)
	require.Equal(t, web+"/play/live/a/b", s.URLs.Player)

	res, err := http.Get(s.URLs.Player)
	require.NoError(t, err)
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode, "the player page")
	require.Contains(t, string(page), "<video")

	view, packets, err := playWHEP(ctx, t, web, "a/b")
	require.NoError(t, err, "WHEP of %s", s.URLs.WHEP)
	require.True(t, strings.HasPrefix(view.URL, s.URLs.WHEP+"/"), "Location %s", view.URL)
	require.Eventually(t, func() bool { return packets.Load() >= 10 }, 10*time.Second, 20*time.Millisecond,
		"the WHEP viewer got %d video packets", packets.Load())
	require.NoError(t, view.Trickle(ctx, &sdp.SDPFrag{Media: []sdp.FragMedia{{MediaLine: "video 9 UDP/TLS/RTP/SAVPF 96", Mid: "0", EndOfCandidates: true}}}),
		"trickle PATCH to %s", view.URL)

	play, err := rtmp.Dial(ctx, s.URLs.RTMP, rtmp.ClientConfig{})
	require.NoError(t, err)
	defer play.Close()
	require.NoError(t, play.Play(ctx))
	m, err := play.ReadMedia(ctx)
	require.NoError(t, err)
	require.Equal(t, rtmp.TypeVideo, m.Type)

	require.NoError(t, view.Delete(ctx), "DELETE %s", view.URL)
	require.Eventually(t, func() bool { return getStreams(t, web)[0].Viewers["whep"] == 0 }, 5*time.Second, 20*time.Millisecond)

	// WHIP of a nested name, played over RTMP.
	whipCtx, stopWHIP := context.WithCancel(ctx)
	defer stopWHIP()
	wres := publishWHIP(whipCtx, t, web, "x/y")
	require.True(t, strings.HasPrefix(wres.URL, web+"/whip/live/x/y/"), "Location %s", wres.URL)
	playRTMP(ctx, t, "rtmp://"+b.RTMP.String()+"/live/x/y")
	require.NoError(t, wres.Delete(ctx), "DELETE %s", wres.URL)
}

// TestRTMPNestedPathSplits: however an RTMP client splits a nested path
// into app and stream name (ffmpeg: app "live/a", name "b"; OBS and our
// client: "live" and "a/b"), it is one stream, live/a/b; a path that no
// WHEP URL can name is refused with NetStream.Publish.BadName.
func TestRTMPNestedPathSplits(t *testing.T) {
	a := testApp(t)
	ctx := context.Background()
	sink, err := a.rtmp.Publish(ctx, &rtmp.StreamRequest{App: "live/a", Name: "b"})
	require.NoError(t, err)
	defer sink.Close()
	require.Equal(t, "live/a/b", a.reg.snapshot().streams[0].Path)
	_, err = a.rtmp.Publish(ctx, &rtmp.StreamRequest{App: "live", Name: "a/b"})
	require.ErrorIs(t, err, rtmp.ErrBadName, "a second publisher of live/a/b")

	for _, req := range []rtmp.StreamRequest{{App: "live", Name: "a//b"}, {App: "live", Name: "a/"}, {App: "live/", Name: "b"},
		{App: "live", Name: "a/../b"}, {App: "live", Name: "."}, {App: "live", Name: "a\x01"}} {
		_, err := a.rtmp.Publish(ctx, &req)
		var se *rtmp.StatusError
		require.ErrorAs(t, err, &se, "publish %q", req.Path())
		require.Equal(t, rtmp.CodePublishBadName, se.Code, "publish %q", req.Path())
		require.Contains(t, se.Description, "segments")
	}
	require.Len(t, a.reg.snapshot().streams, 1)
}
