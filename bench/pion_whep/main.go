// Command pion_whep is the comparison relay of BenchmarkWHEPLoad
// (../whep_load_test.go): one RTMP publisher in, through gortmplib
// (MediaMTX's RTMP library), and WHEP viewers out, through pion/webrtc v4
// with one PeerConnection per viewer, the way MediaMTX serves WHEP
// (internal/protocols/webrtc in MediaMTX 1.x):
//
//   - one UDP port for every viewer (webrtc.NewICEUDPMux, MediaMTX's
//     webrtcLocalUDPAddress), full ICE, loopback candidates included;
//   - the interceptors MediaMTX registers: NACK responder and generator,
//     simulcast header extensions and TWCC (no RTCP reports);
//   - per viewer a TrackLocalStaticRTP, a goroutine reading its sender's
//     RTCP, and a queue of access units (MediaMTX's asyncwriter, 512
//     entries, dropping when full) drained by the viewer's own goroutine,
//     which packetizes each access unit (pion/rtp's H.264 payloader,
//     1,200-byte packets; MediaMTX's rtph264 encoder is per reader too) and
//     writes the packets to the track;
//   - SPS and PPS before every IDR, as MediaMTX's H.264 processor puts
//     them.
//
// It leaves out what MediaMTX adds around this (paths, auth, a dummy PCMU
// track when the stream has no audio: the load client offers only Opus).
// It serves until SIGTERM, SIGINT or its stdin closes, and prints
// "listening" once its ports are open. /metrics gives go_goroutines,
// go_memstats_heap_inuse_bytes and its viewer and drop counts in the
// Prometheus text format.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	rtpcodecs "github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
)

// Sizes MediaMTX uses: 1,200-byte RTP packets, 512-entry reader queues.
const (
	mtu        = 1200
	queueSize  = 512
	maxOffer   = 64 << 10
	h264Fmtp   = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
	videoClock = 90000
)

func main() {
	httpAddr := flag.String("http", "127.0.0.1:0", "HTTP address of /whep/APP/NAME and /metrics")
	udpAddr := flag.String("udp", "127.0.0.1:0", "UDP address of all WebRTC media")
	rtmpAddr := flag.String("rtmp", "127.0.0.1:0", "TCP address of the RTMP ingest")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { // the parent closing our stdin also stops us
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	if path := os.Getenv("PION_WHEP_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	if err := run(ctx, *httpAddr, *udpAddr, *rtmpAddr, log); err != nil {
		log.Error("pion_whep", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, httpAddr, udpAddr, rtmpAddr string, log *slog.Logger) error {
	ua, err := net.ResolveUDPAddr("udp4", udpAddr)
	if err != nil {
		return err
	}
	udp, err := net.ListenUDP("udp4", ua)
	if err != nil {
		return err
	}
	defer udp.Close()
	api, err := newAPI(udp)
	if err != nil {
		return err
	}
	rl, err := net.Listen("tcp", rtmpAddr)
	if err != nil {
		return err
	}
	defer rl.Close()
	hl, err := net.Listen("tcp", httpAddr)
	if err != nil {
		return err
	}
	r := &relay{api: api, log: log, viewers: map[*viewer]struct{}{}}
	go r.serveRTMP(rl)
	mux := http.NewServeMux()
	mux.HandleFunc("/whep/", r.whep)
	mux.HandleFunc("/metrics", r.metrics)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(hl) }()
	fmt.Printf("listening http=%s udp=%s rtmp=%s\n", hl.Addr(), udp.LocalAddr(), rl.Addr())
	<-ctx.Done()
	_ = srv.Close()
	r.closeAll()
	return nil
}

// newAPI builds the pion API as MediaMTX's PeerConnection.Start does for
// a reader: H.264 only (the stream's one track), MediaMTX's interceptors,
// and every viewer on the one UDP socket.
func newAPI(udp *net.UDPConn) (*webrtc.API, error) {
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEUDPMux(webrtc.NewICEUDPMux(nil, udp))
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: videoClock, SDPFmtpLine: h264Fmtp},
		PayloadType:        96,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureNack(me, ir); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(me); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureTWCCSender(me, ir); err != nil {
		return nil, err
	}
	return webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir)), nil
}

// accessUnit is one H.264 access unit as the RTMP reader gives it: NAL
// units without start codes, shared read-only by every viewer.
type accessUnit struct {
	pts  time.Duration
	nalu [][]byte
}

// relay is the one stream and its viewers.
type relay struct {
	api *webrtc.API
	log *slog.Logger

	mu      sync.RWMutex
	viewers map[*viewer]struct{}
	live    bool

	drops, auIn atomic.Uint64
	sessions    atomic.Int64
	nextID      atomic.Uint64
}

// viewer is one WHEP session.
type viewer struct {
	pc    *webrtc.PeerConnection
	track *webrtc.TrackLocalStaticRTP
	q     chan *accessUnit
	done  chan struct{}
	once  sync.Once
}

func (r *relay) serveRTMP(l net.Listener) {
	for {
		nc, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer nc.Close()
			if err := r.handleRTMP(nc); err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				r.log.Warn("rtmp", "err", err)
			}
		}()
	}
}

// handleRTMP reads one publisher's H.264 and hands each access unit to
// every viewer's queue, SPS and PPS first on IDRs.
func (r *relay) handleRTMP(nc net.Conn) error {
	sc := &gortmplib.ServerConn{RW: nc}
	if err := sc.Initialize(); err != nil {
		return err
	}
	if err := sc.AcceptConn(); err != nil {
		return err
	}
	if !sc.Publish {
		return errors.New("only publishing is served")
	}
	rd := &gortmplib.Reader{Conn: sc}
	if err := rd.Initialize(); err != nil {
		return err
	}
	for _, tr := range rd.Tracks() {
		h, ok := tr.Codec.(*codecs.H264)
		if !ok {
			continue
		}
		sps, pps := h.SPS, h.PPS
		rd.OnDataH264(tr, func(pts, _ time.Duration, au [][]byte) {
			r.broadcast(&accessUnit{pts: pts, nalu: withParams(au, sps, pps)})
		})
	}
	r.mu.Lock()
	r.live = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.live = false
		r.mu.Unlock()
	}()
	for {
		if err := rd.Read(); err != nil {
			return err
		}
	}
}

// withParams puts SPS and PPS before an IDR that lacks them (H.264 §7.4.1.2.3).
func withParams(au [][]byte, sps, pps []byte) [][]byte {
	idr, params := false, false
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		switch n[0] & 0x1f {
		case 5:
			idr = true
		case 7, 8:
			params = true
		}
	}
	if !idr || params || sps == nil || pps == nil {
		return au
	}
	return append([][]byte{sps, pps}, au...)
}

func (r *relay) broadcast(au *accessUnit) {
	r.auIn.Add(1)
	r.mu.RLock()
	defer r.mu.RUnlock()
	for v := range r.viewers {
		select {
		case v.q <- au:
		default:
			r.drops.Add(1) // MediaMTX's asyncwriter: "reader is too slow"
		}
	}
}

// whep answers a WHEP POST (draft-ietf-wish-whep §4.2) with a
// PeerConnection whose candidates are all gathered (no trickle).
func (r *relay) whep(w http.ResponseWriter, req *http.Request) {
	switch req.Method {
	case http.MethodPost:
	case http.MethodDelete:
		w.WriteHeader(http.StatusOK) // sessions end by DTLS close_notify or ICE timeout
		return
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	r.mu.RLock()
	live := r.live
	r.mu.RUnlock()
	if !live {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "stream not published", http.StatusConflict)
		return
	}
	offer, err := io.ReadAll(io.LimitReader(req.Body, maxOffer))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	answer, err := r.newViewer(string(offer))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", req.URL.Path+"/"+strconv.FormatUint(r.nextID.Add(1), 10))
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

func (r *relay) newViewer(offer string) (string, error) {
	pc, err := r.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return "", err
	}
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeH264, ClockRate: videoClock, SDPFmtpLine: h264Fmtp}, "video", "pion")
	if err != nil {
		_ = pc.Close()
		return "", err
	}
	sender, err := pc.AddTrack(track)
	if err != nil {
		_ = pc.Close()
		return "", err
	}
	go func() { // MediaMTX's OutgoingTrack reads RTCP so that NACKs reach the interceptor
		buf := make([]byte, 1500)
		for {
			if _, _, err := sender.Read(buf); err != nil {
				return
			}
		}
	}()
	v := &viewer{pc: pc, track: track, q: make(chan *accessUnit, queueSize), done: make(chan struct{})}
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			r.add(v)
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			// Not on Disconnected: pion reports it after 5 s without a packet
			// from the viewer and goes back to Connected when one comes, and
			// MediaMTX, like this, keeps the session until Failed (25 s).
			r.remove(v)
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		_ = pc.Close()
		return "", err
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		_ = pc.Close()
		return "", err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		_ = pc.Close()
		return "", err
	}
	<-gathered
	return pc.LocalDescription().SDP, nil
}

// add starts sending to v; pion reports Connected again after each
// Disconnected, which changes nothing here.
func (r *relay) add(v *viewer) {
	r.mu.Lock()
	_, had := r.viewers[v]
	r.viewers[v] = struct{}{}
	r.mu.Unlock()
	if !had {
		r.sessions.Add(1)
		go v.run()
	}
}

func (r *relay) remove(v *viewer) {
	r.mu.Lock()
	_, ok := r.viewers[v]
	delete(r.viewers, v)
	r.mu.Unlock()
	if ok {
		r.sessions.Add(-1)
		v.once.Do(func() { close(v.done) })
		go v.pc.Close()
	}
}

func (r *relay) closeAll() {
	r.mu.Lock()
	vs := make([]*viewer, 0, len(r.viewers))
	for v := range r.viewers {
		vs = append(vs, v)
	}
	r.mu.Unlock()
	for _, v := range vs {
		r.remove(v)
	}
}

// run packetizes and writes the viewer's queue until the session ends.
func (v *viewer) run() {
	p := rtp.NewPacketizer(mtu, 96, 0, &rtpcodecs.H264Payloader{}, rtp.NewRandomSequencer(), videoClock)
	var annexB []byte
	for {
		select {
		case <-v.done:
			return
		case au := <-v.q:
			annexB = annexB[:0]
			for _, n := range au.nalu {
				annexB = append(annexB, 0, 0, 0, 1)
				annexB = append(annexB, n...)
			}
			ts := uint32(au.pts * videoClock / time.Second)
			for _, pkt := range p.Packetize(annexB, 0) {
				pkt.Timestamp = ts
				if err := v.track.WriteRTP(pkt); err != nil {
					return
				}
			}
		}
	}
}

// metrics writes the Prometheus text format by hand: the few gauges the
// benchmark reads, named as client_golang's Go collector names them.
func (r *relay) metrics(w http.ResponseWriter, _ *http.Request) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var b strings.Builder
	fmt.Fprintf(&b, "go_goroutines %d\n", runtime.NumGoroutine())
	fmt.Fprintf(&b, "go_memstats_heap_inuse_bytes %d\n", ms.HeapInuse)
	fmt.Fprintf(&b, "pion_whep_viewers %d\n", r.sessions.Load())
	fmt.Fprintf(&b, "pion_whep_access_units_total %d\n", r.auIn.Load())
	fmt.Fprintf(&b, "pion_whep_slow_consumer_drops_total %d\n", r.drops.Load())
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_, _ = io.WriteString(w, b.String())
}
