package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pionice "github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamwire/streamwire/internal/syncbuf"
	"github.com/streamwire/streamwire/rtmp"
	"github.com/streamwire/streamwire/signaling/whip"
)

// startServer runs the server as main does, on free loopback ports. stop
// (also called at cleanup) cancels it as SIGTERM does and checks that it
// exits within 5 s.
func startServer(t *testing.T, cfg config) (b bound, stop func(), logs *syncbuf.Buffer) {
	t.Helper()
	for _, a := range []*string{&cfg.UDP, &cfg.TCP, &cfg.HTTP, &cfg.RTMP} {
		if *a == "" {
			*a = "127.0.0.1:0"
		}
	}
	cfg.TURNSecret = "s3cret"
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan bound, 1)
	done := make(chan error, 1)
	logs = &syncbuf.Buffer{}
	go func() {
		done <- run(ctx, cfg, slog.New(slog.NewTextHandler(logs, nil)), io.Discard, func(b bound) { ready <- b })
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				require.ErrorIs(t, err, context.Canceled)
			case <-time.After(5 * time.Second):
				t.Error("the server did not stop within 5 s")
			}
			if t.Failed() {
				t.Logf("server log:\n%s", logs.String())
			}
		})
	}
	t.Cleanup(stop)
	select {
	case b = <-ready:
		return b, stop, logs
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	return bound{}, stop, logs
}

// newPC is a pion peer connection that gathers loopback UDP candidates only.
func newPC(t testing.TB) *webrtc.PeerConnection {
	t.Helper()
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetICEMulticastDNSMode(pionice.MulticastDNSModeDisabled)
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	require.NoError(t, err)
	t.Cleanup(func() { pc.Close() })
	return pc
}

// post sends pc's offer (candidates gathered) to a WHIP or WHEP endpoint
// and applies the answer.
func post(ctx context.Context, t *testing.T, pc *webrtc.PeerConnection, endpoint, token string) (*whip.Resource, error) {
	t.Helper()
	res, err := (&whip.Client{Token: token}).Post(ctx, endpoint, offerSDP(t, pc))
	if err != nil {
		return nil, err
	}
	require.NoError(t, pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(res.Answer)}))
	return res, nil
}

// H.264 access units (Annex B) of a tiny Baseline stream: SPS, PPS and an
// IDR slice, then P slices; the relay needs no more than their NAL headers
// and slice types.
var (
	annexB = []byte{0, 0, 0, 1}
	idrAU  = bytes.Join([][]byte{nil, {0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40}, {0x68, 0xce, 0x3c, 0x80},
		{0x65, 0x88, 0x84, 0x21, 0xa0}}, annexB)
	pAU = append(append([]byte{}, annexB...), 0x41, 0x9a, 0x21, 0x40)
)

// videoPC is a pion peer connection that sends one H.264 track.
func videoPC(t *testing.T) (*webrtc.PeerConnection, *webrtc.TrackLocalStaticSample) {
	t.Helper()
	pc := newPC(t)
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "video", "pion")
	require.NoError(t, err)
	_, err = pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	require.NoError(t, err)
	return pc, track
}

// publishWHIP publishes H.264 from a pion peer to /whip/live/NAME until ctx
// ends, an IDR every 10 frames.
func publishWHIP(ctx context.Context, t *testing.T, web, name string) *whip.Resource {
	t.Helper()
	pc, track := videoPC(t)
	res, err := post(ctx, t, pc, web+"/whip/live/"+name, "")
	require.NoError(t, err)
	go func() {
		for i := 0; ctx.Err() == nil; i++ {
			au := pAU
			if i%10 == 0 {
				au = idrAU
			}
			_ = track.WriteSample(media.Sample{Data: au, Duration: 33 * time.Millisecond})
			time.Sleep(33 * time.Millisecond)
		}
	}()
	return res
}

// playWHEP plays /whep/live/NAME with a pion peer and counts the video RTP
// packets it receives.
func playWHEP(ctx context.Context, t *testing.T, web, name string) (*whip.Resource, *atomic.Int64, error) {
	t.Helper()
	pc := newPC(t)
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		_, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		require.NoError(t, err)
	}
	var packets atomic.Int64
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
			if tr.Kind() == webrtc.RTPCodecTypeVideo {
				packets.Add(1)
			}
		}
	})
	res, err := post(ctx, t, pc, web+"/whep/live/"+name, "")
	return res, &packets, err
}

// TestWebRTCThroughServer: a WHIP publisher reaches a WHEP viewer and an
// RTMP player through the server's backend; /api/streams and /metrics
// count them; WHEP of a stream nobody publishes is 409 with Retry-After,
// and so is WHIP of a stream already published.
func TestWebRTCThroughServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, _, _ := startServer(t, config{})
	web := "http://" + b.HTTP.String()

	_, _, err := playWHEP(ctx, t, web, "nobody")
	var he *whip.Error
	require.ErrorAs(t, err, &he)
	require.Equal(t, http.StatusConflict, he.Status)
	require.Equal(t, 2*time.Second, he.RetryAfter)

	pubCtx, stopPub := context.WithCancel(ctx)
	defer stopPub()
	publishWHIP(pubCtx, t, web, "cam")
	second, _ := videoPC(t)
	_, err = post(ctx, t, second, web+"/whip/live/cam", "")
	require.ErrorAs(t, err, &he, "a second WHIP publisher of live/cam")
	require.Equal(t, http.StatusConflict, he.Status)

	view, packets, err := playWHEP(ctx, t, web, "cam")
	require.NoError(t, err)
	playRTMP(ctx, t, "rtmp://"+b.RTMP.String()+"/live/cam")
	require.Eventually(t, func() bool { return packets.Load() >= 20 }, 10*time.Second, 20*time.Millisecond,
		"the WHEP viewer got %d video packets", packets.Load())

	streams := getStreams(t, web)
	require.Len(t, streams, 1)
	s := streams[0]
	require.Equal(t, "live/cam", s.Path)
	require.Equal(t, "whip", s.Publisher)
	require.Equal(t, map[string]int{"rtmp": 1, "whep": 1}, s.Viewers)
	require.Equal(t, "rtmp://"+b.RTMP.String()+"/live/cam", s.URLs.RTMP)
	require.Equal(t, web+"/whep/live/cam", s.URLs.WHEP)
	require.Equal(t, web+"/play/live/cam", s.URLs.Player)

	mf := scrape(t, web)
	require.Equal(t, 1.0, value(t, mf, "streamwire_streams"))
	require.Equal(t, 1.0, value(t, mf, "streamwire_publishers", "protocol", "whip"))
	require.Equal(t, 1.0, value(t, mf, "streamwire_subscribers", "protocol", "whep"))
	require.Equal(t, 1.0, value(t, mf, "streamwire_subscribers", "protocol", "rtmp"))
	require.Positive(t, value(t, mf, "streamwire_media_bytes_total", "protocol", "whip", "direction", "in"))
	require.Positive(t, value(t, mf, "streamwire_media_packets_total", "protocol", "whip", "direction", "in"))
	outBefore := value(t, mf, "streamwire_media_bytes_total", "protocol", "whep", "direction", "out")
	require.Positive(t, outBefore)
	require.Positive(t, value(t, mf, "streamwire_media_bytes_total", "protocol", "rtmp", "direction", "out"))
	require.Equal(t, uint64(2), histogramCount(t, mf, "streamwire_webrtc_connect_seconds"), "a WHIP and a WHEP connect")
	require.Positive(t, histogramCount(t, mf, "streamwire_webrtc_send_latency_seconds"), "frames sent to the WHEP viewer")
	require.Less(t, histogramQuantile(t, mf, "streamwire_webrtc_send_latency_seconds", "video", 0.5), 0.25, "median server-added latency")
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		require.Contains(t, mf, name, "Go and process collectors")
	}

	require.NoError(t, view.Delete(ctx))
	require.Eventually(t, func() bool { return getStreams(t, web)[0].Viewers["whep"] == 0 }, 5*time.Second, 20*time.Millisecond)
	mf = scrape(t, web)
	require.Equal(t, 0.0, value(t, mf, "streamwire_subscribers", "protocol", "whep"))
	require.GreaterOrEqual(t, value(t, mf, "streamwire_media_bytes_total", "protocol", "whep", "direction", "out"), outBefore,
		"a counter went back when its session ended")

	stopPub() // the publisher's peer stops sending: consent expiry would take 30 s, so DELETE is what ends it here
}

// TestTokenProtectsPublishing: with -token, WHIP and RTMP publishers need
// it; players do not.
func TestTokenProtectsPublishing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, _, _ := startServer(t, config{Token: "t0ken"})
	web := "http://" + b.HTTP.String()

	_, err := post(ctx, t, newPC(t), web+"/whip/live/cam", "wrong")
	var he *whip.Error
	require.ErrorAs(t, err, &he)
	require.Equal(t, http.StatusUnauthorized, he.Status)

	rtmpURL := "rtmp://" + b.RTMP.String() + "/live/cam"
	pub, err := rtmp.Dial(ctx, rtmpURL, rtmp.ClientConfig{})
	require.NoError(t, err)
	var se *rtmp.StatusError
	require.ErrorAs(t, pub.Publish(ctx), &se)
	require.Equal(t, rtmp.CodePublishUnauthorized, se.Code)
	pub.Close()

	checkRTMP(ctx, t, rtmpURL+"?token=t0ken", rtmpURL)
}

// TestShutdownTellsClients: at shutdown RTMP-published streams end while
// their players are attached, so that the players are told
// (NetStream.Play.UnpublishNotify), and WHEP sessions are closed, all within
// 5 s.
func TestShutdownTellsClients(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, stop, _ := startServer(t, config{})
	rtmpURL := "rtmp://" + b.RTMP.String() + "/live/cam"
	pub, err := rtmp.Dial(ctx, rtmpURL, rtmp.ClientConfig{})
	require.NoError(t, err)
	defer pub.Close()
	require.NoError(t, pub.Publish(ctx))
	require.NoError(t, pub.WriteMedia(ctx, rtmp.Media{Type: rtmp.TypeVideo, Payload: seqHeader}))
	player, err := rtmp.Dial(ctx, rtmpURL, rtmp.ClientConfig{})
	require.NoError(t, err)
	defer player.Close()
	require.NoError(t, player.Play(ctx))
	_, err = player.ReadMedia(ctx)
	require.NoError(t, err)

	web := "http://" + b.HTTP.String()
	res, _, err := playWHEP(ctx, t, web, "cam")
	require.NoError(t, err)

	eof := make(chan time.Time, 1)
	go func() {
		_, err := player.ReadMedia(ctx)
		assert.ErrorIs(t, err, io.EOF)
		eof <- time.Now()
	}()
	stop()
	stopped := time.Now()
	// The player was told (NetStream.Play.UnpublishNotify, which the client
	// reads as io.EOF) before the server closed the connections, which it
	// does rtmpDrain after ending the streams.
	require.Less(t, (<-eof).Add(rtmpDrain/2), stopped, "the RTMP player's stream ended only with its connection")
	require.Error(t, res.Delete(ctx), "the WHEP session outlived the shutdown")
}

func getStreams(t *testing.T, web string) []streamDoc {
	t.Helper()
	res, err := http.Get(web + "/api/streams")
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, "application/json", res.Header.Get("Content-Type"))
	var doc streamsDoc
	require.NoError(t, json.NewDecoder(res.Body).Decode(&doc))
	return doc.Streams
}

// scrape reads /metrics with the Prometheus text parser.
func scrape(t *testing.T, web string) map[string]*dto.MetricFamily {
	t.Helper()
	res, err := http.Get(web + "/metrics")
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mf, err := parser.TextToMetricFamilies(res.Body)
	require.NoError(t, err)
	return mf
}

// value is the gauge or counter of family name with the label pairs.
func value(t *testing.T, mf map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	f, ok := mf[name]
	require.True(t, ok, "no metric %s", name)
next:
	for _, m := range f.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.GetLabel() {
				found = found || l.GetName() == labels[i] && l.GetValue() == labels[i+1]
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no %s%v", name, labels)
	return 0
}

// histogramQuantile returns the upper bound of the bucket that holds
// quantile q of histogram name's samples (+Inf when past the last).
// playRTMP plays url with our RTMP client until three video messages
// came; the player stays until the test ends.
func playRTMP(ctx context.Context, t *testing.T, url string) {
	t.Helper()
	player, err := rtmp.Dial(ctx, url, rtmp.ClientConfig{})
	require.NoError(t, err)
	t.Cleanup(func() { player.Close() })
	require.NoError(t, player.Play(ctx))
	for video := 0; video < 3; {
		m, err := player.ReadMedia(ctx)
		require.NoError(t, err)
		if m.Type == rtmp.TypeVideo {
			video++
		}
	}
}

func histogramQuantile(t *testing.T, mf map[string]*dto.MetricFamily, name, kind string, q float64) float64 {
	t.Helper()
	f, ok := mf[name]
	require.True(t, ok, "no metric %s", name)
	i := slices.IndexFunc(f.GetMetric(), func(m *dto.Metric) bool {
		return slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool { return l.GetName() == "kind" && l.GetValue() == kind })
	})
	require.GreaterOrEqual(t, i, 0, "no %s{kind=%q}", name, kind)
	h := f.GetMetric()[i].GetHistogram()
	require.Positive(t, h.GetSampleCount(), "%s{kind=%q}", name, kind)
	want := q * float64(h.GetSampleCount())
	for _, b := range h.GetBucket() {
		if float64(b.GetCumulativeCount()) >= want {
			return b.GetUpperBound()
		}
	}
	return math.Inf(1)
}

func histogramCount(t *testing.T, mf map[string]*dto.MetricFamily, name string) uint64 {
	t.Helper()
	f, ok := mf[name]
	require.True(t, ok, "no metric %s", name)
	var n uint64
	for _, m := range f.GetMetric() {
		n += m.GetHistogram().GetSampleCount()
	}
	return n
}

// TestWHEPWaitsForPublisher: with -whep-wait, WHEP of a stream nobody
// publishes is answered at once, and the viewer's video starts when a
// WHIP publisher comes.
func TestWHEPWaitsForPublisher(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, _, _ := startServer(t, config{WHEPWait: true})
	web := "http://" + b.HTTP.String()
	_, packets, err := playWHEP(ctx, t, web, "later")
	require.NoError(t, err, "WHEP before the publisher")
	require.Empty(t, getStreams(t, web), "a stream nobody publishes is listed")
	time.Sleep(200 * time.Millisecond)
	require.Zero(t, packets.Load())
	publishWHIP(ctx, t, web, "later")
	require.Eventually(t, func() bool { return packets.Load() >= 20 }, 15*time.Second, 20*time.Millisecond,
		"the waiting viewer got %d video packets", packets.Load())
}

// TestWHEPRefusesUnsupportedVideo: ffmpeg's FLV default, Sorenson H.263,
// reaches RTMP players, but a WHEP viewer of it gets 422 naming the codec
// (the player page shows the answer's body), not a session whose picture
// stays black.
func TestWHEPRefusesUnsupportedVideo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, _, _ := startServer(t, config{})
	pub, err := rtmp.Dial(ctx, "rtmp://"+b.RTMP.String()+"/live/flv1", rtmp.ClientConfig{})
	require.NoError(t, err)
	defer pub.Close()
	require.NoError(t, pub.Publish(ctx))
	require.NoError(t, pub.WriteMedia(ctx, rtmp.Media{Type: rtmp.TypeVideo, Payload: []byte{0x12, 0, 0, 0x84, 0}}))
	require.Eventually(t, func() bool { return len(getStreams(t, "http://"+b.HTTP.String())) == 1 }, 5*time.Second, 20*time.Millisecond)
	_, _, err = playWHEP(ctx, t, "http://"+b.HTTP.String(), "flv1")
	var we *whip.Error
	require.ErrorAs(t, err, &we)
	require.Equal(t, http.StatusUnprocessableEntity, we.Status)
	require.Contains(t, we.Reason, "Sorenson H.263")
}

// TestPublicIPOnLoopbackWarns: -public-ip with the default loopback -udp
// starts, but says that other machines cannot reach the media, which a
// newcomer setting only -http and -public-ip would not see otherwise; a
// server without -public-ip says nothing of it.
func TestPublicIPOnLoopbackWarns(t *testing.T) {
	const warning = "-public-ip is announced, but -udp listens on a loopback address"
	_, stop, logs := startServer(t, config{PublicIPs: []string{"203.0.113.7"}})
	stop()
	require.Contains(t, logs.String(), warning)
	_, stop, logs = startServer(t, config{})
	stop()
	require.NotContains(t, logs.String(), warning)
}
