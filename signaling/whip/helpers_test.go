package whip

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamwire/streamwire/dtlsparams"
	"github.com/streamwire/streamwire/internal/syncbuf"
	"github.com/streamwire/streamwire/sdp"
)

// testCandidate is the one candidate of every test answer: a UDP host
// candidate, which is what ffmpeg's muxer looks for first.
const testCandidate = "candidate:1 1 udp 2130706431 127.0.0.1 3478 typ host"

var testFingerprint = func() dtlsparams.Fingerprint {
	fp, err := dtlsparams.ComputeFingerprint(dtlsparams.SHA256, []byte("streamwire whip test certificate"))
	if err != nil {
		panic(err)
	}
	return fp
}()

// readOffer reads an offer of package sdp's corpus of real client offers
// (sdp/testdata/offers/README.md says where each comes from).
func readOffer(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "sdp", "testdata", "offers", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakeBackend answers offers with package sdp, as the server will, so that
// the answers clients read back are real ones; media is not involved.
type fakeBackend struct {
	mu        sync.Mutex
	err       error               // when set, Publish and Play fail with it
	published map[Stream]bool     // Play of any other stream fails with ErrNotPublished
	playAny   bool                // Play accepts unpublished streams (the "wait for publisher" option)
	connected bool                // sessions start with Connected closed
	block     chan struct{}       // when set, Publish and Play wait for it to close
	mangle    func([]byte) []byte // when set, rewrites each answer
	offers    []*Offer
	sessions  []*fakeSession
}

func (b *fakeBackend) Publish(ctx context.Context, o *Offer) (Session, []byte, error) {
	return b.open(ctx, o)
}

func (b *fakeBackend) Play(ctx context.Context, o *Offer) (Session, []byte, error) {
	b.mu.Lock()
	ok := b.playAny || b.published[o.Stream]
	b.mu.Unlock()
	if !ok {
		return nil, nil, fmt.Errorf("fake: %s: %w", o.Stream, ErrNotPublished)
	}
	return b.open(ctx, o)
}

func (b *fakeBackend) open(ctx context.Context, o *Offer) (Session, []byte, error) {
	b.mu.Lock()
	b.offers = append(b.offers, o)
	err, block := b.err, b.block
	b.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
		}
	}
	if err != nil {
		return nil, nil, err
	}
	s, err := sdp.Answer(o.SDP, &sdp.Config{
		ICELite:         true,
		Candidates:      []string{testCandidate},
		EndOfCandidates: true,
		Fingerprints:    []dtlsparams.Fingerprint{testFingerprint},
	})
	if err != nil {
		return nil, nil, err
	}
	fs := &fakeSession{done: make(chan struct{}), connected: make(chan struct{})}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.connected {
		close(fs.connected)
	}
	b.sessions = append(b.sessions, fs)
	if b.mangle != nil {
		return fs, b.mangle(s.SDP), nil
	}
	return fs, s.SDP, nil
}

// session returns the i-th session made.
func (b *fakeBackend) session(t testing.TB, i int) *fakeSession {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if i >= len(b.sessions) {
		t.Fatalf("backend made %d sessions, want at least %d", len(b.sessions), i+1)
	}
	return b.sessions[i]
}

func (b *fakeBackend) offerCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.offers)
}

// fakeSession records what the handler asks of it.
type fakeSession struct {
	mu         sync.Mutex
	trickles   []*sdp.SDPFrag
	restarts   []*sdp.SDPFrag
	closes     int
	trickleErr error
	restartErr error
	endErr     error
	done       chan struct{}
	connected  chan struct{}
	endOnce    sync.Once
}

func (s *fakeSession) Trickle(_ context.Context, f *sdp.SDPFrag) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.trickleErr != nil {
		return s.trickleErr
	}
	s.trickles = append(s.trickles, f)
	return nil
}

func (s *fakeSession) Restart(_ context.Context, f *sdp.SDPFrag) (*sdp.SDPFrag, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.restartErr != nil {
		return nil, s.restartErr
	}
	s.restarts = append(s.restarts, f)
	return &sdp.SDPFrag{
		ICELite: true,
		Ufrag:   fmt.Sprintf("srvufrag%d", len(s.restarts)),
		Pwd:     fmt.Sprintf("srvpassword0123456789ab%d", len(s.restarts)),
		Media: []sdp.FragMedia{{
			MediaLine: "audio 9 UDP/TLS/RTP/SAVPF 111", Mid: "0",
			Candidates: []string{strings.TrimPrefix(testCandidate, "candidate:")}, EndOfCandidates: true,
		}},
	}, nil
}

func (s *fakeSession) Close() error {
	s.mu.Lock()
	s.closes++
	s.mu.Unlock()
	s.end(nil)
	return nil
}

// end ends the session as the media side would, with err as the reason.
func (s *fakeSession) end(err error) {
	s.endOnce.Do(func() {
		s.mu.Lock()
		s.endErr = err
		s.mu.Unlock()
		close(s.done)
	})
}

func (s *fakeSession) Done() <-chan struct{}      { return s.done }
func (s *fakeSession) Connected() <-chan struct{} { return s.connected }
func (s *fakeSession) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.endErr
}

func (s *fakeSession) counts() (trickles, restarts, closes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.trickles), len(s.restarts), s.closes
}

// harness is a Handler with a fake backend behind a loopback httptest server,
// its log captured.
type harness struct {
	t    *testing.T
	h    *Handler
	be   *fakeBackend
	srv  *httptest.Server
	logs *syncbuf.Buffer
}

// newHarness starts a Handler for cfg; a nil cfg.Backend is a fakeBackend on
// which "live/cam" is published.
func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	hs := &harness{t: t, logs: &syncbuf.Buffer{}}
	if cfg.Backend == nil {
		hs.be = &fakeBackend{published: map[Stream]bool{{"live", "cam"}: true}}
		cfg.Backend = hs.be
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(hs.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	h, err := NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs.h = h
	hs.srv = httptest.NewServer(h)
	t.Cleanup(func() {
		hs.srv.Close()
		if err := h.Close(); err != nil {
			t.Errorf("Handler.Close: %v", err)
		}
	})
	return hs
}

// reply is a response with its body read.
type reply struct {
	*http.Response
	body string
}

// do sends one request; hdr holds "Name: value" lines.
func (hs *harness) do(method, target, body string, hdr ...string) reply {
	hs.t.Helper()
	if !strings.HasPrefix(target, "http") {
		target = hs.srv.URL + target
	}
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		hs.t.Fatal(err)
	}
	for _, l := range hdr {
		k, v, _ := strings.Cut(l, ":")
		req.Header.Add(k, strings.TrimSpace(v))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := hs.srv.Client().Do(req.WithContext(ctx))
	if err != nil {
		hs.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		hs.t.Fatal(err)
	}
	return reply{resp, string(b)}
}

// publish POSTs ffmpeg's offer to /whip/live/cam and returns the 201.
func (hs *harness) publish(hdr ...string) reply {
	hs.t.Helper()
	r := hs.do("POST", "/whip/live/cam", string(readOffer(hs.t, "ffmpeg8_whip_sendonly.sdp")),
		append([]string{"Content-Type: application/sdp"}, hdr...)...)
	if r.StatusCode != http.StatusCreated {
		hs.t.Fatalf("POST: %d %s", r.StatusCode, r.body)
	}
	return r
}

// sessionPath returns the path of a 201's Location.
func (hs *harness) sessionPath(r reply) string {
	hs.t.Helper()
	loc := r.Header.Get("Location")
	p, ok := strings.CutPrefix(loc, hs.srv.URL)
	if !ok {
		hs.t.Fatalf("Location %q is not under %s", loc, hs.srv.URL)
	}
	return p
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// wantHeaders checks header values exactly; "" means absent.
func wantHeaders(t *testing.T, h http.Header, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := strings.Join(h.Values(k), "\n"); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

// corsHeaders are the CORS headers of every answer with the default Config.
var corsHeaders = map[string]string{
	"Access-Control-Allow-Origin":   "*",
	"Access-Control-Allow-Methods":  "POST, PATCH, DELETE, OPTIONS",
	"Access-Control-Allow-Headers":  "Authorization, Content-Type, If-Match",
	"Access-Control-Expose-Headers": "Location, Link, ETag, Retry-After",
}
