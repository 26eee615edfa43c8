package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/streamwire/streamwire/relay"
	"github.com/streamwire/streamwire/rtmp"
)

// failingListener returns EMFILE twice, then a permanent error.
type failingListener struct {
	net.Listener
	n int
}

var errBroken = errors.New("listener broke")

func (l *failingListener) Accept() (net.Conn, error) {
	if l.n++; l.n <= 2 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return nil, errBroken
}

// TestServeRTMPFailureStopsRun: EMFILE is waited out by rtmp.Server.Serve;
// a permanent accept failure reaches fail (run's cancel), so the process
// stops instead of living on with a dead RTMP port.
func TestServeRTMPFailureStopsRun(t *testing.T) {
	real, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer real.Close()
	failed := make(chan error, 1)
	stop := serveRTMP(context.Background(), &failingListener{Listener: real}, &relay.RTMPHandler{},
		config{}, slog.New(slog.DiscardHandler), func(err error) { failed <- err })
	defer stop()
	select {
	case err := <-failed:
		require.ErrorIs(t, err, errBroken)
	case <-time.After(5 * time.Second):
		t.Fatal("a permanent accept failure did not reach fail")
	}
}

// TestServeRTMPPerIPCap: -rtmp-max-conns-per-ip reaches the server.
func TestServeRTMPPerIPCap(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	stop := serveRTMP(context.Background(), ln, &relay.RTMPHandler{}, config{RTMPPerIP: 1},
		slog.New(slog.DiscardHandler), func(err error) { t.Errorf("fail(%v)", err) })
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := "rtmp://" + ln.Addr().String() + "/live/cam"
	first, err := rtmp.Dial(ctx, url, rtmp.ClientConfig{})
	require.NoError(t, err)
	defer first.Close()
	_, err = rtmp.Dial(ctx, url, rtmp.ClientConfig{Handshake: rtmp.HandshakeConfig{Timeout: 3 * time.Second}})
	require.Error(t, err, "second connection from one IP admitted with -rtmp-max-conns-per-ip 1")
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "refused connection left open: %v", err)
}
