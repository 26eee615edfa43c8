package interop

// Tests of the relay's WebRTC bridge through real peers: ffmpeg publishes
// RTMP and a pion/webrtc viewer receives it through package peer (RTMP to
// WHEP); a pion/webrtc publisher sends H.264 and Opus through package peer
// and ffmpeg plays it over RTMP (WHIP to RTMP).

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/h264reader"

	"github.com/streamwire/streamwire/internal/syncbuf"
	"github.com/streamwire/streamwire/peer"
	"github.com/streamwire/streamwire/relay"
	"github.com/streamwire/streamwire/sdp"
)

// TestRelayRTMPToPionViewer: ffmpeg publishes the H.264 file (copied, in
// real time) with AAC to our RTMP server; a pion viewer offers audio and
// video, and the relay sends it every access unit byte for byte, and the
// AAC as Opus, from the stream's transcoder (an ffmpeg of the relay's).
func TestRelayRTMPToPionViewer(t *testing.T) {
	base, hub := startOurRTMP(t, nil)
	aus := h264AccessUnitsWithSEI(t, ppH264File)
	out := startProcess(t, 60*time.Second, "ffmpeg", "-hide_banner", "-loglevel", "warning", "-re",
		"-f", "h264", "-framerate", "30", "-i", ppH264File, "-f", "lavfi", "-i", "sine=frequency=440",
		"-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-t", "3", "-f", "flv", base+"/live/cam")
	waitStream(t, hub, "live/cam", 20*time.Second, out)
	sub, err := hub.Subscribe("live/cam") // at once: the cached GOP starts at the first frame
	if err != nil {
		t.Fatal(err)
	}
	var logs syncbuf.Buffer
	v := relay.NewWebRTCSubscriber(sub, relay.WebRTCSubscriberConfig{Logger: slog.New(slog.NewTextHandler(&logs, nil))})

	srv := newPPServer(t)
	pc := newPionPC(t)
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	frames := newFrameCollector(&codecs.H264Packet{}, 90000, len(aus)-1) // the last frame waits for a next one
	var audioPackets atomic.Int32
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			if tr.Kind() == webrtc.RTPCodecTypeAudio {
				// A 20 ms Opus packet: TOC with a 20 ms config, one frame
				// (RFC 6716 §3.1).
				if strings.EqualFold(tr.Codec().MimeType, webrtc.MimeTypeOpus) && len(pkt.Payload) > 1 && pkt.Payload[0]>>3%4 == 3 && pkt.Payload[0]&3 == 0 {
					audioPackets.Add(1)
				}
			} else {
				frames.push(pkt)
			}
		}
	})
	p := connectPeer(t, pc, peer.Config{Mux: srv.mux, Certificate: srv.cert, Candidates: srv.cands,
		SDP:               sdp.Config{Audio: sdp.MediaConfig{Direction: sdp.SendOnly}, Video: sdp.MediaConfig{Direction: sdp.SendOnly}},
		OnKeyFrameRequest: v.OnKeyFrameRequest,
	})
	video, audio := relay.PeerTracks(p)
	if video == nil || audio == nil {
		t.Fatalf("PeerTracks: video %v, audio %v", video, audio)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := v.Run(ctx, video, audio); err != nil { // until ffmpeg's publish ends
		t.Fatalf("Run: %v", err)
	}
	frames.check(t, "H.264 through the relay", aus)
	// 3 s of AAC, less ffmpeg's start (about 0.5 s, more on a loaded
	// machine) and the tail the publisher's end cuts off.
	if n := audioPackets.Load(); n < 25 {
		t.Errorf("%d Opus packets for 3 s of AAC", n)
	}
	if strings.Contains(logs.String(), "audio is AAC") {
		t.Errorf("an AAC warning with the transcoder running:\n%s", logs.String())
	}
	t.Logf("viewer: %+v, %d Opus packets", v.Stats(), audioPackets.Load())
}

// TestRelayPionPublisherToRTMP: a pion publisher sends H.264 and Opus
// through peer into the relay (peer.Config.OnRTP is the
// WebRTCPublisher's); ffmpeg, playing the stream over RTMP, decodes every
// video frame, and the Opus as AAC: ffmpeg 5.1 has no Enhanced RTMP
// audio and announces none, so the relay transcodes it.
func TestRelayPionPublisherToRTMP(t *testing.T) {
	base, hub := startOurRTMP(t, nil)
	pub, err := hub.Publish("live/whip")
	if err != nil {
		t.Fatal(err)
	}
	w := relay.NewWebRTCPublisher(pub, relay.WebRTCPublisherConfig{})
	defer w.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	player := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", base+"/live/whip", "-f", "framecrc", "-")
	var stdout, stderr syncbuf.Buffer
	player.Stdout, player.Stderr = &stdout, &stderr
	player.WaitDelay = 2 * time.Second
	if err := player.Start(); err != nil {
		t.Fatalf("ffmpeg (make test installs it): %v", err)
	}
	var waitOnce sync.Once
	var waitErr error
	wait := func() error { waitOnce.Do(func() { waitErr = player.Wait() }); return waitErr }
	defer func() { cancel(); _ = wait() }()
	for hub.Subscribers("live/whip") == 0 {
		if ctx.Err() != nil {
			t.Fatalf("ffmpeg did not start playing:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}

	srv := newPPServer(t)
	pc := newPionPC(t)
	aus := h264AccessUnits(t, ppH264File)
	opus := oggOpusPackets(t, ppOpusFile)
	audioTrack, videoTrack := addPionSenders(t, pc)
	connectPeer(t, pc, peer.Config{Mux: srv.mux, Certificate: srv.cert, Candidates: srv.cands,
		SDP:   sdp.Config{Audio: sdp.MediaConfig{Direction: sdp.RecvOnly}, Video: sdp.MediaConfig{Direction: sdp.RecvOnly}},
		OnRTP: w.OnRTP,
	})
	waitPionSRTP(t, pc)
	var wg sync.WaitGroup
	send := func(tr *webrtc.TrackLocalStaticSample, frames [][]byte, d time.Duration) {
		defer wg.Done()
		for _, f := range frames {
			if err := tr.WriteSample(media.Sample{Data: f, Duration: d}); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(d / 4)
		}
	}
	wg.Add(2)
	go send(videoTrack, aus, time.Second/30)
	go send(audioTrack, opus, 20*time.Millisecond)
	wg.Wait()
	// Every frame and both sequence headers published, or the time is up.
	want := int64(2 + len(aus) + len(opus))
	for deadline := time.Now().Add(10 * time.Second); w.Stats().Frames < want && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	st := w.Stats()
	if st.Frames < want {
		t.Fatalf("the publisher published %d of %d frames: %+v", st.Frames, want, st)
	}
	w.Close() // the RTMP play ends, and ffmpeg with it
	if err := wait(); err != nil || stderr.String() != "" {
		t.Fatalf("ffmpeg: %v\n%s", err, stderr.String())
	}
	// framecrc: "#media_type N: video" headers, then "N, dts, pts, ..."
	// per decoded frame of stream N.
	kinds := map[string]string{}
	decoded := map[string]int{}
	for _, line := range strings.Split(stdout.String(), "\n") {
		if k, ok := strings.CutPrefix(line, "#media_type "); ok {
			idx, kind, _ := strings.Cut(k, ": ")
			kinds[idx] = kind
		} else if idx, _, ok := strings.Cut(line, ","); ok && !strings.HasPrefix(line, "#") {
			decoded[kinds[strings.TrimSpace(idx)]]++
		}
	}
	// The Opus reaches ffmpeg, which announces no Enhanced RTMP codecs,
	// as AAC from the relay's transcoder: most of its 3 s, less ffmpeg's
	// start-up.
	if decoded["video"] != len(aus) || decoded["audio"] < len(opus)/3 || st.Dropped != 0 {
		t.Fatalf("ffmpeg decoded %d of %d video frames and %d audio frames (%d Opus packets sent); publisher %+v",
			decoded["video"], len(aus), decoded["audio"], len(opus), st)
	}
	t.Logf("ffmpeg decoded %d video frames and %d AAC frames", decoded["video"], decoded["audio"])
}

// h264AccessUnitsWithSEI is h264AccessUnits with the SEI NAL units that
// pion's reader leaves out by default (x264 writes one in the first
// frame), since an RTMP encoder's frames and the relay's RTP keep them.
func h264AccessUnitsWithSEI(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := h264reader.NewReaderWithOptions(f, h264reader.WithIncludeSEI(true))
	if err != nil {
		t.Fatal(err)
	}
	var aus [][]byte
	var cur []byte
	for nal, err := r.NextNAL(); err == nil; nal, err = r.NextNAL() {
		cur = append(append(cur, 0, 0, 0, 1), nal.Data...)
		if nal.UnitType == h264reader.NalUnitTypeCodedSliceNonIdr || nal.UnitType == h264reader.NalUnitTypeCodedSliceIdr {
			aus, cur = append(aus, cur), nil
		}
	}
	return aus
}
