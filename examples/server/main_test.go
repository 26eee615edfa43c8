package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/streamwire/streamwire/rtmp"
	"github.com/streamwire/streamwire/stun"
	"github.com/streamwire/streamwire/turnrest"
)

// TestServerDefaults starts the wiring as `go run ./examples/server` does (on
// free ports) and uses both services: a STUN Binding and a TURN REST request.
func TestServerDefaults(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ready := make(chan bound, 1)
	done := make(chan error, 1)
	cfg := config{UDP: "127.0.0.1:0", HTTP: "127.0.0.1:0", RTMP: "127.0.0.1:0", TURNSecret: "s3cret", TURNTTL: time.Hour,
		TURNURIs: []string{"turn:127.0.0.1:3478?transport=udp"}}
	go func() {
		done <- run(ctx, cfg, slog.New(slog.DiscardHandler), func(b bound) { ready <- b })
	}()
	var a bound
	select {
	case a = <-ready:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}

	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer conn.Close()
	mapped, err := (&stun.Client{}).Binding(ctx, conn, a.UDP)
	require.NoError(t, err)
	require.Equal(t, conn.LocalAddr().String(), mapped.String())

	res, err := http.Get("http://" + a.HTTP.String() + "/turn?service=turn&username=alice")
	require.NoError(t, err)
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode, string(body))
	require.NotContains(t, string(body), "s3cret")
	var cred turnrest.Credential
	require.NoError(t, json.Unmarshal(body, &cred))
	require.True(t, strings.HasSuffix(cred.Username, ":alice"), cred.Username)
	require.Equal(t, []string{"stun:" + a.UDP.String(), "turn:127.0.0.1:3478?transport=udp"}, cred.URIs)
	m, err := turnrest.New(turnrest.Config{Secrets: []string{"s3cret"}})
	require.NoError(t, err)
	_, err = m.Verify(cred.Username, cred.Password)
	require.NoError(t, err)

	checkRTMP(ctx, t, "rtmp://"+a.RTMP.String()+"/live/cam")

	cancel()
	require.True(t, errors.Is(<-done, context.Canceled))
}

// checkRTMP publishes a sequence header and a keyframe to url and plays them back.
func checkRTMP(ctx context.Context, t *testing.T, url string) {
	pub, err := rtmp.Dial(ctx, url, rtmp.ClientConfig{})
	require.NoError(t, err)
	defer pub.Close()
	require.NoError(t, pub.Publish(ctx))
	seqHeader := []byte{0x17, 0, 0, 0, 0, 1, 0x42, 0xc0, 0x1f, 0xff, 0xe1, 0, 0}
	keyframe := []byte{0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65}
	require.NoError(t, pub.WriteMedia(ctx, rtmp.Media{Type: rtmp.TypeVideo, Payload: seqHeader}))
	require.NoError(t, pub.WriteMedia(ctx, rtmp.Media{Type: rtmp.TypeVideo, Timestamp: 40, Payload: keyframe}))

	play, err := rtmp.Dial(ctx, url, rtmp.ClientConfig{})
	require.NoError(t, err)
	defer play.Close()
	require.NoError(t, play.Play(ctx))
	for _, want := range [][]byte{seqHeader, keyframe} {
		m, err := play.ReadMedia(ctx)
		require.NoError(t, err)
		require.Equal(t, rtmp.TypeVideo, m.Type)
		require.Equal(t, want, m.Payload)
	}
}
