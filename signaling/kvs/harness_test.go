package kvs

// The tests' KVS client: a harness serving a Server through
// internal/httpserver on loopback, REST calls signed with aws-sdk-go-v2's
// signer, raw WebSockets with github.com/coder/websocket, and a Clock the
// tests move by hand.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamwire/streamwire/internal/httpserver"
)

// fakeClock is a Clock that moves only when Advance is called.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers map[*fakeTimer]struct{}
}

type fakeTimer struct {
	at time.Time
	f  func()
}

// epoch is the fake clock's start: 2023-11-14T22:13:20Z (Unix 1700000000).
var epoch = time.Unix(1700000000, 0).UTC()

func newFakeClock() *fakeClock { return &fakeClock{now: epoch, timers: map[*fakeTimer]struct{}{}} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), f: f}
	c.timers[t] = struct{}{}
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, ok := c.timers[t]
		delete(c.timers, t)
		return ok
	}
}

// Advance moves the clock by d and runs, in time order, the timers that are
// then due (and those they arm that are due too).
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		var next *fakeTimer
		for t := range c.timers {
			if !t.at.After(end) && (next == nil || t.at.Before(next.at)) {
				next = t
			}
		}
		if next == nil {
			c.now = end
			c.mu.Unlock()
			return
		}
		delete(c.timers, next)
		if next.at.After(c.now) {
			c.now = next.at
		}
		c.mu.Unlock()
		next.f()
	}
}

// Test credentials (AWS's documentation example key).
const (
	testKeyID  = "AKIDEXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	testRegion = "us-west-2"
)

// harness is a Server behind internal/httpserver on a free loopback port.
type harness struct {
	t      testing.TB
	srv    *Server
	clock  *fakeClock
	addr   string // 127.0.0.1:port
	client *http.Client
	signer *v4.Signer
	sign   bool // sign REST calls with testKeyID
	stop   func()
}

// newHarness serves a Server for cfg until the test ends. Unless cfg sets
// them, the Clock is a fakeClock and the logger discards.
func newHarness(t testing.TB, cfg Config) *harness {
	t.Helper()
	h := &harness{t: t, client: &http.Client{Transport: &http.Transport{}}, signer: v4.NewSigner(), sign: len(cfg.Credentials) > 0}
	if cfg.Clock == nil {
		h.clock = newFakeClock()
		cfg.Clock = h.clock
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	srv, err := New(cfg)
	require.NoError(t, err)
	h.srv = srv
	mux := http.NewServeMux()
	mux.Handle(srv.Pattern(), srv)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	h.addr = ln.Addr().String()
	hs := httpserver.New(httpserver.Config{Handler: mux})
	hs.RegisterOnShutdown(func() { _ = srv.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ctx, ln) }()
	var once sync.Once
	h.stop = func() {
		once.Do(func() {
			cancel()
			assert.ErrorIs(t, <-done, httpserver.ErrServerClosed)
			assert.NoError(t, srv.Close())
			h.client.CloseIdleConnections()
		})
	}
	t.Cleanup(h.stop)
	return h
}

// now is the harness's Clock time.
func (h *harness) now() time.Time { return h.srv.cfg.Clock.Now() }

// request builds a REST call of op (a path below the prefix) with body.
func (h *harness) request(op, body string) *http.Request {
	req, err := http.NewRequest(http.MethodPost, "http://"+h.addr+"/kvs"+op, strings.NewReader(body))
	require.NoError(h.t, err)
	req.Header.Set("Content-Type", "application/json")
	return req
}

// signRequest signs req as aws-sdk-go-v2 does, at the time at.
func (h *harness) signRequest(req *http.Request, body string, at time.Time) {
	h.t.Helper()
	sum := sha256Hex(body)
	creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}
	require.NoError(h.t, h.signer.SignHTTP(context.Background(), creds, req, sum, "kinesisvideo", testRegion, at))
}

// send sends req and returns the status, the body and the header.
func (h *harness) send(req *http.Request) (int, string, http.Header) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := h.client.Do(req.WithContext(ctx))
	require.NoError(h.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(h.t, err)
	return res.StatusCode, string(b), res.Header
}

// call sends a REST call of op with body, signed when the harness has
// credentials, and returns the status and the body.
func (h *harness) call(op, body string) (int, string) {
	h.t.Helper()
	req := h.request(op, body)
	if h.sign {
		h.signRequest(req, body, h.now())
	}
	status, b, _ := h.send(req)
	return status, b
}

// create makes a channel with ttl seconds of MessageTtlSeconds (0: the
// default) and returns its ARN.
func (h *harness) create(name string, ttl int) string {
	h.t.Helper()
	body := `{"ChannelName":"` + name + `"}`
	if ttl > 0 {
		b, _ := json.Marshal(map[string]any{"ChannelName": name, "SingleMasterConfiguration": map[string]int{"MessageTtlSeconds": ttl}})
		body = string(b)
	}
	status, out := h.call("/createSignalingChannel", body)
	require.Equal(h.t, http.StatusOK, status, out)
	var v struct{ ChannelARN string }
	require.NoError(h.t, json.Unmarshal([]byte(out), &v))
	return v.ChannelARN
}

// wsURL is the WebSocket URL of a channel for client ("" for the master),
// presigned at the Clock's time when the harness has credentials.
func (h *harness) wsURL(arn, client string) string {
	q := url.Values{qChannelARN: {arn}}
	if client != "" {
		q.Set(qClientID, client)
	}
	u := "ws://" + h.addr + "/kvs/ws?" + q.Encode()
	if h.sign {
		u = h.presign(u, h.now(), 299)
	}
	return u
}

// presign presigns u with the test credentials as the KVS SDKs do.
func (h *harness) presign(u string, at time.Time, expires int) string {
	h.t.Helper()
	pu, err := url.Parse(u)
	require.NoError(h.t, err)
	q := pu.Query()
	q.Set("X-Amz-Expires", itoa(expires))
	pu.RawQuery = q.Encode()
	req := &http.Request{Method: http.MethodGet, URL: pu, Host: pu.Host, Header: http.Header{}}
	creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}
	signed, _, err := h.signer.PresignHTTP(context.Background(), creds, req, v4EmptySHA256, "kinesisvideo", testRegion, at)
	require.NoError(h.t, err)
	return signed
}

// ws is a raw client WebSocket. One goroutine reads it for the test's
// whole life, since github.com/coder/websocket drops a connection whose
// read context ends: a test that waits for "no frame" must not cancel a
// read.
type ws struct {
	t      testing.TB
	c      *websocket.Conn
	frames chan string
	ended  chan struct{}
	err    error // why reading ended; set before ended is closed
}

// dial opens a WebSocket to u; it fails the test on a refusal.
func (h *harness) dial(u string) *ws {
	h.t.Helper()
	c, res, err := h.tryDial(u)
	require.NoError(h.t, err, "%v", res)
	return c
}

// tryDial opens a WebSocket to u and returns the refusal's status and body
// on failure.
func (h *harness) tryDial(u string) (*ws, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, res, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		detail := ""
		if res != nil {
			b, _ := io.ReadAll(res.Body)
			detail = itoa(res.StatusCode) + " " + string(b)
		}
		return nil, detail, err
	}
	c.SetReadLimit(-1)
	w := &ws{t: h.t, c: c, frames: make(chan string, 1024), ended: make(chan struct{})}
	go func() {
		defer close(w.ended)
		for {
			_, b, err := c.Read(context.Background())
			if err != nil {
				w.err = err
				return
			}
			w.frames <- string(b)
		}
	}()
	h.t.Cleanup(func() {
		_ = c.CloseNow()
		<-w.ended
	})
	return w, "", nil
}

// master and viewer connect to the channel of arn.
func (h *harness) master(arn string) *ws         { return h.dial(h.wsURL(arn, "")) }
func (h *harness) viewer(arn, client string) *ws { return h.dial(h.wsURL(arn, client)) }

// send writes one text frame and waits until the server has handled it.
func (h *harness) sendFrame(w *ws, frame string) {
	h.t.Helper()
	before := h.srv.Stats().Frames
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(h.t, w.c.Write(ctx, websocket.MessageText, []byte(frame)))
	require.Eventually(h.t, func() bool { return h.srv.Stats().Frames > before }, 5*time.Second, time.Millisecond)
}

// read reads one frame within d; context.DeadlineExceeded when none came.
func (w *ws) read(d time.Duration) (string, error) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case f := <-w.frames:
		return f, nil
	case <-w.ended:
		select {
		case f := <-w.frames:
			return f, nil
		default:
			return "", w.err
		}
	case <-t.C:
		return "", context.DeadlineExceeded
	}
}

// recv reads one frame within 5 s.
func (w *ws) recv() string {
	w.t.Helper()
	f, err := w.read(5 * time.Second)
	require.NoError(w.t, err)
	return f
}

// quiet checks that no frame arrives within d and the socket stays open.
func (w *ws) quiet(d time.Duration) {
	w.t.Helper()
	f, err := w.read(d)
	require.Error(w.t, err, "unexpected frame %q", f)
	require.True(w.t, errors.Is(err, context.DeadlineExceeded), "connection ended: %v", err)
}

// closedByServer reads until the server closes the socket, within d, and
// returns the close status and the frames read before it.
func (w *ws) closedByServer(d time.Duration) (websocket.StatusCode, []string) {
	w.t.Helper()
	var frames []string
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		f, err := w.read(time.Until(deadline))
		if err != nil {
			require.False(w.t, errors.Is(err, context.DeadlineExceeded), "socket still open after %v", d)
			return websocket.CloseStatus(err), frames
		}
		frames = append(frames, f)
	}
	w.t.Fatalf("socket still open after %v", d)
	return 0, nil
}

// waitOpen waits until the server holds n WebSockets.
func (h *harness) waitOpen(n int) {
	h.t.Helper()
	require.Eventually(h.t, func() bool { return h.srv.Stats().Open == n }, 10*time.Second, time.Millisecond,
		"server holds %d WebSockets, not %d", h.srv.Stats().Open, n)
}

// frame is a client frame as the JS SDK writes it.
func frame(action, recipient, payload, correlation string) string {
	m := map[string]string{"action": action, "messagePayload": payload}
	if recipient != "" {
		m["recipientClientId"] = recipient
	}
	if correlation != "" {
		m["correlationId"] = correlation
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// statusFrame is the STATUS_RESPONSE the server sends for e, built
// without appendStatusFrame.
func statusFrame(correlation, typ, code, desc string) string {
	var b bytes.Buffer
	b.WriteString(`{"messageType":"STATUS_RESPONSE","statusResponse":{"correlationId":"` + correlation +
		`","errorType":"` + typ + `","statusCode":"` + code + `","description":`)
	d, _ := json.Marshal(desc)
	b.Write(d)
	b.WriteString(`,"success":false}}`)
	return b.String()
}

// sha256Hex is the hex SHA-256 of s, a SigV4 payload hash.
func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func itoa(i int) string { return strconv.Itoa(i) }

// discard is a logger that drops everything.
func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
