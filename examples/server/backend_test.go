package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"github.com/streamwire/streamwire/dtlssrtp"
	"github.com/streamwire/streamwire/ice"
	"github.com/streamwire/streamwire/internal/syncbuf"
	"github.com/streamwire/streamwire/peer"
	"github.com/streamwire/streamwire/relay"
	"github.com/streamwire/streamwire/rtmp"
	"github.com/streamwire/streamwire/signaling/whip"
)

// testBackend is the server's backend on a served loopback Mux, with a
// hub and a registry of its own; logs collects the hub's and the peers'
// log lines.
func testBackend(t testing.TB) (b *backend, logs *syncbuf.Buffer) {
	t.Helper()
	cfg := config{UDP: "127.0.0.1:0", HTTP: "127.0.0.1:0", RTMP: "127.0.0.1:0"}
	ls, err := listen(cfg)
	require.NoError(t, err)
	t.Cleanup(ls.close)
	logs = &syncbuf.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	mux := ice.NewMux(ls.udp, ice.MuxConfig{Logger: log})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { defer close(served); _ = mux.Serve(ctx) }()
	t.Cleanup(func() { cancel(); mux.Close(); <-served })
	g, err := gatherer(ls, nil)
	require.NoError(t, err)
	cert, err := dtlssrtp.GenerateCertificate(dtlssrtp.CertificateConfig{})
	require.NoError(t, err)
	return &backend{hub: relay.NewHub(relay.Config{Logger: log}), mux: mux, gatherer: g, cert: cert,
		reg: newRegistry(), log: log}, logs
}

// pionOffer is a WHIP offer of an H.264 video and an Opus audio track,
// bundled, candidates gathered.
func pionOffer(t testing.TB) []byte {
	t.Helper()
	pc := newPC(t)
	addSendTracks(t, pc)
	return offerSDP(t, pc)
}

// addSendTracks adds an H.264 video and an Opus audio track that pc sends.
func addSendTracks(t testing.TB, pc *webrtc.PeerConnection) (video, audio *webrtc.TrackLocalStaticSample) {
	t.Helper()
	video, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "video", "pion")
	require.NoError(t, err)
	audio, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "pion")
	require.NoError(t, err)
	for _, tr := range []webrtc.TrackLocal{video, audio} {
		_, err := pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		require.NoError(t, err)
	}
	return video, audio
}

// offerSDP sets pc's offer and returns it with every candidate gathered.
func offerSDP(t testing.TB, pc *webrtc.PeerConnection) []byte {
	t.Helper()
	offer, err := pc.CreateOffer(nil)
	require.NoError(t, err)
	gathered := webrtc.GatheringCompletePromise(pc)
	require.NoError(t, pc.SetLocalDescription(offer))
	<-gathered
	return []byte(pc.LocalDescription().SDP)
}

// TestWHIPRefusedOfferClaimsNothing: a WHIP POST whose offer does not
// parse gets 400, and one the peer refuses (no BUNDLE) 422, without the
// stream ever being claimed in the hub: no publish or unpublish is
// logged, and an RTMP publisher of the name is accepted afterwards.
// Before the fix the backend claimed the name before answering, and
// released it when the answer failed.
func TestWHIPRefusedOfferClaimsNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, _, logs := startServer(t, config{})
	web := "http://" + b.HTTP.String()
	unbundled := strings.ReplaceAll(string(pionOffer(t)), "a=group:BUNDLE", "a=x-not-bundle")
	for _, c := range []struct {
		offer  string
		status int
	}{
		{"v=0\r\nthis is not SDP\r\n", http.StatusBadRequest},
		{"hello", http.StatusBadRequest},
		{unbundled, http.StatusUnprocessableEntity},
	} {
		_, err := (&whip.Client{}).Post(ctx, web+"/whip/live/cam", []byte(c.offer))
		var he *whip.Error
		require.ErrorAs(t, err, &he, "offer %.20q", c.offer)
		require.Equal(t, c.status, he.Status, "offer %.20q: %v", c.offer, err)
	}
	require.NotContains(t, logs.String(), "relay: publish", "a refused WHIP offer claimed the stream")
	require.NotContains(t, logs.String(), "relay: unpublish")
	require.Empty(t, getStreams(t, web))

	pub, err := rtmp.Dial(ctx, "rtmp://"+b.RTMP.String()+"/live/cam", rtmp.ClientConfig{})
	require.NoError(t, err)
	defer pub.Close()
	require.NoError(t, pub.Publish(ctx), "RTMP publish of the name after the refused offers")
}

// TestWHIPConcurrentPublishOneWins: two WHIP offers for the same name
// answered at the same time: exactly one session wins the name, the other
// is refused with ErrPublisherExists (409) and its peer is closed; only
// the winner is in the registry. Repeated, so that either order and the
// overlap of the answers are exercised.
func TestWHIPConcurrentPublishOneWins(t *testing.T) {
	b, _ := testBackend(t)
	var mu sync.Mutex
	var peers []*peer.Peer
	b.answered = func(p *peer.Peer) { mu.Lock(); peers = append(peers, p); mu.Unlock() }
	offer := pionOffer(t)
	for round := range 10 {
		mu.Lock()
		peers = peers[:0]
		mu.Unlock()
		name := fmt.Sprintf("race%d", round)
		start := make(chan struct{})
		type result struct {
			s   whip.Session
			err error
		}
		results := make(chan result, 2)
		for i := range 2 {
			go func() {
				<-start
				s, _, err := b.Publish(context.Background(), &whip.Offer{Kind: whip.KindWHIP,
					Stream: whip.Stream{App: "live", Name: name}, SDP: offer, LogID: fmt.Sprint(i)})
				results <- result{s, err}
			}()
		}
		close(start)
		var won whip.Session
		for range 2 {
			r := <-results
			if r.err == nil {
				require.Nil(t, won, "round %d: both publishers won", round)
				won = r.s
				continue
			}
			require.ErrorIs(t, r.err, whip.ErrPublisherExists, "round %d", round)
		}
		require.NotNil(t, won, "round %d: no publisher won", round)
		mu.Lock()
		require.Len(t, peers, 2, "round %d: both offers answered", round)
		for _, p := range peers {
			if p == won.(*session).p {
				continue
			}
			select {
			case <-p.Done():
				require.ErrorIs(t, p.Err(), peer.ErrClosed)
			case <-time.After(5 * time.Second):
				t.Fatalf("round %d: the losing publisher's peer is still open", round)
			}
		}
		mu.Unlock()
		require.Equal(t, 1, b.reg.snapshot().publishers[protoWHIP], "round %d", round)
		require.NoError(t, won.Close())
		require.Zero(t, b.reg.snapshot().publishers[protoWHIP], "round %d", round)
	}
}

// TestWHIPMediaBeforeClaimDropped: RTP that reaches a WHIP session's peer
// before the stream is claimed (the peer exists before the hub claim) is
// dropped, neither relayed nor counted, and does not crash the peer's
// read goroutine.
func TestWHIPMediaBeforeClaimDropped(t *testing.T) {
	b, _ := testBackend(t)
	s := b.newSession(whip.KindWHIP, "live/early", "early")
	require.NotPanics(t, func() { s.onRTP(nil, &rtp.Packet{Payload: []byte{1, 2, 3}}) })
	require.Zero(t, s.packetsIn.Load())
	require.Zero(t, s.bytesIn.Load())
}
