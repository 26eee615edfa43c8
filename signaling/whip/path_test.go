package whip

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestNestedNames: a stream whose NAME has several segments (an RTMP
// publisher's rtmp://HOST/live/a/b) is published and played at
// /whip/live/a/b and /whep/live/a/b; its sessions' Locations extend those
// paths, and PATCH, DELETE and a browser's preflight of them reach the
// session. A last segment of an ID's shape (a 32-hex-digit stream key)
// names the stream when no session of it is live, so POSTs to it work.
// Before, every path of more than APP/NAME was a session URL or a 404.
func TestNestedNames(t *testing.T) {
	hs := newHarness(t, Config{})
	offer := string(readOffer(t, "ffmpeg8_whip_sendonly.sdp"))
	key := strings.Repeat("0123456789abcdef", 2)
	for i, c := range []struct {
		path   string
		stream Stream
	}{
		{"/whip/live/a/b", Stream{"live", "a/b"}},
		{"/whip/live/x%20y/c%C3%A4m/z", Stream{"live", "x y/cäm/z"}},
		{"/whip/live/user/" + key, Stream{"live", "user/" + key}},
	} {
		r := hs.do("POST", c.path, offer, "Content-Type: application/sdp")
		if r.StatusCode != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", c.path, r.StatusCode, r.body)
		}
		if got := hs.be.offers[i].Stream; got != c.stream {
			t.Errorf("POST %s: stream %+v, want %+v", c.path, got, c.stream)
		}
		if loc := r.Header.Get("Location"); !regexp.MustCompile(`^` + regexp.QuoteMeta(hs.srv.URL+c.path) + `/` + idPattern + `$`).MatchString(loc) {
			t.Errorf("POST %s: Location %q", c.path, loc)
		}
		p := hs.sessionPath(r)
		pre := hs.do("OPTIONS", p, "", "Origin: https://example.com", "Access-Control-Request-Method: DELETE")
		if pre.StatusCode != http.StatusOK || pre.Header.Get("Accept-Patch") != typeSDPFrag {
			t.Errorf("preflight of DELETE %s: %d Accept-Patch %q", p, pre.StatusCode, pre.Header.Get("Accept-Patch"))
		}
		if g := hs.do("GET", p, ""); g.StatusCode != http.StatusNoContent {
			t.Errorf("GET %s: %d", p, g.StatusCode)
		}
		if post := hs.do("POST", p, offer, "Content-Type: application/sdp"); post.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST to the live session %s: %d, want 405", p, post.StatusCode)
		}
		patch := hs.do("PATCH", p, trickleFrag(offerUfragFF, offerPwdFF), "Content-Type: "+typeSDPFrag)
		if patch.StatusCode != http.StatusNoContent {
			t.Errorf("PATCH %s: %d %s", p, patch.StatusCode, patch.body)
		}
		if trickles, _, _ := hs.be.session(t, i).counts(); trickles != 1 {
			t.Errorf("PATCH %s reached the session %d times", p, trickles)
		}
		if d := hs.do("DELETE", p, ""); d.StatusCode != http.StatusOK {
			t.Errorf("DELETE %s: %d", p, d.StatusCode)
		}
		if _, _, closes := hs.be.session(t, i).counts(); closes != 1 {
			t.Errorf("DELETE %s: session closed %d times", p, closes)
		}
		if d := hs.do("DELETE", p, ""); d.StatusCode != http.StatusNotFound {
			t.Errorf("second DELETE %s: %d, want 404", p, d.StatusCode)
		}
	}

	// WHEP of a nested name, published.
	hs.be.mu.Lock()
	hs.be.published = map[Stream]bool{{App: "live", Name: "a/b"}: true}
	hs.be.mu.Unlock()
	r := hs.do("POST", "/whep/live/a/b", string(readOffer(t, "chromium156_recvonly.sdp")), "Content-Type: application/sdp")
	if r.StatusCode != http.StatusCreated || !strings.Contains(r.Header.Get("Location"), "/whep/live/a/b/") {
		t.Fatalf("WHEP POST /whep/live/a/b: %d Location %q %s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	if d := hs.do("DELETE", hs.sessionPath(r), ""); d.StatusCode != http.StatusOK {
		t.Errorf("WHEP DELETE: %d", d.StatusCode)
	}
}
