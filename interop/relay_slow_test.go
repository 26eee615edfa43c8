package interop

// Slow viewers never stall the publisher or the other viewers (issue 10):
// our RTMP client publishes a stream at about 5 Mbit/s into the relay, two
// pion/webrtc viewers receive it through package peer, and one of them
// stops: a UDP viewer that stops answering is closed by consent expiry
// (RFC 7675), and an ICE-TCP viewer that stops reading is dropped once
// its connection's writes time out. Meanwhile the publisher keeps its
// frame rate and the other viewer keeps receiving.

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/streamwire/streamwire/dtlssrtp"
	"github.com/streamwire/streamwire/ice"
	"github.com/streamwire/streamwire/internal/syncbuf"
	"github.com/streamwire/streamwire/peer"
	"github.com/streamwire/streamwire/relay"
	"github.com/streamwire/streamwire/rtmp"
	"github.com/streamwire/streamwire/rtmp/flv"
	"github.com/streamwire/streamwire/sdp"
)

const (
	// slowConsent is the Mux's consent timeout in these tests, instead of
	// 30 s.
	slowConsent = 2 * time.Second
	// slowTCPWrite bounds a write on an ICE-TCP connection.
	slowTCPWrite = time.Second
	// slowPadding inflates each frame, so that the stream runs at about
	// 5 Mbit/s and a viewer that stops reading fills its socket buffers
	// in seconds.
	slowPadding = 20 << 10
)

// TestRelaySlowViewerUDPConsent: viewer B's UDP socket goes silent in
// both directions; the Mux closes its session with ErrConsentExpired
// within the consent timeout, its relay subscriber ends, and viewer A
// and the publisher go on as before.
func TestRelaySlowViewerUDPConsent(t *testing.T) {
	rig := newSlowRig(t)
	a := rig.viewer(t, "A", nil)
	frozen := &freezableConn{}
	b := rig.viewer(t, "B", frozen)
	rig.waitPackets(t, a, b)

	frozen.frozen.Store(true)
	stoppedAt := time.Now()
	b.waitEnd(t, slowConsent+5*time.Second)
	if !errors.Is(b.peer.Err(), ice.ErrConsentExpired) {
		t.Errorf("frozen viewer's peer ended with %v, want ice.ErrConsentExpired", b.peer.Err())
	}
	if took := time.Since(stoppedAt); took < slowConsent-200*time.Millisecond {
		t.Errorf("frozen viewer closed after %v, before the %v consent timeout", took, slowConsent)
	}
	rig.checkOthersGoOn(t, a)
}

// TestRelaySlowViewerTCPBackpressure: viewer B reaches us over ICE-TCP
// through a proxy that stops reading from our side. Once the socket
// buffers are full, our write to it blocks until MuxConfig.TCPWriteTimeout
// closes the connection: the write fails with a time-out, which ends the
// viewer's relay subscriber, and its session expires for want of checks.
// The write blocks only the viewer's own goroutine, so viewer A and the
// publisher are not held up.
func TestRelaySlowViewerTCPBackpressure(t *testing.T) {
	rig := newSlowRig(t)
	a := rig.viewer(t, "A", nil)
	proxy := newStallProxy(t, rig.tcpAddr)
	b := rig.tcpViewer(t, "B", proxy)
	rig.waitPackets(t, a, b)

	proxy.stall()
	stoppedAt := time.Now()
	select {
	case <-b.ran:
	case <-time.After(15 * time.Second):
		t.Fatalf("the stalled TCP viewer still runs %v after it stopped reading", time.Since(stoppedAt))
	}
	// The connection closes when a write times out, or when it has been
	// idle for the consent time-out if pion stops checking a pair that no
	// longer answers; either way the write fails with ice.ErrPathClosed,
	// which names the cause.
	if !errors.Is(b.err, ice.ErrPathClosed) {
		t.Errorf("the stalled TCP viewer's Run ended with %v, want ice.ErrPathClosed", b.err)
	}
	t.Logf("the stalled TCP viewer was dropped after %v: %v (hub drops %d)", time.Since(stoppedAt), b.err, b.sub.Dropped())
	b.waitEnd(t, slowConsent+5*time.Second)
	rig.checkOthersGoOn(t, a)
}

// slowRig is the server side: the relay with its RTMP server, a Mux with
// short consent and TCP write time-outs, and a publisher.
type slowRig struct {
	hub      *relay.Hub
	mux      *ice.Mux
	cert     *dtlssrtp.Certificate
	udpCand  ice.Candidate
	tcpAddr  netip.AddrPort
	pub      *slowPublisher
	logs     syncbuf.Buffer
	viewers  sync.WaitGroup
	cancelVs context.CancelFunc
	ctx      context.Context
	// groupSize is the viewers' WebRTCSubscriberConfig.GroupSize.
	groupSize int
	// noRTX answers without RTX (RFC 4588): retransmissions resend the
	// original packets.
	noRTX bool
	// onRTP, when set, is given every packet a viewer reads, and whether
	// pion unwrapped it from RTX.
	onRTP func(v *slowViewer, pkt *rtp.Packet, rtx bool)
	// pion, when set, adjusts the UDP viewers' SettingEngine.
	pion func(*webrtc.SettingEngine)
}

func newSlowRig(t *testing.T) *slowRig {
	t.Helper()
	base, hub := startOurRTMP(t, nil)
	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &slowRig{hub: hub, tcpAddr: ln.Addr().(*net.TCPAddr).AddrPort()}
	r.mux = ice.NewMux(udp, ice.MuxConfig{ConsentTimeout: slowConsent, TCPWriteTimeout: slowTCPWrite,
		Logger: slog.New(slog.NewTextHandler(&r.logs, nil))})
	serveCtx, stopServe := context.WithCancel(context.Background())
	served := make(chan error, 2)
	go func() { served <- r.mux.Serve(serveCtx) }()
	go func() { served <- r.mux.ServeTCP(serveCtx, ln) }()
	r.ctx, r.cancelVs = context.WithCancel(context.Background())
	t.Cleanup(func() {
		r.cancelVs()
		r.viewers.Wait()
		stopServe()
		for range 2 {
			if err := <-served; !errors.Is(err, ice.ErrServerClosed) {
				t.Errorf("Serve or ServeTCP = %v", err)
			}
		}
		udp.Close()
		if t.Failed() {
			t.Logf("mux and relay log:\n%s", tail(r.logs.String(), 40))
		}
	})
	if r.cert, err = dtlssrtp.GenerateCertificate(dtlssrtp.CertificateConfig{}); err != nil {
		t.Fatal(err)
	}
	addr := udp.LocalAddr().(*net.UDPAddr).AddrPort()
	r.udpCand = ice.Candidate{Component: 1, Transport: ice.TransportUDP, Addr: addr.Addr(), Port: addr.Port(), Type: ice.TypeHost}
	r.udpCand.Foundation = ice.Foundation(r.udpCand.Type, r.udpCand.Transport, r.udpCand.Addr, netip.Addr{})
	r.udpCand.Priority = r.udpCand.RecommendedPriority(ice.DefaultLocalPreference)
	r.pub = startSlowPublisher(t, base+"/live/slow")
	waitStream(t, hub, "live/slow", 10*time.Second, &r.logs)
	return r
}

// slowViewer is one pion viewer and our side of it.
type slowViewer struct {
	name    string
	peer    *peer.Peer
	sub     *relay.Subscriber
	w       *relay.WebRTCSubscriber
	cancel  context.CancelFunc // ends Run
	packets atomic.Int64       // RTP packets pion read
	ran     chan struct{}
	err     error // Run's; read after ran is closed

	mu  sync.Mutex
	got []rtpSeen // every packet pion read, in order
}

// rtpSeen is what a viewer read of one RTP packet.
type rtpSeen struct {
	seq uint16
	ts  uint32
}

// viewer connects a pion viewer over UDP; with conn, pion's socket is
// conn wrapping a fresh loopback socket, so that the test can silence it.
func (r *slowRig) viewer(t *testing.T, name string, conn *freezableConn) *slowViewer {
	t.Helper()
	se := pionLoopback(webrtc.NetworkTypeUDP4)
	if r.pion != nil {
		r.pion(&se)
	}
	if conn != nil {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		conn.PacketConn = pc
		udpMux := webrtc.NewICEUDPMux(nil, conn)
		t.Cleanup(func() { udpMux.Close() })
		se.SetICEUDPMux(udpMux)
	}
	return r.connect(t, name, se, []ice.Candidate{r.udpCand})
}

// tcpViewer connects a pion viewer over ICE-TCP only, through proxy: our
// answer's one candidate is the proxy's passive TCP address.
func (r *slowRig) tcpViewer(t *testing.T, name string, proxy *stallProxy) *slowViewer {
	t.Helper()
	se := pionLoopback(webrtc.NetworkTypeTCP4)
	addr := proxy.addr()
	c := ice.Candidate{Component: 1, Transport: ice.TransportTCP, Addr: addr.Addr(), Port: addr.Port(),
		Type: ice.TypeHost, TCPType: ice.TCPTypePassive}
	c.Foundation = ice.Foundation(c.Type, c.Transport, c.Addr, netip.Addr{})
	c.Priority = c.RecommendedPriority(ice.MaxOtherPreference)
	return r.connect(t, name, se, []ice.Candidate{c})
}

func (r *slowRig) connect(t *testing.T, name string, se webrtc.SettingEngine, cands []ice.Candidate) *slowViewer {
	t.Helper()
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	v := &slowViewer{name: name, ran: make(chan struct{})}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			pkt, attrs, err := tr.ReadRTP()
			if err != nil {
				return
			}
			if r.onRTP != nil {
				_, rtx := attrs[webrtc.AttributeRtxSsrc]
				r.onRTP(v, pkt, rtx)
			}
			v.mu.Lock()
			v.got = append(v.got, rtpSeen{pkt.SequenceNumber, pkt.Timestamp})
			v.mu.Unlock()
			v.packets.Add(1)
		}
	})
	if v.sub, err = r.hub.Subscribe("live/slow"); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(&r.logs, nil)).With("viewer", name)
	w := relay.NewWebRTCSubscriber(v.sub, relay.WebRTCSubscriberConfig{Logger: log, GroupSize: r.groupSize})
	v.w = w
	v.peer = connectPeer(t, pc, peer.Config{Mux: r.mux, Certificate: r.cert, Candidates: cands,
		SDP:               sdp.Config{Video: sdp.MediaConfig{Direction: sdp.SendOnly, NoRTX: r.noRTX}},
		OnKeyFrameRequest: w.OnKeyFrameRequest, Logger: log})
	video, _ := relay.PeerTracks(v.peer)
	// As the server does: the viewer's Run ends with its peer.
	ctx, cancel := context.WithCancel(r.ctx)
	v.cancel = cancel
	r.viewers.Add(1)
	go func() {
		defer r.viewers.Done()
		defer close(v.ran)
		v.err = w.Run(ctx, video, nil)
	}()
	go func() {
		select {
		case <-v.peer.Done():
		case <-ctx.Done():
		}
		cancel()
	}()
	return v
}

// waitPackets waits until every viewer has received video.
func (r *slowRig) waitPackets(t *testing.T, vs ...*slowViewer) {
	t.Helper()
	for _, v := range vs {
		for deadline := time.Now().Add(ppWait); v.packets.Load() < 100; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("viewer %s received %d packets in %v", v.name, v.packets.Load(), ppWait)
			}
		}
	}
}

// checkOthersGoOn: after the slow viewer ended, the stream has one
// subscriber, viewer a still receives, and the publisher was never held
// up for longer than a frame interval's worth of slack.
func (r *slowRig) checkOthersGoOn(t *testing.T, a *slowViewer) {
	t.Helper()
	if n := r.hub.Subscribers("live/slow"); n != 1 {
		t.Errorf("%d subscribers after the slow viewer ended, want 1", n)
	}
	before := a.packets.Load()
	time.Sleep(time.Second)
	if got := a.packets.Load() - before; got < 100 {
		t.Errorf("viewer A received %d packets in the second after the slow viewer ended", got)
	}
	select {
	case <-a.ran:
		t.Errorf("viewer A's Run ended: %v", a.err)
	default:
	}
	if worst := r.pub.worstWrite(); worst > 500*time.Millisecond {
		t.Errorf("a publisher write took %v: the slow viewer held the publisher up", worst)
	}
	t.Logf("viewer A: %d packets; publisher: %d frames, slowest write %v", a.packets.Load(), r.pub.frames.Load(), r.pub.worstWrite())
}

// waitEnd waits until the viewer's peer and its relay subscriber ended.
func (v *slowViewer) waitEnd(t *testing.T, limit time.Duration) {
	t.Helper()
	select {
	case <-v.ran:
	case <-time.After(limit):
		t.Fatalf("viewer %s still runs %v after it stopped (peer err %v)", v.name, limit, v.peer.Err())
	}
	select {
	case <-v.peer.Done():
	case <-time.After(limit):
		t.Fatalf("viewer %s's peer still runs %v after it stopped", v.name, limit)
	}
}

// freezableConn is pion's UDP socket; once frozen, it drops what it
// reads and what it is given to write, like a viewer whose network went
// away. drop, when set before the viewer connects, picks datagrams to
// lose on the way in.
type freezableConn struct {
	net.PacketConn
	frozen atomic.Bool
	drop   func(datagram []byte) bool
}

func (c *freezableConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err != nil || !c.frozen.Load() && (c.drop == nil || !c.drop(b[:n])) {
			return n, addr, err
		}
	}
}

func (c *freezableConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if c.frozen.Load() {
		return len(b), nil
	}
	return c.PacketConn.WriteTo(b, addr)
}

// stallProxy forwards TCP connections to the Mux's ICE-TCP listener.
// After stall it reads nothing more from our side, while the viewer's
// side still goes through: a viewer that stops reading but still sends
// its checks, so that the connection is never idle and only the writes'
// back-pressure can end it.
type stallProxy struct {
	ln      net.Listener
	stalled chan struct{}
	once    sync.Once
}

func newStallProxy(t *testing.T, target netip.AddrPort) *stallProxy {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln, stalled: make(chan struct{})}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp4", target.String())
			if err != nil {
				client.Close()
				continue
			}
			// A small receive buffer, so that the stall shows within
			// seconds (the stream is about 5 Mbit/s), but not so small
			// that a loaded machine's proxy falls behind before it.
			_ = server.(*net.TCPConn).SetReadBuffer(64 << 10)
			mu.Lock()
			conns = append(conns, client, server)
			mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); p.pipe(client, server, nil) }()
			go func() { defer wg.Done(); p.pipe(server, client, p.stalled) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return p
}

func (p *stallProxy) addr() netip.AddrPort { return p.ln.Addr().(*net.TCPAddr).AddrPort() }

func (p *stallProxy) stall() { p.once.Do(func() { close(p.stalled) }) }

// pipe copies src to dst until stop is closed or either side closes.
func (p *stallProxy) pipe(src, dst net.Conn, stop <-chan struct{}) {
	buf := make([]byte, 32<<10)
	for {
		select {
		case <-stop:
			return
		default:
		}
		_ = src.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil && !isTimeout(err) {
			return
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// slowPublisher publishes the test clip in a loop over RTMP, each frame
// padded by slowPadding bytes, at 30 frames a second, and records its
// slowest write.
type slowPublisher struct {
	frames atomic.Int64
	worst  atomic.Int64 // nanoseconds
	stop   func()       // unpublishes
}

func (p *slowPublisher) worstWrite() time.Duration { return time.Duration(p.worst.Load()) }

func startSlowPublisher(t *testing.T, url string) *slowPublisher {
	t.Helper()
	aus := h264AccessUnits(t, ppH264File)
	seq, frames := avcTags(t, aus)
	ctx, cancel := context.WithCancel(context.Background())
	cl, err := rtmp.Dial(ctx, url, rtmp.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	p := &slowPublisher{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer cl.Close()
		if cl.WriteMedia(ctx, rtmp.Media{Type: rtmp.TypeVideo, Payload: seq}) != nil {
			return
		}
		tick := time.NewTicker(time.Second / 30)
		defer tick.Stop()
		for i := 0; ; i++ {
			f := frames[i%len(frames)]
			start := time.Now()
			if err := cl.WriteMedia(ctx, rtmp.Media{Type: rtmp.TypeVideo, Timestamp: uint32(i * 1000 / 30), Payload: f}); err != nil {
				return
			}
			if d := int64(time.Since(start)); d > p.worst.Load() {
				p.worst.Store(d)
			}
			p.frames.Add(1)
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	p.stop = func() { cancel(); <-done }
	t.Cleanup(p.stop)
	return p
}

// avcTags turns Annex-B access units into FLV tag bodies: the sequence
// header (AVCDecoderConfigurationRecord) from the first SPS and PPS, and
// one AVC frame per access unit without its parameter sets, each slice
// lengthened by slowPadding bytes of slice data.
func avcTags(t *testing.T, aus [][]byte) (seq []byte, frames [][]byte) {
	t.Helper()
	var sps, pps []byte
	for _, au := range aus {
		var body []byte
		key := flv.FrameInter
		for _, nalu := range bytes.Split(au, []byte{0, 0, 0, 1}) {
			if len(nalu) == 0 {
				continue
			}
			switch nalu[0] & 0x1F {
			case 7:
				sps = nalu
				continue
			case 8:
				pps = nalu
				continue
			case 5:
				key = flv.FrameKey
			}
			if typ := nalu[0] & 0x1F; typ == 1 || typ == 5 {
				nalu = append(append([]byte{}, nalu...), make([]byte, slowPadding)...)
			}
			n := len(nalu)
			body = append(body, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
			body = append(body, nalu...)
		}
		frames = append(frames, append(flv.AppendVideoTagHeader(nil, key, flv.FourCCAVC, flv.VideoCodedFrames, 0, false), body...))
	}
	if len(sps) < 4 || len(pps) == 0 {
		t.Fatal("no SPS and PPS in the clip")
	}
	rec := []byte{1, sps[1], sps[2], sps[3], 0xFF, 0xE1, byte(len(sps) >> 8), byte(len(sps))}
	rec = append(rec, sps...)
	rec = append(rec, 1, byte(len(pps)>>8), byte(len(pps)))
	rec = append(rec, pps...)
	seq = flv.AppendVideoTagHeader(nil, flv.FrameKey, flv.FourCCAVC, flv.VideoSequenceStart, 0, false)
	return append(seq, rec...), frames
}
