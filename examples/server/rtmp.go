package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"

	"github.com/streamwire/streamwire/relay"
	"github.com/streamwire/streamwire/rtmp"
	"github.com/streamwire/streamwire/signaling/whip"
)

// serveRTMP serves RTMP (or RTMPS, if ln is a TLS listener) on ln with h
// until ctx is done or stop is called; stop waits for every session to end.
// Publishers push to rtmp://HOST/APP/NAME and any number of players play the
// same URL, starting on a keyframe (the hub caches metadata, sequence headers
// and the last GOP). cfg gives the merged-write interval and the connection
// caps (-rtmp-write-interval, -rtmp-max-conns, -rtmp-max-conns-per-ip).
// Temporary accept errors (out of descriptors) are waited out by Serve; any
// other failure is passed to fail, which stops the process rather than
// leaving it up with a dead RTMP port.
func serveRTMP(ctx context.Context, ln net.Listener, h rtmp.Handler, cfg config, logger *slog.Logger, fail func(error)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	srv := rtmp.NewServer(rtmp.ServerConfig{
		Handler:           h,
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

// rtmpHandler is the relay's RTMP handler with the server's bookkeeping:
// every publisher and player is in the registry (for /api/streams and the
// metrics) with its traffic counted, publishers need -token when it is
// set, and shutdown can end every RTMP-published stream, so that players
// are told (NetStream.Play.UnpublishNotify) before their connections close.
type rtmpHandler struct {
	relay *relay.RTMPHandler
	reg   *registry
	token string // -token: publishers add ?token=T to the stream name

	mu         sync.Mutex
	publishers map[*rtmpPublisher]struct{}
}

func newRTMPHandler(hub *relay.Hub, reg *registry, token string) *rtmpHandler {
	h := &rtmpHandler{reg: reg, token: token, publishers: map[*rtmpPublisher]struct{}{}}
	h.relay = &relay.RTMPHandler{Hub: hub, Authorize: h.authorize}
	return h
}

// authorize checks -token on publish: rtmp://HOST/APP/NAME?token=T (OBS:
// stream key NAME?token=T). Playing needs no token, as with WHEP. A
// publisher's path must also be one that WHEP and player URLs can name
// (whip.ParseStream: no empty, dot or control-character segment), so that
// every URL /api/streams hands out for it plays it.
func (h *rtmpHandler) authorize(_ context.Context, req *rtmp.StreamRequest, publish bool) error {
	if !publish {
		return nil
	}
	if h.token != "" && !tokenEqual(req.Query.Get("token"), h.token) {
		return rtmp.ErrUnauthorized
	}
	if _, err := whip.ParseStream(escapePath(req.Path())); err != nil {
		return fmt.Errorf("%w: %w", errStreamPath, err)
	}
	return nil
}

// errStreamPath refuses to publish a path that no WHEP URL can name.
var errStreamPath = &rtmp.StatusError{Code: rtmp.CodePublishBadName,
	Description: "Stream names are APP/NAME with NAME of one or more '/'-separated segments: no empty, '.' or '..' segment, no control characters."}

// tokenEqual compares tokens in constant time.
func tokenEqual(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// Publish implements rtmp.Handler.
func (h *rtmpHandler) Publish(ctx context.Context, req *rtmp.StreamRequest) (rtmp.MediaSink, error) {
	sink, err := h.relay.Publish(ctx, req)
	if err != nil {
		return nil, err
	}
	p := &rtmpPublisher{MediaSink: sink, h: h}
	h.mu.Lock()
	h.publishers[p] = struct{}{}
	h.mu.Unlock()
	h.reg.add(p, entryOf(protoRTMP, req.Path(), true))
	return p, nil
}

// Play implements rtmp.Handler.
func (h *rtmpHandler) Play(ctx context.Context, req *rtmp.StreamRequest) (rtmp.MediaSource, error) {
	src, err := h.relay.Play(ctx, req)
	if err != nil {
		return nil, err
	}
	ready, ok := src.(rtmp.ReadyNotifier)
	if !ok {
		return nil, fmt.Errorf("relay's RTMP source %T has no ReadyNotifier", src)
	}
	p := &rtmpPlayer{MediaSource: src, ReadyNotifier: ready, reg: h.reg}
	h.reg.add(p, entryOf(protoRTMP, req.Path(), false))
	return p, nil
}

// endStreams ends every RTMP-published stream, so that the hub's players
// read what is queued, then the end of the stream; it returns how many it
// ended.
func (h *rtmpHandler) endStreams() int {
	h.mu.Lock()
	ps := make([]*rtmpPublisher, 0, len(h.publishers))
	for p := range h.publishers {
		ps = append(ps, p)
	}
	h.mu.Unlock()
	for _, p := range ps {
		p.Close()
	}
	return len(ps)
}

// rtmpPublisher counts what an RTMP publisher sends.
type rtmpPublisher struct {
	rtmp.MediaSink
	h               *rtmpHandler
	bytes, messages atomic.Uint64
	closeOnce       sync.Once
	closeErr        error
}

func (p *rtmpPublisher) WriteMedia(m rtmp.Media) error {
	p.messages.Add(1)
	p.bytes.Add(uint64(len(m.Payload)))
	return p.MediaSink.WriteMedia(m)
}

// Close ends the stream once, whether the connection ended or the server
// is shutting down.
func (p *rtmpPublisher) Close() error {
	p.closeOnce.Do(func() {
		p.closeErr = p.MediaSink.Close()
		p.h.mu.Lock()
		delete(p.h.publishers, p)
		p.h.mu.Unlock()
		p.h.reg.remove(p)
	})
	return p.closeErr
}

func (p *rtmpPublisher) counters() counters {
	return counters{bytesIn: p.bytes.Load(), packetsIn: p.messages.Load()}
}

func (p *rtmpPublisher) final() counters { return p.counters() }

// rtmpPlayer counts what an RTMP player is sent. It keeps the relay
// source's ReadyNotifier, through which the rtmp server writes plain TCP
// players from the publisher's goroutine.
type rtmpPlayer struct {
	rtmp.MediaSource
	rtmp.ReadyNotifier
	reg             *registry
	bytes, messages atomic.Uint64
	// reads counts the reads that took media; every statsEvery of them
	// the source's drops, which take the subscriber's lock (the one the
	// publisher's fan-out takes), are copied to dropped for the scrapes.
	reads, dropped atomic.Uint64
	closeOnce      sync.Once
}

func (p *rtmpPlayer) ReadMedia(ctx context.Context, dst []rtmp.Media) ([]rtmp.Media, error) {
	n := len(dst)
	dst, err := p.MediaSource.ReadMedia(ctx, dst)
	p.count(dst[n:])
	return dst, err
}

func (p *rtmpPlayer) TryReadMedia(dst []rtmp.Media) ([]rtmp.Media, error) {
	n := len(dst)
	dst, err := p.MediaSource.TryReadMedia(dst)
	p.count(dst[n:])
	return dst, err
}

func (p *rtmpPlayer) count(ms []rtmp.Media) {
	if len(ms) == 0 {
		return
	}
	var b uint64
	for i := range ms {
		b += uint64(len(ms[i].Payload))
	}
	p.messages.Add(uint64(len(ms)))
	p.bytes.Add(b)
	if p.reads.Add(1)%statsEvery == 0 {
		p.dropped.Store(p.sourceDropped())
	}
}

func (p *rtmpPlayer) Close() error {
	err := p.MediaSource.Close()
	p.closeOnce.Do(func() { p.reg.remove(p) })
	return err
}

// sourceDropped is the relay source's count of dropped frames.
func (p *rtmpPlayer) sourceDropped() uint64 {
	if d, ok := p.MediaSource.(interface{ Dropped() int64 }); ok {
		return uint64(d.Dropped())
	}
	return 0
}

// counters implements meter without a lock: drops as last copied.
func (p *rtmpPlayer) counters() counters {
	return counters{bytesOut: p.bytes.Load(), packetsOut: p.messages.Load(), drops: p.dropped.Load()}
}

// final implements meter: the drops read afresh.
func (p *rtmpPlayer) final() counters {
	p.dropped.Store(p.sourceDropped())
	return p.counters()
}
