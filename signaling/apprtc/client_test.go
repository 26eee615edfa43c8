package apprtc

// The tests' AppRTC client. The real clients (AppRTC's web client, the
// Android and iOS AppRTCMobile apps) cannot run here, so this one speaks the
// wire format as signaling.md §1 gives it from their source; the golden
// transcripts pin the bytes, and the interop test runs a browser page that
// follows the web client's calls.

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/streamwire/streamwire/internal/wstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamwire/streamwire/internal/httpserver"
)

// harness is a Server behind internal/httpserver on a free loopback port,
// with extra handlers (the ICE endpoint) on the same mux.
type harness struct {
	t      testing.TB
	srv    *Server
	addr   string // 127.0.0.1:port
	client *http.Client
	stop   func() // shuts the server down; also run at cleanup
}

// ids is a Rand that makes the client ids 11111111, 22222222, ... in turn.
type ids struct{ next byte }

func (r *ids) Read(p []byte) (int, error) {
	r.next++
	for i := range p {
		p[i] = r.next % 10
	}
	return len(p), nil
}

// newHarness serves a Server for cfg (client ids from ids unless cfg.Rand
// is set) and extra handlers until the test ends.
func newHarness(t testing.TB, cfg Config, extra map[string]http.Handler) *harness {
	t.Helper()
	if cfg.Rand == nil {
		cfg.Rand = &ids{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	srv, err := New(cfg)
	require.NoError(t, err)
	mux := http.NewServeMux()
	for _, p := range Paths() {
		mux.Handle(p, srv)
	}
	for p, h := range extra {
		mux.Handle(p, h)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	hs := httpserver.New(httpserver.Config{Handler: mux})
	hs.RegisterOnShutdown(func() { _ = srv.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ctx, ln) }()
	h := &harness{t: t, srv: srv, addr: ln.Addr().String(), client: &http.Client{Transport: &http.Transport{}}}
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

// waitConns waits until the server holds n WebSockets: a closed one is
// gone once its handler has deregistered it.
func (h *harness) waitConns(n int) {
	h.t.Helper()
	require.Eventually(h.t, func() bool {
		return h.srv.conns.Len() == n
	}, 10*time.Second, time.Millisecond, "server still holds other than %d WebSockets", n)
}

// do sends one HTTP request and returns the status and body.
func (h *harness) do(method, path, body string) (int, string) {
	h.t.Helper()
	return wstest.Do(h.t, h.client, method, "http://"+h.addr+path, "host", body)
}

// joinAnswer is a decoded /join answer.
type joinAnswer struct {
	Result string `json:"result"`
	Params struct {
		RoomID      string   `json:"room_id"`
		ClientID    string   `json:"client_id"`
		IsInitiator string   `json:"is_initiator"`
		Messages    []string `json:"messages"`
		WSSURL      string   `json:"wss_url"`
		WSSPostURL  string   `json:"wss_post_url"`
		PCConfig    string   `json:"pc_config"`
	} `json:"params"`
}

// join POSTs /join/room and decodes the answer.
func (h *harness) join(room string) joinAnswer {
	h.t.Helper()
	status, body := h.do(http.MethodPost, "/join/"+room, "")
	require.Equal(h.t, http.StatusOK, status, body)
	var a joinAnswer
	require.NoError(h.t, json.Unmarshal([]byte(body), &a), body)
	return a
}

// message POSTs /message/room/client and returns the result code.
func (h *harness) message(room, client, msg string) string {
	h.t.Helper()
	status, body := h.do(http.MethodPost, "/message/"+room+"/"+client, msg)
	require.Equal(h.t, http.StatusOK, status, body)
	var r struct{ Result string }
	require.NoError(h.t, json.Unmarshal([]byte(body), &r), body)
	return r.Result
}

// wsClient is one Collider WebSocket.
type wsClient = wstest.Conn

// dial opens a Collider WebSocket.
func (h *harness) dial() *wsClient {
	h.t.Helper()
	return wstest.Dial(h.t, "ws://"+h.addr+ColliderPrefix+"/ws")
}

// serverFrame is the exact frame the server sends for msg and errText,
// built without appendServerFrame so that it checks that function too.
func serverFrame(msg, errText string) string {
	var b bytes.Buffer
	_ = json.NewEncoder(&b).Encode(struct {
		Msg   string `json:"msg"`
		Error string `json:"error"`
	}{msg, errText})
	return b.String()
}
