package whip

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzParseLinks(f *testing.F) {
	for _, s := range []string{
		`<stun:stun.example.net>; rel="ice-server"`,
		`<turn:t?transport=udp>; rel="ice-server"; username="u"; credential="p\"q"; credential-type="password"`,
		`<a>; rel=x, <b>;;  rel="y z" ; t*=UTF-8''%e2%82%ac`,
		`<a`, `<a>; "`, `, ,`, `<a>; n=`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		links, err := ParseLinks(line)
		if err != nil {
			return
		}
		for _, l := range links {
			if strings.ContainsRune(l.Target, '>') {
				t.Errorf("target %q holds '>'", l.Target)
			}
			for _, p := range l.Params {
				if p.Name == "" || p.Name != strings.ToLower(p.Name) || p.Name == "rel" {
					t.Errorf("parameter name %q", p.Name)
				}
			}
		}
	})
}

// FuzzLinkRoundTrip: whatever credentials a Config or a minter holds, the
// Link value written for them reads back the same.
func FuzzLinkRoundTrip(f *testing.F) {
	f.Add("turn.example.net:3478?transport=udp", "1700086400:user", "b64+/pw==")
	f.Add("t", `a"b\c`, `;,<>"`)
	f.Fuzz(func(t *testing.T, host, user, cred string) {
		s := ICEServer{URL: "turn:" + host, Username: user, Credential: cred}
		if checkICEServer(s) != nil || !utf8.ValidString(user+cred) {
			return
		}
		links, err := ParseLinks(s.linkValue())
		if err != nil {
			t.Fatalf("%q: %v", s.linkValue(), err)
		}
		if got := ICEServers(links); len(got) != 1 || got[0] != s {
			t.Fatalf("%q read back as %+v", s.linkValue(), got)
		}
	})
}

func FuzzIfMatch(f *testing.F) {
	for _, s := range []string{`"abc"`, `*`, `"*"`, `W/"abc"`, `"a", "abc"`, `abc`, `"abc`, `W/*`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		present, match, err := ifMatch([]string{v}, `"abc"`)
		if match && (!present || err != nil) {
			t.Errorf("ifMatch(%q) = %v, %v, %v", v, present, match, err)
		}
		// Only the wildcard or the tag itself matches; W/"abc" alone never does.
		if match && !strings.Contains(v, "*") && !strings.Contains(strings.ReplaceAll(v, `W/"abc"`, ""), "abc") {
			t.Errorf("ifMatch(%q) matched", v)
		}
	})
}

func FuzzParseResource(f *testing.F) {
	for _, s := range []string{"live/cam", "live/cam/", "live/cam/" + strings.Repeat("A", idLen), "a%2Fb/c", "%ff/x", "../x", "a/b/c/d"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, rest string, session bool) {
		s, id, err := parseResource(rest, func(Stream, string) bool { return session })
		if err != nil {
			return
		}
		segs := strings.Split(s.String(), "/")
		if len(segs) < 2 || len(segs) > MaxNameSegments || strings.ContainsRune(s.App, '/') {
			t.Fatalf("parseResource(%q) accepted %+v", rest, s)
		}
		for _, n := range segs {
			if n == "" || len(n) > MaxNameLen || n == "." || n == ".." || !utf8.ValidString(n) {
				t.Fatalf("parseResource(%q) accepted segment %q", rest, n)
			}
		}
		if id != "" && !validID(id) {
			t.Fatalf("parseResource(%q) accepted ID %q", rest, id)
		}
		// What a client builds from the names names the same stream.
		s2, _, err := parseResource(s.EscapedPath(), func(Stream, string) bool { return false })
		if err != nil || s2 != s {
			t.Fatalf("%+v escaped reads back as %+v, %v", s, s2, err)
		}
		if s3, err := ParseStream(s.EscapedPath()); err != nil || s3 != s {
			t.Fatalf("ParseStream(%q) = %+v, %v", s.EscapedPath(), s3, err)
		}
	})
}

// FuzzPatch sends arbitrary PATCH bodies, Content-Types and If-Match values
// to a live session.
func FuzzPatch(f *testing.F) {
	for _, s := range []struct{ ct, ifMatch, body string }{
		{"application/trickle-ice-sdpfrag", "", trickleFrag(offerUfragFF, offerPwdFF)},
		{"application/trickle-ice-sdpfrag", "*", trickleFrag("new1", "newpassword0123456789ab")},
		{"application/trickle-ice-sdpfrag", `"x"`, "a=end-of-candidates\r\n"},
		{"application/sdp", "", "v=0\r\n"},
		{"application/trickle-ice-sdpfrag", "", "m=audio 9 X 0\r\n"},
	} {
		f.Add(s.ct, s.ifMatch, s.body)
	}
	be := &fakeBackend{}
	h, err := NewHandler(Config{Backend: be})
	if err != nil {
		f.Fatal(err)
	}
	defer h.Close()
	req := httptest.NewRequest("POST", "/whip/live/cam", strings.NewReader(string(readOffer(f, "ffmpeg8_whip_sendonly.sdp"))))
	req.Header.Set("Content-Type", "application/sdp")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		f.Fatalf("POST: %d", rec.Code)
	}
	loc, _ := url.Parse(rec.Header().Get("Location"))
	f.Fuzz(func(t *testing.T, ct, ifMatch, body string) {
		req := httptest.NewRequest("PATCH", loc.Path, strings.NewReader(body))
		req.Header.Set("Content-Type", ct)
		if ifMatch != "" {
			req.Header.Set("If-Match", ifMatch)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200:
			if rec.Header().Get("ETag") == "" {
				t.Error("200 without ETag")
			}
		case 204, 400, 412, 413, 415, 422:
		default:
			t.Errorf("PATCH %q %q %q: %d %s", ct, ifMatch, body, rec.Code, rec.Body)
		}
	})
}
