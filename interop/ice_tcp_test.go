package interop

// pion/webrtc v4 over ICE-TCP only (RFC 6544): our answer carries one
// passive TCP host candidate and nothing else, pion dials it from an active
// candidate, ice.Mux.ServeTCP answers its checks in RFC 4571 frames, and
// DTLS-SRTP runs over the ice.Session as over UDP. This is the path of a
// viewer whose network blocks UDP.

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/streamwire/streamwire/dtlssrtp"
	"github.com/streamwire/streamwire/ice"
	"github.com/streamwire/streamwire/sdp"
	"github.com/streamwire/streamwire/stun"
)

var updateICETCPCapture = flag.Bool("update-ice-tcp-capture", false,
	"write the framed stream pion sends over ICE-TCP to ../ice/testdata/ (FuzzTCPFrames seed, TestTCPPionCapture)")

// TestICETCP: pion/webrtc, restricted to TCP, offers audio and video; our
// answer (sdp.Answer) lists only a passive TCP host candidate; pion's
// checks arrive framed on the connection it dials, the Mux binds that
// connection to the session and pion nominates it; the DTLS handshake over
// the ice.Session ends with the one SRTP profile pion allows, and one SRTP
// packet goes each way.
func TestICETCP(t *testing.T) {
	baseline := runtime.NumGoroutine()
	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rec := &itRecordingListener{Listener: ln}
	mux := ice.NewMux(udp, ice.MuxConfig{})
	serveCtx, stopServe := context.WithCancel(context.Background())
	served := make(chan error, 2)
	go func() { served <- mux.Serve(serveCtx) }() // the UDP side, never announced
	go func() { served <- mux.ServeTCP(serveCtx, rec) }()
	tcpAddr := ln.Addr().(*net.TCPAddr).AddrPort()

	media := make(chan []byte, 64)
	p := &iwPeer{tcp: true, profile: dtlssrtp.ProfileAEADAES128GCM, sendAV: true,
		dtlsConn: func(s *ice.Session) net.Conn { return &itMediaSplitter{Session: s, media: media} }}
	defer func() {
		p.close()
		stopServe()
		for range 2 {
			if err := <-served; !errors.Is(err, ice.ErrServerClosed) {
				t.Errorf("Serve or ServeTCP = %v", err)
			}
		}
		_ = udp.Close()
		iwWaitGoroutines(t, baseline)
	}()

	ctx, cancel := context.WithTimeout(context.Background(), iwWait)
	defer cancel()
	cand := itPassiveCandidate(t, tcpAddr)
	if err := p.connect(ctx, mux, dsNewCert(t), []string{cand}); err != nil {
		t.Fatal(err)
	}
	t.Logf("pion connected over ICE-TCP; mux %+v", mux.Stats())

	for line := range strings.SplitSeq(string(p.answer.SDP), "\r\n") {
		if strings.HasPrefix(line, "a=candidate:") && line != "a="+cand {
			t.Fatalf("answer carries %q, want only %q:\n%s", line, cand, p.answer.SDP)
		}
	}
	itCheckPair(t, p, tcpAddr)
	if p.dtls.Profile() != p.profile {
		t.Errorf("SRTP profile %v, pion allows only %v", p.dtls.Profile(), p.profile)
	}
	if ts, ok := p.transportStats(); !ok || ts.SRTPCipher != "SRTP_"+p.profile.String() {
		t.Errorf("pion's transport stats %+v", ts)
	}
	itPionToUs(ctx, t, p, media)
	itUsToPion(ctx, t, p)
	if st := mux.Stats(); st.TCPAccepted != 1 || st.Checks == 0 || st.Errors != 0 || st.UnknownAddr != 0 || st.Datagrams == 0 {
		t.Errorf("mux stats %+v: want one TCP connection, checks, no errors", st)
	}
	stream := rec.stream()
	itCheckFraming(t, stream)
	if *updateICETCPCapture {
		itWriteCapture(t, p, stream)
	}
}

// itPassiveCandidate returns our one candidate: TCP, passive, host, on the
// ICE-TCP listener (RFC 6544 §4.5), with its RFC 6544 §4.2 priority.
func itPassiveCandidate(t *testing.T, addr netip.AddrPort) string {
	t.Helper()
	c := ice.Candidate{Component: 1, Transport: ice.TransportTCP, Addr: addr.Addr(), Port: addr.Port(),
		Type: ice.TypeHost, TCPType: ice.TCPTypePassive}
	c.Foundation = ice.Foundation(c.Type, c.Transport, c.Addr, netip.Addr{})
	c.Priority = c.RecommendedPriority(ice.MaxOtherPreference)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c.String()
}

// itCheckPair: pion's selected pair is its active TCP candidate and our
// passive one, and our session selected, nominated, the connection pion
// dialed from that candidate.
func itCheckPair(t *testing.T, p *iwPeer, tcpAddr netip.AddrPort) {
	t.Helper()
	pair, err := p.dtlsTransport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		t.Fatalf("pion has no selected pair: %v", err)
	}
	if pair.Local.Protocol != webrtc.ICEProtocolTCP || pair.Local.TCPType != "active" ||
		pair.Remote.TCPType != "passive" || pair.Remote.Port != tcpAddr.Port() {
		t.Errorf("pion's selected pair %s <-> %s, want its active TCP candidate and our passive one", pair.Local, pair.Remote)
	}
	sel, nominated, ok := p.session.Selected()
	pionLocal := netip.AddrPortFrom(netip.MustParseAddr(pair.Local.Address), pair.Local.Port)
	if !ok || !nominated || sel != pionLocal || p.session.RemoteAddr().Network() != "tcp" {
		t.Errorf("session selected %v (nominated %v, ok %v, %v), pion's candidate is %v", sel, nominated, ok, p.session.RemoteAddr(), pionLocal)
	}
	if st := p.pc.ICEConnectionState(); st != webrtc.ICEConnectionStateConnected && st != webrtc.ICEConnectionStateCompleted {
		t.Errorf("pion ICE connection state %v", st)
	}
}

// itPionToUs: pion's audio track sends a sample; its SRTP packet comes out
// of our session (split from DTLS) and unprotects to the sample.
func itPionToUs(ctx context.Context, t *testing.T, p *iwPeer, srtpIn <-chan []byte) {
	t.Helper()
	sec := itSection(t, p, sdp.KindAudio)
	var track *webrtc.TrackLocalStaticSample
	for _, s := range p.pc.GetSenders() {
		if tr, ok := s.Track().(*webrtc.TrackLocalStaticSample); ok && tr.Kind() == webrtc.RTPCodecTypeAudio {
			track = tr
		}
	}
	if track == nil {
		t.Fatal("pion has no audio track")
	}
	sample := []byte("pion over ICE-TCP")
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := track.WriteSample(media.Sample{Data: sample, Duration: 20 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		select {
		case srtp := <-srtpIn:
			plain, err := p.dtls.UnprotectRTP(nil, srtp)
			if err != nil {
				t.Fatalf("unprotect pion's SRTP: %v", err)
			}
			var pkt rtp.Packet
			if err := pkt.Unmarshal(plain); err != nil {
				t.Fatal(err)
			}
			if pkt.PayloadType != sec.Codec.PayloadType || !bytes.Equal(pkt.Payload, sample) {
				t.Fatalf("pion's RTP: pt %d payload %q", pkt.PayloadType, pkt.Payload)
			}
			return
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal("no SRTP from pion over ICE-TCP")
		}
	}
}

// itUsToPion: we protect an RTP packet with the answer's audio SSRC and
// payload type and write it to the session, framed on the TCP connection;
// pion's OnTrack reads it back.
func itUsToPion(ctx context.Context, t *testing.T, p *iwPeer) {
	t.Helper()
	sec := itSection(t, p, sdp.KindAudio)
	remote := make(chan *webrtc.TrackRemote, 1)
	p.pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		select {
		case remote <- tr:
		default:
		}
	})
	payload := []byte("streamwire over ICE-TCP")
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var out []byte
	for seq := uint16(1); ; seq++ {
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: sec.Codec.PayloadType, SequenceNumber: seq,
			Timestamp: uint32(seq) * 960, SSRC: sec.LocalSSRC}, Payload: payload}
		raw, err := pkt.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if out, err = p.dtls.ProtectRTP(out, raw); err != nil {
			t.Fatal(err)
		}
		if _, err := p.session.Write(out); err != nil {
			t.Fatalf("session Write over ICE-TCP: %v", err)
		}
		select {
		case tr := <-remote:
			_ = tr.SetReadDeadline(time.Now().Add(iwWait))
			got, _, err := tr.ReadRTP()
			if err != nil {
				t.Fatalf("pion reading our SRTP: %v", err)
			}
			if got.SSRC != sec.LocalSSRC || !bytes.Equal(got.Payload, payload) {
				t.Fatalf("pion got ssrc %x payload %q", got.SSRC, got.Payload)
			}
			return
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal("pion's OnTrack never fired")
		}
	}
}

func itSection(t *testing.T, p *iwPeer, k sdp.Kind) *sdp.Section {
	t.Helper()
	for i := range p.answer.Sections {
		if s := &p.answer.Sections[i]; s.Kind == k && !s.Rejected {
			return s
		}
	}
	t.Fatalf("no %v section in the answer", k)
	return nil
}

// itCheckFraming: what pion sent is whole RFC 4571 frames (§2), the first
// a STUN Binding request (its first check, RFC 6544 §7.1).
func itCheckFraming(t *testing.T, stream []byte) {
	t.Helper()
	frames := 0
	for b := stream; len(b) >= 2; frames++ {
		n := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+n {
			break // the capture ends mid-frame
		}
		if frames == 0 {
			var m stun.Message
			if err := m.Decode(b[2 : 2+n]); err != nil || m.Type() != stun.BindingRequest {
				t.Fatalf("pion's first frame is not a Binding request: %x (%v)", b[2:2+n], err)
			}
		}
		b = b[2+n:]
	}
	if frames < 2 {
		t.Fatalf("pion sent %d frames", frames)
	}
}

// itCapture describes ../ice/testdata/fuzz/FuzzTCPFrames/pion_ice_tcp: the
// server credentials its checks are keyed with.
type itCapture struct {
	Comment    string `json:"comment"`
	LocalUfrag string `json:"local_ufrag"`
	LocalPwd   string `json:"local_pwd"`
	Seed       string `json:"seed"`
}

// itWriteCapture writes the stream as a FuzzTCPFrames seed, with the
// credentials that authenticate its checks.
func itWriteCapture(t *testing.T, p *iwPeer, stream []byte) {
	t.Helper()
	const dir = "../ice/testdata"
	seed := filepath.Join("fuzz", "FuzzTCPFrames", "pion_ice_tcp")
	local := p.session.LocalCredentials()
	meta, err := json.MarshalIndent(itCapture{
		Comment:    "The first bytes pion/webrtc v4.2.26 (pion/ice v4.4.9) sent on its active ICE-TCP connection: RFC 4571 frames of Binding requests and DTLS. Written by interop TestICETCP -update-ice-tcp-capture.",
		LocalUfrag: local.Ufrag, LocalPwd: local.Pwd, Seed: filepath.ToSlash(seed),
	}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(seed)), 0o755); err != nil {
		t.Fatal(err)
	}
	corpus := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", stream)
	if err := os.WriteFile(filepath.Join(dir, seed), []byte(corpus), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pion_ice_tcp.json"), append(meta, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d bytes of pion's ICE-TCP stream to %s", len(stream), filepath.Join(dir, seed))
}

// itMediaSplitter is the session as the DTLS handshake sees it: reads
// return only DTLS records (RFC 7983 §7); SRTP and SRTCP go to media, as
// the layer that owns a session's media would take them.
type itMediaSplitter struct {
	*ice.Session
	media chan<- []byte
}

func (c *itMediaSplitter) Read(b []byte) (int, error) {
	for {
		n, err := c.Session.Read(b)
		if err != nil || dtlssrtp.Classify(b[:n]) == dtlssrtp.ClassDTLS {
			return n, err
		}
		select {
		case c.media <- bytes.Clone(b[:n]):
		default:
		}
	}
}

// itRecordingListener keeps the first itCaptureLen bytes that its first
// accepted connection reads.
type itRecordingListener struct {
	net.Listener
	mu    sync.Mutex
	buf   []byte
	taken bool
}

const itCaptureLen = 4096

func (l *itRecordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.taken {
		return c, nil
	}
	l.taken = true
	return &itRecordingConn{Conn: c, l: l}, nil
}

func (l *itRecordingListener) stream() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.buf)
}

type itRecordingConn struct {
	net.Conn
	l *itRecordingListener
}

func (c *itRecordingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.l.mu.Lock()
	if room := itCaptureLen - len(c.l.buf); room > 0 {
		c.l.buf = append(c.l.buf, b[:min(n, room)]...)
	}
	c.l.mu.Unlock()
	return n, err
}
