package turnrest

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamwire/streamwire/internal/syncbuf"
)

const (
	testSecret = "s3cr3t-never-leaks"
	testOld    = "old-secret-never-leaks"
	testAPIKey = "api-key-never-leaks"
)

func testConfig(logs io.Writer) Config {
	return Config{
		Secrets: []string{testSecret, testOld},
		TTL:     10 * time.Minute,
		URIs:    []string{"turn:127.0.0.1:3478?transport=udp", "turn:127.0.0.1:3478?transport=tcp", "stun:127.0.0.1:3478"},
		Now:     fixedNow,
		Logger:  slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

func serve(t *testing.T, h http.Handler, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, body
}

func TestHandlerRESTShape(t *testing.T) {
	var logs syncbuf.Buffer
	h, err := NewHandler(testConfig(&logs), FormatREST)
	require.NoError(t, err)
	res, body := serve(t, h, httptest.NewRequest(http.MethodGet, "/turn?service=turn&username=alice", nil))
	require.Equal(t, http.StatusOK, res.StatusCode, string(body))
	assert.Equal(t, "application/json", res.Header.Get("Content-Type"))
	assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
	assert.Empty(t, res.Header.Get("Access-Control-Allow-Origin"))

	var got map[string]any
	require.NoError(t, json.Unmarshal(body, &got))
	assert.Equal(t, map[string]any{
		"username": "1700000600:alice",
		"password": Password(testSecret, "1700000600:alice"),
		"ttl":      float64(600),
		"uris":     []any{"turn:127.0.0.1:3478?transport=udp", "turn:127.0.0.1:3478?transport=tcp", "stun:127.0.0.1:3478"},
	}, got)
	assert.Contains(t, logs.String(), "credential issued")
}

func TestHandlerICEShape(t *testing.T) {
	var logs syncbuf.Buffer
	h, err := NewHandler(testConfig(&logs), FormatICE)
	require.NoError(t, err)
	// AppRTC clients POST with no body (Android sets doOutput, iOS sends nothing).
	for _, req := range []*http.Request{
		httptest.NewRequest(http.MethodPost, "/v1alpha/iceconfig?key=ignored", nil),
		httptest.NewRequest(http.MethodPost, "/v1alpha/iceconfig", strings.NewReader(`{"anything":"ignored"}`)),
		httptest.NewRequest(http.MethodGet, "/v1alpha/iceconfig", nil),
	} {
		res, body := serve(t, h, req)
		require.Equal(t, http.StatusOK, res.StatusCode, string(body))
		assert.JSONEq(t, `{"lifetimeDuration":"600.000s","iceServers":[
			{"urls":["turn:127.0.0.1:3478?transport=udp","turn:127.0.0.1:3478?transport=tcp"],
			 "username":"1700000600","credential":"`+Password(testSecret, "1700000600")+`"},
			{"urls":["stun:127.0.0.1:3478"]}]}`, string(body))
	}
}

func TestHandlerJanusPOST(t *testing.T) {
	var logs syncbuf.Buffer
	cfg := testConfig(&logs)
	cfg.APIKeys = []string{testAPIKey}
	h, err := NewHandler(cfg, FormatREST)
	require.NoError(t, err)
	// Janus turnrest.c: the same string in the query and as the POST body,
	// with both api= and key=.
	q := "service=turn&api=" + testAPIKey + "&key=" + testAPIKey + "&username=janus"
	req := httptest.NewRequest(http.MethodPost, "/turn?"+q, strings.NewReader(q))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, body := serve(t, h, req)
	require.Equal(t, http.StatusOK, res.StatusCode, string(body))
	var c Credential
	require.NoError(t, json.Unmarshal(body, &c))
	assert.Equal(t, "1700000600:janus", c.Username)

	// Parameters only in the body.
	req = httptest.NewRequest(http.MethodPost, "/turn", strings.NewReader("service=turn&username=bodyonly&api="+testAPIKey))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, body = serve(t, h, req)
	require.Equal(t, http.StatusOK, res.StatusCode, string(body))
	require.NoError(t, json.Unmarshal(body, &c))
	assert.Equal(t, "1700000600:bodyonly", c.Username)
	m, err := New(cfg)
	require.NoError(t, err)
	_, err = m.Verify(c.Username, c.Password)
	assert.NoError(t, err)
}

func TestHandlerAuth(t *testing.T) {
	var logs syncbuf.Buffer
	cfg := testConfig(&logs)
	cfg.APIKeys = []string{"other-key", testAPIKey}
	h, err := NewHandler(cfg, FormatREST)
	require.NoError(t, err)
	ok := []func(*http.Request){
		func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+testAPIKey) },
		func(r *http.Request) { r.Header.Set("Authorization", "bearer "+testAPIKey) },
		func(r *http.Request) { r.URL.RawQuery += "&key=" + testAPIKey },
		func(r *http.Request) { r.URL.RawQuery += "&api=other-key" },
		func(r *http.Request) { r.URL.RawQuery += "&key=wrong&api=" + testAPIKey },
	}
	for i, f := range ok {
		req := httptest.NewRequest(http.MethodGet, "/turn?service=turn", nil)
		f(req)
		res, body := serve(t, h, req)
		assert.Equal(t, http.StatusOK, res.StatusCode, "case %d: %s", i, body)
	}
	bad := []func(*http.Request){
		func(*http.Request) {},
		func(r *http.Request) { r.Header.Set("Authorization", "Bearer wrong") },
		func(r *http.Request) { r.Header.Set("Authorization", "Basic "+testAPIKey) },
		func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+testAPIKey+"x") },
		func(r *http.Request) { r.URL.RawQuery += "&key=" + testAPIKey[:5] },
		func(r *http.Request) { r.URL.RawQuery += "&key=" },
	}
	for i, f := range bad {
		req := httptest.NewRequest(http.MethodGet, "/turn?service=turn", nil)
		f(req)
		res, body := serve(t, h, req)
		assert.Equal(t, http.StatusUnauthorized, res.StatusCode, "case %d", i)
		assert.Equal(t, `Bearer realm="turnrest"`, res.Header.Get("WWW-Authenticate"))
		assert.JSONEq(t, `{"error":"missing or invalid API key"}`, string(body))
		assert.NotContains(t, string(body), "password")
	}
}

func TestHandlerErrors(t *testing.T) {
	var logs syncbuf.Buffer
	h, err := NewHandler(testConfig(&logs), FormatREST)
	require.NoError(t, err)
	cases := []struct {
		method, target, body string
		status               int
		errSubstr            string
	}{
		{http.MethodGet, "/turn?service=stun", "", 400, `service must be`},
		{http.MethodGet, "/turn?service=turn&service=stun", "", 400, `service must be`},
		{http.MethodGet, "/turn?username=a:b", "", 400, "separator"},
		{http.MethodGet, "/turn?username=" + url.QueryEscape("a b"), "", 400, "printable"},
		{http.MethodGet, "/turn?username=" + url.QueryEscape("é"), "", 400, "printable"},
		{http.MethodGet, "/turn?username=" + strings.Repeat("x", MaxUsernameLen), "", 400, "bytes"},
		{http.MethodGet, "/turn?username=%zz", "", 400, "query"},
		{http.MethodPut, "/turn", "", 405, "not allowed"},
		{http.MethodDelete, "/turn", "", 405, "not allowed"},
		{http.MethodPost, "/turn", "username=" + strings.Repeat("x", maxBody), 413, "body"},
	}
	for _, c := range cases {
		req := httptest.NewRequest(c.method, c.target, strings.NewReader(c.body))
		if c.body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		res, body := serve(t, h, req)
		assert.Equal(t, c.status, res.StatusCode, "%s %s: %s", c.method, c.target, body)
		assert.Equal(t, "application/json", res.Header.Get("Content-Type"))
		assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
		var e struct{ Error string }
		require.NoError(t, json.Unmarshal(body, &e), string(body))
		assert.Contains(t, e.Error, c.errSubstr, "%s %s", c.method, c.target)
		if c.status == 405 {
			assert.Equal(t, "GET, POST, OPTIONS", res.Header.Get("Allow"))
		}
	}
	// Without service= (AppRTC's legacy TURN_URL_TEMPLATE) the request is served.
	res, _ := serve(t, h, httptest.NewRequest(http.MethodGet, "/turn?username=u", nil))
	assert.Equal(t, http.StatusOK, res.StatusCode)
}

func TestHandlerCORS(t *testing.T) {
	var logs syncbuf.Buffer
	cfg := testConfig(&logs)
	cfg.AllowOrigin = "https://app.example"
	h, err := NewHandler(cfg, FormatICE)
	require.NoError(t, err)
	req := httptest.NewRequest(http.MethodOptions, "/iceconfig", nil)
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	res, _ := serve(t, h, req)
	assert.Equal(t, http.StatusNoContent, res.StatusCode)
	assert.Equal(t, "https://app.example", res.Header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "Origin", res.Header.Get("Vary"))
	assert.Contains(t, res.Header.Get("Access-Control-Allow-Methods"), "POST")
	assert.Contains(t, res.Header.Get("Access-Control-Allow-Headers"), "Authorization")

	res, _ = serve(t, h, httptest.NewRequest(http.MethodPost, "/iceconfig", nil))
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "https://app.example", res.Header.Get("Access-Control-Allow-Origin"))
	res, _ = serve(t, h, httptest.NewRequest(http.MethodPut, "/iceconfig", nil))
	assert.Equal(t, "https://app.example", res.Header.Get("Access-Control-Allow-Origin"), "errors readable cross-origin too")
}

// TestSecretNeverLeaks drives every handler path and every verification
// failure with debug logging on, then scans all response bytes, headers and
// log output for the secrets and the API key.
func TestSecretNeverLeaks(t *testing.T) {
	var logs syncbuf.Buffer
	cfg := testConfig(&logs)
	cfg.APIKeys = []string{testAPIKey}
	cfg.AllowOrigin = "*"
	m, err := New(cfg)
	require.NoError(t, err)
	var seen bytes.Buffer
	for _, f := range []Format{FormatREST, FormatICE} {
		h := m.Handler(f)
		for _, target := range []string{
			"/?service=turn&username=alice&key=" + testAPIKey,
			"/?service=turn&username=alice",
			"/?service=turn&key=wrong",
			"/?service=nope&key=" + testAPIKey,
			"/?username=" + url.QueryEscape(testSecret+":x") + "&key=" + testAPIKey,
			"/?username=" + strings.Repeat("z", 600) + "&api=" + testAPIKey,
		} {
			for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodOptions, http.MethodPatch} {
				req := httptest.NewRequest(method, target, nil)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				require.NoError(t, rec.Result().Header.Write(&seen))
				seen.Write(rec.Body.Bytes())
			}
		}
	}
	for _, c := range [][2]string{{"1700000000:alice", "wrong"}, {"1699999999:alice", "x"}, {"bad", "x"}} {
		_, err := m.Verify(c[0], c[1])
		require.Error(t, err)
		seen.WriteString(err.Error())
		_, err = m.FindKey(c[0], "realm", func([]byte) bool { return false })
		seen.WriteString(err.Error())
	}
	require.Contains(t, seen.String(), `"password"`, "the scan saw real credentials")
	require.Contains(t, logs.String(), "credential issued")
	require.Contains(t, logs.String(), "request refused")
	require.Contains(t, logs.String(), "password mismatch")
	for _, s := range []string{testSecret, testOld, testAPIKey} {
		// The secret sent back as a requested username is refused (it has ':'),
		// so it must not appear either.
		assert.NotContains(t, seen.String(), s, "response or error leaks %q", s)
		assert.NotContains(t, logs.String(), s, "log leaks %q", s)
	}
}
