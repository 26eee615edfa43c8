package interop

// pion/webrtc v4 as the offerer, streamwire as the ICE-lite answerer: sdp.Answer
// writes the answer, ice.Mux runs the checks of every session on one loopback UDP
// socket, and dtlssrtp.Handshake runs over each ice.Session (a net.Conn) with the
// role and fingerprints the answer negotiated. This is the whole server path of a
// WHIP/WHEP endpoint, with pion standing in for the browser.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	pionice "github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/streamwire/streamwire/dtlsparams"
	"github.com/streamwire/streamwire/dtlssrtp"
	"github.com/streamwire/streamwire/ice"
	"github.com/streamwire/streamwire/sdp"
)

// iwWait bounds every wait of these tests.
const iwWait = 10 * time.Second

// iwPeer is one pion PeerConnection and what our side made for it.
type iwPeer struct {
	// The case: a complete or trickled offer, the one SRTP profile pion
	// may use, whether we answer a=setup:passive (we are the DTLS server),
	// and whether pion sends audio and video or only receives video.
	trickle bool
	profile dtlssrtp.Profile
	passive bool
	sendAV  bool
	// tcp restricts pion to TCP (ICE-TCP, RFC 6544: it dials our passive
	// candidate from active ones) instead of UDP; dtlsConn, when set, gives
	// the connection the DTLS handshake runs on in place of the session.
	tcp      bool
	dtlsConn func(*ice.Session) net.Conn

	pc        *webrtc.PeerConnection
	dtlsState chan struct{} // closed when pion's DTLS transport is connected
	iceState  chan struct{} // closed when pion's ICE connection is connected
	offer     string        // what pion offered (and what we answered)
	answer    *sdp.Session
	session   *ice.Session
	dtls      *dtlssrtp.Session
}

func (p *iwPeer) name() string {
	kind := "full"
	if p.trickle {
		kind = "trickled"
	}
	return fmt.Sprintf("%s/%v/passive=%v", kind, p.profile, p.passive)
}

// TestICEWebRTC: six pion/webrtc PeerConnections offer at once, three with
// every candidate in the offer and three trickling (the offer has none, so
// the Mux learns pion's address only from its checks, RFC 8445 §7.3.1.3).
// Each is answered by sdp.Answer with our host candidate and served by one
// ice.Mux on one UDP socket; each DTLS handshake then runs over its
// ice.Session in the role the answer chose, and must end with the one SRTP
// profile that peer allows, which pion's stats must report too.
func TestICEWebRTC(t *testing.T) {
	baseline := runtime.NumGoroutine()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	mux := ice.NewMux(conn, ice.MuxConfig{})
	serveCtx, stopServe := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- mux.Serve(serveCtx) }()
	muxAddr := conn.LocalAddr().(*net.UDPAddr).AddrPort()

	peers := []*iwPeer{
		{profile: dtlssrtp.ProfileAEADAES128GCM},
		{profile: dtlssrtp.ProfileAEADAES256GCM, passive: true, sendAV: true},
		{profile: dtlssrtp.ProfileAES128CMHMACSHA1_80, sendAV: true},
		{trickle: true, profile: dtlssrtp.ProfileAEADAES128GCM, passive: true},
		{trickle: true, profile: dtlssrtp.ProfileAEADAES256GCM, sendAV: true},
		{trickle: true, profile: dtlssrtp.ProfileAES128CMHMACSHA1_80, passive: true},
	}
	cert := dsNewCert(t)
	candidates := iwAnswerCandidates(t, muxAddr)
	defer func() {
		for _, p := range peers {
			p.close()
		}
		stopServe()
		if err := <-served; !errors.Is(err, ice.ErrServerClosed) {
			t.Errorf("Serve = %v", err)
		}
		_ = conn.Close()
		iwWaitGoroutines(t, baseline)
	}()

	ctx, cancel := context.WithTimeout(context.Background(), iwWait)
	defer cancel()
	start := time.Now()
	errs := make(chan error, len(peers))
	for _, p := range peers {
		go func() {
			err := p.connect(ctx, mux, cert, candidates)
			if err != nil {
				err = fmt.Errorf("%s: %w", p.name(), err)
			}
			errs <- err
		}()
	}
	var failed []error
	for range peers {
		if err := <-errs; err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) > 0 {
		t.Fatal(errors.Join(failed...))
	}
	t.Logf("%d peers connected through one socket in %v; mux %+v", len(peers), time.Since(start).Round(time.Millisecond), mux.Stats())

	// Only once all are up: every session still holds its own pair, so the
	// socket really was shared by concurrent sessions.
	for _, p := range peers {
		t.Run(p.name(), func(t *testing.T) { p.check(t, muxAddr) })
	}
	if st := mux.Stats(); st.Errors != 0 || st.UnknownAddr != 0 || st.QueueFull != 0 {
		t.Errorf("mux stats %+v: want no error responses, unknown sources or full queues", st)
	}
}

// iwAnswerCandidates returns our candidate lines for Config.Candidates, in
// the order SortForAnswer gives: the UDP host candidate of the Mux socket
// first, then a passive TCP candidate (which pion, restricted to UDP, must
// skip), listed first here so that the sort has something to do.
func iwAnswerCandidates(t *testing.T, muxAddr netip.AddrPort) []string {
	t.Helper()
	tcp := ice.Candidate{Component: 1, Transport: ice.TransportTCP, Addr: muxAddr.Addr(), Port: 9,
		Type: ice.TypeHost, TCPType: ice.TCPTypePassive}
	udp := ice.Candidate{Component: 1, Transport: ice.TransportUDP, Addr: muxAddr.Addr(), Port: muxAddr.Port(),
		Type: ice.TypeHost}
	cands := []ice.Candidate{tcp, udp}
	for i := range cands {
		c := &cands[i]
		c.Foundation = ice.Foundation(c.Type, c.Transport, c.Addr, netip.Addr{})
		c.Priority = c.RecommendedPriority(ice.DefaultLocalPreference)
		if c.Transport == ice.TransportTCP {
			c.Priority = c.RecommendedPriority(ice.MaxOtherPreference)
		}
	}
	ice.SortForAnswer(cands)
	if cands[0].Transport != ice.TransportUDP {
		t.Fatalf("SortForAnswer put %s first", cands[0].String())
	}
	lines := make([]string, len(cands))
	for i := range cands {
		if err := cands[i].Validate(); err != nil {
			t.Fatal(err)
		}
		lines[i] = cands[i].String()
	}
	return lines
}

// connect runs one peer from pion's offer to the end of our handshake.
func (p *iwPeer) connect(ctx context.Context, mux *ice.Mux, cert *dtlssrtp.Certificate, candidates []string) error {
	if err := p.newPeerConnection(); err != nil {
		return err
	}
	if err := p.makeOffer(ctx); err != nil {
		return err
	}
	local, err := ice.NewCredentials(nil)
	if err != nil {
		return err
	}
	fp, err := cert.Fingerprint(dtlsparams.SHA256)
	if err != nil {
		return err
	}
	p.answer, err = sdp.Answer([]byte(p.offer), &sdp.Config{
		ICEUfrag: local.Ufrag, ICEPwd: local.Pwd, ICELite: true,
		Candidates: candidates, EndOfCandidates: true,
		Fingerprints: []dtlsparams.Fingerprint{fp},
		RolePolicy:   dtlsparams.RolePolicy{AnswerPassive: p.passive},
	})
	if err != nil {
		return fmt.Errorf("sdp.Answer: %w\n%s", err, p.offer)
	}
	sec, err := p.transportSection()
	if err != nil {
		return err
	}
	p.session, err = mux.NewSession(ice.Credentials{Ufrag: p.answer.LocalUfrag, Pwd: p.answer.LocalPwd},
		ice.Credentials{Ufrag: sec.RemoteUfrag, Pwd: sec.RemotePwd})
	if err != nil {
		return fmt.Errorf("NewSession: %w", err)
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(p.answer.SDP)}); err != nil {
		return fmt.Errorf("pion rejected the answer: %w\n%s", err, p.answer.SDP)
	}
	// A lite agent has no path before the peer's first check (Write fails
	// with ErrNoPath), so the DTLS client would lose its first flight:
	// wait for pion's nomination.
	select {
	case <-p.session.Connected():
	case <-ctx.Done():
		return fmt.Errorf("no nomination from pion: %w", ctx.Err())
	}
	var conn net.Conn = p.session
	if p.dtlsConn != nil {
		conn = p.dtlsConn(p.session)
	}
	p.dtls, err = dtlssrtp.Handshake(ctx, conn, sec.LocalRole, dtlssrtp.Config{
		Certificate: cert, RemoteFingerprints: sec.RemoteFingerprints,
	})
	if err != nil {
		return fmt.Errorf("dtlssrtp.Handshake as %v: %w", sec.LocalRole, err)
	}
	for what, ch := range map[string]chan struct{}{"ICE connection": p.iceState, "DTLS transport": p.dtlsState} {
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("pion's %s never connected: %w", what, ctx.Err())
		}
	}
	return nil
}

// newPeerConnection makes pion's PeerConnection: loopback UDP (or TCP) only,
// no mDNS, one SRTP profile, and the transceivers of the case (no data
// channel, which our answer would reject).
func (p *iwPeer) newPeerConnection() error {
	var se webrtc.SettingEngine
	se.SetSRTPProtectionProfiles(dtls.SRTPProtectionProfile(p.profile))
	network := webrtc.NetworkTypeUDP4
	if p.tcp {
		network = webrtc.NetworkTypeTCP4
	}
	se.SetNetworkTypes([]webrtc.NetworkType{network})
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetICEMulticastDNSMode(pionice.MulticastDNSModeDisabled)
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return err
	}
	p.pc = pc
	p.iceState, p.dtlsState = make(chan struct{}), make(chan struct{})
	iceUp, dtlsUp := iwOnce(p.iceState), iwOnce(p.dtlsState)
	pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		if s == webrtc.ICEConnectionStateConnected {
			iceUp()
		}
	})
	if p.sendAV {
		for _, tr := range []struct{ mime, id string }{{webrtc.MimeTypeOpus, "audio"}, {webrtc.MimeTypeH264, "video"}} {
			track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: tr.mime}, tr.id, "pion")
			if err != nil {
				return err
			}
			if _, err := pc.AddTrack(track); err != nil {
				return err
			}
		}
	} else if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		return err
	}
	p.dtlsTransport().OnStateChange(func(s webrtc.DTLSTransportState) {
		if s == webrtc.DTLSTransportStateConnected {
			dtlsUp()
		}
	})
	return nil
}

// iwOnce returns a function that closes ch the first time it is called;
// pion's callbacks run on its goroutines and may repeat a state.
func iwOnce(ch chan struct{}) func() {
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

// dtlsTransport is the DTLS transport all of pion's bundled transceivers share.
func (p *iwPeer) dtlsTransport() *webrtc.DTLSTransport {
	return p.pc.GetTransceivers()[0].Receiver().Transport()
}

// makeOffer sets pion's offer as its local description. A full offer waits
// for gathering to complete, as a non-trickling browser or WHIP client
// does; a trickled one is sent as CreateOffer wrote it, before pion has
// gathered anything, and pion's candidates are never passed on.
func (p *iwPeer) makeOffer(ctx context.Context) error {
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	gathered := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(offer); err != nil {
		return err
	}
	if p.trickle {
		p.offer = offer.SDP
		if strings.Contains(p.offer, "a=candidate") {
			return fmt.Errorf("trickled offer carries candidates:\n%s", p.offer)
		}
		return nil
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return fmt.Errorf("pion gathering: %w", ctx.Err())
	}
	p.offer = p.pc.LocalDescription().SDP
	return nil
}

// transportSection returns the answer's section that carries the bundle's
// transport, after checking that every offered section was accepted.
func (p *iwPeer) transportSection() (*sdp.Section, error) {
	want := 1
	if p.sendAV {
		want = 2
	}
	if len(p.answer.Sections) != want {
		return nil, fmt.Errorf("answer has %d sections, want %d", len(p.answer.Sections), want)
	}
	for _, s := range p.answer.Sections {
		if s.Rejected {
			return nil, fmt.Errorf("answer rejected mid %s\n%s", s.Mid, p.answer.SDP)
		}
	}
	if len(p.answer.Bundle) != want {
		return nil, fmt.Errorf("BUNDLE %v, want all %d sections", p.answer.Bundle, want)
	}
	return p.answer.Section(p.answer.Bundle[0]), nil
}

// check asserts what both sides agree on once connected.
func (p *iwPeer) check(t *testing.T, muxAddr netip.AddrPort) {
	sec := p.answer.Section(p.answer.Bundle[0])
	if first := iwFirstCandidate(string(p.answer.SDP)); !strings.Contains(first, " udp ") ||
		!strings.Contains(first, fmt.Sprintf(" %s %d typ host", muxAddr.Addr(), muxAddr.Port())) {
		t.Errorf("first candidate of the answer is %q, want our UDP host candidate", first)
	}
	if got := len(sec.RemoteCandidates); p.trickle != (got == 0) {
		t.Errorf("offer carried %d candidates (trickle %v)", got, p.trickle)
	}

	// Our session's pair is the one pion selected.
	pair, err := p.dtlsTransport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		t.Fatalf("pion has no selected pair: %v", err)
	}
	pionLocal, err := netip.ParseAddrPort(net.JoinHostPort(pair.Local.Address, fmt.Sprint(pair.Local.Port)))
	if err != nil {
		t.Fatal(err)
	}
	if pair.Remote.Address != muxAddr.Addr().String() || pair.Remote.Port != muxAddr.Port() {
		t.Errorf("pion's selected remote is %s:%d, want %v", pair.Remote.Address, pair.Remote.Port, muxAddr)
	}
	sel, nominated, ok := p.session.Selected()
	if !ok || !nominated || sel != pionLocal {
		t.Errorf("session selected %v (nominated %v, ok %v), pion's local candidate is %v", sel, nominated, ok, pionLocal)
	}
	if !p.trickle && !slices.ContainsFunc(sec.RemoteCandidates, func(c string) bool {
		return strings.Contains(c, fmt.Sprintf(" %s %d typ ", sel.Addr(), sel.Port()))
	}) {
		t.Errorf("selected %v is none of the offered candidates %q", sel, sec.RemoteCandidates)
	}
	if err := p.session.Err(); err != nil {
		t.Errorf("session closed: %v", err)
	}

	// DTLS: our role is the answer's, the profile the only one pion allows,
	// and pion reports the same profile and a connected transport.
	if p.dtls.Role() != sec.LocalRole || (sec.LocalRole == dtlsparams.RoleServer) != p.passive {
		t.Errorf("our DTLS role %v, answer says %v (passive %v)", p.dtls.Role(), sec.LocalRole, p.passive)
	}
	if p.dtls.Profile() != p.profile {
		t.Errorf("our SRTP profile %v, pion allows only %v", p.dtls.Profile(), p.profile)
	}
	if !sec.RemoteFingerprints[0].Matches(p.dtls.PeerCertificate()) {
		t.Error("pion's certificate does not match its offer's fingerprint")
	}
	if st := p.pc.ICEConnectionState(); st != webrtc.ICEConnectionStateConnected && st != webrtc.ICEConnectionStateCompleted {
		t.Errorf("pion ICE connection state %v", st)
	}
	ts, ok := p.transportStats()
	if !ok {
		t.Fatal("pion reports no transport stats")
	}
	// pion writes pion/srtp's profile names: "SRTP_" and the IANA name.
	if ts.DTLSState != webrtc.DTLSTransportStateConnected || ts.SRTPCipher != "SRTP_"+p.profile.String() {
		t.Errorf("pion's transport stats: DTLS %v, SRTP cipher %q; want connected, %q", ts.DTLSState, ts.SRTPCipher, "SRTP_"+p.profile.String())
	}
}

func iwFirstCandidate(sdpText string) string {
	for line := range strings.SplitSeq(sdpText, "\r\n") {
		if strings.HasPrefix(line, "a=candidate:") {
			return line
		}
	}
	return ""
}

// transportStats is pion's TransportStats (getStats "transport" entry).
func (p *iwPeer) transportStats() (webrtc.TransportStats, bool) {
	for _, s := range p.pc.GetStats() {
		if ts, ok := s.(webrtc.TransportStats); ok {
			return ts, true
		}
	}
	return webrtc.TransportStats{}, false
}

// close ends both sides: our DTLS session (which closes the ice.Session
// under it) or the bare ice.Session, then pion's PeerConnection.
func (p *iwPeer) close() {
	if p.dtls != nil {
		_ = p.dtls.Close()
	}
	if p.session != nil {
		_ = p.session.Close()
	}
	if p.pc != nil {
		_ = p.pc.Close()
	}
}

// iwWaitGoroutines fails the test when, within iwWait, the goroutine count
// does not come back to what it was before the test started pion and the
// Mux.
func iwWaitGoroutines(t *testing.T, baseline int) {
	t.Helper()
	deadline := time.Now().Add(iwWait)
	for runtime.NumGoroutine() > baseline {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Errorf("%d goroutines left, %d before the test:\n%s", runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
