package interop

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamwire/streamwire/internal/httpserver"
	"github.com/streamwire/streamwire/signaling/apprtc"
	"github.com/streamwire/streamwire/turnrest"
)

// apprtcPageState is what the call page (signaling/apprtc/page/call.html)
// reports every half second when opened with ?report=.
type apprtcPageState struct {
	Role          string `json:"role"`
	ClientID      string `json:"clientId"`
	Error         string `json:"error"`
	ICEState      string `json:"iceState"`
	FramesDecoded int    `json:"framesDecoded"`
	FramesSent    int    `json:"framesSent"`
	CandidateType string `json:"candidateType"` // of the selected pair's local candidate
}

// apprtcCall serves an apprtc.Server and examples/server's ICE endpoint
// (turnrest, FormatICE, minted with minter) through internal/httpserver on
// loopback, opens the room's call page in two headless Chromium processes
// with fake cameras, one after the other, and waits until each decodes
// video from the other. query is added to the page URL. It returns the
// last states of the two pages and the number of ICE requests served.
func apprtcCall(t *testing.T, minter *turnrest.Minter, query string) (map[string]apprtcPageState, int64) {
	srv, err := apprtc.New(apprtc.Config{})
	require.NoError(t, err)
	var (
		mu       sync.Mutex
		states   = map[string]apprtcPageState{}
		iceCalls atomic.Int64
	)
	mux := http.NewServeMux()
	for _, p := range apprtc.Paths() {
		mux.Handle(p, srv)
	}
	ice := minter.Handler(turnrest.FormatICE)
	mux.HandleFunc(apprtc.DefaultICEConfigPath, func(w http.ResponseWriter, r *http.Request) {
		iceCalls.Add(1)
		ice.ServeHTTP(w, r)
	})
	mux.HandleFunc("/report", func(w http.ResponseWriter, r *http.Request) {
		var st apprtcPageState
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&st); err != nil || st.ClientID == "" {
			return
		}
		mu.Lock()
		states[st.Role] = st
		mu.Unlock()
	})
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	hs := httpserver.New(httpserver.Config{Handler: mux})
	hs.RegisterOnShutdown(func() { _ = srv.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		assert.ErrorIs(t, <-served, httpserver.ErrServerClosed)
		assert.NoError(t, srv.Close())
	})

	page := "http://" + ln.Addr().String() + "/r/call-" + time.Now().Format("150405") + "?report=/report" + query
	snapshot := func() map[string]apprtcPageState {
		mu.Lock()
		defer mu.Unlock()
		out := make(map[string]apprtcPageState, len(states))
		for k, v := range states {
			out[k] = v
		}
		return out
	}
	wait := func(what string, limit time.Duration, done func(map[string]apprtcPageState) bool) {
		deadline := time.Now().Add(limit)
		for !done(snapshot()) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %v; pages: %+v; server: %+v", what, limit, snapshot(), srv.Stats())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	startChromium(t, page)
	wait("first page joins as initiator", 60*time.Second, func(s map[string]apprtcPageState) bool {
		return s["initiator"].ClientID != ""
	})
	startChromium(t, page)
	wait("both pages decode video", 90*time.Second, func(s map[string]apprtcPageState) bool {
		for _, st := range s {
			if st.Error != "" {
				t.Fatalf("page %s: %s", st.Role, st.Error)
			}
		}
		return s["initiator"].FramesDecoded > 0 && s["callee"].FramesDecoded > 0
	})
	st := srv.Stats()
	assert.Equal(t, 2, st.OpenWS)
	assert.Zero(t, st.WSErrors)
	return snapshot(), iceCalls.Load()
}

// TestAppRTCChromiumCall: two headless Chromium pages hold a call through
// the room API and the Collider WebSocket, speaking them as AppRTC's web
// client does (the call page of signaling/apprtc); each decodes the other's
// fake-camera video. pc_config has no ICE servers, so each page fetches
// ice_server_url, examples/server's turnrest endpoint.
func TestAppRTCChromiumCall(t *testing.T) {
	minter, err := turnrest.New(turnrest.Config{Secrets: []string{"s1"}})
	require.NoError(t, err)
	states, iceCalls := apprtcCall(t, minter, "")
	t.Logf("pages: %+v", states)
	assert.Equal(t, int64(2), iceCalls, "each page fetches ice_server_url once")
	for role, st := range states {
		assert.Equal(t, "host", st.CandidateType, "%s's selected candidate", role)
	}
}

// TestAppRTCChromiumCallThroughCoturn: seed 000's world, AppRTC + Collider
// + coturn. With ?it=relay (pc_config.iceTransports) the pages may use
// only relay candidates, allocated at a real coturn with the TURN REST
// credentials that ice_server_url hands out; video decodes both ways.
func TestAppRTCChromiumCallThroughCoturn(t *testing.T) {
	c := startCoturn(t, "--use-auth-secret", "--static-auth-secret=apprtc-secret", "--realm=streamwire")
	minter, err := turnrest.New(turnrest.Config{Secrets: []string{"apprtc-secret"},
		URIs: []string{"turn:" + c.Addr() + "?transport=udp"}})
	require.NoError(t, err)
	states, iceCalls := apprtcCall(t, minter, "&it=relay")
	t.Logf("pages: %+v", states)
	assert.Equal(t, int64(2), iceCalls)
	for role, st := range states {
		assert.Equal(t, "relay", st.CandidateType, "%s's selected candidate", role)
	}
}
