package interop

// Tests of package peer against pion/webrtc v4: pion as a viewer receives
// H.264 that the test sends through peer from a recorded file and
// depacketizes complete frames; pion as a publisher sends H.264 and Opus
// that peer receives intact.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	pionice "github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/h264reader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

	"github.com/streamwire/streamwire/dtlssrtp"
	"github.com/streamwire/streamwire/ice"
	"github.com/streamwire/streamwire/peer"
	"github.com/streamwire/streamwire/sdp"
)

const (
	// ppH264File is 3 s of 320x240 30 fps constrained-baseline H.264
	// (ffmpeg testsrc2, libx264, a key frame every 30 frames, SPS/PPS
	// repeated), Annex-B.
	ppH264File = "testdata/media/testsrc-320x240-30fps-3s.h264"
	// ppOpusFile is 3 s of a 440 Hz sine in Opus, 20 ms frames, one per
	// Ogg page.
	ppOpusFile = "testdata/media/sine-440hz-3s.opus.ogg"
	ppWait     = 20 * time.Second
)

// ppServer is one Mux on a loopback UDP socket and the certificate and
// candidates every peer of a test shares.
type ppServer struct {
	mux   *ice.Mux
	cert  *dtlssrtp.Certificate
	cands []ice.Candidate
}

func newPPServer(t *testing.T) *ppServer {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	return newPPServerOn(t, conn)
}

// newPPServerOn is newPPServer on conn, which it closes at cleanup.
func newPPServerOn(t *testing.T, conn *net.UDPConn) *ppServer {
	t.Helper()
	mux := ice.NewMux(conn, ice.MuxConfig{})
	served := make(chan error, 1)
	go func() { served <- mux.Serve(context.Background()) }()
	t.Cleanup(func() {
		mux.Close()
		if err := <-served; !errors.Is(err, ice.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
		conn.Close()
	})
	cert, err := dtlssrtp.GenerateCertificate(dtlssrtp.CertificateConfig{})
	if err != nil {
		t.Fatal(err)
	}
	addr := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	c := ice.Candidate{Component: 1, Transport: ice.TransportUDP, Addr: addr.Addr(), Port: addr.Port(), Type: ice.TypeHost}
	c.Foundation = ice.Foundation(c.Type, c.Transport, c.Addr, netip.Addr{})
	c.Priority = c.RecommendedPriority(ice.DefaultLocalPreference)
	return &ppServer{mux: mux, cert: cert, cands: []ice.Candidate{c}}
}

// newPionPC makes a pion PeerConnection on loopback UDP with pion's
// default codecs and interceptors (NACK, RTCP reports, TWCC).
func newPionPC(t *testing.T) *webrtc.PeerConnection {
	t.Helper()
	se := pionLoopback(webrtc.NetworkTypeUDP4)
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}

// pionLoopback is a pion setting engine that gathers loopback candidates
// of the given network types only, without mDNS.
func pionLoopback(types ...webrtc.NetworkType) webrtc.SettingEngine {
	var se webrtc.SettingEngine
	se.SetNetworkTypes(types)
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetICEMulticastDNSMode(pionice.MulticastDNSModeDisabled)
	return se
}

// pionOffer sets pion's offer, with all its candidates, and returns it.
func pionOffer(t *testing.T, pc *webrtc.PeerConnection) []byte {
	t.Helper()
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-time.After(ppWait):
		t.Fatal("pion did not finish gathering")
	}
	return []byte(pc.LocalDescription().SDP)
}

// connectPeer answers pion's offer through peer and waits for DTLS.
func connectPeer(t *testing.T, pc *webrtc.PeerConnection, cfg peer.Config) *peer.Peer {
	t.Helper()
	p, err := peer.Answer(pionOffer(t, pc), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Close()
		select {
		case <-p.Done():
		case <-time.After(ppWait):
			t.Error("peer did not stop")
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(p.LocalDescription())}); err != nil {
		t.Fatalf("pion rejected the answer: %v\n%s", err, p.LocalDescription())
	}
	select {
	case <-p.Connected():
	case <-p.Done():
		t.Fatalf("peer stopped: %v", p.Err())
	case <-time.After(ppWait):
		t.Fatal("peer did not connect")
	}
	return p
}

// h264AccessUnits reads an Annex-B file into access units: the NAL units
// up to and including each slice (one slice per frame here), each with a
// 4-byte start code, as pion's depacketizer writes them back.
func h264AccessUnits(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := h264reader.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var aus [][]byte
	var cur []byte
	for {
		nal, err := r.NextNAL()
		if err != nil {
			break
		}
		cur = append(cur, 0, 0, 0, 1)
		cur = append(cur, nal.Data...)
		if nal.UnitType == h264reader.NalUnitTypeCodedSliceNonIdr || nal.UnitType == h264reader.NalUnitTypeCodedSliceIdr {
			aus = append(aus, cur)
			cur = nil
		}
	}
	if len(aus) == 0 {
		t.Fatalf("no access units in %s", path)
	}
	return aus
}

// TestPeerPionViewer: pion offers recvonly video; peer answers, connects,
// and sends the recorded H.264 file; pion depacketizes every frame, byte
// for byte.
func TestPeerPionViewer(t *testing.T) {
	srv := newPPServer(t)
	pc := newPionPC(t)
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	aus := h264AccessUnits(t, ppH264File)
	var mu sync.Mutex
	var got [][]byte
	allFrames := make(chan struct{})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		sb := samplebuilder.New(64, &codecs.H264Packet{}, 90000)
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			sb.Push(pkt)
			for s := sb.Pop(); s != nil; s = sb.Pop() {
				mu.Lock()
				got = append(got, s.Data)
				if len(got) == len(aus)-1 {
					close(allFrames)
				}
				mu.Unlock()
			}
		}
	})
	p := connectPeer(t, pc, peer.Config{Mux: srv.mux, Certificate: srv.cert, Candidates: srv.cands,
		SDP: sdp.Config{Audio: sdp.MediaConfig{Disabled: true}, Video: sdp.MediaConfig{Direction: sdp.SendOnly}}})
	if len(p.LocalTracks()) != 1 {
		t.Fatalf("%d local tracks, want 1", len(p.LocalTracks()))
	}
	track := p.LocalTracks()[0]
	pz := rtp.NewPacketizer(1200, track.Codec().PayloadType, track.SSRC(), &codecs.H264Payloader{}, rtp.NewRandomSequencer(), 90000)
	for _, au := range append(aus, aus[:5]...) { // 5 more, as in TestPeerPionPublisher
		for _, pkt := range pz.Packetize(au, 3000) {
			if err := track.WriteRTP(pkt); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	select {
	case <-allFrames:
	case <-time.After(ppWait):
		mu.Lock()
		t.Fatalf("pion depacketized %d of %d frames", len(got), len(aus)-1)
	}
	mu.Lock()
	defer mu.Unlock()
	for i := range len(aus) - 1 {
		if !bytes.Equal(got[i], aus[i]) {
			t.Fatalf("frame %d: got %d bytes (sha256 %x), sent %d (sha256 %x)", i,
				len(got[i]), sha256.Sum256(got[i]), len(aus[i]), sha256.Sum256(aus[i]))
		}
	}
}

// oggOpusPackets reads the Opus packets of an Ogg file with one packet per
// page, leaving out the two header pages (RFC 7845 §5).
func oggOpusPackets(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, _, err := oggreader.NewWith(f)
	if err != nil {
		t.Fatal(err)
	}
	var pkts [][]byte
	for {
		page, hdr, err := r.ParseNextPage()
		if err != nil {
			break
		}
		if hdr.GranulePosition == 0 {
			continue // OpusTags
		}
		pkts = append(pkts, page)
	}
	if len(pkts) == 0 {
		t.Fatalf("no Opus packets in %s", path)
	}
	return pkts
}

// frameCollector depacketizes one remote track's RTP into frames.
type frameCollector struct {
	mu     sync.Mutex
	sb     *samplebuilder.SampleBuilder
	frames [][]byte
	want   int
	full   chan struct{}
}

func newFrameCollector(d rtp.Depacketizer, rate uint32, want int) *frameCollector {
	return &frameCollector{sb: samplebuilder.New(64, d, rate), want: want, full: make(chan struct{})}
}

func (c *frameCollector) push(pkt *rtp.Packet) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sb.Push(pkt.Clone()) // pkt is valid only during OnRTP
	for s := c.sb.Pop(); s != nil; s = c.sb.Pop() {
		c.frames = append(c.frames, s.Data)
		if len(c.frames) == c.want {
			close(c.full)
		}
	}
}

// check waits for the frames and compares them with sent.
func (c *frameCollector) check(t *testing.T, what string, sent [][]byte) {
	t.Helper()
	select {
	case <-c.full:
	case <-time.After(ppWait):
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.frames) < c.want {
		t.Fatalf("%s: received %d of %d frames", what, len(c.frames), c.want)
	}
	for i := range c.want {
		if !bytes.Equal(c.frames[i], sent[i]) {
			t.Fatalf("%s frame %d: got %d bytes (sha256 %x), sent %d (sha256 %x)", what, i,
				len(c.frames[i]), sha256.Sum256(c.frames[i]), len(sent[i]), sha256.Sum256(sent[i]))
		}
	}
}

// addPionSenders gives pc a sendonly Opus and a sendonly H.264
// (constrained baseline, packetization-mode 1) track, in that order.
func addPionSenders(t *testing.T, pc *webrtc.PeerConnection) (audio, video *webrtc.TrackLocalStaticSample) {
	t.Helper()
	video, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264,
		ClockRate: 90000, SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "video", "pion")
	if err != nil {
		t.Fatal(err)
	}
	audio, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio", "pion")
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range []webrtc.TrackLocal{audio, video} {
		if _, err := pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
	}
	return audio, video
}

// waitPionSRTP waits until pion can send media on pc. pion starts its
// SRTP session only when something needs it, and a sender's write before
// it has started is dropped without an error (pion's srtpWriterFuture):
// under load the tests' first key frame was lost this way, written as
// soon as our side had connected. Reading RTCP from the senders, as pion
// applications should anyway, asks for the session at once, and pion
// starts it right after it reports the connection connected; no API says
// when it has, so a short wait follows.
func waitPionSRTP(t *testing.T, pc *webrtc.PeerConnection) {
	t.Helper()
	for _, s := range pc.GetSenders() {
		go func() {
			for {
				if _, _, err := s.ReadRTCP(); err != nil {
					return // pc closed
				}
			}
		}()
	}
	for deadline := time.Now().Add(ppWait); pc.ConnectionState() != webrtc.PeerConnectionStateConnected; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("pion's connection is %v after %v", pc.ConnectionState(), ppWait)
		}
	}
	time.Sleep(100 * time.Millisecond)
}

// TestPeerPionPublisher: pion sends H.264 and Opus from recorded files;
// peer answers recvonly and receives every frame intact.
func TestPeerPionPublisher(t *testing.T) {
	srv := newPPServer(t)
	pc := newPionPC(t)
	aus := h264AccessUnits(t, ppH264File)
	opus := oggOpusPackets(t, ppOpusFile)
	audio, video := addPionSenders(t, pc)
	collectors := map[sdp.Kind]*frameCollector{
		sdp.KindVideo: newFrameCollector(&codecs.H264Packet{}, 90000, len(aus)-1),
		sdp.KindAudio: newFrameCollector(&codecs.OpusPacket{}, 48000, len(opus)-1),
	}
	p := connectPeer(t, pc, peer.Config{Mux: srv.mux, Certificate: srv.cert, Candidates: srv.cands,
		SDP:   sdp.Config{Audio: sdp.MediaConfig{Direction: sdp.RecvOnly}, Video: sdp.MediaConfig{Direction: sdp.RecvOnly}},
		OnRTP: func(tr *peer.RemoteTrack, pkt *rtp.Packet) { collectors[tr.Kind()].push(pkt) },
	})
	if n := len(p.RemoteTracks()); n != 2 {
		t.Fatalf("%d remote tracks, want 2", n)
	}
	t.Cleanup(func() {
		if t.Failed() { // where packets went: the Mux's queues, the tracks' NACKs
			t.Logf("mux %+v", srv.mux.Stats())
			for _, tr := range p.RemoteTracks() {
				t.Logf("%s track %+v", tr.Kind(), tr.Stats())
			}
		}
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
			time.Sleep(2 * time.Millisecond)
		}
	}
	wg.Add(2)
	// A few frames more than are checked: a loss in the last frames shows
	// (and is NACKed) only when a later packet arrives, as it does in a
	// live stream.
	go send(video, append(aus, aus[:5]...), time.Second/30)
	go send(audio, append(opus, opus[:5]...), 20*time.Millisecond)
	wg.Wait()
	collectors[sdp.KindVideo].check(t, "H.264", aus)
	collectors[sdp.KindAudio].check(t, "Opus", opus)
}
