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

	agent, err := pionice.NewAgent(&pionice.AgentConfig{
		NetworkTypes:     []pionice.NetworkType{pionice.NetworkTypeUDP4},
		CandidateTypes:   []pionice.CandidateType{pionice.CandidateTypeHost},
		IncludeLoopback:  true,
		IPFilter:         func(ip net.IP) bool { return ip.IsLoopback() },
		MulticastDNSMode: pionice.MulticastDNSModeDisabled,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer agent.Close()
	pionUfrag, pionPwd, err := agent.GetLocalUserCredentials()
	if err != nil {
		t.Fatal(err)
	}
	local, err := ice.NewCredentials(nil)
	if err != nil {
		t.Fatal(err)
	}
	session, err := mux.NewSession(local, ice.Credentials{Ufrag: pionUfrag, Pwd: pionPwd})
	if err != nil {
		t.Fatal(err)
	}

	gathered := make(chan struct{})
	if err := agent.OnCandidate(func(c pionice.Candidate) {
		if c == nil {
			close(gathered)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := agent.GatherCandidates(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	select {
	case <-gathered:
	case <-ctx.Done():
		t.Fatal("pion did not finish gathering")
	}

	// Our answer's candidate, written by our candidate writer.
	muxAddr := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	cand := ice.Candidate{Foundation: "1", Component: 1, Transport: ice.TransportUDP, Addr: muxAddr.Addr(),
		Port: muxAddr.Port(), Type: ice.TypeHost}
	cand.Priority = cand.RecommendedPriority(ice.DefaultLocalPreference)
	line := cand.AppendTo(nil)
	remote, err := pionice.UnmarshalCandidate(string(line))
	if err != nil {
		t.Fatalf("pion rejects our candidate %q: %v", line, err)
	}
	if err := agent.AddRemoteCandidate(remote); err != nil {
		t.Fatal(err)
	}

	pionConn, err := agent.Dial(ctx, local.Ufrag, local.Pwd)
	if err != nil {
		t.Fatalf("pion Dial: %v", err)
	}
	select {
	case <-session.Connected():
	case <-ctx.Done():
		t.Fatal("the session saw no nomination")
	}
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
	srvFP, err := srvCert.Fingerprint(dtlssrtp.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	cliFP, err := cliCert.Fingerprint(dtlssrtp.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		s   *dtlssrtp.Session
		err error
	}
	cli := make(chan result, 1)
	go func() {
		s, err := dtlssrtp.Client(ctx, pionConn, dtlssrtp.Config{Certificate: cliCert, RemoteFingerprints: []dtlssrtp.Fingerprint{srvFP}})
		cli <- result{s, err}
	}()
	srv, err := dtlssrtp.Server(ctx, session, dtlssrtp.Config{Certificate: srvCert, RemoteFingerprints: []dtlssrtp.Fingerprint{cliFP}})
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
