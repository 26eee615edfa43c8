package main

import (
	"bufio"
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

	"github.com/streamwire/streamwire/internal/httpserver"
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
		done <- run(ctx, cfg, slog.New(slog.DiscardHandler), io.Discard, func(b bound) { ready <- b })
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

	checkRTMP(ctx, t, "rtmp://"+a.RTMP.String()+"/live/cam", "rtmp://"+a.RTMP.String()+"/live/cam")

	cancel()
	require.True(t, errors.Is(<-done, context.Canceled))
}

// An AVC sequence header and a keyframe, as FLV video tag bodies.
var (
	seqHeader = []byte{0x17, 0, 0, 0, 0, 1, 0x42, 0xc0, 0x1f, 0xff, 0xe1, 0, 0}
	keyframe  = []byte{0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65}
)

// checkRTMP publishes a sequence header and a keyframe to pubURL and plays
// them back from playURL.
func checkRTMP(ctx context.Context, t *testing.T, pubURL, playURL string) {
	pub, err := rtmp.Dial(ctx, pubURL, rtmp.ClientConfig{})
	require.NoError(t, err)
	defer pub.Close()
	require.NoError(t, pub.Publish(ctx))
	require.NoError(t, pub.WriteMedia(ctx, rtmp.Media{Type: rtmp.TypeVideo, Payload: seqHeader}))
	require.NoError(t, pub.WriteMedia(ctx, rtmp.Media{Type: rtmp.TypeVideo, Timestamp: 40, Payload: keyframe}))

	play, err := rtmp.Dial(ctx, playURL, rtmp.ClientConfig{})
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

// TestServerHTTPLimits checks that the HTTP endpoints go through
// internal/httpserver: the per-IP cap (-http-max-conns-per-ip) closes the
// connection over it, and a body over the 1 MiB cap gets 413 on /turn.
func TestServerHTTPLimits(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ready := make(chan bound, 1)
	done := make(chan error, 1)
	cfg := config{UDP: "127.0.0.1:0", HTTP: "127.0.0.1:0", RTMP: "127.0.0.1:0", HTTPPerIP: 2,
		TURNSecret: "s3cret", TURNTTL: time.Hour}
	go func() {
		done <- run(ctx, cfg, slog.New(slog.DiscardHandler), io.Discard, func(b bound) { ready <- b })
	}()
	var a bound
	select {
	case a = <-ready:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}

	healthz := func(c net.Conn) error {
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n"); err != nil {
			return err
		}
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err == nil {
			res.Body.Close()
		}
		return err
	}
	var conns []net.Conn
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp4", a.HTTP.String())
		require.NoError(t, err)
		conns = append(conns, c)
		if i < 2 {
			require.NoError(t, healthz(c), "connection %d", i+1)
		} else {
			require.Error(t, healthz(c), "connection 3 served with -http-max-conns-per-ip 2")
		}
	}
	for _, c := range conns {
		c.Close()
	}

	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	var res *http.Response
	require.Eventually(t, func() bool { // the closed connections' slots come back
		big := strings.NewReader("username=" + strings.Repeat("a", httpserver.DefaultMaxBodyBytes))
		var err error
		res, err = hc.Post("http://"+a.HTTP.String()+"/turn", "application/x-www-form-urlencoded", big)
		return err == nil
	}, 3*time.Second, 20*time.Millisecond)
	res.Body.Close()
	require.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode)

	cancel()
	require.True(t, errors.Is(<-done, context.Canceled))
}

// TestListenErrors: a port already taken, or -https without its
// certificate, is an error naming the flag, not a panic, and the
// listeners opened before it are closed again.
func TestListenErrors(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	free := udp.LocalAddr().String()
	require.NoError(t, udp.Close())
	for _, tc := range []struct {
		cfg  config
		want string
	}{
		{config{UDP: free, HTTP: taken.Addr().String(), RTMP: "127.0.0.1:0"}, "-http: "},
		{config{UDP: free, HTTP: "127.0.0.1:0", RTMP: taken.Addr().String()}, "-rtmp: "},
		{config{UDP: free, HTTP: "127.0.0.1:0", RTMP: "127.0.0.1:0", HTTPS: "127.0.0.1:0"}, "-https needs -tls-cert and -tls-key"},
	} {
		ls, err := listen(tc.cfg)
		require.Nil(t, ls)
		require.ErrorContains(t, err, tc.want)
		// The UDP socket it opened first is free again.
		again, err := net.ListenPacket("udp", free)
		require.NoError(t, err, "the -udp socket of a failed listen was left open")
		require.NoError(t, again.Close())
	}
}
