package interop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	pionice "github.com/pion/ice/v4"

	"github.com/streamwire/streamwire/dtlsparams"
	"github.com/streamwire/streamwire/dtlssrtp"
	"github.com/streamwire/streamwire/ice"
)

// TestICEPionAgentThroughMux: pion/ice v4 as a controlling full agent
// connects to a session of our ICE-lite Mux, which shares its loopback UDP
// socket with other sessions. pion's own host candidate is never given to
// us, so the Mux learns pion's address from its checks (peer-reflexive,
// RFC 8445 §7.3.1.3), follows its nomination, and both sides then exchange
// RTP-range datagrams over the selected pair and complete a DTLS-SRTP
// handshake (dtlssrtp on both ends) through it.
func TestICEPionAgentThroughMux(t *testing.T) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	mux := ice.NewMux(conn, ice.MuxConfig{})
	serveCtx, stopServe := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- mux.Serve(serveCtx) }()
	defer func() {
		stopServe()
		if err := <-served; !errors.Is(err, ice.ErrServerClosed) {
			t.Errorf("Serve = %v", err)
		}
	}()
	for i := range 3 { // neighbours on the same socket
		if _, err := mux.NewSession(ice.Credentials{Ufrag: fmt.Sprintf("other%d", i), Pwd: "neighbourPassword0123456"}, ice.Credentials{}); err != nil {
			t.Fatal(err)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	agent, pionConn, session, err := icePionDial(ctx, mux, conn.LocalAddr().(*net.UDPAddr).AddrPort(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer agent.Close()
	sel, nominated, _ := session.Selected()
	pionLocal := pionConn.LocalAddr().(*net.UDPAddr).AddrPort()
	if !nominated || sel != netip.AddrPortFrom(pionLocal.Addr().Unmap(), pionLocal.Port()) {
		t.Fatalf("selected %v (nominated %v), pion's address is %v", sel, nominated, pionLocal)
	}

	// Datagrams both ways over the selected pair.
	rtp := []byte{0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 7, 'h', 'i'}
	if _, err := pionConn.Write(rtp); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	_ = session.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := session.Read(buf)
	if err != nil || !bytes.Equal(buf[:n], rtp) {
		t.Fatalf("session Read = %x, %v", buf[:n], err)
	}
	reply := append([]byte{0x81}, rtp[1:]...)
	if _, err := session.Write(reply); err != nil {
		t.Fatal(err)
	}
	_ = pionConn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err = pionConn.Read(buf)
	if err != nil || !bytes.Equal(buf[:n], reply) {
		t.Fatalf("pion Read = %x, %v", buf[:n], err)
	}
	_ = pionConn.SetReadDeadline(time.Time{})
	_ = session.SetReadDeadline(time.Time{})

	// DTLS-SRTP through the pair: pion's side is the DTLS client.
	iceHandshakeDTLS(ctx, t, session, pionConn)
}

// iceHandshakeDTLS runs dtlssrtp as server on the session and as client
// on pion's ICE connection, and checks that both derived the same keys.
func iceHandshakeDTLS(ctx context.Context, t *testing.T, session net.Conn, pionConn net.Conn) {
	t.Helper()
	srvCert, cliCert := dsNewCert(t), dsNewCert(t)
	srvFP, err := srvCert.Fingerprint(dtlsparams.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	cliFP, err := cliCert.Fingerprint(dtlsparams.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		s   *dtlssrtp.Session
		err error
	}
	cli := make(chan result, 1)
	go func() {
		s, err := dtlssrtp.Client(ctx, pionConn, dtlssrtp.Config{Certificate: cliCert, RemoteFingerprints: []dtlsparams.Fingerprint{srvFP}})
		cli <- result{s, err}
	}()
	srv, err := dtlssrtp.Server(ctx, session, dtlssrtp.Config{Certificate: srvCert, RemoteFingerprints: []dtlsparams.Fingerprint{cliFP}})
	if err != nil {
		t.Fatalf("DTLS server over the Mux session: %v", err)
	}
	defer srv.Close()
	c := <-cli
	if c.err != nil {
		t.Fatalf("DTLS client over pion/ice: %v", c.err)
	}
	defer c.s.Close()
	sk, ck := srv.Keys(), c.s.Keys()
	if sk.Profile != ck.Profile || !bytes.Equal(sk.LocalKey, ck.RemoteKey) || !bytes.Equal(sk.RemoteKey, ck.LocalKey) {
		t.Fatalf("SRTP keys differ: server %v, client %v", sk.Profile, ck.Profile)
	}
}

// icePionDial runs a pion/ice v4 controlling agent on loopback against a
// new session of mux at muxAddr, without telling our side pion's candidates
// (the Mux learns pion's address from its checks, RFC 8445 §7.3.1.3), and
// returns once pion's Dial succeeded and the session saw the nomination.
// keepalive, when not zero, is pion's keepalive (consent check) interval.
func icePionDial(ctx context.Context, mux *ice.Mux, muxAddr netip.AddrPort, keepalive time.Duration) (*pionice.Agent, *pionice.Conn, *ice.Session, error) {
	opts := []pionice.AgentOption{
		pionice.WithNetworkTypes([]pionice.NetworkType{pionice.NetworkTypeUDP4}),
		pionice.WithCandidateTypes([]pionice.CandidateType{pionice.CandidateTypeHost}),
		pionice.WithIncludeLoopback(),
		pionice.WithIPFilter(func(ip net.IP) bool { return ip.IsLoopback() }),
		pionice.WithMulticastDNSMode(pionice.MulticastDNSModeDisabled),
	}
	if keepalive != 0 {
		opts = append(opts, pionice.WithKeepaliveInterval(keepalive))
	}
	agent, err := pionice.NewAgentWithOptions(opts...)
	if err != nil {
		return nil, nil, nil, err
	}
	conn, session, err := icePionConnect(ctx, agent, mux, muxAddr)
	if err != nil {
		_ = agent.Close()
		return nil, nil, nil, err
	}
	return agent, conn, session, nil
}

func icePionConnect(ctx context.Context, agent *pionice.Agent, mux *ice.Mux, muxAddr netip.AddrPort) (*pionice.Conn, *ice.Session, error) {
	pionUfrag, pionPwd, err := agent.GetLocalUserCredentials()
	if err != nil {
		return nil, nil, err
	}
	local, err := ice.NewCredentials(nil)
	if err != nil {
		return nil, nil, err
	}
	session, err := mux.NewSession(local, ice.Credentials{Ufrag: pionUfrag, Pwd: pionPwd})
	if err != nil {
		return nil, nil, err
	}
	gathered := make(chan struct{})
	if err := agent.OnCandidate(func(c pionice.Candidate) {
		if c == nil {
			close(gathered)
		}
	}); err != nil {
		return nil, nil, err
	}
	if err := agent.GatherCandidates(); err != nil {
		return nil, nil, err
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return nil, nil, fmt.Errorf("pion gathering: %w", ctx.Err())
	}
	// Our answer's candidate, written by our candidate writer.
	cand := ice.Candidate{Foundation: "1", Component: 1, Transport: ice.TransportUDP, Addr: muxAddr.Addr(),
		Port: muxAddr.Port(), Type: ice.TypeHost}
	cand.Priority = cand.RecommendedPriority(ice.DefaultLocalPreference)
	line := cand.AppendTo(nil)
	remote, err := pionice.UnmarshalCandidate(string(line))
	if err != nil {
		return nil, nil, fmt.Errorf("pion rejects our candidate %q: %w", line, err)
	}
	if err := agent.AddRemoteCandidate(remote); err != nil {
		return nil, nil, err
	}
	conn, err := agent.Dial(ctx, local.Ufrag, local.Pwd)
	if err != nil {
		return nil, nil, fmt.Errorf("pion Dial: %w", err)
	}
	select {
	case <-session.Connected():
	case <-ctx.Done():
		return nil, nil, fmt.Errorf("the session saw no nomination: %w", ctx.Err())
	}
	return conn, session, nil
}

// TestICEPionManyAgentsConsent: 200 pion/ice agents, each with its own
// session on one Mux socket, all connect and exchange datagrams; then half
// of them stop (their agents close), and consent freshness (RFC 7675)
// closes exactly those sessions, while the others, kept alive by pion's
// keepalive checks, still carry data.
func TestICEPionManyAgentsConsent(t *testing.T) {
	const (
		n         = 200
		parallel  = 16
		consent   = 4 * time.Second
		keepalive = 500 * time.Millisecond
	)
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	mux := ice.NewMux(conn, ice.MuxConfig{ConsentTimeout: consent})
	serveCtx, stopServe := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- mux.Serve(serveCtx) }()
	defer func() {
		stopServe()
		if err := <-served; !errors.Is(err, ice.ErrServerClosed) {
			t.Errorf("Serve = %v", err)
		}
	}()
	muxAddr := conn.LocalAddr().(*net.UDPAddr).AddrPort()

	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	type peer struct {
		agent   *pionice.Agent
		conn    *pionice.Conn
		session *ice.Session
	}
	peers := make([]peer, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, parallel)
	for i := range n {
		go func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			a, c, s, err := icePionDial(ctx, mux, muxAddr, keepalive)
			if err == nil {
				peers[i] = peer{a, c, s}
				err = icePingPong(c, s, byte(i))
			}
			if err != nil {
				err = fmt.Errorf("peer %d: %w", i, err)
			}
			errs <- err
		}()
	}
	var failed error
	for range n {
		if err := <-errs; err != nil && failed == nil {
			failed = err
		}
	}
	defer func() {
		for _, p := range peers {
			if p.agent != nil {
				_ = p.agent.Close()
			}
		}
	}()
	if failed != nil {
		t.Fatal(failed)
	}
	start := time.Now()
	for i := 1; i < n; i += 2 {
		_ = peers[i].agent.Close()
	}
	for i := 1; i < n; i += 2 {
		select {
		case <-peers[i].session.Done():
		case <-ctx.Done():
			t.Fatalf("session %d of a stopped peer still open", i)
		}
		if err := peers[i].session.Err(); !errors.Is(err, ice.ErrConsentExpired) {
			t.Fatalf("session %d: Err = %v", i, err)
		}
	}
	t.Logf("%d stopped sessions expired %v after their peers stopped (timeout %v)", n/2, time.Since(start).Round(time.Millisecond), consent)
	for i := 0; i < n; i += 2 {
		if err := peers[i].session.Err(); err != nil {
			t.Fatalf("session %d of a live peer closed: %v", i, err)
		}
		if err := icePingPong(peers[i].conn, peers[i].session, byte(i)); err != nil {
			t.Fatalf("live peer %d after the expiry: %v", i, err)
		}
	}
	if st := mux.Stats(); st.Expired != n/2 {
		t.Fatalf("Stats = %+v, want %d expired", st, n/2)
	}
}

// icePingPong sends one RTP-range datagram each way between pion's
// connection and our session.
func icePingPong(pc *pionice.Conn, s *ice.Session, tag byte) error {
	msg := []byte{0x80, 96, 0, tag, 0, 0, 0, 1, 0, 0, 0, 2}
	if _, err := pc.Write(msg); err != nil {
		return err
	}
	buf := make([]byte, 1500)
	_ = s.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := s.Read(buf)
	if err != nil || !bytes.Equal(buf[:n], msg) {
		return fmt.Errorf("session Read = %x, %w", buf[:n], err)
	}
	msg[0] = 0x81
	if _, err := s.Write(msg); err != nil {
		return err
	}
	_ = pc.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer pc.SetReadDeadline(time.Time{})
	n, err = pc.Read(buf)
	if err != nil || !bytes.Equal(buf[:n], msg) {
		return fmt.Errorf("pion Read = %x, %w", buf[:n], err)
	}
	return nil
}
