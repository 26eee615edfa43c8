package whip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streamwire/streamwire/internal/httpserver"
	"github.com/streamwire/streamwire/sdp"
	"github.com/streamwire/streamwire/turnrest"
)

var (
	idPattern   = `[A-Za-z0-9_-]{32}`
	etagPattern = regexp.MustCompile(`^"[A-Za-z0-9_-]{16}"$`)
)

// testMinter mints TURN REST credentials at a fixed time.
func testMinter(t *testing.T) (*turnrest.Minter, time.Time) {
	t.Helper()
	now := time.Unix(1_700_000_000, 0)
	m, err := turnrest.New(turnrest.Config{
		Secrets: []string{"s3cret"},
		URIs:    []string{"turn:turn.example.net:3478?transport=udp", "turns:turn.example.net:5349?transport=tcp"},
		Now:     func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	return m, now
}

// wantLinks are the Link lines of a Config with the STUN server below and
// testMinter's TURN servers, one per line.
func wantLinks(now time.Time) string {
	user := strconv.FormatInt(now.Add(turnrest.DefaultTTL).Unix(), 10)
	cred := `; username="` + user + `"; credential="` + turnrest.Password("s3cret", user) + `"; credential-type="password"`
	return strings.Join([]string{
		`<stun:stun.example.net:3478>; rel="ice-server"`,
		`<turn:turn.example.net:3478?transport=udp>; rel="ice-server"` + cred,
		`<turns:turn.example.net:5349?transport=tcp>; rel="ice-server"` + cred,
	}, "\n")
}

func TestPostCreated(t *testing.T) {
	m, now := testMinter(t)
	hs := newHarness(t, Config{ICEServers: []ICEServer{{URL: "stun:stun.example.net:3478"}}, TURN: m})
	offer := readOffer(t, "ffmpeg8_whip_sendonly.sdp")
	r := hs.do("POST", "/whip/live/cam", string(offer), "Content-Type: application/sdp", "User-Agent: test-agent/1")
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("status %d %s, want 201", r.StatusCode, r.body)
	}
	loc := r.Header.Get("Location")
	if !regexp.MustCompile(`^` + regexp.QuoteMeta(hs.srv.URL) + `/whip/live/cam/` + idPattern + `$`).MatchString(loc) {
		t.Errorf("Location %q is not %s/whip/live/cam/<32 base64url characters>", loc, hs.srv.URL)
	}
	if etag := r.Header.Get("ETag"); !etagPattern.MatchString(etag) {
		t.Errorf("ETag %q is not a quoted strong tag", etag)
	}
	want := map[string]string{
		"Content-Type":   "application/sdp",
		"Content-Length": strconv.Itoa(len(r.body)),
		"Link":           wantLinks(now),
	}
	for k, v := range corsHeaders {
		want[k] = v
	}
	wantHeaders(t, r.Header, want)
	if !strings.HasPrefix(r.body, "v=0\r\n") || !strings.Contains(r.body, "a="+testCandidate+"\r\n") {
		t.Errorf("answer is not the backend's:\n%s", r.body)
	}
	o := hs.be.offers[0]
	id := loc[len(loc)-idLen:]
	if o.Kind != KindWHIP || o.Stream != (Stream{"live", "cam"}) || string(o.SDP) != string(offer) ||
		o.LogID != id[:logIDLen] || o.UserAgent != "test-agent/1" || o.RemoteAddr == "" {
		t.Errorf("backend got %+v", o)
	}
	if logs := hs.logs.String(); !strings.Contains(logs, "session started") || strings.Contains(logs, id) {
		t.Errorf("the log must say the session started and never hold the full session ID:\n%s", logs)
	}
	if n := hs.h.Sessions(KindWHIP); n != 1 {
		t.Errorf("Sessions(KindWHIP) = %d, want 1", n)
	}
}

func TestPlayCreated(t *testing.T) {
	hs := newHarness(t, Config{})
	r := hs.do("POST", "/whep/live/cam", string(readOffer(t, "chromium156_recvonly.sdp")), "Content-Type: application/sdp")
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("status %d %s, want 201", r.StatusCode, r.body)
	}
	if !regexp.MustCompile(`/whep/live/cam/` + idPattern + `$`).MatchString(r.Header.Get("Location")) {
		t.Errorf("Location %q", r.Header.Get("Location"))
	}
	if !strings.Contains(r.body, "a=sendonly") {
		t.Errorf("WHEP answer is not sendonly:\n%s", r.body)
	}
	if hs.be.offers[0].Kind != KindWHEP || hs.h.Sessions(KindWHEP) != 1 || hs.h.Sessions(KindWHIP) != 0 {
		t.Errorf("kind %v, sessions %d/%d", hs.be.offers[0].Kind, hs.h.Sessions(KindWHEP), hs.h.Sessions(KindWHIP))
	}
}

// TestPostRefused covers the answers the handler gives on its own, before
// the backend sees anything.
func TestPostRefused(t *testing.T) {
	hs := newHarness(t, Config{MaxOfferSize: 64 << 10})
	offer := string(readOffer(t, "ffmpeg8_whip_sendonly.sdp"))
	for _, tc := range []struct {
		name, method, path, body string
		hdr                      []string
		status                   int
		want                     map[string]string
	}{
		{"no content type", "POST", "/whip/live/cam", offer, nil, 415, map[string]string{"Accept-Post": "application/sdp"}},
		{"json", "POST", "/whip/live/cam", offer, []string{"Content-Type: application/json"}, 415, map[string]string{"Accept-Post": "application/sdp"}},
		{"sdpfrag on POST", "POST", "/whip/live/cam", offer, []string{"Content-Type: application/trickle-ice-sdpfrag"}, 415, nil},
		{"empty offer", "POST", "/whip/live/cam", "", []string{"Content-Type: application/sdp"}, 400, nil},
		{"over MaxOfferSize", "POST", "/whip/live/cam", offer + strings.Repeat("a=x\r\n", 20<<10), []string{"Content-Type: application/sdp"}, 413, nil},
		{"PUT", "PUT", "/whip/live/cam", offer, []string{"Content-Type: application/sdp"}, 405, map[string]string{"Allow": "POST, OPTIONS, GET, HEAD"}},
		{"PATCH endpoint", "PATCH", "/whip/live/cam", "", nil, 405, map[string]string{"Allow": "POST, OPTIONS, GET, HEAD"}},
		{"DELETE endpoint", "DELETE", "/whep/live/cam", "", nil, 405, map[string]string{"Allow": "POST, OPTIONS, GET, HEAD"}},
		{"no name", "POST", "/whip/live", offer, []string{"Content-Type: application/sdp"}, 404, nil},
		{"prefix only", "POST", "/whip/", offer, []string{"Content-Type: application/sdp"}, 404, nil},
		{"too deep", "POST", "/whip/" + strings.Repeat("a/", MaxNameSegments) + "b", offer, []string{"Content-Type: application/sdp"}, 404, nil},
		// Not shaped like a session ID: part of the name, an endpoint.
		{"bad session ID", "PATCH", "/whip/live/cam/short", "", nil, 405, map[string]string{"Allow": "POST, OPTIONS, GET, HEAD"}},
		{"no such session", "PATCH", "/whip/live/cam/" + strings.Repeat("A", idLen), "", nil, 404, nil},
		{"empty segment", "POST", "/whip/live//cam", offer, []string{"Content-Type: application/sdp"}, 404, nil},
		{"encoded slash", "POST", "/whip/live/a%2Fb", offer, []string{"Content-Type: application/sdp"}, 404, nil},
		{"outside prefixes", "POST", "/other/live/cam", offer, []string{"Content-Type: application/sdp"}, 404, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := hs.do(tc.method, tc.path, tc.body, tc.hdr...)
			if r.StatusCode != tc.status {
				t.Fatalf("status %d (%s), want %d", r.StatusCode, r.body, tc.status)
			}
			want := map[string]string{"Location": "", "ETag": "", "Link": "", "Content-Type": "text/plain; charset=utf-8"}
			for k, v := range corsHeaders {
				want[k] = v
			}
			for k, v := range tc.want {
				want[k] = v
			}
			wantHeaders(t, r.Header, want)
		})
	}
	if n := hs.be.offerCount(); n != 0 {
		t.Errorf("backend saw %d offers, want 0", n)
	}
}

// TestBackendErrors checks the status, Retry-After and body each backend
// error is answered with.
func TestBackendErrors(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		retry  string
		body   string
	}{
		{fmt.Errorf("relay: %w", ErrNotPublished), 409, "2", "whip: stream is not published"},
		{fmt.Errorf("relay: %w", ErrPublisherExists), 409, "", "whip: stream already has a publisher"},
		{ErrOverloaded, 503, "2", "whip: server overloaded"},
		{&Error{Err: ErrOverloaded, RetryAfter: 6500 * time.Millisecond}, 503, "7", "whip: server overloaded"},
		{&Error{Err: ErrNotPublished, RetryAfter: 30 * time.Second, Reason: "publisher expected at 20:00"}, 409, "30", "publisher expected at 20:00"},
		{fmt.Errorf("peer: %w", ErrBadOffer), 400, "", "whip: malformed offer"},
		{fmt.Errorf("peer: %w", ErrUnsupported), 422, "", "whip: not supported by this server"},
		{fmt.Errorf("peer: answer: %w", sdp.ErrNoMedia), 422, "", sdp.ErrNoMedia.Error()},
		{fmt.Errorf("peer: answer: %w", sdp.ErrSetup), 422, "", sdp.ErrSetup.Error()},
		{fmt.Errorf("peer: answer: %w", sdp.ErrParse), 400, "", sdp.ErrParse.Error()},
		{ErrForbidden, 403, "", "whip: forbidden"},
		{&Error{Status: 451, Reason: "not here"}, 451, "", "not here"},
		{&Error{Status: 999, Err: errors.New("bad status")}, 500, "", "internal error"},
		{errors.New("peer: bind 10.1.2.3:5000: address in use"), 500, "", "internal error"},
	} {
		t.Run(tc.err.Error(), func(t *testing.T) {
			hs := newHarness(t, Config{})
			hs.be.err = tc.err
			r := hs.do("POST", "/whip/live/cam", string(readOffer(t, "ffmpeg8_whip_sendonly.sdp")), "Content-Type: application/sdp")
			if r.StatusCode != tc.status || strings.TrimSpace(r.body) != tc.body {
				t.Fatalf("answer %d %q, want %d %q", r.StatusCode, r.body, tc.status, tc.body)
			}
			wantHeaders(t, r.Header, map[string]string{"Retry-After": tc.retry, "Location": "",
				"Access-Control-Expose-Headers": "Location, Link, ETag, Retry-After"})
			if hs.h.Sessions(0) != 0 {
				t.Error("a failed POST left a session")
			}
		})
	}
}

// TestBadAnswer: an answer that ffmpeg or OBS would reject is a backend
// bug, answered 500, and the session it came with is closed.
func TestBadAnswer(t *testing.T) {
	for name, mangle := range map[string]func([]byte) []byte{
		"empty":        func([]byte) []byte { return nil },
		"leading CRLF": func(b []byte) []byte { return append([]byte("\r\n"), b...) },
		"BOM":          func(b []byte) []byte { return append([]byte("\ufeff"), b...) },
	} {
		t.Run(name, func(t *testing.T) {
			hs := newHarness(t, Config{})
			hs.be.mangle = mangle
			r := hs.do("POST", "/whip/live/cam", string(readOffer(t, "ffmpeg8_whip_sendonly.sdp")), "Content-Type: application/sdp")
			if r.StatusCode != http.StatusInternalServerError || r.Header.Get("Location") != "" {
				t.Fatalf("%d, Location %q; want 500 without", r.StatusCode, r.Header.Get("Location"))
			}
			if _, _, closes := hs.be.session(t, 0).counts(); closes != 1 || hs.h.Sessions(0) != 0 {
				t.Errorf("closes %d, sessions %d", closes, hs.h.Sessions(0))
			}
		})
	}
}

func TestWHEPNotPublished(t *testing.T) {
	hs := newHarness(t, Config{RetryAfter: 5 * time.Second})
	r := hs.do("POST", "/whep/live/nobody", string(readOffer(t, "chromium156_recvonly.sdp")), "Content-Type: application/sdp")
	if r.StatusCode != http.StatusConflict {
		t.Fatalf("status %d, want 409", r.StatusCode)
	}
	wantHeaders(t, r.Header, map[string]string{"Retry-After": "5", "Location": ""})

	// The "wait for publisher" option is the backend's: it accepts and holds.
	hs.be.playAny = true
	if r := hs.do("POST", "/whep/live/nobody", string(readOffer(t, "chromium156_recvonly.sdp")), "Content-Type: application/sdp"); r.StatusCode != http.StatusCreated {
		t.Fatalf("with a backend that holds players: %d, want 201", r.StatusCode)
	}
}

func TestMaxSessions(t *testing.T) {
	hs := newHarness(t, Config{MaxSessions: 1})
	first := hs.publish()
	r := hs.do("POST", "/whip/live/cam", string(readOffer(t, "ffmpeg8_whip_sendonly.sdp")), "Content-Type: application/sdp")
	if r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") != "2" {
		t.Fatalf("second POST: %d Retry-After %q, want 503 and 2", r.StatusCode, r.Header.Get("Retry-After"))
	}
	if d := hs.do("DELETE", hs.sessionPath(first), ""); d.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %d", d.StatusCode)
	}
	hs.publish()
}

func TestAuth(t *testing.T) {
	perStream := map[Stream]string{{"live", "cam"}: "camtoken"}
	for _, tc := range []struct {
		name     string
		cfg      Config
		path     string
		hdr      string
		status   int
		wwwAuthn string
	}{
		{"no token configured", Config{}, "/whip/live/cam", "", 201, ""},
		{"token missing", Config{PublishToken: "pub"}, "/whip/live/cam", "", 401, `Bearer realm="whip"`},
		{"token wrong", Config{PublishToken: "pub"}, "/whip/live/cam", "Authorization: Bearer nope", 401, `Bearer realm="whip", error="invalid_token"`},
		{"basic auth", Config{PublishToken: "pub"}, "/whip/live/cam", "Authorization: Basic cHViOnB1Yg==", 401, `Bearer realm="whip", error="invalid_token"`},
		{"token right", Config{PublishToken: "pub"}, "/whip/live/cam", "Authorization: Bearer pub", 201, ""},
		{"scheme in lower case", Config{PublishToken: "pub"}, "/whip/live/cam", "Authorization: bearer pub", 201, ""},
		{"bare token (Eyevinn)", Config{PublishToken: "pub"}, "/whip/live/cam", "Authorization: pub", 201, ""},
		{"publish token does not guard play", Config{PublishToken: "pub"}, "/whep/live/cam", "", 201, ""},
		{"play token", Config{PlayToken: "play"}, "/whep/live/cam", "Authorization: Bearer pub", 401, `Bearer realm="whep", error="invalid_token"`},
		{"per-stream func", Config{Authorize: func(k Kind, s Stream, tok string) bool { return tok == perStream[s] }},
			"/whip/live/cam", "Authorization: Bearer camtoken", 201, ""},
		{"per-stream func, other stream", Config{Authorize: func(k Kind, s Stream, tok string) bool { return tok != "" && tok == perStream[s] }},
			"/whip/live/other", "Authorization: Bearer camtoken", 401, `Bearer realm="whip", error="invalid_token"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t, tc.cfg)
			offer := "ffmpeg8_whip_sendonly.sdp"
			if strings.HasPrefix(tc.path, "/whep") {
				offer = "chromium156_recvonly.sdp"
			}
			hdr := []string{"Content-Type: application/sdp"}
			if tc.hdr != "" {
				hdr = append(hdr, tc.hdr)
			}
			r := hs.do("POST", tc.path, string(readOffer(t, offer)), hdr...)
			if r.StatusCode != tc.status {
				t.Fatalf("status %d %s, want %d", r.StatusCode, r.body, tc.status)
			}
			wantHeaders(t, r.Header, map[string]string{"WWW-Authenticate": tc.wwwAuthn})
			if tc.status == 401 && hs.be.offerCount() != 0 {
				t.Error("the backend saw an unauthorized offer")
			}
		})
	}
}

// countingMinter counts the credentials it mints.
type countingMinter struct {
	m *turnrest.Minter
	n int
}

func (c *countingMinter) Mint(user string) (turnrest.Credential, error) {
	c.n++
	return c.m.Mint(user)
}

func TestOptions(t *testing.T) {
	m, now := testMinter(t)
	cm := &countingMinter{m: m}
	hs := newHarness(t, Config{ICEServers: []ICEServer{{URL: "stun:stun.example.net:3478"}}, TURN: cm, PublishToken: "pub"})

	// A CORS preflight: no token, no Links, no credentials minted.
	r := hs.do("OPTIONS", "/whip/live/cam", "", "Origin: https://page.example",
		"Access-Control-Request-Method: POST", "Access-Control-Request-Headers: authorization, content-type")
	want := map[string]string{"Accept-Post": "application/sdp", "Allow": "POST, OPTIONS, GET, HEAD", "Link": "",
		"Access-Control-Max-Age": "86400"}
	for k, v := range corsHeaders {
		want[k] = v
	}
	if r.StatusCode != http.StatusOK {
		t.Fatalf("preflight: %d", r.StatusCode)
	}
	wantHeaders(t, r.Header, want)
	if cm.n != 0 {
		t.Errorf("a preflight minted %d TURN credentials", cm.n)
	}

	// A plain OPTIONS (OBS's pre-gathering, RFC 9725 §4.6) gets the Links,
	// once authorized.
	if r := hs.do("OPTIONS", "/whip/live/cam", ""); r.StatusCode != http.StatusUnauthorized || r.Header.Get("Link") != "" {
		t.Fatalf("plain OPTIONS without the token: %d with Links %q, want 401 without", r.StatusCode, r.Header.Values("Link"))
	}
	r = hs.do("OPTIONS", "/whip/live/cam", "", "Authorization: Bearer pub")
	want["Link"] = wantLinks(now)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("plain OPTIONS: %d", r.StatusCode)
	}
	wantHeaders(t, r.Header, want)
	if cm.n != 1 {
		t.Errorf("minted %d credentials, want 1", cm.n)
	}

	// OPTIONS on a session URL (the preflight of PATCH and DELETE).
	p := hs.sessionPath(hs.publish("Authorization: Bearer pub"))
	r = hs.do("OPTIONS", p, "", "Access-Control-Request-Method: PATCH")
	wantHeaders(t, r.Header, map[string]string{"Accept-Patch": "application/trickle-ice-sdpfrag",
		"Allow": "PATCH, DELETE, OPTIONS, GET, HEAD", "Access-Control-Allow-Methods": "POST, PATCH, DELETE, OPTIONS", "Link": ""})
}

func TestGetHead(t *testing.T) {
	hs := newHarness(t, Config{})
	p := hs.sessionPath(hs.publish())
	for _, tc := range []struct {
		method, path string
		status       int
		contentType  string
	}{
		{"GET", "/whip/live/cam", 204, ""},
		{"HEAD", "/whip/live/cam", 204, ""},
		{"GET", "/whep/live/cam", 204, ""},
		{"HEAD", "/whep/live/cam", 200, "application/sdp"}, // WHEP discoverability
		{"GET", p, 204, ""},
		{"HEAD", p, 204, ""},
		// No live session of that ID: the endpoint of the stream
		// live/cam/ID, as a nested name with a key of an ID's shape.
		{"GET", p[:len(p)-4] + "AAAA", 204, ""},
		{"HEAD", "/whep" + strings.TrimPrefix(p[:len(p)-4], "/whip") + "AAAA", 200, "application/sdp"},
	} {
		r := hs.do(tc.method, tc.path, "")
		if r.StatusCode != tc.status || r.Header.Get("Content-Type") != tc.contentType || (r.StatusCode < 300 && r.body != "") {
			t.Errorf("%s %s: %d %q %q, want %d %q and no content", tc.method, tc.path, r.StatusCode,
				r.Header.Get("Content-Type"), r.body, tc.status, tc.contentType)
		}
	}
}

func TestCORSOrigins(t *testing.T) {
	hs := newHarness(t, Config{AllowOrigins: []string{"https://app.example"}})
	offer := string(readOffer(t, "ffmpeg8_whip_sendonly.sdp"))
	r := hs.do("POST", "/whip/live/cam", offer, "Content-Type: application/sdp", "Origin: https://app.example")
	wantHeaders(t, r.Header, map[string]string{"Access-Control-Allow-Origin": "https://app.example", "Vary": "Origin",
		"Access-Control-Expose-Headers": "Location, Link, ETag, Retry-After"})
	r = hs.do("POST", "/whip/live/cam", offer, "Content-Type: text/plain", "Origin: https://evil.example")
	wantHeaders(t, r.Header, map[string]string{"Access-Control-Allow-Origin": "", "Vary": "Origin"})

	// Private Network Access preflight from an allowed page.
	r = hs.do("OPTIONS", "/whip/live/cam", "", "Origin: https://app.example", "Access-Control-Request-Method: POST",
		"Access-Control-Request-Private-Network: true")
	wantHeaders(t, r.Header, map[string]string{"Access-Control-Allow-Private-Network": "true"})
	r = hs.do("OPTIONS", "/whip/live/cam", "", "Origin: https://evil.example", "Access-Control-Request-Method: POST",
		"Access-Control-Request-Private-Network: true")
	wantHeaders(t, r.Header, map[string]string{"Access-Control-Allow-Private-Network": ""})
}

// TestMount mounts the handler at configured prefixes next to other routes,
// as the server's URL map does, and checks that it answers nothing outside
// them and that Location follows the prefix.
func TestMount(t *testing.T) {
	be := &fakeBackend{published: map[Stream]bool{{"live", "cam"}: true}}
	h, err := NewHandler(Config{Backend: be, WHIPPath: "/api/whip/", WHEPPath: "/api/whep/"})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	mux := http.NewServeMux()
	mux.Handle("/api/whip/", h)
	mux.Handle("/api/whep/", h)
	mux.HandleFunc("/api/other/", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	hs := &harness{t: t, h: h, be: be, srv: srv}

	r := hs.do("POST", "/api/whip/live/cam", string(readOffer(t, "ffmpeg8_whip_sendonly.sdp")), "Content-Type: application/sdp")
	if r.StatusCode != http.StatusCreated || !regexp.MustCompile(`^`+regexp.QuoteMeta(srv.URL)+`/api/whip/live/cam/`+idPattern+`$`).MatchString(r.Header.Get("Location")) {
		t.Fatalf("POST under the prefix: %d, Location %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := hs.do("POST", "/whip/live/cam", "x", "Content-Type: application/sdp"); r.StatusCode != http.StatusNotFound {
		t.Errorf("default prefix still answered: %d", r.StatusCode)
	}
	if r := hs.do("GET", "/api/other/x", ""); r.StatusCode != http.StatusTeapot {
		t.Errorf("neighbour route: %d", r.StatusCode)
	}
	// Called directly, as a catch-all would, the handler refuses what is not
	// under its prefixes.
	for _, p := range []string{"/", "/api/whip", "/api/whipx/live/cam", "/api/other/live/cam", "/whep/live/cam"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, rec.Code)
		}
	}
}

func TestNewHandlerConfig(t *testing.T) {
	be := &fakeBackend{}
	for _, cfg := range []Config{
		{},
		{Backend: be, WHIPPath: "whip/"},
		{Backend: be, WHIPPath: "/whip"},
		{Backend: be, WHIPPath: "/a b/"},
		{Backend: be, WHIPPath: "/x/", WHEPPath: "/x/"},
		{Backend: be, WHIPPath: "/x/", WHEPPath: "/x/whep/"},
		{Backend: be, ICEServers: []ICEServer{{URL: "http://stun.example"}}},
		{Backend: be, ICEServers: []ICEServer{{URL: "turn:t.example"}}},
		{Backend: be, ICEServers: []ICEServer{{URL: "stun:<x>"}}},
		{Backend: be, ICEServers: []ICEServer{{URL: "turn:t.example", Username: "u\r\nX: y", Credential: "c"}}},
		{Backend: be, PublicURL: "media.example"},
	} {
		if _, err := NewHandler(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("NewHandler(%+v) = %v, want ErrConfig", cfg, err)
		}
	}
	var zero Handler
	rec := httptest.NewRecorder()
	zero.ServeHTTP(rec, httptest.NewRequest("POST", "/whip/a/b", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("zero Handler: %d, want 500", rec.Code)
	}
}

func TestLocation(t *testing.T) {
	offer := string(readOffer(t, "ffmpeg8_whip_sendonly.sdp"))
	post := func(h *Handler, mod func(*http.Request)) string {
		req := httptest.NewRequest("POST", "/whip/live/c%C3%A4m/", strings.NewReader(offer))
		req.Host = "media.example:8443"
		req.Header.Set("Content-Type", "application/sdp")
		req.Header.Set("X-Forwarded-Proto", "https")
		if mod != nil {
			mod(req)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			t.Fatalf("POST: %d %s", rec.Code, rec.Body)
		}
		return regexp.MustCompile(idPattern+`$`).ReplaceAllString(rec.Header().Get("Location"), "ID")
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		mod  func(*http.Request)
		want string
	}{
		{"plain: X-Forwarded-Proto ignored", Config{}, nil, "http://media.example:8443/whip/live/c%C3%A4m/ID"},
		{"TLS", Config{}, func(r *http.Request) { r.TLS = &tls.ConnectionState{} }, "https://media.example:8443/whip/live/c%C3%A4m/ID"},
		{"trusted proxy", Config{TrustForwardedProto: true}, nil, "https://media.example:8443/whip/live/c%C3%A4m/ID"},
		{"trusted proxy, junk", Config{TrustForwardedProto: true}, func(r *http.Request) { r.Header.Set("X-Forwarded-Proto", "javascript") },
			"http://media.example:8443/whip/live/c%C3%A4m/ID"},
		{"public URL", Config{PublicURL: "https://cdn.example/media/"}, nil, "https://cdn.example/media/whip/live/c%C3%A4m/ID"},
		{"no Host", Config{}, func(r *http.Request) { r.Host = "" }, "/whip/live/c%C3%A4m/ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be := &fakeBackend{}
			tc.cfg.Backend = be
			h, err := NewHandler(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			if got := post(h, tc.mod); got != tc.want {
				t.Errorf("Location %q, want %q", got, tc.want)
			}
			if be.offers[0].Stream != (Stream{"live", "cäm"}) {
				t.Errorf("stream %q", be.offers[0].Stream)
			}
		})
	}
}

func TestSessionEndsOnItsOwn(t *testing.T) {
	hs := newHarness(t, Config{})
	p := hs.sessionPath(hs.publish())
	s := hs.be.session(t, 0)
	s.end(errors.New("ice: consent expired"))
	waitFor(t, "the session to leave the table", func() bool { return hs.h.Sessions(0) == 0 })
	if r := hs.do("DELETE", p, ""); r.StatusCode != http.StatusNotFound {
		t.Errorf("DELETE of an ended session: %d, want 404", r.StatusCode)
	}
	waitFor(t, "the end to be logged", func() bool {
		return strings.Contains(hs.logs.String(), "ended by the media side: ice: consent expired")
	})
	if _, _, closes := s.counts(); closes != 1 {
		t.Errorf("Close called %d times, want 1", closes)
	}
}

func TestDelete(t *testing.T) {
	hs := newHarness(t, Config{})
	r := hs.publish()
	p := hs.sessionPath(r)
	// DELETE ignores an entity tag (RFC 9725 §4.3.1), even a stale one.
	d := hs.do("DELETE", p, "", `If-Match: "stale"`, "Authorization: Bearer whatever")
	if d.StatusCode != http.StatusOK || d.body != "" {
		t.Fatalf("DELETE: %d %q, want 200 and no content (OBS wants exactly 200)", d.StatusCode, d.body)
	}
	if _, _, closes := hs.be.session(t, 0).counts(); closes != 1 || hs.h.Sessions(0) != 0 {
		t.Errorf("after DELETE: %d closes, %d sessions", closes, hs.h.Sessions(0))
	}
	for _, m := range []string{"DELETE", "PATCH"} {
		if r := hs.do(m, p, "", "Content-Type: application/trickle-ice-sdpfrag"); r.StatusCode != http.StatusNotFound {
			t.Errorf("%s after DELETE: %d, want 404", m, r.StatusCode)
		}
	}
	// The ID names no session any more: a GET reads as one on the
	// endpoint of the stream live/cam/ID (see the URL map).
	if r := hs.do("GET", p, ""); r.StatusCode != http.StatusNoContent {
		t.Errorf("GET after DELETE: %d, want 204", r.StatusCode)
	}
	// A session URL is bound to its stream and kind.
	p2 := hs.sessionPath(hs.publish())
	id := p2[len(p2)-idLen:]
	for _, other := range []string{"/whip/live/other/" + id, "/whep/live/cam/" + id} {
		if r := hs.do("DELETE", other, ""); r.StatusCode != http.StatusNotFound {
			t.Errorf("DELETE %s: %d, want 404", other, r.StatusCode)
		}
	}
	if r := hs.do("POST", p2, ""); r.StatusCode != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "PATCH, DELETE, OPTIONS, GET, HEAD" {
		t.Errorf("POST to a session: %d Allow %q", r.StatusCode, r.Header.Get("Allow"))
	}
}

func TestHandlerClose(t *testing.T) {
	hs := newHarness(t, Config{})
	hs.publish()
	hs.publish()
	if err := hs.h.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, _, closes := hs.be.session(t, i).counts(); closes != 1 {
			t.Errorf("session %d closed %d times", i, closes)
		}
	}
	r := hs.do("POST", "/whip/live/cam", string(readOffer(t, "ffmpeg8_whip_sendonly.sdp")), "Content-Type: application/sdp")
	if r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Errorf("POST after Close: %d Retry-After %q, want 503 with Retry-After", r.StatusCode, r.Header.Get("Retry-After"))
	}
}

// TestClientGoneDuringSetup: a session the backend makes for a client that
// has left is closed, not kept.
func TestClientGoneDuringSetup(t *testing.T) {
	be := &fakeBackend{block: make(chan struct{})}
	h, err := NewHandler(Config{Backend: be})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequest("POST", "/whip/live/cam", strings.NewReader(string(readOffer(t, "ffmpeg8_whip_sendonly.sdp")))).WithContext(ctx)
	req.Header.Set("Content-Type", "application/sdp")
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(httptest.NewRecorder(), req)
	}()
	waitFor(t, "the backend to get the offer", func() bool { return be.offerCount() == 1 })
	cancel()
	close(be.block)
	<-done
	if _, _, closes := be.session(t, 0).counts(); closes != 1 || h.Sessions(0) != 0 {
		t.Errorf("closes %d, sessions %d; want the session closed and not kept", closes, h.Sessions(0))
	}
}

func TestConnectDiagnostic(t *testing.T) {
	hs := newHarness(t, Config{ConnectTimeout: 30 * time.Millisecond, ConnectHint: "try -public-ip"})
	hs.publish()
	const line = "no ICE connectivity check from the client"
	waitFor(t, "the diagnostic", func() bool { return strings.Contains(hs.logs.String(), line) })
	logs := hs.logs.String()
	for _, want := range []string{"stream=live/cam", `candidates="` + strings.TrimPrefix(testCandidate, "candidate:") + `"`, `hint="try -public-ip"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("diagnostic lacks %s:\n%s", want, logs)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if n := strings.Count(hs.logs.String(), line); n != 1 {
		t.Errorf("diagnostic logged %d times, want once", n)
	}

	// A session whose client checks in time is not reported.
	hs2 := newHarness(t, Config{ConnectTimeout: 30 * time.Millisecond})
	hs2.be.connected = true
	hs2.publish()
	time.Sleep(100 * time.Millisecond)
	if strings.Contains(hs2.logs.String(), line) {
		t.Errorf("a connected session was reported:\n%s", hs2.logs.String())
	}
}

func TestErrorIs(t *testing.T) {
	for _, tc := range []struct {
		e    *Error
		is   []error
		isnt []error
	}{
		{&Error{Status: 503}, []error{ErrOverloaded}, []error{ErrClosed, ErrNotPublished}},
		{&Error{Status: 409}, []error{ErrNotPublished, ErrPublisherExists}, []error{ErrOverloaded}},
		{&Error{Status: 404}, []error{ErrNoSession}, nil},
		{&Error{Status: 400}, []error{ErrBadOffer}, []error{sdp.ErrParse}},
		{&Error{Status: 500, Err: sdp.ErrConfig}, []error{sdp.ErrConfig}, []error{ErrBadOffer}},
	} {
		for _, target := range tc.is {
			if !errors.Is(tc.e, target) {
				t.Errorf("%v is not %v", tc.e, target)
			}
		}
		for _, target := range tc.isnt {
			if errors.Is(tc.e, target) {
				t.Errorf("%v is %v", tc.e, target)
			}
		}
	}
}

// TestErrorText: an Error names its status, that of its Err when Status
// is zero, its reason and its cause.
func TestErrorText(t *testing.T) {
	for _, tc := range []struct {
		e    *Error
		want string
	}{
		{&Error{Err: ErrUnsupported, Reason: "B-frames"}, "whip: 422 Unprocessable Entity: B-frames: " + ErrUnsupported.Error()},
		{&Error{Status: 503}, "whip: 503 Service Unavailable"},
		{&Error{Err: errors.New("disk")}, "whip: 500 Internal Server Error: disk"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

// TestServerBodyCap: behind internal/httpserver's body cap, smaller than
// MaxOfferSize, an offer over the cap is answered 413 by the handler.
func TestServerBodyCap(t *testing.T) {
	be := &fakeBackend{}
	h, err := NewHandler(Config{Backend: be})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	srv := httptest.NewServer(httpserver.LimitBody(h, 1024))
	defer srv.Close()
	for _, chunked := range []bool{false, true} {
		body := string(readOffer(t, "ffmpeg8_whip_sendonly.sdp"))
		req, err := http.NewRequest("POST", srv.URL+"/whip/live/cam", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if chunked {
			req.ContentLength = -1 // no length: cut while reading
		}
		req.Header.Set("Content-Type", "application/sdp")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("chunked %v: %d, want 413 with CORS headers", chunked, resp.StatusCode)
		}
	}
	if be.offerCount() != 0 {
		t.Error("the backend saw an offer over the cap")
	}
}
