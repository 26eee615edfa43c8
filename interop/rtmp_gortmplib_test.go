package interop

// gortmplib (github.com/bluenviron/gortmplib, MediaMTX's RTMP library) as
// a real peer, in-process: its client publishes to and plays from our
// server (with golden transcripts), and our client publishes to and plays
// from a gortmplib server.
//
// gortmplib keeps message stream ids byte-swapped: it sends and expects
// stream 1 as MessageStreamID 0x1000000, which its chunk layer writes
// big-endian, so 01 00 00 00 is on the wire, the spec's little-endian 1.
// What a peer meets: its client requires createStream to return exactly 1
// and sends publish/play and media on stream 1 whatever it was given; its
// server answers createStream with 1 and sends onStatus with the play or
// publish transaction id. Our server gives the first stream id 1, and also
// accepts a byte-swapped id (see rtmp's TestServerByteSwappedStreamID)
// for code that sets MessageStreamID 1 on gortmplib's message package.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"

	"github.com/streamwire/streamwire/rtmp"
	"github.com/streamwire/streamwire/rtmp/flv"
)

// gortmplibDial connects a gortmplib client to url.
func gortmplibDial(ctx context.Context, t *testing.T, rawURL string, publish bool) *gortmplib.Client {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	c := &gortmplib.Client{URL: u, Publish: publish}
	if err := c.Initialize(ctx); err != nil {
		t.Fatalf("gortmplib client (publish %v): %v", publish, err)
	}
	return c
}

// TestGortmplibClientPublishToOurServer: gortmplib's client publishes
// the H.264 frames of an ffmpeg-made FLV to our server while our client
// plays them back.
func TestGortmplibClientPublishToOurServer(t *testing.T) {
	sps, pps, aus := h264FromFLV(t, makeFLV(t, 4))
	base, hub := startOurRTMP(t, nil)
	rec := startRecorder(t, strings.TrimPrefix(base, "rtmp://"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := gortmplibDial(ctx, t, "rtmp://"+rec.Addr()+"/live/glib", true)
	w := &gortmplib.Writer{Conn: c, Tracks: []*gortmplib.Track{{Codec: &codecs.H264{SPS: sps, PPS: pps}}}}
	if err := w.Initialize(); err != nil {
		t.Fatal(err)
	}
	waitStream(t, hub, "live/glib", 10*time.Second, &strings.Builder{})

	played := make(chan playStats, 1)
	go func() {
		st, err := playWithClient(ctx, base+"/live/glib", 20, rtmp.ClientConfig{})
		if err != nil {
			t.Errorf("our client playing gortmplib's publish: %v", err)
		}
		played <- st
	}()
	var st playStats
	for i := 0; ; i++ {
		ts := time.Duration(i) * 40 * time.Millisecond
		if err := w.WriteH264(w.Tracks[0], ts, ts, aus[i%len(aus)]); err != nil {
			t.Fatal(err)
		}
		select {
		case st = <-played:
		case <-time.After(20 * time.Millisecond):
			if i < 1000 {
				continue
			}
			t.Fatal("our client did not get 20 frames")
		}
		break
	}
	if !st.videoSeq || st.video != 20 || !st.firstKey || !st.monotonic {
		t.Errorf("played %+v", st)
	}
	c.Close()
	checkTranscript(t, "gortmplib-publish", rec.wait(t, 10*time.Second).transcript(t))
}

// h264FromFLV returns the SPS, PPS and access units (NAL units each) of
// the H.264 track of an FLV file.
func h264FromFLV(t *testing.T, path string) (sps, pps []byte, aus [][][]byte) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := flv.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	for {
		tag, err := r.ReadTag()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if tag.Type != flv.TagVideo || len(tag.Data) < 5 {
			continue
		}
		body := bytes.Clone(tag.Data[5:]) // Data is reused by the next ReadTag
		if tag.Data[1] == 0 {             // AVCDecoderConfigurationRecord
			if len(body) < 8 {
				t.Fatal("short avcC")
			}
			n := int(body[6])<<8 | int(body[7])
			sps = body[8 : 8+n]
			rest := body[8+n+1:]
			pps = rest[2 : 2+(int(rest[0])<<8|int(rest[1]))]
			continue
		}
		var au [][]byte
		for len(body) >= 4 {
			n := int(body[0])<<24 | int(body[1])<<16 | int(body[2])<<8 | int(body[3])
			au = append(au, body[4:4+n])
			body = body[4+n:]
		}
		aus = append(aus, au)
	}
	if sps == nil || len(aus) == 0 {
		t.Fatal("no H.264 in the FLV")
	}
	return sps, pps, aus
}

// TestGortmplibClientPlayFromOurServer: gortmplib's client plays a stream
// our client publishes to our server and reads its tracks and frames.
func TestGortmplibClientPlayFromOurServer(t *testing.T) {
	src := makeFLV(t, 6)
	base, hub := startOurRTMP(t, nil)
	rec := startRecorder(t, strings.TrimPrefix(base, "rtmp://"))
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- publishFLV(ctx, base+"/live/gplay", src, 0, 1, rtmp.ClientConfig{}) }()
	waitStream(t, hub, "live/gplay", 10*time.Second, &strings.Builder{})
	time.Sleep(500 * time.Millisecond) // a cached keyframe to start on

	c := gortmplibDial(ctx, t, "rtmp://"+rec.Addr()+"/live/gplay", false)
	c.NetConn().SetReadDeadline(time.Now().Add(20 * time.Second))
	r := &gortmplib.Reader{Conn: c}
	if err := r.Initialize(); err != nil {
		t.Fatalf("gortmplib reading tracks from our server: %v", err)
	}
	var video, audio int
	for _, tr := range r.Tracks() {
		switch tr.Codec.(type) {
		case *codecs.H264:
			r.OnDataH264(tr, func(_, _ time.Duration, au [][]byte) { video++ })
		case *codecs.MPEG4Audio:
			r.OnDataMPEG4Audio(tr, func(time.Duration, []byte) { audio++ })
		}
	}
	for video < 30 {
		if err := r.Read(); err != nil {
			t.Fatalf("after %d frames: %v", video, err)
		}
	}
	if len(r.Tracks()) != 2 || audio == 0 {
		t.Errorf("gortmplib saw tracks %v, %d video and %d audio frames", r.Tracks(), video, audio)
	}
	c.Close()
	checkTranscript(t, "gortmplib-play", rec.wait(t, 10*time.Second).transcript(t))
	cancel()
	<-errc
}

// gortmplibServer is a one-stream relay on gortmplib's ServerConn, Reader
// and Writer, after its examples/server.
type gortmplibServer struct {
	mu      sync.Mutex
	tracks  []*gortmplib.Track
	players []*gortmplib.Writer
	frames  int // H.264 access units received
	ready   chan struct{}
}

func startGortmplibServer(t *testing.T) (string, *gortmplibServer) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &gortmplibServer{ready: make(chan struct{})}
	var wg sync.WaitGroup
	var connsMu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			connsMu.Lock()
			conns = append(conns, nc)
			connsMu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer nc.Close()
				if err := s.handle(nc); err != nil && !errors.Is(err, net.ErrClosed) {
					t.Logf("gortmplib server: %v", err)
				}
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		connsMu.Lock()
		for _, c := range conns {
			c.Close()
		}
		connsMu.Unlock()
		wg.Wait()
	})
	return "rtmp://" + l.Addr().String(), s
}

func (s *gortmplibServer) handle(nc net.Conn) error {
	nc.SetReadDeadline(time.Now().Add(20 * time.Second))
	sc := &gortmplib.ServerConn{RW: nc}
	if err := sc.Initialize(); err != nil {
		return err
	}
	if err := sc.AcceptConn(); err != nil {
		return err
	}
	if !sc.Publish {
		<-s.ready
		s.mu.Lock()
		w := &gortmplib.Writer{Conn: sc, Tracks: s.tracks}
		err := w.Initialize()
		if err == nil {
			s.players = append(s.players, w)
		}
		s.mu.Unlock()
		if err != nil {
			return err
		}
		_, err = nc.Read(make([]byte, 1)) // until the player leaves
		return err
	}
	r := &gortmplib.Reader{Conn: sc}
	if err := r.Initialize(); err != nil {
		return err
	}
	s.mu.Lock()
	s.tracks = r.Tracks()
	s.mu.Unlock()
	for _, tr := range r.Tracks() {
		switch tr.Codec.(type) {
		case *codecs.H264:
			r.OnDataH264(tr, func(pts, dts time.Duration, au [][]byte) {
				s.mu.Lock()
				defer s.mu.Unlock()
				s.frames++
				for _, p := range s.players {
					p.WriteH264(tr, pts, dts, au)
				}
			})
		case *codecs.MPEG4Audio:
			r.OnDataMPEG4Audio(tr, func(pts time.Duration, au []byte) {
				s.mu.Lock()
				defer s.mu.Unlock()
				for _, p := range s.players {
					p.WriteMPEG4Audio(tr, pts, au)
				}
			})
		}
	}
	close(s.ready)
	for {
		if err := r.Read(); err != nil {
			return err
		}
	}
}

// TestGortmplibServerWithOurClient: our client publishes an ffmpeg-made
// H.264/AAC FLV to a gortmplib server, which finds both tracks, and
// another of our clients plays it back from there.
func TestGortmplibServerWithOurClient(t *testing.T) {
	src := makeFLV(t, 6)
	base, srv := startGortmplibServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- publishFLV(ctx, base+"/live/ours", src, 0, 1, rtmp.ClientConfig{}) }()
	select {
	case <-srv.ready:
	case err := <-errc:
		t.Fatalf("publish to gortmplib ended before its tracks were known: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("gortmplib did not find the tracks of our publish")
	}
	srv.mu.Lock()
	ntracks := len(srv.tracks)
	srv.mu.Unlock()
	if ntracks != 2 {
		t.Errorf("gortmplib found %d tracks in our publish, want H.264 and AAC", ntracks)
	}
	st, err := playWithClient(ctx, base+"/live/ours", 40, rtmp.ClientConfig{})
	if err != nil {
		t.Fatalf("our client playing from gortmplib: %v", err)
	}
	if !st.videoSeq || !st.audioSeq || st.video != 40 || st.audio == 0 || !st.monotonic {
		t.Errorf("played from gortmplib: %+v", st)
	}
	if err := <-errc; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("publish to gortmplib: %v", err)
	}
	srv.mu.Lock()
	if srv.frames < 100 {
		t.Errorf("gortmplib received %d H.264 frames from our client, want >= 100", srv.frames)
	}
	srv.mu.Unlock()
}
