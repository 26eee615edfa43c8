package interop

// DTLS-SRTP against pion/webrtc v4. The test is an ICE-lite endpoint on a
// UDP socket it owns (STUN answered with pion/stun, datagrams sorted with
// dtlssrtp.Classify) and writes its SDP by hand. Either pion offers and
// the test answers (active or passive by RolePolicy), or the test offers
// actpass and pion answers (active by default, passive with
// SetAnsweringDTLSRole). dtlsparams.SelectRole picks our role from pion's
// a=setup, dtlssrtp.Handshake runs on the socket, and real SRTP and SRTCP
// flow both ways: pion's TrackLocalStaticRTP to our UnprotectRTP, our
// ProtectRTP to pion's OnTrack, PLIs in both directions. Every profile
// pion supports, both DTLS roles, then close_notify must close pion's DTLS
// transport. Negative cases: fingerprint mismatch, no common profile.
//
//	cd interop && go test -race -run 'TestDTLSSRTPPion' -v .

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	pionsdp "github.com/pion/sdp/v3"
	"github.com/pion/stun/v3"
	"github.com/pion/webrtc/v4"

	"github.com/streamwire/streamwire/dtlsparams"
	"github.com/streamwire/streamwire/dtlssrtp"
)

// dsLiteSocket is the test's ICE-lite endpoint: one loopback UDP socket that
// answers authenticated STUN binding requests and demultiplexes the rest
// (RFC 7983) into a DTLS net.Conn and a media queue.
type dsLiteSocket struct {
	udp        *net.UDPConn
	ufrag, pwd string

	peer     atomic.Pointer[net.UDPAddr]
	peerSeen chan struct{}
	seenOnce sync.Once

	dtls  *dsQueueConn
	media chan []byte

	stunAnswered, dropped atomic.Int64
	done                  chan struct{}
}

func dsNewLiteSocket(t *testing.T) *dsLiteSocket {
	t.Helper()
	s, err := dsOpenLiteSocket()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	return s
}

// dsOpenLiteSocket listens on a free loopback port; close stops it.
func dsOpenLiteSocket() (*dsLiteSocket, error) {
	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	s := &dsLiteSocket{
		udp: udp, ufrag: dsRandomToken(4), pwd: dsRandomToken(12),
		peerSeen: make(chan struct{}), media: make(chan []byte, 256), done: make(chan struct{}),
	}
	s.dtls = dsNewQueueConn(s)
	go s.readLoop()
	return s, nil
}

func (s *dsLiteSocket) close() {
	_ = s.udp.Close()
	<-s.done
}

// dsRandomToken returns 2n hex digits; crypto/rand.Read cannot fail.
func dsRandomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *dsLiteSocket) port() int { return s.udp.LocalAddr().(*net.UDPAddr).Port }

// readLoop reads until the socket closes. Datagrams are at most 1500 bytes
// (loopback MTU is larger, but nothing here sends more).
func (s *dsLiteSocket) readLoop() {
	defer close(s.done)
	buf := make([]byte, 1500)
	for {
		n, from, err := s.udp.ReadFromUDP(buf)
		if err != nil {
			return
		}
		p := append([]byte(nil), buf[:n]...)
		switch dtlssrtp.Classify(p) {
		case dtlssrtp.ClassSTUN:
			s.answerSTUN(p, from)
		case dtlssrtp.ClassDTLS:
			s.learnPeer(from, false)
			s.enqueue(s.dtls.in, p)
		case dtlssrtp.ClassRTP, dtlssrtp.ClassRTCP:
			s.enqueue(s.media, p)
		default:
			s.dropped.Add(1)
		}
	}
}

func (s *dsLiteSocket) enqueue(q chan []byte, p []byte) {
	select {
	case q <- p:
	default:
		s.dropped.Add(1)
	}
}

// learnPeer records where to send: the first authenticated address, then
// the pair the controlling agent nominates (USE-CANDIDATE, RFC 8445 §8.2).
func (s *dsLiteSocket) learnPeer(from *net.UDPAddr, nominated bool) {
	if nominated || s.peer.Load() == nil {
		s.peer.Store(from)
	}
	s.seenOnce.Do(func() { close(s.peerSeen) })
}

// answerSTUN answers a binding request addressed to our ufrag and signed
// with our password (RFC 8445 §7.3), as an ICE-lite agent does.
func (s *dsLiteSocket) answerSTUN(p []byte, from *net.UDPAddr) {
	m := &stun.Message{Raw: p}
	if err := m.Decode(); err != nil || m.Type != stun.BindingRequest {
		s.dropped.Add(1)
		return
	}
	var user stun.Username
	if err := user.GetFrom(m); err != nil || !strings.HasPrefix(user.String(), s.ufrag+":") {
		s.dropped.Add(1)
		return
	}
	if err := stun.NewShortTermIntegrity(s.pwd).Check(m); err != nil {
		s.dropped.Add(1)
		return
	}
	resp, err := stun.Build(
		stun.NewTransactionIDSetter(m.TransactionID), stun.BindingSuccess,
		&stun.XORMappedAddress{IP: from.IP, Port: from.Port},
		stun.NewShortTermIntegrity(s.pwd), stun.Fingerprint,
	)
	if err != nil {
		return
	}
	if _, err := s.udp.WriteToUDP(resp.Raw, from); err == nil {
		s.stunAnswered.Add(1)
		s.learnPeer(from, m.Contains(stun.AttrUseCandidate))
	}
}

// sendMedia writes one SRTP or SRTCP datagram to the peer.
func (s *dsLiteSocket) sendMedia(p []byte) error {
	peer := s.peer.Load()
	if peer == nil {
		return errors.New("no ICE peer yet")
	}
	_, err := s.udp.WriteToUDP(p, peer)
	return err
}

// dsQueueConn is the DTLS view of a dsLiteSocket: reads come from the demuxed
// queue (with read deadlines, which pion/dtls relies on), writes go to the
// ICE peer.
type dsQueueConn struct {
	s  *dsLiteSocket
	in chan []byte

	mu       sync.Mutex
	deadline time.Time
	changed  chan struct{}
	closed   chan struct{}
	once     sync.Once
}

func dsNewQueueConn(s *dsLiteSocket) *dsQueueConn {
	return &dsQueueConn{s: s, in: make(chan []byte, 256), changed: make(chan struct{}), closed: make(chan struct{})}
}

func (c *dsQueueConn) Read(b []byte) (int, error) {
	for {
		c.mu.Lock()
		dl, changed := c.deadline, c.changed
		c.mu.Unlock()
		var expired <-chan time.Time
		var timer *time.Timer
		if !dl.IsZero() {
			d := time.Until(dl)
			if d <= 0 {
				return 0, os.ErrDeadlineExceeded
			}
			timer = time.NewTimer(d)
			expired = timer.C
		}
		select {
		case p := <-c.in:
			dsStopTimer(timer)
			return copy(b, p), nil
		case <-c.closed:
			dsStopTimer(timer)
			return 0, net.ErrClosed
		case <-expired:
			return 0, os.ErrDeadlineExceeded
		case <-changed:
			dsStopTimer(timer)
		}
	}
}

func dsStopTimer(t *time.Timer) {
	if t != nil {
		t.Stop()
	}
}

func (c *dsQueueConn) Write(b []byte) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	peer := c.s.peer.Load()
	if peer == nil {
		return 0, errors.New("no ICE peer yet")
	}
	return c.s.udp.WriteToUDP(b, peer)
}

func (c *dsQueueConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

func (c *dsQueueConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	return nil
}

func (c *dsQueueConn) SetDeadline(t time.Time) error      { return c.SetReadDeadline(t) }
func (c *dsQueueConn) SetWriteDeadline(_ time.Time) error { return nil }
func (c *dsQueueConn) LocalAddr() net.Addr                { return c.s.udp.LocalAddr() }
func (c *dsQueueConn) RemoteAddr() net.Addr {
	if p := c.s.peer.Load(); p != nil {
		return p
	}
	return c.s.udp.LocalAddr()
}

// dsRemoteSDP is what the test needs from pion's offer or answer.
type dsRemoteSDP struct {
	ufrag, pwd   string
	fingerprints []dtlsparams.Fingerprint
	setup        dtlsparams.Setup
	mid          string
	vp8          uint8
	ssrc         uint32
}

func dsParseSDPErr(raw string) (dsRemoteSDP, error) {
	var sd pionsdp.SessionDescription
	if err := sd.UnmarshalString(raw); err != nil {
		return dsRemoteSDP{}, err
	}
	if len(sd.MediaDescriptions) != 1 {
		return dsRemoteSDP{}, fmt.Errorf("remote SDP has %d m-lines, want 1", len(sd.MediaDescriptions))
	}
	var o dsRemoteSDP
	attrs := append(append([]pionsdp.Attribute(nil), sd.Attributes...), sd.MediaDescriptions[0].Attributes...)
	for _, a := range attrs {
		switch a.Key {
		case "ice-ufrag":
			o.ufrag = a.Value
		case "ice-pwd":
			o.pwd = a.Value
		case "fingerprint":
			f, err := dtlsparams.ParseFingerprint(a.Value)
			if err != nil {
				return dsRemoteSDP{}, err
			}
			o.fingerprints = append(o.fingerprints, f)
		case "setup":
			s, err := dtlsparams.ParseSetup(a.Value)
			if err != nil {
				return dsRemoteSDP{}, err
			}
			o.setup = s
		case "mid":
			o.mid = a.Value
		case "rtpmap":
			if pt, codec, ok := strings.Cut(a.Value, " "); ok && strings.EqualFold(codec, "VP8/90000") {
				n, _ := strconv.Atoi(pt)
				o.vp8 = uint8(n)
			}
		case "ssrc":
			if id, _, ok := strings.Cut(a.Value, " "); ok && o.ssrc == 0 {
				n, _ := strconv.ParseUint(id, 10, 32)
				o.ssrc = uint32(n)
			}
		}
	}
	if o.ufrag == "" || o.pwd == "" || len(o.fingerprints) == 0 || o.vp8 == 0 || o.ssrc == 0 {
		return dsRemoteSDP{}, fmt.Errorf("incomplete remote SDP: %+v\n%s", o, raw)
	}
	return o, nil
}

func dsParseSDP(t *testing.T, raw string) dsRemoteSDP {
	t.Helper()
	o, err := dsParseSDPErr(raw)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// dsLiteSDP is the offer or answer an ICE-lite media server would send for
// one VP8 sendrecv m-line, with o's mid and payload type.
func dsLiteSDP(o dsRemoteSDP, s *dsLiteSocket, fp dtlsparams.Fingerprint, setup dtlsparams.Setup, ssrc uint32) string {
	lines := []string{
		"v=0",
		"o=- 4611731400430051336 2 IN IP4 127.0.0.1",
		"s=-",
		"t=0 0",
		"a=group:BUNDLE " + o.mid,
		"a=ice-lite",
		fmt.Sprintf("m=video %d UDP/TLS/RTP/SAVPF %d", s.port(), o.vp8),
		"c=IN IP4 127.0.0.1",
		"a=mid:" + o.mid,
		"a=ice-ufrag:" + s.ufrag,
		"a=ice-pwd:" + s.pwd,
		"a=fingerprint:" + fp.String(),
		"a=setup:" + setup.String(),
		"a=sendrecv",
		"a=rtcp-mux",
		fmt.Sprintf("a=rtpmap:%d VP8/90000", o.vp8),
		"a=msid:streamwire video0",
		fmt.Sprintf("a=ssrc:%d cname:streamwire", ssrc),
		fmt.Sprintf("a=ssrc:%d msid:streamwire video0", ssrc),
		fmt.Sprintf("a=candidate:1 1 udp 2130706431 127.0.0.1 %d typ host", s.port()),
		"a=end-of-candidates",
	}
	return strings.Join(lines, "\r\n") + "\r\n"
}

// dsPionPeer is a pion PeerConnection restricted to loopback and one profile.
type dsPionPeer struct {
	pc     *webrtc.PeerConnection
	track  *webrtc.TrackLocalStaticRTP
	sender *webrtc.RTPSender
	remote chan *webrtc.TrackRemote
}

func dsNewPionPeer(t *testing.T, profile dtlssrtp.Profile, tweak func(*webrtc.SettingEngine)) *dsPionPeer {
	t.Helper()
	var se webrtc.SettingEngine
	se.SetSRTPProtectionProfiles(dtls.SRTPProtectionProfile(profile))
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if tweak != nil {
		tweak(&se)
	}
	var me webrtc.MediaEngine
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(&me))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "pion")
	if err != nil {
		t.Fatal(err)
	}
	sender, err := pc.AddTrack(track)
	if err != nil {
		t.Fatal(err)
	}
	p := &dsPionPeer{pc: pc, track: track, sender: sender, remote: make(chan *webrtc.TrackRemote, 1)}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		select {
		case p.remote <- tr:
		default:
		}
	})
	return p
}

// offer makes pion's offer and waits for its candidates.
func (p *dsPionPeer) offer(t *testing.T) string {
	t.Helper()
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-time.After(5 * time.Second):
		t.Fatal("pion did not finish gathering")
	}
	return p.pc.LocalDescription().SDP
}

// dsSession connects a pion peer to the test's ICE-lite endpoint and
// returns both ends once our DTLS handshake has finished (or failed).
type dsSession struct {
	pion    *dsPionPeer
	lite    *dsLiteSocket
	offer   dsRemoteSDP
	cert    *dtlssrtp.Certificate
	session *dtlssrtp.Session
	ssrc    uint32
}

// dsConnectPion answers a pion offer with policy and runs our handshake.
func dsConnectPion(t *testing.T, profile dtlssrtp.Profile, policy dtlsparams.RolePolicy, expect []dtlsparams.Fingerprint) (*dsSession, error) {
	return dsConnectPionProfiles(t, profile, profile, policy, expect)
}

// dsConnectPionProfiles is dsConnectPion with pion limited to pionProfile and
// us to ourProfile.
func dsConnectPionProfiles(t *testing.T, pionProfile, ourProfile dtlssrtp.Profile, policy dtlsparams.RolePolicy, expect []dtlsparams.Fingerprint) (*dsSession, error) {
	t.Helper()
	ps := &dsSession{pion: dsNewPionPeer(t, pionProfile, nil), lite: dsNewLiteSocket(t), ssrc: 0x5eed0001, cert: dsNewCert(t)}
	ps.offer = dsParseSDP(t, ps.pion.offer(t))
	if ps.offer.setup != dtlsparams.SetupActpass {
		t.Fatalf("pion offered a=setup:%v, want actpass", ps.offer.setup)
	}
	role, setup, err := dtlsparams.SelectRole(dtlsparams.Answerer, ps.offer.setup, policy)
	if err != nil {
		t.Fatal(err)
	}
	fp, _ := ps.cert.Fingerprint(dtlsparams.SHA256)
	answer := dsLiteSDP(ps.offer, ps.lite, fp, setup, ps.ssrc)
	if err := ps.pion.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatalf("pion rejected the answer: %v\n%s", err, answer)
	}
	return ps, ps.handshake(t, ourProfile, role, expect)
}

// dsConnectPionAnswerer offers to pion (a=setup:actpass, as RFC 5763 §5
// requires of offerers), lets pion answer with its configured DTLS role,
// and runs our handshake in the role SelectRole derives from pion's answer.
func dsConnectPionAnswerer(t *testing.T, profile dtlssrtp.Profile, pionRole webrtc.DTLSRole) *dsSession {
	t.Helper()
	tweak := func(se *webrtc.SettingEngine) {
		if err := se.SetAnsweringDTLSRole(pionRole); err != nil {
			t.Fatal(err)
		}
	}
	ps := &dsSession{pion: dsNewPionPeer(t, profile, tweak), lite: dsNewLiteSocket(t), ssrc: 0x5eed0002, cert: dsNewCert(t)}
	fp, _ := ps.cert.Fingerprint(dtlsparams.SHA256)
	offer := dsLiteSDP(dsRemoteSDP{mid: "0", vp8: 96}, ps.lite, fp, dtlsparams.SetupActpass, ps.ssrc)
	if err := ps.pion.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		t.Fatalf("pion rejected the offer: %v\n%s", err, offer)
	}
	answer, err := ps.pion.pc.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(ps.pion.pc)
	if err := ps.pion.pc.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-time.After(5 * time.Second):
		t.Fatal("pion did not finish gathering")
	}
	ps.offer = dsParseSDP(t, ps.pion.pc.LocalDescription().SDP)
	role, ours, err := dtlsparams.SelectRole(dtlsparams.Offerer, ps.offer.setup, dtlsparams.RolePolicy{})
	if err != nil {
		t.Fatalf("pion answered a=setup:%v: %v", ps.offer.setup, err)
	}
	if ours != dtlsparams.SetupActpass {
		t.Fatalf("SelectRole says we offered %v", ours)
	}
	if err := ps.handshake(t, profile, role, nil); err != nil {
		t.Fatalf("handshake with pion (answer a=setup:%v): %v", ps.offer.setup, err)
	}
	return ps
}

func dsNewCert(t *testing.T) *dtlssrtp.Certificate {
	t.Helper()
	cert, err := dtlssrtp.GenerateCertificate(dtlssrtp.CertificateConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// handshake waits for pion's first connectivity check, then runs
// dtlssrtp.Handshake on the demultiplexed socket.
func (ps *dsSession) handshake(t *testing.T, profile dtlssrtp.Profile, role dtlsparams.Role, expect []dtlsparams.Fingerprint) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	select {
	case <-ps.lite.peerSeen:
	case <-ctx.Done():
		t.Fatal("pion sent no ICE connectivity check")
	}
	if expect == nil {
		expect = ps.offer.fingerprints
	}
	var err error
	ps.session, err = dtlssrtp.Handshake(ctx, ps.lite.dtls, role, dtlssrtp.Config{
		Certificate:        ps.cert,
		RemoteFingerprints: expect,
		Profiles:           []dtlssrtp.Profile{profile},
	})
	if err == nil {
		t.Cleanup(func() { _ = ps.session.Close() })
	}
	return err
}

// dsPionProfiles are the profiles pion/webrtc v4 maps to SRTP contexts
// (dtlstransport.go); it has no AES128_CM_HMAC_SHA1_32.
var dsPionProfiles = []dtlssrtp.Profile{
	dtlssrtp.ProfileAEADAES128GCM,
	dtlssrtp.ProfileAEADAES256GCM,
	dtlssrtp.ProfileAES128CMHMACSHA1_80,
}

func TestDTLSSRTPPion(t *testing.T) {
	for _, profile := range dsPionProfiles {
		for _, passive := range []bool{false, true} {
			name := profile.String() + "/streamwire-client"
			if passive {
				name = profile.String() + "/streamwire-server"
			}
			t.Run(name, func(t *testing.T) {
				ps, err := dsConnectPion(t, profile, dtlsparams.RolePolicy{AnswerPassive: passive}, nil)
				if err != nil {
					t.Fatalf("handshake with pion: %v", err)
				}
				wantRole := dtlsparams.RoleClient
				if passive {
					wantRole = dtlsparams.RoleServer
				}
				if ps.session.Role() != wantRole || ps.session.Profile() != profile {
					t.Fatalf("session role %v profile %v, want %v %v", ps.session.Role(), ps.session.Profile(), wantRole, profile)
				}
				dsCheckPionCertificate(t, ps)
				dsPionToUs(t, ps)
				dsUsToPion(t, ps)
				dsCloseNotifyToPion(t, ps)
				t.Logf("STUN checks answered %d, datagrams dropped %d", ps.lite.stunAnswered.Load(), ps.lite.dropped.Load())
			})
		}
	}
}

// TestDTLSSRTPPionAnswerer: we offer actpass; pion answers active (its
// default: we are the DTLS server) or passive (SetAnsweringDTLSRole
// server: we are the client).
func TestDTLSSRTPPionAnswerer(t *testing.T) {
	for _, profile := range dsPionProfiles {
		for _, pionRole := range []webrtc.DTLSRole{webrtc.DTLSRoleClient, webrtc.DTLSRoleServer} {
			t.Run(profile.String()+"/pion-"+pionRole.String(), func(t *testing.T) {
				ps := dsConnectPionAnswerer(t, profile, pionRole)
				wantSetup, wantRole := dtlsparams.SetupActive, dtlsparams.RoleServer
				if pionRole == webrtc.DTLSRoleServer {
					wantSetup, wantRole = dtlsparams.SetupPassive, dtlsparams.RoleClient
				}
				if ps.offer.setup != wantSetup || ps.session.Role() != wantRole || ps.session.Profile() != profile {
					t.Fatalf("pion answered %v; our role %v profile %v; want %v, %v, %v",
						ps.offer.setup, ps.session.Role(), ps.session.Profile(), wantSetup, wantRole, profile)
				}
				dsCheckPionCertificate(t, ps)
				dsPionToUs(t, ps)
				dsUsToPion(t, ps)
				dsCloseNotifyToPion(t, ps)
			})
		}
	}
}

// TestDTLSSRTPPionFingerprintMismatch: pion presents its real certificate,
// but our SDP view says otherwise; the handshake must fail with
// ErrFingerprintMismatch.
func TestDTLSSRTPPionFingerprintMismatch(t *testing.T) {
	stranger, err := dtlssrtp.GenerateCertificate(dtlssrtp.CertificateConfig{})
	if err != nil {
		t.Fatal(err)
	}
	wrong, _ := stranger.Fingerprint(dtlsparams.SHA256)
	for _, passive := range []bool{false, true} {
		t.Run(fmt.Sprintf("passive=%v", passive), func(t *testing.T) {
			start := time.Now()
			_, err := dsConnectPion(t, dtlssrtp.ProfileAEADAES128GCM, dtlsparams.RolePolicy{AnswerPassive: passive}, []dtlsparams.Fingerprint{wrong})
			if !errors.Is(err, dtlssrtp.ErrFingerprintMismatch) {
				t.Fatalf("err %v, want ErrFingerprintMismatch", err)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Fatalf("took %v", d)
			}
		})
	}
}

// TestDTLSSRTPPionNoCommonProfile: pion allows only AEAD_AES_128_GCM, we
// only AES128_CM_HMAC_SHA1_80; the handshake must fail with a clear error.
func TestDTLSSRTPPionNoCommonProfile(t *testing.T) {
	for _, passive := range []bool{false, true} {
		t.Run(fmt.Sprintf("passive=%v", passive), func(t *testing.T) {
			_, err := dsConnectPionProfiles(t, dtlssrtp.ProfileAEADAES128GCM, dtlssrtp.ProfileAES128CMHMACSHA1_80,
				dtlsparams.RolePolicy{AnswerPassive: passive}, nil)
			// As client we get pion's insufficient_security alert; as server
			// pion/dtls refuses the ClientHello itself.
			if !errors.Is(err, dtlssrtp.ErrHandshake) {
				t.Fatalf("err %v, want ErrHandshake", err)
			}
		})
	}
}

// dsCheckPionCertificate: pion saw our certificate, and pion's DTLS is up.
func dsCheckPionCertificate(t *testing.T, ps *dsSession) {
	t.Helper()
	dt := ps.pion.sender.Transport()
	deadline := time.Now().Add(5 * time.Second)
	for dt.State() != webrtc.DTLSTransportStateConnected {
		if time.Now().After(deadline) {
			t.Fatalf("pion DTLS state %v", dt.State())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !bytes.Equal(dt.GetRemoteCertificate(), ps.cert.Leaf().Raw) {
		t.Fatal("pion holds a different remote certificate")
	}
	if !ps.offer.fingerprints[0].Matches(ps.session.PeerCertificate()) {
		t.Fatal("our session's peer certificate does not match pion's SDP")
	}
}

// dsPionToUs: pion's TrackLocalStaticRTP sends; we unprotect. pion sends a
// PLI over SRTCP; we unprotect and parse it.
func dsPionToUs(t *testing.T, ps *dsSession) {
	t.Helper()
	const want = 5
	got := 0
	plain := make([]byte, 0, 1500)
	var pliSeen bool
	deadline := time.After(10 * time.Second)
	for seq := uint16(1000); got < want || !pliSeen; seq++ {
		payload := bytes.Repeat([]byte{byte(seq)}, 900)
		err := ps.pion.track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, Marker: true}, Payload: payload})
		if err != nil {
			t.Fatal(err)
		}
		if err := ps.pion.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: ps.ssrc}}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-deadline:
			t.Fatalf("from pion: %d RTP packets, PLI %v", got, pliSeen)
		case <-time.After(20 * time.Millisecond):
		}
		for drained := false; !drained; {
			select {
			case p := <-ps.lite.media:
				switch dtlssrtp.Classify(p) {
				case dtlssrtp.ClassRTP:
					var err error
					plain, err = ps.session.UnprotectRTP(plain, p)
					if err != nil {
						t.Fatalf("unprotect pion's SRTP: %v", err)
					}
					var pkt rtp.Packet
					if err := pkt.Unmarshal(plain); err != nil {
						t.Fatal(err)
					}
					if pkt.SSRC != ps.offer.ssrc || pkt.PayloadType != ps.offer.vp8 || len(pkt.Payload) != 900 ||
						pkt.Payload[0] != byte(pkt.SequenceNumber) {
						t.Fatalf("pion's RTP came out as ssrc %x pt %d len %d", pkt.SSRC, pkt.PayloadType, len(pkt.Payload))
					}
					got++
				case dtlssrtp.ClassRTCP:
					var err error
					plain, err = ps.session.UnprotectRTCP(plain, p)
					if err != nil {
						t.Fatalf("unprotect pion's SRTCP: %v", err)
					}
					pkts, err := rtcp.Unmarshal(plain)
					if err != nil {
						t.Fatal(err)
					}
					for _, pk := range pkts {
						if pli, ok := pk.(*rtcp.PictureLossIndication); ok && pli.MediaSSRC == ps.ssrc {
							pliSeen = true
						}
					}
				}
			default:
				drained = true
			}
		}
	}
}

// dsUsToPion: we protect RTP; pion's OnTrack receives it. We protect a PLI
// for pion's sender; pion's RTPSender.ReadRTCP returns it.
func dsUsToPion(t *testing.T, ps *dsSession) {
	t.Helper()
	stop := make(chan struct{})
	sent := make(chan error, 1)
	go func() {
		out := make([]byte, 0, 1500)
		for seq := uint16(1); ; seq++ {
			pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: ps.offer.vp8, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, SSRC: ps.ssrc, Marker: true},
				Payload: append([]byte{0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a}, bytes.Repeat([]byte{byte(seq)}, 600)...)}
			raw, _ := pkt.Marshal()
			var err error
			if out, err = ps.session.ProtectRTP(out, raw); err == nil {
				err = ps.lite.sendMedia(out)
			}
			if err == nil {
				var rtcpRaw []byte
				rtcpRaw, err = rtcp.Marshal([]rtcp.Packet{&rtcp.PictureLossIndication{SenderSSRC: ps.ssrc, MediaSSRC: ps.offer.ssrc}})
				if err == nil {
					if out, err = ps.session.ProtectRTCP(out, rtcpRaw); err == nil {
						err = ps.lite.sendMedia(out)
					}
				}
			}
			if err != nil {
				sent <- err
				return
			}
			select {
			case <-stop:
				sent <- nil
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	defer func() {
		close(stop)
		if err := <-sent; err != nil {
			t.Errorf("sending to pion: %v", err)
		}
	}()

	var track *webrtc.TrackRemote
	select {
	case track = <-ps.pion.remote:
	case <-time.After(10 * time.Second):
		t.Fatal("pion's OnTrack did not fire")
	}
	if track.SSRC() != webrtc.SSRC(ps.ssrc) || !strings.EqualFold(track.Codec().MimeType, webrtc.MimeTypeVP8) {
		t.Fatalf("pion's remote track: ssrc %x codec %s", track.SSRC(), track.Codec().MimeType)
	}
	_ = track.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i := 0; i < 5; i++ {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			t.Fatalf("pion reading our SRTP: %v", err)
		}
		if pkt.SSRC != ps.ssrc || len(pkt.Payload) != 606 || pkt.Payload[6] != byte(pkt.SequenceNumber) {
			t.Fatalf("pion got ssrc %x len %d", pkt.SSRC, len(pkt.Payload))
		}
	}
	readRTCP := make(chan error, 1)
	go func() {
		for {
			pkts, _, err := ps.pion.sender.ReadRTCP()
			if err != nil {
				readRTCP <- err
				return
			}
			for _, p := range pkts {
				if pli, ok := p.(*rtcp.PictureLossIndication); ok && pli.SenderSSRC == ps.ssrc {
					readRTCP <- nil
					return
				}
			}
		}
	}()
	select {
	case err := <-readRTCP:
		if err != nil {
			t.Fatalf("pion reading our SRTCP: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("pion did not receive our PLI")
	}
}

// dsCloseNotifyToPion: closing our session sends close_notify, which pion's
// DTLS transport sees as the end of the connection.
func dsCloseNotifyToPion(t *testing.T, ps *dsSession) {
	t.Helper()
	dt := ps.pion.sender.Transport()
	closed := make(chan struct{})
	var once sync.Once
	dt.OnStateChange(func(s webrtc.DTLSTransportState) {
		if s == webrtc.DTLSTransportStateClosed || s == webrtc.DTLSTransportStateFailed {
			once.Do(func() { close(closed) })
		}
	})
	if err := ps.session.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatalf("pion DTLS state after our close_notify: %v", dt.State())
	}
}

// Browsers: headless Chromium offers a sendrecv video transceiver with its
// fake camera and the test answers as an ICE-lite endpoint in the DTLS role
// each case asks for (active or passive), or the test offers actpass and
// Chromium answers (active, so we are the DTLS server), each case with one
// SRTP profile. Both sides check the other's media: we unprotect the
// browser's SRTP and SRTCP; the browser's getStats must count our RTP
// (inbound-rtp) and our SRTCP sender reports (remote-outbound-rtp), and its
// transport stats' srtpCipher and dtlsRole must agree with ours.
//
// Firefox ESR 153 is not run: on this machine it gathers only its LAN
// host candidates (the loopback and force_interface prefs do not change
// that) and never checks our 127.0.0.1 candidate, and the tests stay on
// loopback.
//
//	cd interop && go test -race -run 'TestDTLSSRTPChromium' -v .

const dsBrowserPage = `<!doctype html><html><body><script>
const sleep = (ms) => new Promise(r => setTimeout(r, ms));
const post = (path, body) => fetch(path, {method: 'POST', body});
(async () => {
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({video: {width: 320, height: 240}});
  } catch (e) {
    await post('/report', JSON.stringify({i: -1, error: 'getUserMedia: ' + e}));
    return;
  }
  for (let i = 0; ; i++) {
    const c = await fetch('/case?i=' + i);
    if (c.status !== 200) break;
    const kase = await c.json();
    const r = {i, ua: navigator.userAgent};
    const pc = new RTCPeerConnection();
    try {
      if (kase.offer) {
        // The test offers; the browser answers with its default DTLS role.
        await pc.setRemoteDescription({type: 'offer', sdp: kase.offer});
        pc.addTrack(stream.getVideoTracks()[0], stream);
        await pc.setLocalDescription(await pc.createAnswer());
        const ok = await post('/answer?i=' + i, pc.localDescription.sdp);
        if (!ok.ok) throw new Error('answer: ' + await ok.text());
      } else {
        pc.addTransceiver(stream.getVideoTracks()[0], {direction: 'sendrecv', streams: [stream]});
        await pc.setLocalDescription(await pc.createOffer());
        const ans = await post('/offer?i=' + i, pc.localDescription.sdp);
        if (!ans.ok) throw new Error('answer: ' + await ans.text());
        await pc.setRemoteDescription({type: 'answer', sdp: await ans.text()});
      }
      for (let k = 0; k < 150; k++) {
        await sleep(100);
        r.local = ''; r.pairs = '';
        (await pc.getStats()).forEach(s => {
          if (s.type === 'inbound-rtp' && s.kind === 'video') { r.packetsReceived = s.packetsReceived; r.ssrc = s.ssrc; }
          if (s.type === 'remote-outbound-rtp' && s.kind === 'video') r.remotePacketsSent = s.packetsSent;
          if (s.type === 'transport') { r.srtpCipher = s.srtpCipher; r.dtlsRole = s.dtlsRole; r.dtlsState = s.dtlsState; }
          if (s.type === 'local-candidate') r.local = (r.local || '') + s.address + ':' + s.port + '/' + s.candidateType + ' ';
          if (s.type === 'candidate-pair') r.pairs = (r.pairs || '') + s.state + ' ';
        });
        r.ice = pc.iceConnectionState;
        if (r.packetsReceived >= 10 && r.remotePacketsSent > 0) break;
      }
    } catch (e) {
      r.error = String(e);
    }
    await post('/report', JSON.stringify(r));
    await fetch('/finished?i=' + i);
    pc.close();
  }
  await post('/report', JSON.stringify({i: -2}));
})();
</script></body></html>`

// dsBrowserReport is what the page posts for one case.
type dsBrowserReport struct {
	I                 int    `json:"i"`
	UA                string `json:"ua"`
	Error             string `json:"error"`
	PacketsReceived   int    `json:"packetsReceived"`
	SSRC              uint32 `json:"ssrc"`
	RemotePacketsSent int    `json:"remotePacketsSent"`
	SRTPCipher        string `json:"srtpCipher"`
	DTLSRole          string `json:"dtlsRole"`
	DTLSState         string `json:"dtlsState"`
	ICE               string `json:"ice"`
	Local             string `json:"local"`
	Pairs             string `json:"pairs"`
}

// dsBrowserCase is one PeerConnection: our policy, and what each side saw.
type dsBrowserCase struct {
	profile        dtlssrtp.Profile
	passive        bool // we answer passive: we are the DTLS server
	browserAnswers bool // we offer actpass; the browser answers (active)

	// Set up by offer when the browser answers.
	sock *dsLiteSocket
	cert *dtlssrtp.Certificate

	reported chan dsBrowserReport // the page's report, once
	done     chan struct{}        // our side finished

	report                 dsBrowserReport
	err                    error
	role                   dtlsparams.Role
	negotiated             dtlssrtp.Profile
	rtpIn, rtcpIn, rtpSent int
	rtpBadSSRC, unprotErrs int
}

func (c *dsBrowserCase) name() string {
	if c.browserAnswers {
		return c.profile.String() + "/browser-answers"
	}
	if c.passive {
		return c.profile.String() + "/streamwire-server"
	}
	return c.profile.String() + "/streamwire-client"
}

// run answers the browser's offer and, in the background, runs our side:
// handshake, then media until the page has reported.
func (c *dsBrowserCase) run(offerSDP string, sockets chan<- *dsLiteSocket) (string, error) {
	offer, err := dsParseSDPErr(offerSDP)
	if err != nil {
		return "", err
	}
	sock, err := dsOpenLiteSocket()
	if err != nil {
		return "", err
	}
	sockets <- sock
	role, setup, err := dtlsparams.SelectRole(dtlsparams.Answerer, offer.setup, dtlsparams.RolePolicy{AnswerPassive: c.passive})
	if err != nil {
		return "", err
	}
	cert, err := dtlssrtp.GenerateCertificate(dtlssrtp.CertificateConfig{})
	if err != nil {
		return "", err
	}
	fp, _ := cert.Fingerprint(dtlsparams.SHA256)
	answer := dsLiteSDP(offer, sock, fp, setup, dsBrowserSSRC)
	go func() {
		defer close(c.done)
		c.err = c.media(sock, offer, role, dtlssrtp.Config{
			Certificate: cert, RemoteFingerprints: offer.fingerprints, Profiles: []dtlssrtp.Profile{c.profile},
		}, dsBrowserSSRC)
	}()
	return answer, nil
}

const dsBrowserSSRC = 0x5eed0003

// offer makes our actpass offer for a browser that answers.
func (c *dsBrowserCase) offer(sockets chan<- *dsLiteSocket) (string, error) {
	sock, err := dsOpenLiteSocket()
	if err != nil {
		return "", err
	}
	sockets <- sock
	cert, err := dtlssrtp.GenerateCertificate(dtlssrtp.CertificateConfig{})
	if err != nil {
		return "", err
	}
	c.sock, c.cert = sock, cert
	fp, _ := cert.Fingerprint(dtlsparams.SHA256)
	return dsLiteSDP(dsRemoteSDP{mid: "0", vp8: 96}, sock, fp, dtlsparams.SetupActpass, dsBrowserSSRC), nil
}

// answered takes the browser's answer and runs our side as offerer.
func (c *dsBrowserCase) answered(answerSDP string) error {
	answer, err := dsParseSDPErr(answerSDP)
	if err != nil {
		return err
	}
	role, _, err := dtlsparams.SelectRole(dtlsparams.Offerer, answer.setup, dtlsparams.RolePolicy{})
	if err != nil {
		return err
	}
	go func() {
		defer close(c.done)
		c.err = c.media(c.sock, answer, role, dtlssrtp.Config{
			Certificate: c.cert, RemoteFingerprints: answer.fingerprints, Profiles: []dtlssrtp.Profile{c.profile},
		}, dsBrowserSSRC)
	}()
	return nil
}

func (c *dsBrowserCase) media(sock *dsLiteSocket, offer dsRemoteSDP, role dtlsparams.Role, cfg dtlssrtp.Config, ssrc uint32) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	select {
	case <-sock.peerSeen:
	case <-ctx.Done():
		return errors.New("no ICE check from the browser")
	}
	hctx, hcancel := context.WithTimeout(ctx, 10*time.Second)
	session, err := dtlssrtp.Handshake(hctx, sock.dtls, role, cfg)
	hcancel()
	if err != nil {
		return err
	}
	defer session.Close()
	c.role, c.negotiated = session.Role(), session.Profile()

	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	out, in := make([]byte, 0, 1500), make([]byte, 0, 1500)
	reported := false
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("page did not report: %w", ctx.Err())
		case c.report = <-c.reported:
			reported = true
		case p := <-sock.media:
			c.unprotect(session, p, in, offer.ssrc)
		case <-tick.C:
			if err := c.send(session, sock, out, offer.vp8, ssrc); err != nil {
				return err
			}
		}
		if reported && c.rtpIn >= 10 && c.rtcpIn >= 1 {
			return nil
		}
	}
}

func (c *dsBrowserCase) unprotect(s *dtlssrtp.Session, p, buf []byte, browserSSRC uint32) {
	switch dtlssrtp.Classify(p) {
	case dtlssrtp.ClassRTP:
		plain, err := s.UnprotectRTP(buf, p)
		if err != nil {
			c.unprotErrs++
			return
		}
		var h rtp.Header
		if _, err := h.Unmarshal(plain); err == nil && h.SSRC == browserSSRC {
			c.rtpIn++
		} else {
			c.rtpBadSSRC++ // RTX or padding probes on the repair SSRC
		}
	case dtlssrtp.ClassRTCP:
		plain, err := s.UnprotectRTCP(buf, p)
		if err != nil {
			c.unprotErrs++
			return
		}
		if _, err := rtcp.Unmarshal(plain); err == nil {
			c.rtcpIn++
		}
	}
}

// send protects one VP8 RTP packet (a key-frame-looking payload) and, every
// tenth packet, an RTCP sender report.
func (c *dsBrowserCase) send(s *dtlssrtp.Session, sock *dsLiteSocket, out []byte, pt uint8, ssrc uint32) error {
	c.rtpSent++
	seq := uint16(c.rtpSent)
	pkt := rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, SSRC: ssrc, Marker: true},
		Payload: append([]byte{0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00}, bytes.Repeat([]byte{byte(seq)}, 300)...),
	}
	raw, err := pkt.Marshal()
	if err != nil {
		return err
	}
	if out, err = s.ProtectRTP(out, raw); err != nil {
		return err
	}
	if err := sock.sendMedia(out); err != nil {
		return err
	}
	if c.rtpSent%10 != 0 {
		return nil
	}
	sr, err := rtcp.Marshal([]rtcp.Packet{&rtcp.SenderReport{
		SSRC: ssrc, NTPTime: uint64(time.Now().Unix()+2208988800) << 32, RTPTime: uint32(seq) * 3000,
		PacketCount: uint32(c.rtpSent), OctetCount: uint32(c.rtpSent) * 310,
	}})
	if err != nil {
		return err
	}
	if out, err = s.ProtectRTCP(out, sr); err != nil {
		return err
	}
	return sock.sendMedia(out)
}

// dsRunBrowser serves the page, starts the browser with start, runs every
// case in order and checks both sides' view of each.
func dsRunBrowser(t *testing.T, start func(testing.TB, string), cases []*dsBrowserCase) {
	for _, c := range cases {
		c.reported = make(chan dsBrowserReport, 1)
		c.done = make(chan struct{})
	}
	sockets := make(chan *dsLiteSocket, len(cases))
	t.Cleanup(func() {
		close(sockets)
		for s := range sockets {
			s.close()
		}
	})
	finished := make(chan dsBrowserReport, 1)
	caseAt := func(r *http.Request) (*dsBrowserCase, bool) {
		i, err := strconv.Atoi(r.URL.Query().Get("i"))
		if err != nil || i < 0 || i >= len(cases) {
			return nil, false
		}
		return cases[i], true
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, dsBrowserPage)
	})
	mux.HandleFunc("GET /case", func(w http.ResponseWriter, r *http.Request) {
		c, ok := caseAt(r)
		if !ok {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		var kase struct {
			Offer string `json:"offer,omitempty"`
		}
		if c.browserAnswers {
			offer, err := c.offer(sockets)
			if err != nil {
				c.err = err
				close(c.done)
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			kase.Offer = offer
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(kase)
	})
	mux.HandleFunc("POST /answer", func(w http.ResponseWriter, r *http.Request) {
		c, ok := caseAt(r)
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if !ok || err != nil || !c.browserAnswers {
			http.Error(w, "bad case", http.StatusBadRequest)
			return
		}
		if err := c.answered(string(body)); err != nil {
			c.err = err
			close(c.done)
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	})
	mux.HandleFunc("POST /offer", func(w http.ResponseWriter, r *http.Request) {
		c, ok := caseAt(r)
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if !ok || err != nil {
			http.Error(w, "bad case", http.StatusBadRequest)
			return
		}
		answer, err := c.run(string(body), sockets)
		if err != nil {
			c.err = err
			close(c.done)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, answer)
	})
	mux.HandleFunc("POST /report", func(w http.ResponseWriter, r *http.Request) {
		var rep dsBrowserReport
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&rep); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if rep.I >= 0 && rep.I < len(cases) {
			select {
			case cases[rep.I].reported <- rep:
			default:
			}
			return
		}
		select {
		case finished <- rep:
		default:
		}
	})
	mux.HandleFunc("GET /finished", func(w http.ResponseWriter, r *http.Request) {
		if c, ok := caseAt(r); ok {
			select {
			case <-c.done:
			case <-time.After(30 * time.Second):
			}
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	start(t, srv.URL+"/")

	select {
	case rep := <-finished:
		if rep.Error != "" {
			t.Fatalf("page: %s", rep.Error)
		}
	case <-time.After(120 * time.Second):
		t.Error("the page did not finish its cases")
	}
	for _, c := range cases {
		t.Run(c.name(), func(t *testing.T) {
			select {
			case <-c.done:
			default:
				t.Fatal("case did not finish")
			}
			dsCheckBrowserCase(t, c)
		})
	}
}

func dsCheckBrowserCase(t *testing.T, c *dsBrowserCase) {
	t.Helper()
	select {
	case c.report = <-c.reported: // our side ended before the page reported
	default:
	}
	r := c.report
	t.Logf("ours: role %v profile %v, RTP in %d (other SSRC %d), SRTCP in %d, RTP sent %d, unprotect errors %d; browser: %+v",
		c.role, c.negotiated, c.rtpIn, c.rtpBadSSRC, c.rtcpIn, c.rtpSent, c.unprotErrs, r)
	if c.err != nil {
		t.Fatalf("our side: %v (page: %q)", c.err, r.Error)
	}
	if r.Error != "" {
		t.Fatalf("page: %s", r.Error)
	}
	wantRole, browserRole := dtlsparams.RoleClient, "server"
	if c.passive || c.browserAnswers { // browsers answer active (RFC 5763 §5)
		wantRole, browserRole = dtlsparams.RoleServer, "client"
	}
	if c.role != wantRole || c.negotiated != c.profile {
		t.Fatalf("role %v profile %v, want %v %v", c.role, c.negotiated, wantRole, c.profile)
	}
	if c.rtpIn < 10 || c.rtcpIn < 1 || c.unprotErrs != 0 {
		t.Fatalf("from the browser: %d RTP, %d RTCP, %d unprotect errors", c.rtpIn, c.rtcpIn, c.unprotErrs)
	}
	if r.PacketsReceived < 10 || r.RemotePacketsSent < 1 {
		t.Fatalf("the browser counted %d of our RTP packets and %d from our sender reports", r.PacketsReceived, r.RemotePacketsSent)
	}
	// webrtc-stats reports the IANA name: SRTP_ and the RFC 5764/7714 name.
	if want := "SRTP_" + c.profile.String(); r.SRTPCipher != want {
		t.Fatalf("browser srtpCipher %q, want %q", r.SRTPCipher, want)
	}
	if r.DTLSRole != browserRole {
		t.Fatalf("browser dtlsRole %q, want %q", r.DTLSRole, browserRole)
	}
}

func dsBrowserCases(profiles ...dtlssrtp.Profile) []*dsBrowserCase {
	var cases []*dsBrowserCase
	for _, p := range profiles {
		cases = append(cases,
			&dsBrowserCase{profile: p},
			&dsBrowserCase{profile: p, passive: true},
			&dsBrowserCase{profile: p, browserAnswers: true})
	}
	return cases
}

func TestDTLSSRTPChromium(t *testing.T) {
	// Chromium leaves AES128_CM_HMAC_SHA1_32 off unless a field trial turns it on.
	dsRunBrowser(t, startChromium, dsBrowserCases(
		dtlssrtp.ProfileAEADAES128GCM, dtlssrtp.ProfileAEADAES256GCM, dtlssrtp.ProfileAES128CMHMACSHA1_80))
}
