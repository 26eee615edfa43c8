// Command server is the streamwire example server: it composes the SDK's packages
// and holds no protocol logic of its own. With no flags it serves, on loopback:
//
//   - a STUN server on UDP 127.0.0.1:3478 (-udp);
//   - the TURN REST endpoint on HTTP 127.0.0.1:8080 at /turn, and the browser
//     iceServers shape at /v1alpha/iceconfig (-http);
//   - RTMP ingest and playback on TCP 127.0.0.1:1935 (-rtmp): publish to
//     rtmp://HOST/APP/NAME, and any number of players play the same URL;
//     RTMPS on the same streams with -rtmps, -rtmps-cert and -rtmps-key;
//   - a health check at /healthz.
//
// Every HTTP endpoint goes through internal/httpserver: read, write and idle
// time-outs, a 1 MiB body cap and 256 connections per client IP
// (-http-max-conns-per-ip; negative for load tests from loopback).
//
// The TURN REST secret comes from -turn-secret or $TURN_SECRET; without either a
// random one is made at start, which no TURN server shares, so the credentials are
// well-formed but only the STUN URI in them is usable.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/streamwire/streamwire/internal/httpserver"
	"github.com/streamwire/streamwire/relay"
	"github.com/streamwire/streamwire/rtmp"
	"github.com/streamwire/streamwire/stun"
	"github.com/streamwire/streamwire/turnrest"
)

// config is what the flags set.
type config struct {
	UDP        string
	HTTP       string
	HTTPPerIP  int // 0: httpserver.DefaultMaxConnsPerIP; negative: no cap
	RTMP       string
	RTMPS      string // off when empty
	RTMPSCert  string
	RTMPSKey   string
	RTMPWrite  time.Duration
	RTMPConns  int // 0: rtmp.DefaultMaxConns; negative: no cap
	RTMPPerIP  int // 0 or negative: no per-IP cap (relays, load tests)
	TURNSecret string
	TURNURIs   []string
	TURNTTL    time.Duration
}

// listList collects a repeatable, comma-separated flag.
type listList []string

func (l *listList) String() string { return strings.Join(*l, ",") }
func (l *listList) Set(s string) error {
	*l = append(*l, strings.Split(s, ",")...)
	return nil
}

func main() {
	var cfg config
	var uris listList
	flag.StringVar(&cfg.UDP, "udp", "127.0.0.1:3478", "UDP address of the STUN server")
	flag.StringVar(&cfg.HTTP, "http", "127.0.0.1:8080", "HTTP address of the TURN REST endpoint (/turn)")
	flag.IntVar(&cfg.HTTPPerIP, "http-max-conns-per-ip", 0, fmt.Sprintf(
		"open HTTP connections allowed per client IP; 0 means %d, negative means no cap (load tests from loopback)",
		httpserver.DefaultMaxConnsPerIP))
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
	flag.Var(&uris, "turn-uri", "TURN URI handed out with credentials (repeatable), e.g. turn:127.0.0.1:3478?transport=udp")
	flag.DurationVar(&cfg.TURNTTL, "turn-ttl", turnrest.DefaultTTL, "TURN credential lifetime")
	flag.Parse()
	cfg.TURNURIs = uris

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log, nil); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("server stopped", "err", err)
		os.Exit(1)
	}
}

// bound are the addresses the server listens on.
type bound struct{ UDP, HTTP, RTMP net.Addr }

// run serves until ctx is done. ready, if not nil, receives the bound addresses
// once every listener is open (tests use it with ":0" ports).
func run(ctx context.Context, cfg config, log *slog.Logger, ready func(bound)) error {
	secrets, err := turnSecrets(cfg.TURNSecret, log)
	if err != nil {
		return err
	}
	pc, err := net.ListenPacket("udp", cfg.UDP)
	if err != nil {
		return fmt.Errorf("stun listen: %w", err)
	}
	defer pc.Close()
	ln, err := net.Listen("tcp", cfg.HTTP)
	if err != nil {
		return fmt.Errorf("http listen: %w", err)
	}
	defer ln.Close()
	rtmpLn, err := net.Listen("tcp", cfg.RTMP)
	if err != nil {
		return fmt.Errorf("rtmp listen: %w", err)
	}
	defer rtmpLn.Close()
	var rtmpsLn net.Listener
	if cfg.RTMPS != "" {
		if rtmpsLn, err = listenRTMPS(cfg.RTMPS, cfg.RTMPSCert, cfg.RTMPSKey); err != nil {
			return err
		}
		defer rtmpsLn.Close()
	}

	turn, err := turnrest.New(turnrest.Config{
		Secrets: secrets,
		TTL:     cfg.TURNTTL,
		URIs:    append([]string{"stun:" + pc.LocalAddr().String()}, cfg.TURNURIs...),
		Logger:  log,
	})
	if err != nil {
		return fmt.Errorf("turn rest: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/turn", turn.Handler(turnrest.FormatREST))
	mux.Handle("/v1alpha/iceconfig", turn.Handler(turnrest.FormatICE))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	hs := httpserver.New(httpserver.Config{Handler: mux, MaxConnsPerIP: cfg.HTTPPerIP, Logger: log})

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stunDone := make(chan error, 1)
	go func() {
		err := (&stun.Server{Logger: log}).Serve(ctx, pc)
		cancel(err)
		stunDone <- err
	}()
	httpDone := make(chan error, 1)
	go func() {
		err := hs.Serve(ctx, ln)
		if !errors.Is(err, httpserver.ErrServerClosed) {
			cancel(err)
		}
		httpDone <- err
	}()
	hub := relay.NewHub(relay.Config{Logger: log})
	defer serveRTMP(ctx, rtmpLn, hub, cfg, log, cancel)()
	if rtmpsLn != nil {
		defer serveRTMP(ctx, rtmpsLn, hub, cfg, log, cancel)()
		log.Info("serving rtmps", "addr", rtmpsLn.Addr())
	}
	log.Info("serving", "stun", pc.LocalAddr(), "http", ln.Addr(), "rtmp", rtmpLn.Addr())
	if ready != nil {
		ready(bound{pc.LocalAddr(), ln.Addr(), rtmpLn.Addr()})
	}

	<-ctx.Done()
	<-httpDone // graceful, within httpserver.DefaultShutdownTimeout (5 s)
	<-stunDone
	return context.Cause(ctx)
}

// turnSecrets splits the -turn-secret value, or makes a random secret when none
// was given. The secret itself is never logged.
func turnSecrets(flagValue string, log *slog.Logger) ([]string, error) {
	if flagValue != "" {
		return strings.Split(flagValue, ","), nil
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	log.Warn("no -turn-secret or $TURN_SECRET: using a random secret that no TURN server shares")
	return []string{base64.RawURLEncoding.EncodeToString(b)}, nil
}
