package interop

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/streamwire/streamwire/ice"
)

// TestICEChromiumThroughMux: headless Chromium, with its GOOG-PING field
// trial on, offers a data channel; our ICE-lite answer points at a socket
// served by an ice.Mux shared with other sessions. Chromium reaches
// iceConnectionState "connected" through the Mux, which learns its address
// from the checks, follows its nomination, announces GOOG-PING and then
// answers Chromium's GOOG-PING requests.
func TestICEChromiumThroughMux(t *testing.T) {
	c := startChromiumICE(t, "--force-fieldtrials=WebRTC-IceFieldTrials/enable_goog_ping:true/")
	mux := ice.NewMux(c.udp, ice.MuxConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- mux.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; !errors.Is(err, ice.ErrServerClosed) {
			t.Errorf("Serve = %v", err)
		}
	})
	if _, err := mux.NewSession(ice.Credentials{Ufrag: "othr", Pwd: "neighbourPassword0123456"}, ice.Credentials{}); err != nil {
		t.Fatal(err)
	}
	_, remoteUfrag, _ := strings.Cut(c.wantUser, ":")
	session, err := mux.NewSession(ice.Credentials{Ufrag: chromiumLocalUfrag, Pwd: chromiumLocalPwd}, ice.Credentials{Ufrag: remoteUfrag})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(40 * time.Second)
	for !c.connected(t) {
		if time.Now().After(deadline) {
			t.Fatalf("Chromium did not reach connected; Mux stats %+v", mux.Stats())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Chromium reports connected once a pair is writable; its nomination
	// (USE-CANDIDATE) may come with a later check.
	select {
	case <-session.Connected():
	case <-time.After(time.Until(deadline)):
		t.Fatalf("Chromium connected but the session saw no nomination; Mux stats %+v", mux.Stats())
	}
	if _, nominated, _ := session.Selected(); !nominated {
		t.Fatal("selected pair not nominated")
	}
	for mux.Stats().GoogPings < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no GOOG-PING answered; Mux stats %+v", mux.Stats())
		}
		time.Sleep(100 * time.Millisecond)
	}
	st := mux.Stats()
	t.Logf("Mux stats: %+v", st)
	if st.Errors != 0 {
		t.Fatalf("error responses sent to Chromium: %+v", st)
	}
}
