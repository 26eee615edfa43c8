package whip

// Replays of what real WHIP and WHEP clients send, and checks of their
// answers with the rules those clients apply. OBS, ffmpeg's WHIP muxer and
// GStreamer's whipclientsink are not installed on these machines: their
// request shapes are rebuilt from their source (obs-studio
// plugins/obs-webrtc/whip-output.cpp and whip-utils.h; FFmpeg
// libavformat/whip.c and http.c; gst-plugins-rs net/webrtc/src/whip_signaller
// and utils.rs), as are the parsing rules of the answers. medooze's
// whip-whep 1.2.0 (whep.js, whip.js) and Eyevinn's webrtc-player WHEP adapter
// are browser code, replayed here the same way; the lead's end-to-end tests
// run the real medooze client in Chromium.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// rawExchange sends a request head (lines ending in CRLF, without the blank
// line) and body over a new connection, as a client that is not Go's would,
// and returns the final response with its body. With expect100 it waits for
// the interim 100 Continue before the body, as libcurl does.
func rawExchange(t *testing.T, addr, head string, body []byte, expect100 bool) (*http.Response, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	if _, err := io.WriteString(conn, head+"\r\n"); err != nil {
		t.Fatal(err)
	}
	if expect100 {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusContinue {
			b, _ := io.ReadAll(resp.Body)
			return resp, string(b)
		}
	}
	if _, err := conn.Write(body); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// obsICEServers parses Link header lines as OBS does (whip-output.cpp
// ParseLinkHeader): each line split on ','; in each piece the ';'-separated
// token that starts with "<stun:" or "<turn:" is the URL, and the text
// between the first and the last '"' of the tokens containing "username="
// and "credential=" are the credentials. A piece without such a URL (a
// turns: link) yields nothing usable.
func obsICEServers(lines []string) []ICEServer {
	var servers []ICEServer
	for _, line := range lines {
		for _, piece := range strings.Split(line, ",") {
			var s ICEServer
			for _, tok := range strings.Split(piece, ";") {
				value := func() string { return tok[strings.Index(tok, `"`)+1 : strings.LastIndex(tok, `"`)] }
				switch {
				case strings.HasPrefix(tok, "<stun:") || strings.HasPrefix(tok, "<turn:"):
					s.URL = tok[1:strings.Index(tok, ">")]
				case strings.Contains(tok, "username="):
					s.Username = value()
				case strings.Contains(tok, "credential="):
					s.Credential = value()
				}
			}
			if s.URL != "" {
				servers = append(servers, s)
			}
		}
	}
	return servers
}

// TestOBS replays OBS Studio 30+'s WHIP output (libcurl): POST with
// Content-Type, Bearer token and OBS's User-Agent, Expect: 100-continue as
// libcurl sends it for a body this size; OBS then demands exactly 201, a
// non-empty body, at least one Location (redirects + 1), takes the answer from
// the first "v=0", and configures the ICE servers of the Link headers. At
// stop it DELETEs with the token and logs anything but 200 as a failure.
func TestOBS(t *testing.T) {
	m, now := testMinter(t)
	hs := newHarness(t, Config{ICEServers: []ICEServer{{URL: "stun:stun.example.net:3478"}}, TURN: m, PublishToken: "obs-key"})
	addr := hs.srv.Listener.Addr().String()
	offer := readOffer(t, "obs30_whip_sendonly.sdp")
	const ua = "User-Agent: Mozilla/5.0 (OBS-Studio/30.2.3; Linux x86_64; en-US)\r\n"
	resp, body := rawExchange(t, addr, "POST /whip/live/cam HTTP/1.1\r\nHost: "+addr+"\r\nAccept: */*\r\n"+
		"Content-Type: application/sdp\r\nAuthorization: Bearer obs-key\r\n"+ua+
		fmt.Sprintf("Content-Length: %d\r\nExpect: 100-continue\r\n", len(offer)), offer, true)
	if resp.StatusCode != 201 {
		t.Fatalf("OBS requires exactly 201, got %d %s", resp.StatusCode, body)
	}
	if body == "" || !strings.Contains(body, "v=0") {
		t.Fatalf("OBS: empty body or no v=0: %q", body)
	}
	locs := resp.Header.Values("Location")
	if len(locs) < 1 || !strings.HasPrefix(locs[len(locs)-1], "http") {
		t.Fatalf("OBS needs a Location, absolute so that it keeps it as it is: %q", locs)
	}
	answer := body[strings.Index(body, "v=0"):]
	if !strings.Contains(answer, "a=recvonly") || !strings.Contains(answer, "a="+testCandidate) {
		t.Errorf("answer to OBS:\n%s", answer)
	}
	user := fmt.Sprint(now.Add(24 * time.Hour).Unix())
	servers := obsICEServers(resp.Header.Values("Link"))
	if len(servers) != 2 || servers[0] != (ICEServer{URL: "stun:stun.example.net:3478"}) ||
		servers[1].URL != "turn:turn.example.net:3478?transport=udp" || servers[1].Username != user || servers[1].Credential == "" {
		t.Errorf("OBS reads ICE servers %+v", servers)
	}

	u, err := url.Parse(locs[len(locs)-1])
	if err != nil {
		t.Fatal(err)
	}
	resp, body = rawExchange(t, addr, "DELETE "+u.RequestURI()+" HTTP/1.1\r\nHost: "+addr+"\r\nAccept: */*\r\n"+
		"Authorization: Bearer obs-key\r\n"+ua, nil, false)
	if resp.StatusCode != 200 {
		t.Errorf("OBS logs a DELETE answered %d %q as a failure; want 200", resp.StatusCode, body)
	}
}

// TestFFmpeg replays FFmpeg 8's WHIP muxer (libavformat/whip.c over http.c):
// a non-chunked POST with Cache-Control: no-cache, Content-Type and the
// -authorization token, ffmpeg's own User-Agent and Connection: close. It
// fails on a 4xx or 5xx, needs an answer of at most 8192 bytes that starts
// with "v=", takes the first a=ice-ufrag and a=ice-pwd and the first
// candidate that holds "udp" and then "host", read as "%s %d %s %d typ host"
// from "udp" on. Its offer says a=setup:passive, so the answer must say
// active. It DELETEs the Location at the end.
func TestFFmpeg(t *testing.T) {
	hs := newHarness(t, Config{PublishToken: "ff-token"})
	addr := hs.srv.Listener.Addr().String()
	offer := readOffer(t, "ffmpeg8_whip_sendonly.sdp")
	resp, body := rawExchange(t, addr, "POST /whip/live/cam HTTP/1.1\r\nUser-Agent: Lavf/62.3.100\r\nAccept: */*\r\n"+
		"Cache-Control: no-cache\r\nContent-Type: application/sdp\r\nAuthorization: Bearer ff-token\r\n"+
		"Connection: close\r\nHost: "+addr+"\r\n"+fmt.Sprintf("Content-Length: %d\r\n", len(offer)), offer, false)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("ffmpeg fails on %d %s", resp.StatusCode, body)
	}
	if !strings.HasPrefix(body, "v=") || len(body) > 8192 {
		t.Fatalf("ffmpeg wants an answer starting with v= of at most 8192 bytes, got %d bytes: %.40q", len(body), body)
	}
	var ufrag, pwd, proto, host string
	var prio, port int
	for line := range strings.Lines(body) {
		line = strings.TrimRight(line, "\r\n")
		switch {
		case strings.HasPrefix(line, "a=ice-ufrag:") && ufrag == "":
			ufrag = line[len("a=ice-ufrag:"):]
		case strings.HasPrefix(line, "a=ice-pwd:") && pwd == "":
			pwd = line[len("a=ice-pwd:"):]
		case strings.HasPrefix(line, "a=candidate:") && proto == "":
			i := strings.Index(strings.ToLower(line), "udp")
			if i < 0 || !strings.Contains(strings.ToLower(line[i:]), "host") {
				continue
			}
			if n, err := fmt.Sscanf(line[i:], "%s %d %s %d typ host", &proto, &prio, &host, &port); n != 4 || err != nil {
				t.Fatalf("ffmpeg cannot read candidate %q: %v", line, err)
			}
		}
	}
	if ufrag == "" || pwd == "" || !strings.EqualFold(proto, "udp") || host != "127.0.0.1" || port != 3478 {
		t.Errorf("ffmpeg reads ufrag %q pwd %q candidate %s %s:%d", ufrag, pwd, proto, host, port)
	}
	if !strings.Contains(body, "a=setup:active") {
		t.Errorf("answer to ffmpeg's passive offer is not active:\n%s", body)
	}
	loc := resp.Header.Get("Location")
	u, err := url.Parse(loc)
	if err != nil || !u.IsAbs() {
		t.Fatalf("Location %q: %v", loc, err)
	}
	resp, body = rawExchange(t, addr, "DELETE "+u.RequestURI()+" HTTP/1.1\r\nUser-Agent: Lavf/62.3.100\r\nAccept: */*\r\n"+
		"Cache-Control: no-cache\r\nAuthorization: Bearer ff-token\r\nConnection: close\r\nHost: "+addr+"\r\n", nil, false)
	if resp.StatusCode != 200 {
		t.Errorf("DELETE: %d %q", resp.StatusCode, body)
	}
	if hs.h.Sessions(0) != 0 {
		t.Error("session left after ffmpeg's DELETE")
	}
}

// TestGStreamer replays gst-plugins-rs whipclientsink (whip_signaller,
// reqwest): it POSTs the offer with all candidates after gathering, with
// Content-Type and Bearer; it accepts 200 or 201, joins the Location onto
// the endpoint URL (Url::join), and with use-link-headers reads each Link
// header value through parse_link_header::parse_with_rel, a map keyed by rel,
// so only one ice-server per value survives. It sends no PATCH. Its DELETE
// accepts any status.
func TestGStreamer(t *testing.T) {
	m, now := testMinter(t)
	hs := newHarness(t, Config{ICEServers: []ICEServer{{URL: "stun:stun.example.net:3478"}}, TURN: m, PublishToken: "gst"})
	endpoint := hs.srv.URL + "/whip/live/cam"
	r := hs.do("POST", endpoint, string(readOffer(t, "gstreamer_whip_sendonly.sdp")),
		"Content-Type: application/sdp", "Authorization: Bearer gst", "Accept: */*")
	if r.StatusCode != 200 && r.StatusCode != 201 {
		t.Fatalf("whip_signaller: unexpected response %d %s", r.StatusCode, r.body)
	}
	base, _ := url.Parse(endpoint)
	loc, err := base.Parse(r.Header.Get("Location"))
	if err != nil || loc.Host != base.Host || !strings.HasPrefix(loc.Path, "/whip/live/cam/") {
		t.Fatalf("Url::join(%s, %q) = %v, %v", endpoint, r.Header.Get("Location"), loc, err)
	}
	var got []ICEServer
	for _, v := range r.Header.Values("Link") {
		links, err := ParseLinks(v)
		if err != nil {
			t.Fatalf("Link %q: %v", v, err)
		}
		byRel := map[string]Link{} // parse_with_rel keeps one link per rel
		for _, l := range links {
			for _, rel := range l.Rel {
				byRel[rel] = l
			}
		}
		if len(links) != 1 {
			t.Errorf("Link value %q holds %d links; GStreamer keeps one", v, len(links))
		}
		got = append(got, ICEServers([]Link{byRel[RelICEServer]})...)
	}
	user := fmt.Sprint(now.Add(24 * time.Hour).Unix())
	if len(got) != 3 || got[0].URL != "stun:stun.example.net:3478" || got[1].Username != user || got[2].URL != "turns:turn.example.net:5349?transport=tcp" {
		t.Errorf("GStreamer reads %+v", got)
	}
	if d := hs.do("DELETE", loc.String(), "", "Authorization: Bearer gst"); d.StatusCode != 200 {
		t.Errorf("DELETE: %d", d.StatusCode)
	}
}

// medoozeLinks parses a comma-joined Link value as whip-whep 1.2.0 does: split
// on /,\s+(?=<)/, then on ';', the target between '<' and '>', parameters
// split at the first '=' with every quote removed.
func medoozeLinks(joined string) []map[string]string {
	var out []map[string]string
	for _, header := range regexp.MustCompile(`,\s+<`).Split(joined, -1) {
		if !strings.HasPrefix(header, "<") {
			header = "<" + header
		}
		items := strings.Split(header, ";")
		l := map[string]string{"url": strings.Trim(strings.TrimSpace(items[0]), "<>")}
		for _, it := range items[1:] {
			k, v, _ := strings.Cut(it, "=")
			l[strings.TrimSpace(k)] = strings.NewReplacer(`"`, "", "'", "").Replace(strings.TrimSpace(v))
		}
		out = append(out, l)
	}
	return out
}

// TestMedoozeWHEP replays medooze whip-whep 1.2.0's WHEPClient in a browser:
// a POST through fetch (the CORS preflight first, the page's Origin), the
// Links read from headers.get("link") (the browser joins the lines with ", "),
// the Location resolved with new URL(location, url). whep.js does not read
// the ETag of the 201, so its trickle PATCHes carry no If-Match: the session-
// level ufrag and pwd, "m=<kind> 9 UDP/TLS/RTP/SAVPF 0", a=mid, the
// candidates and a=end-of-candidates. An ICE restart sends If-Match: * and
// only the new credentials, and reads the answer with /a=ice-ufrag:(.*)\r\n/.
func TestMedoozeWHEP(t *testing.T) {
	m, _ := testMinter(t)
	hs := newHarness(t, Config{ICEServers: []ICEServer{{URL: "stun:stun.example.net:3478"}}, TURN: m})
	const origin = "Origin: https://player.example"
	endpoint := hs.srv.URL + "/whep/live/cam"
	pre := hs.do("OPTIONS", endpoint, "", origin, "Access-Control-Request-Method: POST",
		"Access-Control-Request-Headers: content-type")
	checkPreflight(t, pre, "POST", "content-type")
	offer := readOffer(t, "chromium156_recvonly.sdp")
	r := hs.do("POST", endpoint, string(offer), origin, "Content-Type: application/sdp")
	if r.StatusCode/100 != 2 {
		t.Fatalf("whep.js: rejected with status %d", r.StatusCode)
	}
	checkExposed(t, r, "Location", "Link")
	resource, err := url.Parse(endpoint)
	if err == nil {
		resource, err = resource.Parse(r.Header.Get("Location"))
	}
	if err != nil {
		t.Fatal(err)
	}
	links := medoozeLinks(strings.Join(r.Header.Values("Link"), ", "))
	if len(links) != 3 || links[0]["url"] != "stun:stun.example.net:3478" || links[1]["rel"] != "ice-server" ||
		links[1]["username"] == "" || links[1]["credential"] == "" || links[1]["credential-type"] != "password" {
		t.Errorf("whep.js reads links %v", links)
	}

	ufrag := regexp.MustCompile(`a=ice-ufrag:(.*)\r\n`).FindStringSubmatch(string(offer))[1]
	pwd := regexp.MustCompile(`a=ice-pwd:(.*)\r\n`).FindStringSubmatch(string(offer))[1]
	trickle := "a=ice-ufrag:" + ufrag + "\r\na=ice-pwd:" + pwd + "\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n" +
		"a=candidate:2937995087 1 udp 2122194687 127.0.0.1 59743 typ host generation 0 ufrag " + ufrag + " network-id 3\r\n" +
		"a=end-of-candidates\r\n"
	pre = hs.do("OPTIONS", resource.String(), "", origin, "Access-Control-Request-Method: PATCH", "Access-Control-Request-Headers: content-type")
	checkPreflight(t, pre, "PATCH", "content-type")
	p := hs.do("PATCH", resource.String(), trickle, origin, "Content-Type: application/trickle-ice-sdpfrag")
	if p.StatusCode != 204 {
		t.Fatalf("trickle without If-Match: %d %s (whep.js throws on it)", p.StatusCode, p.body)
	}
	if n, _, _ := hs.be.session(t, 0).counts(); n != 1 {
		t.Errorf("backend got %d trickles", n)
	}

	restart := "a=ice-ufrag:R3st\r\na=ice-pwd:restartpassword0123456\r\n"
	pre = hs.do("OPTIONS", resource.String(), "", origin, "Access-Control-Request-Method: PATCH", "Access-Control-Request-Headers: content-type,if-match")
	checkPreflight(t, pre, "PATCH", "content-type,if-match")
	p = hs.do("PATCH", resource.String(), restart, origin, "Content-Type: application/trickle-ice-sdpfrag", "If-Match: *")
	if p.StatusCode != 200 {
		t.Fatalf("restart: %d %s", p.StatusCode, p.body)
	}
	checkExposed(t, p, "ETag")
	if m := regexp.MustCompile(`a=ice-ufrag:(.*)\r\n`).FindStringSubmatch(p.body); m == nil || m[1] != "srvufrag1" {
		t.Errorf("whep.js cannot read the restart answer %q", p.body)
	}
	if len(regexp.MustCompile(`(a=candidate:.*\r\n)`).FindAllString(p.body, -1)) != 1 {
		t.Errorf("restart answer candidates: %q", p.body)
	}
	// After a restart whep.js sends the ETag it got.
	trickle = strings.ReplaceAll(strings.ReplaceAll(trickle, ufrag, "R3st"), pwd, "restartpassword0123456")
	if p := hs.do("PATCH", resource.String(), trickle, origin, "Content-Type: application/trickle-ice-sdpfrag", "If-Match: "+p.Header.Get("ETag")); p.StatusCode != 204 {
		t.Errorf("trickle after restart: %d %s", p.StatusCode, p.body)
	}
	if d := hs.do("DELETE", resource.String(), "", origin); d.StatusCode != 200 {
		t.Errorf("DELETE: %d", d.StatusCode)
	}
}

// TestMedoozeWHIP: whip.js, unlike whep.js, reads the ETag of the 201 and
// sends it as If-Match on its trickle PATCHes.
func TestMedoozeWHIP(t *testing.T) {
	hs := newHarness(t, Config{StrictIfMatch: true})
	offer := readOffer(t, "chromium156_sendonly.sdp")
	r := hs.do("POST", "/whip/live/cam", string(offer), "Origin: https://studio.example", "Content-Type: application/sdp")
	if r.StatusCode != 201 {
		t.Fatalf("POST: %d %s", r.StatusCode, r.body)
	}
	ufrag := regexp.MustCompile(`a=ice-ufrag:(.*)\r\n`).FindStringSubmatch(string(offer))[1]
	pwd := regexp.MustCompile(`a=ice-pwd:(.*)\r\n`).FindStringSubmatch(string(offer))[1]
	p := hs.do("PATCH", hs.sessionPath(r), "a=ice-ufrag:"+ufrag+"\r\na=ice-pwd:"+pwd+"\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=end-of-candidates\r\n",
		"Content-Type: application/trickle-ice-sdpfrag", "If-Match: "+r.Header.Get("ETag"))
	if p.StatusCode != 204 {
		t.Errorf("whip.js trickle with the 201's ETag, strict mode: %d %s", p.StatusCode, p.body)
	}
}

// TestEyevinn replays the WHEP adapter of Eyevinn's @eyevinn/webrtc-player
// 0.13.1: it sends the app's authKey verbatim as Authorization (here without
// "Bearer "), POSTs after gathering (no trickle), accepts any 2xx, and uses a
// Location that does not start with '/' verbatim, so only an absolute one
// works. It reads a 406 as "no audio" and a 400 as "use the old server-offer
// mode", so an offer the server cannot serve must get neither.
func TestEyevinn(t *testing.T) {
	hs := newHarness(t, Config{PlayToken: "viewer-key"})
	offer := string(readOffer(t, "chromium156_recvonly.sdp"))
	r := hs.do("POST", "/whep/live/cam", offer, "Content-Type: application/sdp", "Authorization: viewer-key", "Origin: https://eyevinn.example")
	if r.StatusCode/100 != 2 {
		t.Fatalf("POST: %d %s", r.StatusCode, r.body)
	}
	loc := r.Header.Get("Location")
	if !strings.HasPrefix(loc, "/") {
		if u, err := url.Parse(loc); err != nil || !u.IsAbs() {
			t.Fatalf("Eyevinn would use Location %q verbatim", loc)
		}
	}
	if d := hs.do("DELETE", loc, "", "Authorization: viewer-key"); d.StatusCode/100 != 2 {
		t.Errorf("DELETE: %d", d.StatusCode)
	}

	// A viewer whose offer has no codec the server sends: 422, not 406 or 400.
	noCodec := regexp.MustCompile(`(?m)^a=(rtpmap|fmtp|rtcp-fb):.*\r\n`).ReplaceAllString(offer, "")
	noCodec = strings.ReplaceAll(noCodec, "a=rtpmap", "")
	noCodec = regexp.MustCompile(`(?m)^(m=\w+ \d+ UDP/TLS/RTP/SAVPF) .*\r\n`).ReplaceAllString(noCodec, "$1 120\r\na=rtpmap:120 x-unknown/90000\r\n")
	r = hs.do("POST", "/whep/live/cam", noCodec, "Content-Type: application/sdp", "Authorization: viewer-key")
	if r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("offer without a common codec: %d %s, want 422", r.StatusCode, r.body)
	}
}

// checkPreflight applies the Fetch standard's CORS check to a preflight
// response for method and the comma-separated request headers.
func checkPreflight(t *testing.T, r reply, method, headers string) {
	t.Helper()
	if r.StatusCode/100 != 2 {
		t.Fatalf("preflight: %d", r.StatusCode)
	}
	if o := r.Header.Get("Access-Control-Allow-Origin"); o != "*" && o != "https://player.example" {
		t.Errorf("preflight Access-Control-Allow-Origin %q", o)
	}
	if !listHas(r.Header.Get("Access-Control-Allow-Methods"), method) {
		t.Errorf("preflight allows methods %q, not %s", r.Header.Get("Access-Control-Allow-Methods"), method)
	}
	for _, h := range strings.Split(headers, ",") {
		if !listHas(r.Header.Get("Access-Control-Allow-Headers"), h) {
			t.Errorf("preflight allows headers %q, not %s", r.Header.Get("Access-Control-Allow-Headers"), h)
		}
	}
	if r.Header.Get("Link") != "" {
		t.Error("a preflight got Link headers")
	}
}

// checkExposed checks that a page can read the named response headers.
func checkExposed(t *testing.T, r reply, names ...string) {
	t.Helper()
	if r.Header.Get("Access-Control-Allow-Origin") == "" {
		t.Fatal("no Access-Control-Allow-Origin: the page cannot read the response")
	}
	for _, n := range names {
		if !listHas(r.Header.Get("Access-Control-Expose-Headers"), n) {
			t.Errorf("%s is not exposed to the page", n)
		}
	}
}

func listHas(list, item string) bool {
	for _, v := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(v), strings.TrimSpace(item)) {
			return true
		}
	}
	return false
}
