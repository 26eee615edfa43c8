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
//     is the same stream as /whep/APP/NAME; RTMPS on the same streams with
//     -rtmps, -rtmps-cert and -rtmps-key.
//
// Every HTTP endpoint goes through internal/httpserver: read, write and idle
// time-outs, a 1 MiB body cap and 256 connections per client IP
// (-http-max-conns-per-ip; negative for load tests from loopback).
//
// The TURN REST secret comes from -turn-secret or $TURN_SECRET; without either a
// random one is made at start, which no TURN server shares, so the credentials are
// well-formed but only the STUN URI in them is usable.
//
// SIGINT or SIGTERM shuts the server down within 5 s: WHIP and WHEP sessions
// are closed, RTMP players are told that their stream ended, WebSockets get
// their close frames.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/streamwire/streamwire/internal/httpserver"
	"github.com/streamwire/streamwire/rtmp"
	"github.com/streamwire/streamwire/turnrest"
)

// listList collects a repeatable, comma-separated flag.
type listList []string

func (l *listList) String() string { return strings.Join(*l, ",") }
func (l *listList) Set(s string) error {
	*l = append(*l, strings.Split(s, ",")...)
	return nil
}

func main() {
	var cfg config
	var uris, ips listList
	flag.StringVar(&cfg.HTTP, "http", "127.0.0.1:8080", "HTTP address: pages, WHIP/WHEP, signaling, /turn, /metrics")
	flag.StringVar(&cfg.HTTPS, "https", "", "HTTPS address serving the same as -http (cameras on other devices and KVS need it); needs -tls-cert and -tls-key")
	flag.StringVar(&cfg.TLSCert, "tls-cert", "", "PEM certificate file for -https")
	flag.StringVar(&cfg.TLSKey, "tls-key", "", "PEM private key file for -https")
	flag.IntVar(&cfg.HTTPPerIP, "http-max-conns-per-ip", 0, fmt.Sprintf(
		"open HTTP connections allowed per client IP; 0 means %d, negative means no cap (load tests from loopback)",
		httpserver.DefaultMaxConnsPerIP))
	flag.StringVar(&cfg.UDP, "udp", "127.0.0.1:3478", "UDP address of STUN and of all WebRTC media")
	flag.StringVar(&cfg.TCP, "tcp", "127.0.0.1:3478", "TCP address of ICE-TCP, for clients whose UDP is blocked (off when empty)")
	flag.Var(&ips, "public-ip", "public IP address announced in ICE candidates in place of the local ones (repeatable; a 1:1 NAT, a cloud instance)")
	flag.StringVar(&cfg.Token, "token", "", "bearer token that publishers must give: WHIP Authorization: Bearer T, RTMP rtmp://HOST/APP/NAME?token=T (default: anyone may publish)")
	flag.StringVar(&cfg.NATS, "nats", "", "NATS URL (nats://HOST:4222, JetStream enabled) of the backplane that shares AppRTC rooms and KVS channels with other instances (default: in memory, this instance only)")
	flag.BoolVar(&cfg.DropBFrame, "drop-bframes", false, "leave H.264 B-frames out for WebRTC viewers instead of refusing the stream")
	flag.StringVar(&cfg.RTMP, "rtmp", "127.0.0.1:1935", "TCP address of the RTMP server (publish and play rtmp://HOST/APP/NAME)")
	flag.StringVar(&cfg.RTMPS, "rtmps", "", "TCP address of the RTMPS server, sharing the RTMP streams (off when empty)")
	flag.StringVar(&cfg.RTMPSCert, "rtmps-cert", "", "PEM certificate file for -rtmps")
	flag.StringVar(&cfg.RTMPSKey, "rtmps-key", "", "PEM private key file for -rtmps")
	flag.DurationVar(&cfg.RTMPWrite, "rtmp-write-interval", 0,
		"merge writes to RTMP players every interval (e.g. 100ms: less CPU per player, up to that much more latency); 0 writes at once")
	flag.IntVar(&cfg.RTMPConns, "rtmp-max-conns", 0, fmt.Sprintf(
		"open RTMP connections allowed per listener; 0 means %d, negative means no cap", rtmp.DefaultMaxConns))
	flag.IntVar(&cfg.RTMPPerIP, "rtmp-max-conns-per-ip", 0,
		"open RTMP connections allowed per client IP; 0 means no cap (relays and load tests hold many from one address)")
	flag.StringVar(&cfg.TURNSecret, "turn-secret", os.Getenv("TURN_SECRET"),
		"TURN REST shared secret(s), comma-separated, the first signs (coturn's static-auth-secret; default $TURN_SECRET, else random)")
	flag.Var(&uris, "turn-uri", "TURN URI handed out with credentials (repeatable), e.g. turn:turn.example.com:3478?transport=udp")
	flag.DurationVar(&cfg.TURNTTL, "turn-ttl", turnrest.DefaultTTL, "TURN credential lifetime")
	flag.Parse()
	cfg.TURNURIs, cfg.PublicIPs = uris, ips

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log, os.Stdout, nil); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("server stopped", "err", err)
		os.Exit(1)
	}
}
