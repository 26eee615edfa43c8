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
	// Nested names (rtmp://HOST/live/a/b) are served by the routes of
	// their kind, their sessions too.
	id := strings.Repeat("A", 32)
	for sample, pattern := range map[string]string{
		"GET /play/live/a/b/c":         "GET /play/{app}/{name}/{more...}",
		"POST /whip/live/a/b":          "/whip/",
		"PATCH /whip/live/a/b/" + id:   "/whip/",
		"DELETE /whip/live/a/b/" + id:  "/whip/",
		"POST /whep/live/a/b":          "/whep/",
		"OPTIONS /whep/live/a/b/" + id: "/whep/",
	} {
		method, path, _ := strings.Cut(sample, " ")
		_, got := mux.Handler(httptest.NewRequest(method, path, nil))
		require.Equal(t, pattern, got, "%s is served by another route", sample)
	}
	// Paths outside the map, and player paths that name no stream, are 404.
	for _, path := range []string{"/nope", "/play", "/play/", "/play/live", "/play/live/", "/play/live/cam/", "/play/live/a%2Fb",
		"/play/live/%01", "/index.html", "/api/streams/x", "/healthzz"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		require.Equal(t, http.StatusNotFound, rec.Code, "GET %s", path)
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
	nested, _ := get("/play/live/a/b%20c")
	require.Equal(t, http.StatusOK, nested.StatusCode, "the player page of a nested name")
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
