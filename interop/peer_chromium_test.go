package interop

// Tests of package peer against headless Chromium: as a viewer, Chromium
// decodes H.264 that the test sends through peer, also across an ICE
// restart; as a publisher with a fake camera, peer receives frames that
// ffmpeg decodes without error, while its transport feedback lets
// Chromium's bandwidth estimate ramp up.

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

	"github.com/streamwire/streamwire/peer"
	"github.com/streamwire/streamwire/sdp"
)

const peerChromiumPage = `<!doctype html><html><body><video id=v muted autoplay playsinline></video><script>
const q = new URLSearchParams(location.search);
const mode = q.get('mode');
async function post(path, body) {
  const r = await fetch(path, {method: 'POST', body: body});
  if (!r.ok) throw new Error(path + ': ' + await r.text());
  return r.text();
}
async function gathered(pc) {
  if (pc.iceGatheringState === 'complete') return;
  await new Promise(r => {
    const t = setTimeout(r, 3000);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') { clearTimeout(t); r(); }
    });
  });
}
async function negotiate(pc, path) {
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  await pc.setRemoteDescription({type: 'answer', sdp: await post(path, pc.localDescription.sdp)});
}
async function report(pc, extra) {
  const rep = Object.assign({state: pc.connectionState}, extra);
  (await pc.getStats()).forEach(s => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') {
      rep.framesDecoded = s.framesDecoded || 0;
      rep.nackCount = s.nackCount || 0;
      rep.pliCount = s.pliCount || 0;
    }
    if (s.type === 'outbound-rtp' && s.kind === 'video') {
      rep.framesEncoded = s.framesEncoded || 0;
      rep.bytesSent = s.bytesSent || 0;
    }
    if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') {
      rep.availableOutgoingBitrate = s.availableOutgoingBitrate || 0;
    }
  });
  await post('/report', JSON.stringify(rep));
  return rep;
}
(async () => {
  const pc = new RTCPeerConnection();
  try {
    if (mode === 'viewer') {
      pc.addTransceiver('video', {direction: 'recvonly'});
      pc.ontrack = e => { document.getElementById('v').srcObject = new MediaStream([e.track]); };
    } else {
      const stream = await navigator.mediaDevices.getUserMedia({video: true});
      const tr = pc.addTransceiver(stream.getVideoTracks()[0], {direction: 'sendonly'});
      if ((q.get('codec') || 'H264') === 'H264') tr.setCodecPreferences(RTCRtpReceiver.getCapabilities('video').codecs.filter(c =>
        c.mimeType === 'video/H264' && /packetization-mode=1/.test(c.sdpFmtpLine) && /42e01f/.test(c.sdpFmtpLine)));
    }
    await negotiate(pc, '/offer');
    let restarted = null;
    for (;;) {
      const rep = await report(pc, {restarted: restarted});
      if (q.get('restart') && restarted === null && rep.framesDecoded >= 30) {
        restarted = rep.framesDecoded;
        pc.restartIce();
        await negotiate(pc, '/renegotiate');
      }
      await new Promise(r => setTimeout(r, 250));
    }
  } catch (e) {
    await post('/report', JSON.stringify({error: String(e)}));
  }
})();
</script></body></html>`

// chromiumReport is what the page posts every 250 ms.
type chromiumReport struct {
	State                    string  `json:"state"`
	Error                    string  `json:"error"`
	FramesDecoded            int     `json:"framesDecoded"`
	NackCount                int     `json:"nackCount"`
	PliCount                 int     `json:"pliCount"`
	FramesEncoded            int     `json:"framesEncoded"`
	BytesSent                int64   `json:"bytesSent"`
	AvailableOutgoingBitrate float64 `json:"availableOutgoingBitrate"`
	Restarted                *int    `json:"restarted"`
}

// chromiumPeerPage serves the page and answers its offers through peer;
// the Firefox tests use it too.
type chromiumPeerPage struct {
	t       *testing.T
	cfg     peer.Config
	mu      sync.Mutex
	peer    *peer.Peer
	offered time.Time // when the first offer arrived
	reports chan chromiumReport
}

func startChromiumPeer(t *testing.T, query string, cfg peer.Config, flags ...string) *chromiumPeerPage {
	c, url := servePeerPage(t, cfg, nil)
	args := append([]string{"--user-data-dir=" + t.TempDir()}, browserFlags...)
	startProcess(t, 3*time.Minute, "chromium", append(append(args, flags...), url+"/?"+query)...)
	return c
}

// servePeerPage serves the page on ln (a new loopback listener when nil),
// answering its offers through peer with cfg, and returns the page's URL.
// Add "?mode=viewer" or "?mode=publisher"; "&codec=VP8" keeps the
// browser's own codec order instead of H.264 only.
func servePeerPage(t *testing.T, cfg peer.Config, ln net.Listener) (*chromiumPeerPage, string) {
	c := &chromiumPeerPage{t: t, cfg: cfg, reports: make(chan chromiumReport, 1024)}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, peerChromiumPage)
	})
	mux.HandleFunc("POST /offer", c.answer)
	mux.HandleFunc("POST /renegotiate", c.renegotiate)
	mux.HandleFunc("POST /report", func(w http.ResponseWriter, r *http.Request) {
		var rep chromiumReport
		if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&rep); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case c.reports <- rep:
		default:
		}
	})
	srv := httptest.NewUnstartedServer(mux)
	if ln != nil {
		srv.Listener.Close()
		srv.Listener = ln
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return c, srv.URL
}

func (c *chromiumPeerPage) answer(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	offer, err := io.ReadAll(io.LimitReader(r.Body, sdp.MaxSize))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p, err := peer.Answer(offer, c.cfg)
	if err != nil {
		c.t.Errorf("answer: %v\n%s", err, offer)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.t.Cleanup(func() {
		p.Close()
		<-p.Done()
	})
	c.mu.Lock()
	c.peer, c.offered = p, start
	c.mu.Unlock()
	w.Write(p.LocalDescription())
}

func (c *chromiumPeerPage) renegotiate(w http.ResponseWriter, r *http.Request) {
	offer, err := io.ReadAll(io.LimitReader(r.Body, sdp.MaxSize))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	answer, err := c.connected(c.t).Renegotiate(offer)
	if err != nil {
		c.t.Errorf("renegotiate: %v\n%s", err, offer)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Write(answer)
}

// connected waits for the page's peer to finish its DTLS handshake.
func (c *chromiumPeerPage) connected(t *testing.T) *peer.Peer {
	deadline := time.Now().Add(30 * time.Second)
	for {
		c.mu.Lock()
		p := c.peer
		c.mu.Unlock()
		if p != nil {
			select {
			case <-p.Connected():
				return p
			case <-p.Done():
				t.Fatalf("peer stopped: %v", p.Err())
			case <-time.After(time.Until(deadline)):
				t.Fatal("peer did not connect")
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the page sent no offer")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitReport returns the first report that ok accepts, failing on a page
// error or after limit.
func (c *chromiumPeerPage) waitReport(t *testing.T, limit time.Duration, what string, ok func(chromiumReport) bool) chromiumReport {
	t.Helper()
	timeout := time.After(limit)
	var last chromiumReport
	for {
		select {
		case rep := <-c.reports:
			if rep.Error != "" {
				t.Fatalf("page: %s", rep.Error)
			}
			if ok(rep) {
				return rep
			}
			last = rep
		case <-timeout:
			t.Fatalf("%s: not within %v; last report %+v", what, limit, last)
		}
	}
}

// sendFramesLoop sends recorded 30 fps video frames (H.264 access units,
// VP8 frames), packetized by pl, through track in real time, looping,
// until stop is closed.
func sendFramesLoop(t *testing.T, track *peer.LocalTrack, pl rtp.Payloader, frames [][]byte, stop <-chan struct{}) {
	pz := rtp.NewPacketizer(1200, track.Codec().PayloadType, track.SSRC(), pl, rtp.NewRandomSequencer(), 90000)
	tick := time.NewTicker(time.Second / 30)
	defer tick.Stop()
	for i := 0; ; i++ {
		for _, pkt := range pz.Packetize(frames[i%len(frames)], 3000) {
			if err := track.WriteRTP(pkt); err != nil {
				t.Errorf("WriteRTP: %v", err)
				return
			}
		}
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

// TestPeerChromiumViewer: Chromium offers recvonly video; peer answers and
// sends H.264 in real time; Chromium's framesDecoded rises. With restart,
// the page restarts ICE after 30 frames (a new offer, which
// peer.Renegotiate answers) and frames keep decoding.
func TestPeerChromiumViewer(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(fmt.Sprintf("restart=%v", restart), func(t *testing.T) {
			srv := newPPServer(t)
			cfg := peer.Config{Mux: srv.mux, Certificate: srv.cert, Candidates: srv.cands,
				SDP: sdp.Config{Audio: sdp.MediaConfig{Disabled: true}, Video: sdp.MediaConfig{Direction: sdp.SendOnly}}}
			query := "mode=viewer"
			if restart {
				query += "&restart=1"
			}
			c := startChromiumPeer(t, query, cfg)
			p := c.connected(t)
			stop := make(chan struct{})
			sent := make(chan struct{})
			go func() {
				defer close(sent)
				sendFramesLoop(t, p.LocalTracks()[0], &codecs.H264Payloader{}, h264AccessUnits(t, ppH264File), stop)
			}()
			defer func() { close(stop); <-sent }()
			if !restart {
				rep := c.waitReport(t, 20*time.Second, "60 frames decoded", func(r chromiumReport) bool { return r.FramesDecoded >= 60 })
				t.Logf("Chromium: %+v", rep)
				// Chromium's receiver reports and REMB (abs-send-time, no
				// transport-cc for a send-only peer) reach the track.
				var st peer.SendStats
				for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
					if st = p.LocalTracks()[0].Stats(); st.Reports > 0 && st.RTT > 0 && st.EstimatedBitrate > 0 {
						break
					}
				}
				t.Logf("peer's view of Chromium: %+v", st)
				if st.Reports == 0 || st.RTT <= 0 || st.EstimatedBitrate <= 0 {
					t.Errorf("no receiver reports with RTT or no REMB from Chromium: %+v", st)
				}
				return
			}
			first := p.ICE().LocalCredentials()
			rep := c.waitReport(t, 20*time.Second, "ICE restart", func(r chromiumReport) bool { return r.Restarted != nil })
			from := *rep.Restarted
			rep = c.waitReport(t, 20*time.Second, "60 frames decoded after the restart",
				func(r chromiumReport) bool { return r.FramesDecoded >= from+60 && r.State == "connected" })
			if now := p.ICE().LocalCredentials(); now == first {
				t.Error("the ICE session kept its credentials")
			}
			if st := srv.mux.Stats(); st.Errors != 0 {
				t.Errorf("the Mux refused checks: %+v", st)
			}
			t.Logf("Chromium after the restart at %d frames: %+v", from, rep)
		})
	}
}

// makeNoiseY4M writes a high-motion test video for Chromium's fake camera:
// 960x540 at 30 fps with temporal noise, which no encoder compresses
// well, so that Chromium's encoder uses whatever bandwidth its estimate
// allows.
func makeNoiseY4M(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "noise.y4m")
	out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi",
		"-i", "testsrc2=size=960x540:rate=30,noise=alls=40:allf=t+u", "-t", "3", "-pix_fmt", "yuv420p", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	return path
}

// frameRecorder depacketizes one video track into a file (see
// newAnnexBRecorder, newIVFRecorder). After a gap in the sequence numbers
// (a packet the peer could not recover), it leaves frames out until the
// next key frame, as a relay does, so that the file decodes.
type frameRecorder struct {
	mu      sync.Mutex
	sb      *samplebuilder.SampleBuilder
	f       *os.File
	isKey   func(frame []byte) bool
	write   func(frame []byte, rtpTime uint32) error
	frames  int
	lastSeq uint16
	started bool
	waitKey bool
	gaps    int
	err     error
}

// newAnnexBRecorder records an H.264 track as Annex-B.
func newAnnexBRecorder(t *testing.T) *frameRecorder {
	r := &frameRecorder{sb: samplebuilder.New(128, &codecs.H264Packet{}, 90000), f: createTemp(t, "received.h264"),
		isKey: hasIDR, waitKey: true}
	r.write = func(au []byte, _ uint32) error { _, err := r.f.Write(au); return err }
	return r
}

// createTemp creates name in a directory of t's, closed at cleanup.
func createTemp(t *testing.T, name string) *os.File {
	f, err := os.Create(filepath.Join(t.TempDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func (r *frameRecorder) push(pkt *rtp.Packet) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started && pkt.SequenceNumber != r.lastSeq+1 {
		r.waitKey = true
		r.gaps++
	}
	r.started, r.lastSeq = true, pkt.SequenceNumber
	r.sb.Push(pkt.Clone())
	for s := r.sb.Pop(); s != nil; s = r.sb.Pop() {
		if r.waitKey = r.waitKey && !r.isKey(s.Data); r.waitKey {
			continue
		}
		if err := r.write(s.Data, s.PacketTimestamp); err != nil && r.err == nil {
			r.err = err
		}
		r.frames++
	}
}

// hasIDR reports whether an Annex-B access unit holds an IDR slice.
func hasIDR(au []byte) bool {
	for i := 0; i+3 < len(au); i++ {
		if au[i] == 0 && au[i+1] == 0 && au[i+2] == 1 && au[i+3]&0x1F == 5 {
			return true
		}
	}
	return false
}

func (r *frameRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.frames
}

// checkDecodes has ffmpeg decode the recording, failing t on any error,
// and logs it with the track's receive statistics. Call it once the
// peer is done.
func (r *frameRecorder) checkDecodes(t *testing.T, track *peer.RemoteTrack) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		t.Fatal(r.err)
	}
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", r.f.Name(), "-f", "null", "-").CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("ffmpeg decoding %d received frames: %v\n%s", r.frames, err, tail(string(out), 2000))
	}
	t.Logf("ffmpeg decoded %d received frames without error; %d unrecovered gaps; receive stats %+v",
		r.frames, r.gaps, track.Stats())
}

// TestPeerChromiumPublisher: Chromium sends its fake camera (a high-motion
// file) as H.264; peer receives it and the test writes the frames to an
// Annex-B file that ffmpeg decodes without a single error. With the
// transport feedback the answer negotiates (transport-cc), and with REMB
// when only goog-remb is negotiated, Chromium's availableOutgoingBitrate
// passes 1 Mbit/s within 10 s and stays above it; the same figure without
// any bandwidth feedback is logged for comparison.
func TestPeerChromiumPublisher(t *testing.T) {
	y4m := makeNoiseY4M(t)
	for _, feedback := range []string{"transport-cc", "goog-remb", "none"} {
		t.Run(feedback, func(t *testing.T) {
			srv := newPPServer(t)
			rec := newAnnexBRecorder(t)
			video := sdp.MediaConfig{Direction: sdp.RecvOnly}
			if feedback != "transport-cc" {
				fb := []string{"nack", "nack pli", "ccm fir"}
				video.Extensions = []string{"urn:ietf:params:rtp-hdrext:sdes:mid"}
				if feedback == "goog-remb" {
					fb = append(fb, "goog-remb")
					video.Extensions = append(video.Extensions, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time")
				}
				video.Codecs = []sdp.Codec{{Name: "H264", Fmtp: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
					RTCPFeedback: fb}}
			}
			cfg := peer.Config{Mux: srv.mux, Certificate: srv.cert, Candidates: srv.cands,
				SDP:   sdp.Config{Audio: sdp.MediaConfig{Disabled: true}, Video: video},
				OnRTP: func(_ *peer.RemoteTrack, pkt *rtp.Packet) { rec.push(pkt) }}
			c := startChromiumPeer(t, "mode=publisher", cfg, "--use-file-for-fake-video-capture="+y4m)
			p := c.connected(t)
			sec := p.Description().Sections[0]
			t.Logf("negotiated %s %s, rtcp-fb %q", sec.Codec.Name, sec.Codec.Fmtp, sec.RTCPFeedback)
			// Ten seconds of sending: the estimate's first passing of
			// 1 Mbit/s, its peak and where it ends.
			start := time.Now()
			var peak float64
			var above time.Duration
			rep := c.waitReport(t, 12*time.Second, "10 s of sending", func(r chromiumReport) bool {
				if peak = max(peak, r.AvailableOutgoingBitrate); peak > 1e6 && above == 0 {
					above = time.Since(start)
				}
				return time.Since(start) > 10*time.Second
			})
			t.Logf("feedback %s: availableOutgoingBitrate above 1 Mbit/s after %v (0: never), peak %.0f, at 10 s %.0f bit/s; %d bytes sent",
				feedback, above.Round(100*time.Millisecond), peak, rep.AvailableOutgoingBitrate, rep.BytesSent)
			if feedback != "none" && (above == 0 || rep.AvailableOutgoingBitrate <= 1e6) {
				t.Errorf("availableOutgoingBitrate: peak %.0f, %.0f bit/s at 10 s; want above 1 Mbit/s within 10 s and staying there", peak, rep.AvailableOutgoingBitrate)
			}
			if n := rec.count(); n < 60 {
				t.Fatalf("received %d frames, want at least 60", n)
			}
			p.Close()
			<-p.Done()
			rec.checkDecodes(t, p.RemoteTracks()[0])
		})
	}
}
