package whip

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/streamwire/streamwire/sdp"
)

// The ICE credentials of ffmpeg8_whip_sendonly.sdp, which the harness
// publishes.
const (
	offerUfragFF = "3f9a1c0e"
	offerPwdFF   = "8d5e0b7c2a914f36b1e07d9c4a2f8e65"
)

// trickleFrag is a trickle body as browsers' WHIP clients build it (medooze
// whip.js): session-level credentials, the first m-line, candidates and
// end-of-candidates.
func trickleFrag(ufrag, pwd string) string {
	return "a=ice-ufrag:" + ufrag + "\r\na=ice-pwd:" + pwd + "\r\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n" +
		"a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 ufrag " + ufrag + " network-id 1\r\n" +
		"a=end-of-candidates\r\n"
}

const fragType = "Content-Type: application/trickle-ice-sdpfrag"

func TestPatchTrickle(t *testing.T) {
	hs := newHarness(t, Config{})
	r := hs.publish()
	p, etag := hs.sessionPath(r), r.Header.Get("ETag")
	s := hs.be.session(t, 0)
	body := trickleFrag(offerUfragFF, offerPwdFF)
	trickled := 0
	for _, tc := range []struct {
		name   string
		body   string
		hdr    []string
		status int
	}{
		{"no If-Match (medooze whep.js)", body, []string{fragType}, 204},
		{"If-Match current", body, []string{fragType, "If-Match: " + etag}, 204},
		{"If-Match star", body, []string{fragType, `If-Match: *`}, 204},
		{"If-Match quoted star (RFC 9725's example)", body, []string{fragType, `If-Match: "*"`}, 204},
		{"If-Match list", body, []string{fragType, `If-Match: "other", ` + etag}, 204},
		{"If-Match unquoted", body, []string{fragType, "If-Match: " + strings.Trim(etag, `"`)}, 204},
		{"no credentials", "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=" + testCandidate + "\r\n", []string{fragType}, 204},
		{"charset parameter", body, []string{fragType + "; charset=utf-8"}, 204},
		{"If-Match stale", body, []string{fragType, `If-Match: "stale"`}, 412},
		{"If-Match weak", body, []string{fragType, "If-Match: W/" + etag}, 412},
		{"If-Match malformed", body, []string{fragType, `If-Match: "unterminated`}, 400},
		{"no Content-Type", body, nil, 415},
		{"Content-Type sdp", body, []string{"Content-Type: application/sdp"}, 415},
		{"unparsable", "this is not a fragment\r\n", []string{fragType}, 400},
		{"bad candidate", "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1 1 udp\r\n", []string{fragType}, 400},
		{"over MaxOfferSize", body + strings.Repeat("a=x\r\n", sdp.MaxSize/5), []string{fragType}, 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := hs.do("PATCH", p, tc.body, tc.hdr...)
			if r.StatusCode != tc.status {
				t.Fatalf("status %d %q, want %d", r.StatusCode, r.body, tc.status)
			}
			if tc.status == 204 {
				trickled++
				if r.body != "" || r.Header.Get("ETag") != "" {
					t.Errorf("204 with body %q or ETag %q (RFC 9725 §4.3.2 forbids both)", r.body, r.Header.Get("ETag"))
				}
			}
			if tc.status == 415 {
				wantHeaders(t, r.Header, map[string]string{"Accept-Patch": "application/trickle-ice-sdpfrag"})
			}
			wantHeaders(t, r.Header, map[string]string{"Access-Control-Allow-Origin": "*"})
			if n, restarts, _ := s.counts(); n != trickled || restarts != 0 {
				t.Errorf("backend saw %d trickles and %d restarts, want %d and 0", n, restarts, trickled)
			}
		})
	}
	s.mu.Lock()
	first := s.trickles[0]
	s.mu.Unlock()
	if len(first.Media) != 1 || first.Media[0].Mid != "0" || len(first.Media[0].Candidates) != 1 || !first.Media[0].EndOfCandidates {
		t.Errorf("backend got fragment %+v", first)
	}

	s.trickleErr = fmt.Errorf("peer: %w", ErrUnsupported) // a session that does not trickle
	if r := hs.do("PATCH", p, body, fragType); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("trickle to a session without trickle support: %d, want 422", r.StatusCode)
	}
}

func TestPatchStrict(t *testing.T) {
	hs := newHarness(t, Config{StrictIfMatch: true})
	r := hs.publish()
	p, etag := hs.sessionPath(r), r.Header.Get("ETag")
	body := trickleFrag(offerUfragFF, offerPwdFF)
	if r := hs.do("PATCH", p, body, fragType); r.StatusCode != http.StatusPreconditionRequired {
		t.Errorf("no If-Match in strict mode: %d, want 428", r.StatusCode)
	}
	if r := hs.do("PATCH", p, body, fragType, "If-Match: "+etag); r.StatusCode != http.StatusNoContent {
		t.Errorf("If-Match in strict mode: %d, want 204", r.StatusCode)
	}
	if r := hs.do("PATCH", p, trickleFrag("newufrag", "newpassword0123456789ab"), fragType, `If-Match: *`); r.StatusCode != http.StatusOK {
		t.Errorf("restart in strict mode: %d, want 200", r.StatusCode)
	}
}

func TestPatchRestart(t *testing.T) {
	hs := newHarness(t, Config{})
	r := hs.publish()
	p, etag0 := hs.sessionPath(r), r.Header.Get("ETag")
	s := hs.be.session(t, 0)

	// RFC 9725 §4.3.3: new credentials with If-Match "*" restart ICE.
	rr := hs.do("PATCH", p, trickleFrag("ysXw", "vw5LmwG4y/e6dPP/zAP9Gp5k"), fragType, `If-Match: *`)
	if rr.StatusCode != http.StatusOK {
		t.Fatalf("restart: %d %s", rr.StatusCode, rr.body)
	}
	etag1 := rr.Header.Get("ETag")
	if !etagPattern.MatchString(etag1) || etag1 == etag0 {
		t.Errorf("restart ETag %q (was %q): want a new strong tag", etag1, etag0)
	}
	wantHeaders(t, rr.Header, map[string]string{"Content-Type": "application/trickle-ice-sdpfrag",
		"Access-Control-Expose-Headers": "Location, Link, ETag, Retry-After"})
	frag, err := sdp.ParseSDPFrag([]byte(rr.body))
	if err != nil || !frag.ICELite || frag.Ufrag != "srvufrag1" || len(frag.Media) != 1 || len(frag.Media[0].Candidates) != 1 {
		t.Fatalf("restart answer %q: %+v, %v", rr.body, frag, err)
	}
	if !strings.Contains(rr.body, "a=ice-ufrag:srvufrag1\r\n") { // whep.js matches /a=ice-ufrag:(.*)\r\n/
		t.Errorf("restart answer lines do not end in CRLF: %q", rr.body)
	}
	if _, restarts, _ := s.counts(); restarts != 1 || s.restarts[0].Ufrag != "ysXw" {
		t.Fatalf("backend restarts %d", restarts)
	}

	// The old ETag is stale now; the new one works for the new ufrag.
	if r := hs.do("PATCH", p, trickleFrag("ysXw", "vw5LmwG4y/e6dPP/zAP9Gp5k"), fragType, "If-Match: "+etag0); r.StatusCode != http.StatusPreconditionFailed {
		t.Errorf("trickle with the old ETag: %d, want 412", r.StatusCode)
	}
	if r := hs.do("PATCH", p, trickleFrag("ysXw", "vw5LmwG4y/e6dPP/zAP9Gp5k"), fragType, "If-Match: "+etag1); r.StatusCode != http.StatusNoContent {
		t.Errorf("trickle with the new ETag: %d, want 204", r.StatusCode)
	}
	// A trickle of the replaced ICE session that arrives late, without
	// If-Match, is dropped (RFC 8840 §4.4), not taken for a restart.
	if r := hs.do("PATCH", p, trickleFrag(offerUfragFF, offerPwdFF), fragType); r.StatusCode != http.StatusNoContent {
		t.Errorf("late trickle: %d, want 204", r.StatusCode)
	}
	if trickles, restarts, _ := s.counts(); trickles != 1 || restarts != 1 {
		t.Errorf("backend saw %d trickles and %d restarts, want 1 and 1", trickles, restarts)
	}

	// Credentials inside the m-section (RFC 9725's example) restart too.
	media := "a=group:BUNDLE 0 1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=ice-ufrag:Mx2q\r\na=ice-pwd:mediapassword0123456789\r\n"
	rr = hs.do("PATCH", p, media, fragType, `If-Match: "*"`)
	if rr.StatusCode != http.StatusOK || rr.Header.Get("ETag") == etag1 {
		t.Errorf("restart with media-level credentials: %d ETag %q", rr.StatusCode, rr.Header.Get("ETag"))
	}
	etag2 := rr.Header.Get("ETag")

	// A failed restart keeps the old ICE session and its ETag.
	s.restartErr = fmt.Errorf("peer: %w", ErrUnsupported)
	if r := hs.do("PATCH", p, trickleFrag("fail", "failpassword0123456789a"), fragType, `If-Match: *`); r.StatusCode != http.StatusUnprocessableEntity || r.Header.Get("ETag") != "" {
		t.Errorf("failed restart: %d ETag %q, want 422 without ETag", r.StatusCode, r.Header.Get("ETag"))
	}
	if r := hs.do("PATCH", p, trickleFrag("Mx2q", "mediapassword0123456789"), fragType, "If-Match: "+etag2); r.StatusCode != http.StatusNoContent {
		t.Errorf("trickle after a failed restart: %d, want 204", r.StatusCode)
	}
}

// TestConcurrentPatches runs overlapping PATCHes (RFC 9725 §4.3.1 allows
// them), restarts and a DELETE on one session; run it with -race.
func TestConcurrentPatches(t *testing.T) {
	hs := newHarness(t, Config{})
	p := hs.sessionPath(hs.publish())
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, hdr := trickleFrag(offerUfragFF, offerPwdFF), []string{fragType}
			if i%4 == 0 {
				body, hdr = trickleFrag(fmt.Sprintf("restart%d", i), "restartpassword01234567"), []string{fragType, "If-Match: *"}
			}
			for range 5 {
				r := hs.do("PATCH", p, body, hdr...)
				switch r.StatusCode {
				case 200, 204, 404:
				default:
					t.Errorf("PATCH: %d %s", r.StatusCode, r.body)
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if r := hs.do("DELETE", p, ""); r.StatusCode != http.StatusOK {
			t.Errorf("DELETE: %d", r.StatusCode)
		}
	}()
	wg.Wait()
	if hs.h.Sessions(0) != 0 {
		t.Error("session left after DELETE")
	}
}
