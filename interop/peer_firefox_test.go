package interop

// Tests of package peer against headless Firefox ESR, which sends and
// receives VP8: it has no H.264 here, as it cannot fetch OpenH264
// offline. As a viewer, Firefox decodes VP8 that the test sends through
// peer from a recorded file; as a publisher with its fake camera, peer
// receives VP8 frames that ffmpeg decodes without error. Firefox gathers
// no loopback candidates, so Firefox, the page's HTTP server and the
// Mux's socket all live in a private network namespace with a veth pair
// (newFirefoxNetns).

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

	"github.com/streamwire/streamwire/internal/netns"
	"github.com/streamwire/streamwire/peer"
	"github.com/streamwire/streamwire/sdp"
)

// ppVP8File is 3 s of 320x240 30 fps VP8 (ffmpeg testsrc2, libvpx
// realtime at 300 kbit/s, a key frame every 30 frames, no alt-ref
// frames), IVF.
const ppVP8File = "testdata/media/testsrc-320x240-30fps-3s.ivf"

// firefoxVP8 is the only codec the Firefox tests negotiate.
var firefoxVP8 = []sdp.Codec{{Name: "VP8"}}

// newFirefoxNetns makes the namespace Firefox runs in: lo, and a veth pair
// v0 (10.200.0.1/24) and v1 (10.200.0.2/24), both up, with a default route
// via 10.200.0.2, so that Firefox gathers host candidates it accepts.
func newFirefoxNetns(t *testing.T) *netns.Namespace {
	t.Helper()
	ns := netns.New(t)
	for _, cmd := range [][]string{
		{"link", "add", "v0", "type", "veth", "peer", "name", "v1"},
		{"addr", "add", "10.200.0.1/24", "dev", "v0"},
		{"addr", "add", "10.200.0.2/24", "dev", "v1"},
		{"link", "set", "v0", "up"},
		{"link", "set", "v1", "up"},
		{"route", "add", "default", "via", "10.200.0.2"},
	} {
		if err := ns.Run("ip", cmd...); err != nil {
			t.Fatal(err)
		}
	}
	return ns
}

// newFirefoxServer is newPPServer on 10.200.0.2 inside ns.
func newFirefoxServer(t *testing.T, ns *netns.Namespace) *ppServer {
	t.Helper()
	var conn *net.UDPConn
	var err error
	ns.Do(func() { conn, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(10, 200, 0, 2)}) })
	if err != nil {
		t.Fatal(err)
	}
	return newPPServerOn(t, conn)
}

// startFirefoxPeer serves the page (servePeerPage) on loopback inside ns
// and opens it with query in a headless Firefox started there too.
func startFirefoxPeer(t *testing.T, ns *netns.Namespace, cfg peer.Config, query string) *chromiumPeerPage {
	t.Helper()
	var ln net.Listener
	var err error
	ns.Do(func() { ln, err = net.Listen("tcp4", "127.0.0.1:0") })
	if err != nil {
		t.Fatal(err)
	}
	c, url := servePeerPage(t, cfg, ln)
	startFirefoxWith(t, ns.Start, url+"/?"+query)
	// Firefox takes 5 to 25 s to start on a busy 2-core machine; the
	// page's connected allows 30 s from here, so wait for its offer first.
	for end := time.Now().Add(90 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		select {
		case rep := <-c.reports:
			if rep.Error != "" {
				t.Fatalf("page: %s", rep.Error)
			}
			c.reports <- rep // the buffer has room: it was just taken
		default:
		}
		c.mu.Lock()
		offered := c.peer != nil
		c.mu.Unlock()
		if offered {
			return c
		}
		if time.Now().After(end) {
			t.Fatal("Firefox sent no offer within 90 s")
		}
	}
}

// ivfFrames reads the frames of an IVF file.
func ivfFrames(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, _, err := ivfreader.NewWith(f)
	if err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	for {
		frame, _, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			return frames
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		frames = append(frames, frame)
	}
}

// isVP8Key reports whether a VP8 frame is a key frame: its frame tag's
// bit 0 is 0 and the start code 9d 01 2a and the picture size follow
// (RFC 6386 §9.1).
func isVP8Key(frame []byte) bool {
	return len(frame) >= 10 && frame[0]&1 == 0 && frame[3] == 0x9d && frame[4] == 0x01 && frame[5] == 0x2a
}

// newIVFRecorder records a VP8 track as IVF, libvpx's container: a 32-byte
// file header, then each frame after a 12-byte header (its size and
// presentation time), little-endian. The file header, which carries the
// picture size, is written with the first key frame. The presentation
// times are frame numbers in a 1/30 s time base, not the RTP timestamps:
// ffmpeg's null output time base is one frame at the rate it guesses, and
// two jittered camera frames that fall into one such tick fail it with
// "non monotonically increasing dts".
func newIVFRecorder(t *testing.T) *frameRecorder {
	r := &frameRecorder{sb: samplebuilder.New(128, &codecs.VP8Packet{}, 90000), f: createTemp(t, "received.ivf"),
		isKey: isVP8Key, waitKey: true}
	r.write = func(frame []byte, _ uint32) error {
		var b []byte
		if r.frames == 0 {
			b = append(b, "DKIF"...)
			b = binary.LittleEndian.AppendUint16(b, 0)  // version
			b = binary.LittleEndian.AppendUint16(b, 32) // header size
			b = append(b, "VP80"...)
			b = binary.LittleEndian.AppendUint16(b, binary.LittleEndian.Uint16(frame[6:])&0x3fff)
			b = binary.LittleEndian.AppendUint16(b, binary.LittleEndian.Uint16(frame[8:])&0x3fff)
			b = binary.LittleEndian.AppendUint32(b, 30) // time base denominator
			b = binary.LittleEndian.AppendUint32(b, 1)  // and numerator
			b = binary.LittleEndian.AppendUint64(b, 0)  // frame count (unused by decoders), reserved
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(len(frame)))
		b = binary.LittleEndian.AppendUint64(b, uint64(r.frames))
		_, err := r.f.Write(append(b, frame...))
		return err
	}
	return r
}

// TestPeerFirefoxViewer: Firefox offers recvonly video; peer answers with
// VP8 and sends the recorded VP8 file in real time; Firefox's
// framesDecoded passes 60, and its receiver reports reach the track.
func TestPeerFirefoxViewer(t *testing.T) {
	ns := newFirefoxNetns(t)
	srv := newFirefoxServer(t, ns)
	frames := ivfFrames(t, ppVP8File)
	var keyRequests atomic.Int32
	cfg := peer.Config{Mux: srv.mux, Certificate: srv.cert, Candidates: srv.cands,
		SDP: sdp.Config{Audio: sdp.MediaConfig{Disabled: true},
			Video: sdp.MediaConfig{Direction: sdp.SendOnly, Codecs: firefoxVP8}},
		OnKeyFrameRequest: func(*peer.LocalTrack) { keyRequests.Add(1) }}
	start := time.Now()
	c := startFirefoxPeer(t, ns, cfg, "mode=viewer&codec=VP8")
	p := c.connected(t)
	logConnected(t, c, start)
	track := p.LocalTracks()[0]
	stop := make(chan struct{})
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		sendFramesLoop(t, track, &codecs.VP8Payloader{EnablePictureID: true}, frames, stop)
	}()
	defer func() { close(stop); <-sent }()
	rep := c.waitReport(t, 20*time.Second, "60 frames decoded", func(r chromiumReport) bool { return r.FramesDecoded >= 60 })
	t.Logf("Firefox decoded 60 frames %v after its start: %+v", time.Since(start).Round(time.Millisecond), rep)
	var st peer.SendStats
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if st = track.Stats(); st.Reports > 0 && st.RTT > 0 {
			break
		}
	}
	t.Logf("peer's view of Firefox: %+v; %d key frame requests passed up", st, keyRequests.Load())
	if st.Reports == 0 || st.RTT <= 0 {
		t.Errorf("no receiver reports with RTT from Firefox: %+v", st)
	}
}

// TestPeerFirefoxPublisher: Firefox sends its fake camera as VP8; peer
// answers recvonly and receives it, and the test writes the frames to an
// IVF file that ffmpeg decodes without a single error.
func TestPeerFirefoxPublisher(t *testing.T) {
	ns := newFirefoxNetns(t)
	srv := newFirefoxServer(t, ns)
	rec := newIVFRecorder(t)
	cfg := peer.Config{Mux: srv.mux, Certificate: srv.cert, Candidates: srv.cands,
		SDP: sdp.Config{Audio: sdp.MediaConfig{Disabled: true},
			Video: sdp.MediaConfig{Direction: sdp.RecvOnly, Codecs: firefoxVP8}},
		OnRTP: func(_ *peer.RemoteTrack, pkt *rtp.Packet) { rec.push(pkt) }}
	start := time.Now()
	c := startFirefoxPeer(t, ns, cfg, "mode=publisher&codec=VP8")
	p := c.connected(t)
	logConnected(t, c, start)
	// Five seconds of the camera at 30 fps.
	rep := c.waitReport(t, 20*time.Second, "150 frames received", func(chromiumReport) bool { return rec.count() >= 150 })
	t.Logf("peer received 150 frames %v after Firefox's start: %+v", time.Since(start).Round(time.Millisecond), rep)
	p.Close()
	<-p.Done()
	rec.checkDecodes(t, p.RemoteTracks()[0])
	// Firefox probes the bandwidth with RTX copies of packets already
	// received, which must not count as received.
	if st := p.RemoteTracks()[0].Stats(); st.PacketsLost < 0 || st.Late > 0 && st.SkippedHoles == 0 {
		t.Errorf("receive stats %+v: duplicates counted", st)
	}
}

// logConnected logs the connect times, from Firefox's start (at start)
// and from its offer, and the answer's video m-section.
func logConnected(t *testing.T, c *chromiumPeerPage, start time.Time) {
	t.Helper()
	c.mu.Lock()
	p, offered := c.peer, c.offered
	c.mu.Unlock()
	s := p.Description().Sections[0]
	t.Logf("connected %v after Firefox's start, %v after its offer; negotiated mid %s %s %s/%d rtx %d, rtcp-fb %q, extensions %v",
		time.Since(start).Round(time.Millisecond), time.Since(offered).Round(time.Millisecond),
		s.Mid, s.Direction, s.Codec.Name, s.Codec.PayloadType, s.RTX, s.RTCPFeedback, s.Extensions)
}
