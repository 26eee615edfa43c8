package whip

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/streamwire/streamwire/sdp"
)

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestClient drives a session through its whole life with Client, which
// reads the handler's headers back by RFC 8288 and RFC 9110.
func TestClient(t *testing.T) {
	m, now := testMinter(t)
	hs := newHarness(t, Config{ICEServers: []ICEServer{{URL: "stun:stun.example.net:3478"}}, TURN: m,
		PublishToken: "pub", StrictIfMatch: true})
	ctx := testContext(t)
	c := &Client{HTTPClient: hs.srv.Client(), Token: "pub"}

	res, err := c.Post(ctx, hs.srv.URL+"/whip/live/cam", readOffer(t, "obs30_whip_sendonly.sdp"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.URL, hs.srv.URL+"/whip/live/cam/") || !etagPattern.MatchString(res.ETag()) ||
		!strings.HasPrefix(string(res.Answer), "v=0") {
		t.Errorf("resource %q ETag %q answer %.20q", res.URL, res.ETag(), res.Answer)
	}
	user := fmt.Sprint(now.Add(24 * time.Hour).Unix())
	if len(res.ICEServers) != 3 || res.ICEServers[0].URL != "stun:stun.example.net:3478" ||
		res.ICEServers[1].Username != user || res.ICEServers[2].URL != "turns:turn.example.net:5349?transport=tcp" {
		t.Errorf("ICE servers %+v", res.ICEServers)
	}

	// The client's own trickle carries the 201's ETag, which strict mode wants.
	frag := &sdp.SDPFrag{Ufrag: "Wd3h", Pwd: "gSxvF0sY3ZLfXk1MkO0V2q", Media: []sdp.FragMedia{{
		MediaLine: "audio 9 UDP/TLS/RTP/SAVPF 111", Mid: "0",
		Candidates: []string{"1 1 udp 2122317823 192.168.1.23 63378 typ host"}}}}
	if err := res.Trickle(ctx, frag); err != nil {
		t.Fatalf("Trickle: %v", err)
	}
	etag := res.ETag()
	local, err := res.Restart(ctx, &sdp.SDPFrag{Ufrag: "N3wU", Pwd: "newpassword0123456789ab"})
	if err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if local.Ufrag != "srvufrag1" || res.ETag() == etag {
		t.Errorf("restart gave ufrag %q, ETag %q (was %q)", local.Ufrag, res.ETag(), etag)
	}
	frag.Ufrag, frag.Pwd = "N3wU", "newpassword0123456789ab"
	if err := res.Trickle(ctx, frag); err != nil {
		t.Fatalf("Trickle after restart: %v", err)
	}
	if n, restarts, _ := hs.be.session(t, 0).counts(); n != 2 || restarts != 1 {
		t.Errorf("backend saw %d trickles, %d restarts", n, restarts)
	}
	if err := res.Delete(ctx); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	err = res.Delete(ctx)
	var e *Error
	if !errors.As(err, &e) || e.Status != 404 || !errors.Is(err, ErrNoSession) {
		t.Errorf("second Delete: %v, want a 404 *Error matching ErrNoSession", err)
	}
}

func TestClientErrors(t *testing.T) {
	hs := newHarness(t, Config{PublishToken: "pub"})
	ctx := testContext(t)
	c := &Client{HTTPClient: hs.srv.Client()}

	_, err := c.Post(ctx, hs.srv.URL+"/whep/live/nobody", readOffer(t, "chromium156_recvonly.sdp"))
	var e *Error
	if !errors.As(err, &e) || e.Status != 409 || e.RetryAfter != 2*time.Second || !errors.Is(err, ErrNotPublished) ||
		e.Reason != "whip: stream is not published" {
		t.Errorf("WHEP of an unpublished stream: %#v", err)
	}
	_, err = c.Post(ctx, hs.srv.URL+"/whip/live/cam", readOffer(t, "obs30_whip_sendonly.sdp"))
	if !errors.Is(err, ErrUnauthorized) {
		t.Errorf("POST without token: %v", err)
	}
	hs.be.err = ErrOverloaded
	c.Token = "pub"
	if _, err = c.Post(ctx, hs.srv.URL+"/whip/live/cam", readOffer(t, "obs30_whip_sendonly.sdp")); !errors.Is(err, ErrOverloaded) {
		t.Errorf("overloaded: %v", err)
	}
}

// TestClientRedirect: a 307 of the POST is followed with the body and the
// token (RFC 9725 §4.5), and a relative Location is resolved against the URL
// that answered.
func TestClientRedirect(t *testing.T) {
	be := &fakeBackend{}
	h, err := NewHandler(Config{Backend: be, PublishToken: "pub"})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	mux := http.NewServeMux()
	mux.Handle("/whip/", h)
	mux.HandleFunc("/ingest/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/whip/"+strings.TrimPrefix(r.URL.Path, "/ingest/"), http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/relative/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "sessions/1")
		w.Header().Set("Content-Type", "application/sdp")
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte("v=0\r\n"))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := &Client{Token: "pub", HTTPClient: srv.Client()}
	res, err := c.Post(testContext(t), srv.URL+"/ingest/live/cam", readOffer(t, "ffmpeg8_whip_sendonly.sdp"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.URL, srv.URL+"/whip/live/cam/") {
		t.Errorf("resource %q", res.URL)
	}
	res, err = c.Post(testContext(t), srv.URL+"/relative/live/cam", []byte("v=0\r\n"))
	if err != nil || res.URL != srv.URL+"/relative/live/sessions/1" {
		t.Errorf("relative Location resolved to %q, %v", res.URL, err)
	}
}

// TestClientBadResponses: a 201 that breaks the protocol is an error.
func TestClientBadResponses(t *testing.T) {
	for name, h := range map[string]http.HandlerFunc{
		"no Location": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/sdp")
			w.WriteHeader(201)
			w.Write([]byte("v=0\r\n"))
		},
		"no answer": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "/s/1")
			w.Header().Set("Content-Type", "application/sdp")
			w.WriteHeader(201)
		},
		"JSON": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "/s/1")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(201)
			w.Write([]byte("{}"))
		},
		"bad Link": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "/s/1")
			w.Header().Set("Content-Type", "application/sdp")
			w.Header().Set("Link", `<stun:x; rel="ice-server"`)
			w.WriteHeader(201)
			w.Write([]byte("v=0\r\n"))
		},
		"200 instead of 201": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "/s/1")
			w.Header().Set("Content-Type", "application/sdp")
			w.Write([]byte("v=0\r\n"))
		},
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(h)
			defer srv.Close()
			if _, err := (&Client{}).Post(testContext(t), srv.URL+"/whip/a/b", []byte("v=0\r\n")); err == nil {
				t.Error("no error")
			}
		})
	}
}
