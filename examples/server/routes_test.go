package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/streamwire/streamwire/ice"
	"github.com/streamwire/streamwire/relay"
)

// testApp builds the server's parts on loopback listeners, without serving.
func testApp(t *testing.T) *app {
	t.Helper()
	cfg := config{UDP: "127.0.0.1:0", TCP: "127.0.0.1:0", HTTP: "127.0.0.1:0", RTMP: "127.0.0.1:0", TURNSecret: "s"}
	ls, err := listen(cfg)
	require.NoError(t, err)
	t.Cleanup(ls.close)
	log := slog.New(slog.DiscardHandler)
	a := &app{cfg: cfg, log: log, reg: newRegistry(), bound: ls.bound(), hub: relay.NewHub(relay.Config{})}
	a.metrics = newMetrics(a.reg)
	a.rtmp = newRTMPHandler(a.hub, a.reg, "")
	require.NoError(t, a.build(ice.NewMux(ls.udp, ice.MuxConfig{}), ls))
	t.Cleanup(func() { a.whip.Close(); a.apprtc.Close(); a.kvs.Close() })
	return a
}

// TestRoutesNoShadowing: every route of the URL map serves its sample path
// itself (no other pattern takes it), and paths outside the map are 404.
func TestRoutesNoShadowing(t *testing.T) {
	a := testApp(t)
	rs := a.routes()
	mux := newRouter(rs)
	seen := map[string]bool{}
	for _, r := range rs {
		require.False(t, seen[r.pattern], "pattern %q mounted twice", r.pattern)
		seen[r.pattern] = true
		method, path, ok := strings.Cut(r.sample, " ")
		require.True(t, ok, "sample %q", r.sample)
		_, pattern := mux.Handler(httptest.NewRequest(method, path, nil))
		require.Equal(t, r.pattern, pattern, "%s is served by another route", r.sample)
	}
	for _, path := range []string{"/nope", "/play/live", "/play/live/cam/x", "/index.html", "/api/streams/x", "/healthzz"} {
		_, pattern := mux.Handler(httptest.NewRequest(http.MethodGet, path, nil))
		require.Empty(t, pattern, "%s is served by %q", path, pattern)
	}
}

// TestPages: the pages and their scripts are served with their types and
// security headers; the player page may be framed by any site, the index
// page only by its own; no directory listing.
func TestPages(t *testing.T) {
	srv := httptest.NewServer(newRouter(testApp(t).routes()))
	defer srv.Close()
	get := func(path string) (*http.Response, string) {
		res, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res, string(b)
	}
	res, body := get("/")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, res.Header.Get("Content-Type"), "text/html")
	require.Contains(t, res.Header.Get("Content-Security-Policy"), "frame-ancestors 'self'")
	require.Contains(t, body, `src="/assets/index.js"`)

	res, body = get("/play/live/cam")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, res.Header.Get("Content-Security-Policy"), "frame-ancestors *")
	require.Contains(t, body, "<video id=\"video\" autoplay muted playsinline>")

	for _, js := range []string{"whipwhep.js", "play.js", "index.js"} {
		res, body = get("/assets/" + js)
		require.Equal(t, http.StatusOK, res.StatusCode, js)
		require.Contains(t, res.Header.Get("Content-Type"), "javascript", js)
		require.NotContains(t, body, "http://", js+" loads nothing from elsewhere")
		require.NotContains(t, body, "https://", js+" loads nothing from elsewhere")
	}
	res, _ = get("/assets/")
	require.Equal(t, http.StatusNotFound, res.StatusCode)
}
