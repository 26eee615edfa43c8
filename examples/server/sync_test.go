package main

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/stretchr/testify/require"
)

// TestWebRTCSenderReportsSync: a WHIP publisher whose first audio and
// video samples leave at the same instant reaches a WHEP viewer whose
// sender reports (RFC 3550 §6.4.1, the server's own: it does not forward
// the publisher's) map those two samples' RTP timestamps to NTP times
// within 20 ms of each other, as a browser lines the tracks up. The
// server maps each frame to its arrival, so this holds for publishers
// that send no sender reports at all.
func TestWebRTCSenderReportsSync(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, _, _ := startServer(t, config{})
	web := "http://" + b.HTTP.String()

	// The publisher connects first and sends nothing until the viewer is
	// connected, so that the viewer's first packets are its first samples.
	pub := newPC(t)
	video, audio := addSendTracks(t, pub)
	_, err := post(ctx, t, pub, web+"/whip/live/sync", "")
	require.NoError(t, err)
	waitConnected(t, pub)

	view := newPC(t)
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		_, err := view.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		require.NoError(t, err)
	}
	var mu sync.Mutex
	first := map[webrtc.RTPCodecType]uint32{}           // the first RTP timestamp of each kind
	rates := map[webrtc.RTPCodecType]uint32{}           // its clock rate
	srs := map[webrtc.RTPCodecType]*rtcp.SenderReport{} // the latest sender report
	view.OnTrack(func(tr *webrtc.TrackRemote, rx *webrtc.RTPReceiver) {
		go func() {
			for {
				pkts, _, err := rx.ReadRTCP()
				if err != nil {
					return
				}
				for _, p := range pkts {
					if sr, ok := p.(*rtcp.SenderReport); ok && sr.SSRC == uint32(tr.SSRC()) {
						mu.Lock()
						srs[tr.Kind()] = sr
						mu.Unlock()
					}
				}
			}
		}()
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			mu.Lock()
			if _, ok := first[tr.Kind()]; !ok {
				first[tr.Kind()], rates[tr.Kind()] = pkt.Timestamp, tr.Codec().ClockRate
			}
			mu.Unlock()
		}
	})
	_, err = post(ctx, t, view, web+"/whep/live/sync", "")
	require.NoError(t, err)
	waitConnected(t, view)

	// 3 s of 30 fps H.264 and 20 ms Opus, the first of each at once.
	go func() {
		for i := 0; i < 150 && ctx.Err() == nil; i++ {
			if i%3 == 0 { // 30 fps against 50 packets a second, near enough
				au := pAU
				if i%30 == 0 {
					au = idrAU
				}
				_ = video.WriteSample(media.Sample{Data: au, Duration: 60 * time.Millisecond})
			}
			_ = audio.WriteSample(media.Sample{Data: []byte{0xfc, 0xff, 0xfe}, Duration: 20 * time.Millisecond})
			time.Sleep(20 * time.Millisecond)
		}
	}()

	// Wait for a sender report of each track made after its first packet.
	var ntp [2]float64
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for i, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
			sr, ts, ok := srs[kind], first[kind], true
			if _, seen := first[kind]; !seen || sr == nil || int32(sr.RTPTime-ts) < 0 {
				ok = false
			}
			if !ok {
				return false
			}
			// NTP time of the first packet, in seconds: the report's NTP
			// time less the RTP time between them.
			ntp[i] = float64(sr.NTPTime>>32) + float64(sr.NTPTime&0xFFFFFFFF)/(1<<32) -
				float64(sr.RTPTime-ts)/float64(rates[kind])
		}
		return true
	}, 15*time.Second, 50*time.Millisecond, "sender reports of both tracks after their first packets")
	d := time.Duration((ntp[0] - ntp[1]) * float64(time.Second))
	t.Logf("first audio and first video samples, by the viewer's sender reports: %v apart", d)
	require.Less(t, d.Abs(), 20*time.Millisecond, "audio and video NTP/RTP mappings disagree")
}

// waitConnected waits until pc's connection is up.
func waitConnected(t *testing.T, pc *webrtc.PeerConnection) {
	t.Helper()
	require.Eventually(t, func() bool { return pc.ConnectionState() == webrtc.PeerConnectionStateConnected },
		15*time.Second, 10*time.Millisecond, "peer connection state %v", pc.ConnectionState())
}
