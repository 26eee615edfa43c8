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

// serveRTMP serves RTMP (or RTMPS, if ln is a TLS listener) on ln with hub
// until ctx is done or stop is called; stop waits for every session to end.
// Publishers push to rtmp://HOST/APP/NAME and any number of players play the
// same URL, starting on a keyframe (the hub caches metadata, sequence headers
// and the last GOP). cfg gives the merged-write interval and the connection
// caps (-rtmp-write-interval, -rtmp-max-conns, -rtmp-max-conns-per-ip).
// Temporary accept errors (out of descriptors) are waited out by Serve; any
// other failure is passed to fail, which stops the process rather than
// leaving it up with a dead RTMP port.
func serveRTMP(ctx context.Context, ln net.Listener, hub *relay.Hub, cfg config, logger *slog.Logger, fail func(error)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	srv := rtmp.NewServer(rtmp.ServerConfig{
		Handler:           &relay.RTMPHandler{Hub: hub},
		PlayWriteInterval: cfg.RTMPWrite,
		MaxConns:          cfg.RTMPConns,
		MaxConnsPerIP:     cfg.RTMPPerIP,
		Logger:            logger,
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ctx, ln); err != nil && !errors.Is(err, rtmp.ErrServerClosed) {
			logger.Error("rtmp server stopped", "addr", ln.Addr(), "err", err)
			fail(err)
		}
	}()
	return func() { cancel(); <-done }
}

// listenRTMPS opens the RTMPS (RTMP over TLS) listener on addr with the PEM
// certificate and key files.
func listenRTMPS(addr, certFile, keyFile string) (net.Listener, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("rtmps certificate: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("rtmps listen: %w", err)
	}
	return tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}), nil
}
