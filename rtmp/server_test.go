package rtmp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamwire/streamwire/rtmp/amf0"

	"github.com/streamwire/streamwire/internal/testcert"
)

// memHandler records published media per stream and plays back what was
// recorded (after the publisher left) or rejects per its fields.
type memHandler struct {
	mu          sync.Mutex
	published   map[string][]Media
	rejectPub   error
	rejectPlay  error
	lastRequest *StreamRequest
}

func (h *memHandler) Publish(ctx context.Context, req *StreamRequest) (MediaSink, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastRequest = req
	if h.rejectPub != nil {
		return nil, h.rejectPub
	}
	return &memSink{h: h, key: req.Path()}, nil
}

func (h *memHandler) Play(ctx context.Context, req *StreamRequest) (MediaSource, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastRequest = req
	if h.rejectPlay != nil {
		return nil, h.rejectPlay
	}
	ms, ok := h.published[req.Path()]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrStreamNotFound, req.Path())
	}
	return &memSource{media: ms}, nil
}

type memSink struct {
	h   *memHandler
	key string
}

func (s *memSink) WriteMedia(m Media) error {
	m.Payload = append([]byte(nil), m.Payload...)
	s.h.mu.Lock()
	if s.h.published == nil {
		s.h.published = map[string][]Media{}
	}
	s.h.published[s.key] = append(s.h.published[s.key], m)
	s.h.mu.Unlock()
	return nil
}

func (s *memSink) Close() error { return nil }

// memSource serves its media in batches of 3, half of them pre-chunked.
type memSource struct {
	media []Media
	i     int
}

func (s *memSource) ReadMedia(ctx context.Context, dst []Media) ([]Media, error) {
	if s.i >= len(s.media) {
		return dst, io.EOF
	}
	for n := 0; n < 3 && s.i < len(s.media); n++ {
		m := s.media[s.i]
		if s.i%2 == 0 {
			m.Chunks = AppendSharedChunks(nil, m.Type, m.Timestamp, m.Payload)
		}
		dst = append(dst, m)
		s.i++
	}
	return dst, nil
}

func (s *memSource) Close() error { return nil }

// startServer serves srv on a loopback listener (TLS if tc is set) until
// the test ends and returns the rtmp:// or rtmps:// base URL.
func startServer(t *testing.T, cfg ServerConfig, tc *tls.Config) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	scheme := "rtmp"
	if tc != nil {
		l = tls.NewListener(l, tc)
		scheme = "rtmps"
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	srv := NewServer(cfg)
	go func() { done <- srv.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return scheme + "://" + l.Addr().String()
}

// testMedia is a publish whose timestamps start 2 s below the 24-bit
// timestamp limit and cross it.
func testMedia() []Media {
	meta, _ := amf0.AppendValues(nil, "@setDataFrame", "onMetaData", amf0.ECMAArray{{Key: "width", Value: 320.0}})
	ms := []Media{
		{Type: TypeDataAMF0, Payload: meta},
		{Type: TypeVideo, Payload: []byte{0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f}},
		{Type: TypeAudio, Payload: []byte{0xaf, 0, 0x12, 0x10}},
	}
	big := make([]byte, 10000) // several chunks: exercises type 3 extended timestamps
	for ts := uint32(0xFFFFFF - 2000); ts < 0xFFFFFF+2000; ts += 40 {
		frame := byte(0x27)
		if (ts/40)%25 == 0 {
			frame = 0x17
		}
		p := append([]byte{frame, 1, 0, 0, 0}, big[:int(ts%7)*1500]...)
		ms = append(ms, Media{Type: TypeVideo, Timestamp: ts, Payload: p}, Media{Type: TypeAudio, Timestamp: ts + 5, Payload: []byte{0xaf, 1, byte(ts)}})
	}
	return ms
}

func TestServerPublishThenPlay(t *testing.T) {
	t.Run("immediate", func(t *testing.T) { testPublishThenPlay(t, 0) })
	t.Run("merged", func(t *testing.T) { testPublishThenPlay(t, 20*time.Millisecond) })
}

func testPublishThenPlay(t *testing.T, interval time.Duration) {
	h := &memHandler{}
	base := startServer(t, ServerConfig{Handler: h, PlayWriteInterval: interval}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	pub, err := Dial(ctx, base+"/live/cam?key=k1", ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	want := testMedia()
	for _, m := range want {
		if err := pub.WriteMedia(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	pub.Close()
	// The server stores what it received once the publisher's messages
	// have been read; wait for the last one.
	deadline := time.Now().Add(5 * time.Second)
	for {
		h.mu.Lock()
		n := len(h.published["live/cam"])
		h.mu.Unlock()
		if n == len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.mu.Lock()
	got := h.published["live/cam"]
	req := h.lastRequest
	h.mu.Unlock()
	if req.App != "live" || req.Name != "cam" || req.Query.Get("key") != "k1" || req.PublishType != "live" {
		t.Errorf("request = %+v", req)
	}
	if !strings.HasPrefix(req.TCURL, "rtmp://127.0.0.1:") {
		t.Errorf("tcUrl = %q", req.TCURL)
	}
	if len(got) != len(want) {
		t.Fatalf("server got %d messages, want %d", len(got), len(want))
	}
	if vs, err := amf0.DecodeAll(got[0].Payload); err != nil || vs[0] != "onMetaData" {
		t.Errorf("metadata not stripped of @setDataFrame: %v %v", vs, err)
	}
	for i := 1; i < len(want); i++ {
		if got[i].Type != want[i].Type || got[i].Timestamp != want[i].Timestamp || string(got[i].Payload) != string(want[i].Payload) {
			t.Fatalf("message %d: got %v@%d (%d bytes), want %v@%d (%d bytes)", i, got[i].Type, got[i].Timestamp, len(got[i].Payload), want[i].Type, want[i].Timestamp, len(want[i].Payload))
		}
	}

	// Play it back: messages and timestamps (crossing 0xFFFFFF) intact.
	pl, err := Dial(ctx, base+"/live/cam", ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close()
	if err := pl.Play(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		m, err := pl.ReadMedia(ctx)
		if err == io.EOF {
			if i != len(got) {
				t.Fatalf("played %d messages, want %d", i, len(got))
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if m.Type != got[i].Type || m.Timestamp != got[i].Timestamp || string(m.Payload) != string(got[i].Payload) {
			t.Fatalf("played message %d: %v@%d, want %v@%d", i, m.Type, m.Timestamp, got[i].Type, got[i].Timestamp)
		}
	}
}

func TestServerRejects(t *testing.T) {
	h := &memHandler{rejectPub: fmt.Errorf("bad key: %w", ErrUnauthorized), rejectPlay: fmt.Errorf("no: %w", ErrUnauthorized)}
	base := startServer(t, ServerConfig{Handler: h}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cases := []struct {
		reject error
		play   bool
		code   string
	}{
		{fmt.Errorf("bad key: %w", ErrUnauthorized), false, CodePublishUnauthorized},
		{fmt.Errorf("busy: %w", ErrBadName), false, CodePublishBadName},
		{fmt.Errorf("no: %w", ErrUnauthorized), true, CodePlayUnauthorized},
		{fmt.Errorf("gone: %w", ErrStreamNotFound), true, CodePlayStreamNotFound},
	}
	for _, c := range cases {
		err := tryRejected(t, ctx, h, base+"/live/x", c.reject, c.play)
		if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), c.code) {
			t.Errorf("want %s, got %v", c.code, err)
		}
	}
}

// rawSession handshakes with a server and returns a chunk Conn to drive it
// by hand.
func rawSession(t *testing.T, base string) (*Conn, net.Conn) {
	t.Helper()
	nc, err := net.Dial("tcp", strings.TrimPrefix(base, "rtmp://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	ctx := context.Background()
	if _, err := ClientHandshake(ctx, nc, HandshakeConfig{Simple: true}); err != nil {
		t.Fatal(err)
	}
	return NewConn(nc, ConnConfig{ReadTimeout: 5 * time.Second}), nc
}

func sendCmd(t *testing.T, c *Conn, streamID uint32, cmd Command) {
	t.Helper()
	m, err := cmd.Message(streamID)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMessage(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

// readUntilClosed reads messages until the server closes the connection
// and returns the commands it sent.
func readUntilClosed(t *testing.T, c *Conn) (cmds []Command, control []MessageType) {
	t.Helper()
	for {
		m, err := c.ReadMessage(context.Background())
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("server did not close the connection")
			}
			return cmds, control
		}
		if m.Type == TypeCommandAMF0 {
			cmd, err := ParseCommand(m)
			if err != nil {
				t.Fatal(err)
			}
			cmds = append(cmds, cmd)
		} else {
			control = append(control, m.Type)
		}
	}
}

func TestServerConnectReplyAndLimits(t *testing.T) {
	base := startServer(t, ServerConfig{Handler: &memHandler{}, MaxStreams: 2}, nil)
	c, _ := rawSession(t, base)
	sendCmd(t, c, 0, Command{Name: "connect", TransactionID: 1, Object: amf0.Object{{Key: "app", Value: "live"}, {Key: "objectEncoding", Value: 3.0}}})
	for i := 0; i < 3; i++ {
		sendCmd(t, c, 0, Command{Name: "createStream", TransactionID: float64(2 + i)})
	}
	cmds, control := readUntilClosed(t, c)
	if len(control) < 3 || control[0] != TypeWindowAckSize || control[1] != TypeSetPeerBandwidth || control[2] != TypeSetChunkSize {
		t.Errorf("control messages after connect: %v", control)
	}
	if len(cmds) != 5 {
		t.Fatalf("got %d replies: %+v", len(cmds), cmds)
	}
	if cmds[1].Name != "onBWDone" || cmds[1].TransactionID != 0 || cmds[1].Object != nil {
		t.Errorf("after the connect _result: %+v, want onBWDone(0, null)", cmds[1])
	}
	cmds = append(cmds[:1], cmds[2:]...)
	props, _ := cmds[0].Object.(amf0.Object)
	info, _ := cmds[0].Args[0].(amf0.Object)
	if cmds[0].Name != "_result" || props.String("fmsVer") == "" || props.Number("capabilities") != 31 ||
		info.String("code") != CodeConnectSuccess || info.Number("objectEncoding") != 3 {
		t.Errorf("connect reply %+v", cmds[0])
	}
	if cmds[1].Args[0] != 1.0 || cmds[2].Args[0] != 2.0 {
		t.Errorf("stream ids %v %v", cmds[1].Args, cmds[2].Args)
	}
	if cmds[3].Name != "_error" {
		t.Errorf("third createStream answered %q, want _error", cmds[3].Name)
	}
}

func TestServerCommandBeforeConnect(t *testing.T) {
	base := startServer(t, ServerConfig{Handler: &memHandler{}}, nil)
	c, _ := rawSession(t, base)
	sendCmd(t, c, 0, Command{Name: "createStream", TransactionID: 1})
	if cmds, _ := readUntilClosed(t, c); len(cmds) != 0 {
		t.Errorf("server answered %v before connect", cmds)
	}
}

func TestServerIdleTimeout(t *testing.T) {
	base := startServer(t, ServerConfig{Handler: &memHandler{}, IdleTimeout: 200 * time.Millisecond}, nil)
	c, _ := rawSession(t, base)
	start := time.Now()
	readUntilClosed(t, c)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("idle connection closed after %v", d)
	}
}

func TestServerShutdownClosesConnections(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- NewServer(ServerConfig{Handler: &memHandler{}}).Serve(ctx, l) }()
	cl, err := Dial(context.Background(), "rtmp://"+l.Addr().String()+"/live/a", ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	// Messages sent before the shutdown (onBWDone) may still be queued.
	for i := 0; ; i++ {
		if _, err := cl.Conn().ReadMessage(context.Background()); err != nil {
			break
		}
		if i == 10 {
			t.Fatal("connection still open after shutdown")
		}
	}
}

func TestRTMPS(t *testing.T) {
	stc, ctc := testcert.Loopback(t)
	h := &memHandler{}
	base := startServer(t, ServerConfig{Handler: h}, stc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := Dial(ctx, base+"/live/s", ClientConfig{}); err == nil {
		t.Fatal("untrusted certificate accepted")
	}
	pub, err := Dial(ctx, base+"/live/s", ClientConfig{TLSConfig: ctc})
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	media := testMedia()[:50]
	for _, m := range media {
		if err := pub.WriteMedia(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	pub.Close()
	time.Sleep(100 * time.Millisecond)
	pl, err := Dial(ctx, base+"/live/s", ClientConfig{TLSConfig: ctc})
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close()
	if err := pl.Play(ctx); err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		m, err := pl.ReadMedia(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if m.Timestamp != media[n].Timestamp {
			t.Fatalf("message %d at %d, want %d", n, m.Timestamp, media[n].Timestamp)
		}
		n++
	}
	if n != len(media) {
		t.Errorf("played %d of %d messages over TLS", n, len(media))
	}
}

func TestAppendSharedChunksMatchesReader(t *testing.T) {
	for _, ts := range []uint32{0, 40, 0xFFFFFE, 0xFFFFFF, 0x1000000, 0xFFFFFFFF} {
		for _, n := range []int{0, 1, SharedChunkSize, SharedChunkSize + 1, 3*SharedChunkSize + 7} {
			p := make([]byte, n)
			for i := range p {
				p[i] = byte(i)
			}
			var b []byte
			b = AppendSharedChunks(b, TypeVideo, ts, p)
			b = AppendSharedChunks(b, TypeVideo, ts+1, p) // a second type 0 on the same chunk stream
			setSize := []byte{0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0x10, 0}
			r := NewChunkReader(strings.NewReader(string(setSize)+string(b)), ReaderConfig{})
			if _, err := r.ReadMessage(); err != nil {
				t.Fatal(err)
			}
			for k := uint32(0); k < 2; k++ {
				m, err := r.ReadMessage()
				if err != nil {
					t.Fatalf("ts %d len %d: %v", ts, n, err)
				}
				if m.Timestamp != ts+k || len(m.Payload) != n || m.StreamID != SharedStreamID || m.Type != TypeVideo || string(m.Payload) != string(p) {
					t.Fatalf("ts %d len %d: got ts %d len %d", ts, n, m.Timestamp, len(m.Payload))
				}
			}
		}
	}
}

func TestParseURL(t *testing.T) {
	cases := []struct {
		in, addr, app, name, tc string
		tls, bad                bool
	}{
		{in: "rtmp://h/live/x", addr: "h:1935", app: "live", name: "x", tc: "rtmp://h/live"},
		{in: "rtmps://h:4443/app/a/b?key=1", addr: "h:4443", app: "app", name: "a/b?key=1", tc: "rtmps://h:4443/app", tls: true},
		{in: "http://h/live/x", bad: true},
		{in: "rtmp:///live/x", bad: true},
		{in: "rtmp://h", bad: true},
	}
	for _, c := range cases {
		addr, app, name, tc, tl, err := ParseURL(c.in)
		if c.bad != (err != nil) {
			t.Errorf("%s: err %v", c.in, err)
			continue
		}
		if !c.bad && (addr != c.addr || app != c.app || name != c.name || tc != c.tc || tl != c.tls) {
			t.Errorf("%s: %s %s %s %s %v", c.in, addr, app, name, tc, tl)
		}
	}
}

// TestServerStalledPlayer: a player that stops reading is disconnected
// after WriteTimeout instead of pinning the session forever.
func TestServerStalledPlayer(t *testing.T) {
	big := make([]Media, 3000)
	for i := range big {
		big[i] = Media{Type: TypeVideo, Timestamp: uint32(i * 40), Payload: make([]byte, 10000)}
	}
	h := &memHandler{published: map[string][]Media{"live/big": big}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan error, 1)
	go func() {
		nc, err := l.Accept()
		if err != nil {
			done <- err
			return
		}
		srv := NewServer(ServerConfig{Handler: h, WriteTimeout: 300 * time.Millisecond})
		done <- srv.ServeConn(context.Background(), nc)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := Dial(ctx, "rtmp://"+l.Addr().String()+"/live/big", ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.Play(ctx); err != nil {
		t.Fatal(err)
	}
	// Read nothing more: 30 MB cannot fit in the socket buffers.
	select {
	case <-done:
	case <-time.After(8 * time.Second):
		t.Fatal("server still serving a player that stopped reading")
	}
}

// tryRejected makes h reject with reject, then publishes (or plays, if
// play) url and returns the client's error.
func tryRejected(t *testing.T, ctx context.Context, h *memHandler, url string, reject error, play bool) error {
	t.Helper()
	h.mu.Lock()
	h.rejectPub, h.rejectPlay = reject, reject
	h.mu.Unlock()
	cl, err := Dial(ctx, url, ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if play {
		return cl.Play(ctx)
	}
	return cl.Publish(ctx)
}
