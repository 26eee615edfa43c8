package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/streamwire/streamwire/relay"
	"github.com/streamwire/streamwire/rtmp"
)

// startRTMP serves RTMP ingest and playback on the TCP address addr until
// ctx is done or stop is called: publishers push to rtmp://HOST/APP/NAME and
// any number of players play the same URL, starting on a keyframe (the
// relay hub caches metadata, sequence headers and the last GOP).
func startRTMP(ctx context.Context, addr string, logger *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("rtmp listen: %w", err)
	}
	return serveRTMP(ctx, ln, relay.NewHub(relay.Config{Logger: logger}), logger), nil
}

// startRTMPS serves RTMPS (RTMP over TLS, rtmps://HOST:PORT/APP/NAME) on
// addr with the PEM certificate and key files, like startRTMP. It has a hub
// of its own; to share streams between RTMP and RTMPS, call serveRTMP with
// one hub for both listeners.
func startRTMPS(ctx context.Context, addr, certFile, keyFile string, logger *slog.Logger) (stop func(), err error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("rtmps certificate: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("rtmps listen: %w", err)
	}
	ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	return serveRTMP(ctx, ln, relay.NewHub(relay.Config{Logger: logger}), logger), nil
}

// serveRTMP serves RTMP (or RTMPS, if ln is a TLS listener) on ln with hub
// until ctx is done or stop is called; stop waits for every session to end.
func serveRTMP(ctx context.Context, ln net.Listener, hub *relay.Hub, logger *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	srv := rtmp.NewServer(rtmp.ServerConfig{Handler: &relay.RTMPHandler{Hub: hub}, Logger: logger})
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ctx, ln); err != nil && !errors.Is(err, rtmp.ErrServerClosed) {
			logger.Error("rtmp server stopped", "err", err)
		}
	}()
	logger.Info("serving rtmp", "addr", ln.Addr().String())
	return func() { cancel(); <-done }
}
