package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/streamwire/streamwire/dtlssrtp"
	"github.com/streamwire/streamwire/ice"
	"github.com/streamwire/streamwire/internal/httpserver"
	"github.com/streamwire/streamwire/relay"
	"github.com/streamwire/streamwire/signaling/apprtc"
	"github.com/streamwire/streamwire/signaling/kvs"
	"github.com/streamwire/streamwire/signaling/natsbackplane"
	"github.com/streamwire/streamwire/signaling/whip"
	"github.com/streamwire/streamwire/turnrest"
)

// config is what the flags set.
type config struct {
	UDP        string   // STUN and WebRTC media (ICE-lite Mux)
	TCP        string   // ICE-TCP; off when empty
	PublicIPs  []string // announced in ICE candidates (1:1 NAT)
	HTTP       string
	HTTPS      string // off when empty
	TLSCert    string
	TLSKey     string
	HTTPPerIP  int // 0: httpserver.DefaultMaxConnsPerIP; negative: no cap
	Token      string
	DropBFrame bool
	WHEPWait   bool   // WHEP of an unpublished stream waits for its publisher instead of 409
	NATS       string // backplane URL; empty: in memory
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

// bound are the addresses the server listens on; TCP, HTTPS and RTMPS are
// nil when off.
type bound struct{ UDP, TCP, HTTP, HTTPS, RTMP, RTMPS net.Addr }

// shutdownTimeout bounds the HTTP servers' graceful shutdown, so that the
// whole server exits within 5 s of SIGTERM.
const shutdownTimeout = 4 * time.Second

// app is the server's parts, wired by run.
type app struct {
	cfg     config
	log     *slog.Logger
	hub     *relay.Hub
	reg     *registry
	metrics *metrics
	rtmp    *rtmpHandler
	turn    *turnrest.Minter
	whip    *whip.Handler
	apprtc  *apprtc.Server
	kvs     *kvs.Server
	nats    *natsbackplane.Backplane // nil without -nats
	bound   bound
}

// run serves until ctx is done, then shuts down gracefully. out receives
// the URLs to publish and play; ready, if not nil, receives the bound
// addresses once every listener is open (tests use it with ":0" ports).
func run(ctx context.Context, cfg config, log *slog.Logger, out io.Writer, ready func(bound)) error {
	ls, err := listen(cfg)
	if err != nil {
		return err
	}
	defer ls.close()
	a := &app{cfg: cfg, log: log, reg: newRegistry(), bound: ls.bound()}
	a.hub = relay.NewHub(relay.Config{Logger: log})
	a.metrics = newMetrics(a.reg)
	a.rtmp = newRTMPHandler(a.hub, a.reg, cfg.Token)

	// The media side (the Mux and RTMP) outlives ctx, so that the shutdown
	// can still say goodbye on it (DTLS close_notify, RTMP status).
	media, stopMedia := context.WithCancelCause(context.Background())
	defer stopMedia(nil)
	fail := func(err error) { stopMedia(err) }
	mux := ice.NewMux(ls.udp, ice.MuxConfig{Logger: log})
	var wg sync.WaitGroup
	goServe(&wg, func() error { return mux.Serve(media) }, ice.ErrServerClosed, fail)
	if ls.tcp != nil {
		goServe(&wg, func() error { return mux.ServeTCP(media, ls.tcp) }, ice.ErrServerClosed, fail)
	}
	if err := a.build(mux, ls); err != nil {
		mux.Close()
		return err
	}
	stopRTMP := []func(){serveRTMP(media, ls.rtmp, a.rtmp, cfg, log, fail)}
	if ls.rtmps != nil {
		stopRTMP = append(stopRTMP, serveRTMP(media, ls.rtmps, a.rtmp, cfg, log, fail))
	}
	httpDone := a.serveHTTP(ctx, &wg, ls, fail)
	wg.Add(1)
	go func() { defer wg.Done(); a.reg.refresh(media, refreshEvery) }()

	a.printURLs(out)
	if ready != nil {
		ready(a.bound)
	}
	select {
	case <-ctx.Done():
	case <-media.Done():
	}
	a.shutdown(stopRTMP, mux)
	stopMedia(nil)
	<-httpDone
	wg.Wait()
	if err := context.Cause(media); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return context.Cause(ctx)
}

// goServe runs serve in a goroutine; an error other than closed stops
// the server through fail.
func goServe(wg *sync.WaitGroup, serve func() error, closed error, fail func(error)) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := serve(); err != nil && !errors.Is(err, closed) {
			fail(err)
		}
	}()
}

// build makes the WebRTC and signaling parts.
func (a *app) build(mux *ice.Mux, ls *listeners) error {
	secrets, err := turnSecrets(a.cfg.TURNSecret, len(a.cfg.TURNURIs) > 0, a.log)
	if err != nil {
		return err
	}
	a.turn, err = turnrest.New(turnrest.Config{
		Secrets: secrets,
		TTL:     a.cfg.TURNTTL,
		URIs:    append([]string{"stun:" + ls.udp.LocalAddr().String()}, a.cfg.TURNURIs...),
		Logger:  a.log,
	})
	if err != nil {
		return fmt.Errorf("turn rest: %w", err)
	}
	g, err := gatherer(ls, a.cfg.PublicIPs)
	if err != nil {
		return err
	}
	if udp, ok := ls.udp.LocalAddr().(*net.UDPAddr); ok && udp.IP.IsLoopback() && len(a.cfg.PublicIPs) > 0 {
		a.log.Warn("-public-ip is announced, but -udp listens on a loopback address: media from other machines cannot reach it "+
			"(bind -udp, and -tcp, to 0.0.0.0 or the interface's address)", "udp", udp.String(), "public_ip", a.cfg.PublicIPs)
	}
	cert, err := dtlssrtp.GenerateCertificate(dtlssrtp.CertificateConfig{})
	if err != nil {
		return fmt.Errorf("dtls certificate: %w", err)
	}
	b := &backend{hub: a.hub, mux: mux, gatherer: g, cert: cert, reg: a.reg, metrics: a.metrics, log: a.log}
	if a.cfg.DropBFrame {
		b.bframes = relay.DropBFrames
	}
	b.wait = a.cfg.WHEPWait
	wcfg := whip.Config{Backend: b, PublishToken: a.cfg.Token, Logger: a.log,
		ConnectHint: "the client sent no ICE check to any candidate of the answer: " +
			"give the server's public address with -public-ip, and open the UDP port of -udp (or the TCP port of -tcp) in every firewall between"}
	if len(a.cfg.TURNURIs) > 0 {
		wcfg.TURN = a.turn
	}
	if a.whip, err = whip.NewHandler(wcfg); err != nil {
		return err
	}
	acfg := apprtc.Config{Logger: a.log}
	kcfg := kvs.Config{Logger: a.log}
	if len(a.cfg.TURNURIs) > 0 {
		kcfg.ICE = a.turn
	}
	if err := a.backplane(&acfg, &kcfg); err != nil {
		return err
	}
	if a.apprtc, err = apprtc.New(acfg); err != nil {
		return err
	}
	a.kvs, err = kvs.New(kcfg)
	return err
}

// backplane puts the AppRTC rooms and KVS channels on NATS with -nats, so
// that instances sharing it share them.
func (a *app) backplane(acfg *apprtc.Config, kcfg *kvs.Config) error {
	if a.cfg.NATS == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), natsConnectTimeout)
	defer cancel()
	bp, err := natsbackplane.Connect(ctx, a.cfg.NATS, natsbackplane.Config{Logger: a.log})
	if err != nil {
		return fmt.Errorf("-nats %s: %w", a.cfg.NATS, err)
	}
	a.nats = bp
	if acfg.Store, err = bp.AppRTC(ctx, *acfg); err != nil {
		return err
	}
	kcfg.Store, err = bp.KVS(ctx, *kcfg)
	return err
}

// natsConnectTimeout bounds connecting to -nats and opening its buckets.
const natsConnectTimeout = 10 * time.Second

// gatherer announces the UDP socket's and the ICE-TCP listener's
// addresses, or the -public-ip ones in their place.
func gatherer(ls *listeners, publicIPs []string) (*ice.Gatherer, error) {
	udp, err := ice.UDPSocket(ls.udp)
	if err != nil {
		return nil, err
	}
	var tcp ice.Socket
	if ls.tcp != nil {
		if tcp, err = ice.TCPSocket(ls.tcp); err != nil {
			return nil, err
		}
	}
	var announced []netip.Addr
	for _, s := range publicIPs {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("-public-ip %q: %w", s, err)
		}
		announced = append(announced, ip)
	}
	g, err := ice.NewGatherer(udp, tcp, ice.GatherConfig{Announced: announced})
	if err != nil {
		return nil, fmt.Errorf("ICE candidates (-udp, -tcp, -public-ip): %w", err)
	}
	return g, nil
}

// serveHTTP serves the URL map on HTTP and, with -https, HTTPS, until ctx
// is done; the returned channel is closed when both have shut down.
func (a *app) serveHTTP(ctx context.Context, wg *sync.WaitGroup, ls *listeners, fail func(error)) <-chan struct{} {
	h := newRouter(a.routes())
	var hw sync.WaitGroup
	serve := func(ln net.Listener, tc *tls.Config) {
		hs := httpserver.New(httpserver.Config{Handler: h, MaxConnsPerIP: a.cfg.HTTPPerIP, TLS: tc,
			ShutdownTimeout: shutdownTimeout, Logger: a.log})
		hw.Add(1)
		goServe(wg, func() error { defer hw.Done(); return hs.Serve(ctx, ln) }, httpserver.ErrServerClosed, fail)
	}
	serve(ls.http, nil)
	if ls.https != nil {
		serve(ls.https, ls.tls)
	}
	done := make(chan struct{})
	go func() { hw.Wait(); close(done) }()
	return done
}

// shutdown says goodbye to every client: WHIP and WHEP sessions are
// closed (DTLS close_notify), the AppRTC and KVS WebSockets get their
// close frames (KVS: GO_AWAY first), and RTMP-published streams end, so
// that RTMP players get NetStream.Play.UnpublishNotify; then the RTMP
// servers and the Mux close. The HTTP servers shut down meanwhile.
func (a *app) shutdown(stopRTMP []func(), mux *ice.Mux) {
	var wg sync.WaitGroup
	for _, closer := range []interface{ Close() error }{a.whip, a.apprtc, a.kvs} {
		wg.Add(1)
		go func() { defer wg.Done(); _ = closer.Close() }()
	}
	if a.rtmp.endStreams() > 0 && a.reg.snapshot().subscribers[protoRTMP] > 0 {
		// The players' writers send the end of the stream from their own
		// goroutines; what they have written reaches the players after the
		// close too (TCP delivers it before the FIN).
		time.Sleep(rtmpDrain)
	}
	for _, stop := range stopRTMP {
		stop()
	}
	wg.Wait()
	if a.nats != nil {
		_ = a.nats.Close() // after the stores' users
	}
	mux.Close()
}

// rtmpDrain is how long the shutdown lets RTMP players write the end of
// their streams before their connections close.
const rtmpDrain = 250 * time.Millisecond

// turnSecrets splits the -turn-secret value, or makes a random secret when none
// was given, which is worth a warning only when TURN URIs are handed out
// (withURIs): their server cannot share it. The secret itself is never
// logged.
func turnSecrets(flagValue string, withURIs bool, log *slog.Logger) ([]string, error) {
	if flagValue != "" {
		return strings.Split(flagValue, ","), nil
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	if withURIs {
		log.Warn("-turn-uri without -turn-secret or $TURN_SECRET: the credentials handed out use a random secret that no TURN server shares")
	}
	return []string{base64.RawURLEncoding.EncodeToString(b)}, nil
}
