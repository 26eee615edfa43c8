// Command server is the streamwire example server: it composes the SDK's
// packages and holds no protocol logic of its own. With no flags it serves,
// on loopback:
//
//   - HTTP on 127.0.0.1:8080 (-http): the page at / (publish the camera via
//     WHIP, the live streams), a player page per stream at /play/APP/NAME,
//     WHIP at /whip/APP/NAME and WHEP at /whep/APP/NAME, the TURN REST
//     endpoint /turn and the browsers' ICE config /v1alpha/iceconfig,
//     /healthz, /metrics (Prometheus), /api/streams (JSON), the AppRTC room
//     server and Collider, and the KVS-compatible signaling API under /kvs/;
//     the whole map is in routes.go;
//   - UDP 127.0.0.1:3478 (-udp) for plain STUN and all WebRTC media (one
//     ICE-lite Mux), and ICE-TCP on TCP 127.0.0.1:3478 (-tcp);
//   - RTMP ingest and playback on TCP 127.0.0.1:1935 (-rtmp): rtmp://HOST/APP/NAME
//     is the same stream as /whep/APP/NAME, NAME slashes and all
//     (rtmp://HOST/live/a/b is /whep/live/a/b and /play/live/a/b); RTMPS on
//     the same streams with -rtmps, -rtmps-cert and -rtmps-key.
//
// Every HTTP endpoint goes through internal/httpserver: read, write and idle
// time-outs, a 1 MiB body cap and 256 connections per client IP
// (-http-max-conns-per-ip; negative for load tests from loopback).
//
// Every flag is also a key of a YAML config file (-config FILE or
// $STREAMWIRE_CONFIG; streamwire.example.yaml lists them all) and an
// environment variable STREAMWIRE_NAME (-public-ip: $STREAMWIRE_PUBLIC_IP=a,b).
// Precedence, lowest first: built-in default < config file < environment <
// command line. The table of settings is in config.go.
//
// The TURN REST secret comes from -turn-secret, $STREAMWIRE_TURN_SECRET,
// $TURN_SECRET or the file; without any a random one is made at start, which
// no TURN server shares, so the credentials are well-formed but only the STUN
// URI in them is usable.
//
// SIGINT or SIGTERM shuts the server down within 5 s: WHIP and WHEP sessions
// are closed, RTMP players are told that their stream ended, WebSockets get
// their close frames.
package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg, err := loadConfig(os.Args[1:], os.Environ(), os.Stderr, log)
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errCommandLine):
		os.Exit(2) // the flag package has printed it with the usage
	case err != nil:
		log.Error("configuration", "err", err)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log, os.Stdout, nil); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("server stopped", "err", err)
		os.Exit(1)
	}
}
