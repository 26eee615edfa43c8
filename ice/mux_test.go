package ice

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/streamwire/streamwire/stun"
)

const wait = 2 * time.Second

func newTestSession(t *testing.T, m *Mux) *Session {
	t.Helper()
	s, err := m.NewSession(testLocal, testRemote)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMuxCheckSuccess(t *testing.T) {
	m, addr := startMux(t, MuxConfig{})
	s := newTestSession(t, m)
	peer := newPeer(t)
	mustSucceed(t, exchange(t, peer, addr, check{}.build(t), wait), addrOf(peer))
	got, nominated, ok := s.Selected()
	if !ok || got != addrOf(peer) || nominated {
		t.Fatalf("Selected = %v %v %v, want %v unnominated", got, nominated, ok, addrOf(peer))
	}
	select {
	case <-s.Connected():
		t.Fatal("connected without USE-CANDIDATE")
	default:
	}
	if st := m.Stats(); st.Checks != 1 || st.GoogPings != 0 {
		t.Fatalf("Stats = %+v", st)
	}
}

func TestMuxMissingPriorityTolerated(t *testing.T) {
	m, addr := startMux(t, MuxConfig{})
	newTestSession(t, m)
	peer := newPeer(t)
	mustSucceed(t, exchange(t, peer, addr, check{noPriority: true}.build(t), wait), addrOf(peer))
}

func TestMuxCheckErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    check
		code int
		auth bool // the error response carries MESSAGE-INTEGRITY
	}{
		{"wrong password", check{pwd: "notTheServerPassword1234"}, stun.CodeUnauthorized, false},
		{"unknown ufrag", check{username: "nobody:" + testRemote.Ufrag}, stun.CodeUnauthorized, false},
		{"other sender ufrag", check{username: testLocal.Ufrag + ":other"}, stun.CodeUnauthorized, false},
		{"no colon", check{username: "srvApeerA"}, stun.CodeBadRequest, false},
		{"no integrity", check{noIntegr: true, username: testLocal.Ufrag + ":" + testRemote.Ufrag + "-padding-to-fit-a-400"}, stun.CodeBadRequest, false},
		{"role conflict", check{controlled: true}, stun.CodeRoleConflict, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, addr := startMux(t, MuxConfig{})
			s := newTestSession(t, m)
			peer := newPeer(t)
			req := tc.c.build(t)
			resp := exchange(t, peer, addr, req, wait)
			if code := errorCode(t, resp); code != tc.code {
				t.Fatalf("code %d, want %d", code, tc.code)
			}
			err := stun.NewShortTermIntegrity(testLocal.Pwd).Verify(resp)
			if tc.auth && err != nil {
				t.Fatalf("authenticated error response: %v", err)
			}
			if !tc.auth {
				if !errors.Is(err, stun.ErrAttributeNotFound) {
					t.Fatalf("unauthenticated error response has integrity: %v", err)
				}
				if len(resp.Bytes()) > len(req) {
					t.Fatalf("response of %d bytes to a request of %d", len(resp.Bytes()), len(req))
				}
			}
			if _, _, ok := s.Selected(); ok {
				t.Fatal("a failed check validated an address")
			}
		})
	}
}

func TestMuxNoAmplification(t *testing.T) {
	m, addr := startMux(t, MuxConfig{})
	newTestSession(t, m)
	peer := newPeer(t)
	// A 28-byte request with a USERNAME and nothing else: its 400 would be
	// 48 bytes, so it must get no answer. The shortest forged check with a
	// MESSAGE-INTEGRITY (52 bytes) gets a 401 of at most its own size.
	var b stun.Builder
	b.Start(nil, stun.BindingRequest, testTxn)
	b.AddUsername("ab:c")
	tiny, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	b.Start(nil, stun.BindingRequest, testTxn)
	b.AddUsername("x:y")
	b.AddMessageIntegrity(stun.NewShortTermIntegrity("whatever"))
	forged, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := peer.WriteToUDPAddrPort(tiny, addr); err != nil {
		t.Fatal(err)
	}
	// The reader handles datagrams in order: the answer to the forged
	// check is the first thing the peer receives if the tiny one got none.
	resp := exchange(t, peer, addr, forged, wait)
	if code := errorCode(t, resp); code != stun.CodeUnauthorized || len(resp.Bytes()) > len(forged) {
		t.Fatalf("first datagram received: %v (%d bytes), want a 401 of at most %d bytes", resp, len(resp.Bytes()), len(forged))
	}
	if st := m.Stats(); st.Dropped != 1 || st.Errors != 1 {
		t.Fatalf("Stats = %+v, want 1 dropped, 1 error response", st)
	}
}

func TestMuxMalformedRequest400(t *testing.T) {
	m, addr := startMux(t, MuxConfig{})
	newTestSession(t, m)
	peer := newPeer(t)
	// A Binding request whose attribute overruns the message is not a
	// STUN message at all: silently discarded (RFC 8489 §6.3), even when a
	// 400 would fit. The plain STUN answer after it arrives first.
	req := make([]byte, 20+64)
	copy(req, []byte{0, 1, 0, 64, 0x21, 0x12, 0xa4, 0x42})
	copy(req[8:20], testTxn[:])
	copy(req[20:], []byte{0x00, 0x06, 0x01, 0x00}) // USERNAME of 256 bytes
	if _, err := peer.WriteToUDPAddrPort(req, addr); err != nil {
		t.Fatal(err)
	}
	if r := exchange(t, peer, addr, check{noUsername: true}.build(t), wait); r == nil || r.Type() != stun.BindingSuccess {
		t.Fatalf("first answer: %v, want the plain STUN one", r)
	}
	// A USERNAME without ':' is a malformed check: 400 without integrity.
	if code := errorCode(t, exchange(t, peer, addr, check{username: "srvApeerA-no-colon"}.build(t), wait)); code != stun.CodeBadRequest {
		t.Fatalf("code %d", code)
	}
	// A malformed PRIORITY (2 bytes) in an authenticated check is a 400
	// with integrity.
	var b stun.Builder
	b.Start(nil, stun.BindingRequest, testTxn)
	b.AddUsername(testLocal.Ufrag + ":" + testRemote.Ufrag)
	b.Add(stun.AttrPriority, []byte{1, 2})
	b.AddICEControlling(1)
	b.AddMessageIntegrity(stun.NewShortTermIntegrity(testLocal.Pwd))
	b.AddFingerprint()
	bad, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	resp := exchange(t, peer, addr, bad, wait)
	if code := errorCode(t, resp); code != stun.CodeBadRequest {
		t.Fatalf("code %d", code)
	}
	if err := stun.NewShortTermIntegrity(testLocal.Pwd).Verify(resp); err != nil {
		t.Fatal(err)
	}
}

func TestMuxPlainSTUN(t *testing.T) {
	m, addr := startMux(t, MuxConfig{Software: "streamwire-test"})
	peer := newPeer(t)
	resp := exchange(t, peer, addr, check{noUsername: true, noIntegr: true}.build(t), wait)
	if resp == nil || resp.Type() != stun.BindingSuccess {
		t.Fatalf("response %v", resp)
	}
	if got, err := resp.XORMappedAddress(); err != nil || got != addrOf(peer) {
		t.Fatalf("XOR-MAPPED-ADDRESS %v %v", got, err)
	}
	if sw, err := resp.Software(); err != nil || string(sw) != "streamwire-test" {
		t.Fatalf("SOFTWARE %q %v", sw, err)
	}
	if st := m.Stats(); st.PlainSTUN != 1 {
		t.Fatalf("Stats %+v", st)
	}
}

func TestMuxNominationAndSwitch(t *testing.T) {
	m, addr := startMux(t, MuxConfig{})
	s := newTestSession(t, m)
	wifi, cell, other := newPeer(t), newPeer(t), newPeer(t)

	mustSucceed(t, exchange(t, wifi, addr, check{useCand: true}.build(t), wait), addrOf(wifi))
	select {
	case <-s.Connected():
	case <-time.After(wait):
		t.Fatal("not connected after USE-CANDIDATE")
	}
	assertSelected(t, s, addrOf(wifi))
	// A check without USE-CANDIDATE from elsewhere validates that address
	// but leaves the nominated pair selected.
	mustSucceed(t, exchange(t, other, addr, check{}.build(t), wait), addrOf(other))
	assertSelected(t, s, addrOf(wifi))
	// The peer moves to another network and nominates again.
	mustSucceed(t, exchange(t, cell, addr, check{useCand: true}.build(t), wait), addrOf(cell))
	assertSelected(t, s, addrOf(cell))
	if _, err := s.Write(rtpPacket); err != nil {
		t.Fatal(err)
	}
	if got := readRaw(t, cell); !bytes.Equal(got, rtpPacket) {
		t.Fatalf("cell peer got %x", got)
	}
	// Media from every validated address is still delivered.
	for _, p := range []*net.UDPConn{wifi, other, cell} {
		if _, err := p.WriteToUDPAddrPort(dtlsRecord, addr); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 100)
		_ = s.SetReadDeadline(time.Now().Add(wait))
		n, from, err := s.ReadPacket(buf)
		if err != nil || from != addrOf(p) || !bytes.Equal(buf[:n], dtlsRecord) {
			t.Fatalf("ReadPacket = %x from %v, %v", buf[:n], from, err)
		}
	}
}

func assertSelected(t *testing.T, s *Session, want netip.AddrPort) {
	t.Helper()
	got, nominated, ok := s.Selected()
	if !ok || !nominated || got != want {
		t.Fatalf("Selected = %v nominated=%v ok=%v, want %v nominated", got, nominated, ok, want)
	}
}

// readRaw reads one datagram of peer.
func readRaw(t *testing.T, peer *net.UDPConn) []byte {
	t.Helper()
	buf := make([]byte, 1500)
	_ = peer.SetReadDeadline(time.Now().Add(wait))
	n, _, err := peer.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n]
}

func TestMuxRoutesByAddress(t *testing.T) {
	m, addr := startMux(t, MuxConfig{})
	s := newTestSession(t, m)
	peer, stranger := newPeer(t), newPeer(t)
	// Before any check, media from the peer is dropped.
	if _, err := peer.WriteToUDPAddrPort(dtlsRecord, addr); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the early datagram to be dropped", func() bool { return m.Stats().UnknownAddr == 1 })
	mustSucceed(t, exchange(t, peer, addr, check{useCand: true}.build(t), wait), addrOf(peer))

	for _, d := range [][]byte{dtlsRecord, rtpPacket, {0x90, 200, 0, 1}} { // DTLS, RTP, RTCP
		if _, err := stranger.WriteToUDPAddrPort(d, addr); err != nil {
			t.Fatal(err)
		}
		if _, err := peer.WriteToUDPAddrPort(d, addr); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1500)
		_ = s.SetReadDeadline(time.Now().Add(wait))
		n, err := s.Read(buf)
		if err != nil || !bytes.Equal(buf[:n], d) {
			t.Fatalf("Read = %x, %v; want %x", buf[:n], err, d)
		}
	}
	// Outside RFC 7983's ranges: dropped even from the peer.
	if _, err := peer.WriteToUDPAddrPort([]byte{70, 1, 2, 3}, addr); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "drops", func() bool { st := m.Stats(); return st.UnknownAddr == 4 && st.Dropped == 1 })
	_ = s.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	_, err := s.Read(make([]byte, 10))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past the deadline = %v, want a timeout", err)
	}
	// Write goes to the selected address; a short Read buffer truncates.
	if _, err := s.Write(dtlsRecord); err != nil {
		t.Fatal(err)
	}
	if got := readRaw(t, peer); !bytes.Equal(got, dtlsRecord) {
		t.Fatalf("peer got %x", got)
	}
	if _, err := peer.WriteToUDPAddrPort(rtpPacket, addr); err != nil {
		t.Fatal(err)
	}
	small := make([]byte, 4)
	_ = s.SetReadDeadline(time.Now().Add(wait))
	if n, err := s.Read(small); err != nil || n != 4 || !bytes.Equal(small, rtpPacket[:4]) {
		t.Fatalf("short Read = %d %x %v", n, small, err)
	}
}

func TestMuxManySessions(t *testing.T) {
	const n = 100
	m, addr := startMux(t, MuxConfig{})
	sessions := make([]*Session, n)
	peers := make([]*net.UDPConn, n)
	remote := testRemote
	for i := range n {
		local := Credentials{Ufrag: fmt.Sprintf("s%03d", i), Pwd: fmt.Sprintf("sessionPassword%09d", i)}
		s, err := m.NewSession(local, remote)
		if err != nil {
			t.Fatal(err)
		}
		sessions[i], peers[i] = s, newPeer(t)
	}
	for i, p := range peers {
		var b stun.Builder
		b.Start(nil, stun.BindingRequest, testTxn)
		b.AddUsername(sessions[i].LocalCredentials().Ufrag + ":" + remote.Ufrag)
		b.AddICEControlling(uint64(i))
		b.AddUseCandidate()
		b.AddMessageIntegrity(stun.NewShortTermIntegrity(sessions[i].LocalCredentials().Pwd))
		b.AddFingerprint()
		req, err := b.Finish()
		if err != nil {
			t.Fatal(err)
		}
		resp := exchange(t, p, addr, req, wait)
		if resp == nil || resp.Type() != stun.BindingSuccess ||
			stun.NewShortTermIntegrity(sessions[i].LocalCredentials().Pwd).Verify(resp) != nil {
			t.Fatalf("session %d: response %v", i, resp)
		}
	}
	for i, p := range peers {
		msg := []byte{0x80, 96, byte(i >> 8), byte(i)}
		if _, err := p.WriteToUDPAddrPort(msg, addr); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range sessions {
		buf := make([]byte, 10)
		_ = s.SetReadDeadline(time.Now().Add(wait))
		k, err := s.Read(buf)
		if err != nil || k != 4 || buf[2] != byte(i>>8) || buf[3] != byte(i) {
			t.Fatalf("session %d read %x %v", i, buf[:k], err)
		}
		if _, err := s.Write(buf[:k]); err != nil {
			t.Fatal(err)
		}
		if got := readRaw(t, peers[i]); !bytes.Equal(got, buf[:k]) {
			t.Fatalf("peer %d got %x", i, got)
		}
	}
}

func TestMuxSessionLifecycle(t *testing.T) {
	m, addr := startMux(t, MuxConfig{})
	s := newTestSession(t, m)
	if _, err := m.NewSession(testLocal, Credentials{}); !errors.Is(err, ErrDuplicateUfrag) {
		t.Fatalf("duplicate ufrag: %v", err)
	}
	if _, err := m.NewSession(Credentials{Ufrag: "x", Pwd: testLocal.Pwd}, Credentials{}); !errors.Is(err, ErrUfrag) {
		t.Fatalf("bad ufrag: %v", err)
	}
	if _, err := s.Write(rtpPacket); !errors.Is(err, ErrNoPath) {
		t.Fatalf("Write before any check: %v", err)
	}
	readErr := make(chan error, 1)
	go func() {
		_, err := s.Read(make([]byte, 10))
		readErr <- err
	}()
	peer := newPeer(t)
	mustSucceed(t, exchange(t, peer, addr, check{}.build(t), wait), addrOf(peer))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-readErr:
		if !errors.Is(err, ErrSessionClosed) || !errors.Is(err, net.ErrClosed) {
			t.Fatalf("blocked Read after Close: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("Read still blocked after Close")
	}
	if _, err := s.Write(rtpPacket); !errors.Is(err, ErrSessionClosed) {
		t.Fatalf("Write after Close: %v", err)
	}
	// The ufrag and the address are forgotten; the ufrag can be reused.
	if code := errorCode(t, exchange(t, peer, addr, check{}.build(t), wait)); code != stun.CodeUnauthorized {
		t.Fatalf("check for a closed session: %d", code)
	}
	s2 := newTestSession(t, m)
	mustSucceed(t, exchange(t, peer, addr, check{}.build(t), wait), addrOf(peer))
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s2.Done():
	case <-time.After(wait):
		t.Fatal("Mux.Close left a session open")
	}
	if _, err := m.NewSession(Credentials{Ufrag: "late", Pwd: testLocal.Pwd}, Credentials{}); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("NewSession after Close: %v", err)
	}
}

func TestMuxServeStops(t *testing.T) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	m := NewMux(conn, MuxConfig{})
	done := make(chan error, 1)
	go func() { done <- m.Serve(context.Background()) }()
	time.Sleep(10 * time.Millisecond)
	_ = m.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrServerClosed) {
			t.Fatal(err)
		}
	case <-time.After(wait):
		t.Fatal("Serve did not return after Close")
	}
	if err := m.Serve(context.Background()); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve after Close: %v", err)
	}
	// A Close after Serve returned leaves the caller's socket usable: no
	// read deadline in the past (the datagram to itself is already queued,
	// so the read cannot block).
	_ = m.Close()
	if _, err := conn.WriteToUDPAddrPort([]byte("x"), conn.LocalAddr().(*net.UDPAddr).AddrPort()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := conn.ReadFromUDPAddrPort(make([]byte, 10)); err != nil {
		t.Fatalf("socket after Serve and Close: %v", err)
	}
	// A closed socket is a failure, not a normal end.
	conn2, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	m2 := NewMux(conn2, MuxConfig{})
	go func() { done <- m2.Serve(context.Background()) }()
	time.Sleep(10 * time.Millisecond)
	conn2.Close()
	select {
	case err := <-done:
		if errors.Is(err, ErrServerClosed) || !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Serve on a closed socket = %v", err)
		}
	case <-time.After(wait):
		t.Fatal("Serve did not return after the socket closed")
	}
}

// TestMuxSessionRestart: Restart switches a session to new credentials,
// keeps the old ones valid until a check with the new ones succeeds (RFC
// 8445 §9), and keeps the session's pair and media.
func TestMuxSessionRestart(t *testing.T) {
	m, addr := startMux(t, MuxConfig{})
	s := newTestSession(t, m)
	peer := newPeer(t)
	mustSucceed(t, exchange(t, peer, addr, check{useCand: true}.build(t), wait), addrOf(peer))
	other, err := m.NewSession(Credentials{Ufrag: "srvB", Pwd: "otherServerPassword12345"}, Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	newLocal := Credentials{Ufrag: "srvA2", Pwd: "restartedServerPwd123456"}
	newRemote := Credentials{Ufrag: "peerA2"}
	if err := s.Restart(Credentials{Ufrag: "srvB", Pwd: newLocal.Pwd}, newRemote); !errors.Is(err, ErrDuplicateUfrag) {
		t.Fatalf("Restart onto another session's ufrag: %v", err)
	}
	if err := s.Restart(newLocal, newRemote); err != nil {
		t.Fatal(err)
	}
	if s.LocalCredentials() != newLocal || s.RemoteCredentials() != newRemote {
		t.Fatal("credentials not switched")
	}
	// Until the peer checks with the new credentials, the old ones still
	// pass (its consent checks on the pair in use), and the old ufrag is
	// still taken; media keeps flowing both ways.
	mustSucceed(t, exchange(t, peer, addr, check{}.build(t), wait), addrOf(peer))
	if _, err := m.NewSession(testLocal, Credentials{}); !errors.Is(err, ErrDuplicateUfrag) {
		t.Fatalf("NewSession on the ufrag in its grace: %v", err)
	}
	assertSelected(t, s, addrOf(peer))
	if _, err := peer.WriteToUDPAddrPort(rtpPacket, addr); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	_ = s.SetReadDeadline(time.Now().Add(wait))
	if n, err := s.Read(buf); err != nil || !bytes.Equal(buf[:n], rtpPacket) {
		t.Fatalf("Read after restart = %x, %v", buf[:n], err)
	}
	if _, err := s.Write(dtlsRecord); err != nil {
		t.Fatal(err)
	}
	if got := readRaw(t, peer); !bytes.Equal(got, dtlsRecord) {
		t.Fatalf("peer got %x", got)
	}
	// New credentials pass, from a new address too (the peer moved).
	moved := newPeer(t)
	var b stun.Builder
	b.Start(nil, stun.BindingRequest, testTxn)
	b.AddUsername(newLocal.Ufrag + ":" + newRemote.Ufrag)
	b.AddICEControlling(1)
	b.AddUseCandidate()
	b.AddMessageIntegrity(stun.NewShortTermIntegrity(newLocal.Pwd))
	b.AddFingerprint()
	req, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	resp := exchange(t, moved, addr, req, wait)
	if resp == nil || resp.Type() != stun.BindingSuccess || stun.NewShortTermIntegrity(newLocal.Pwd).Verify(resp) != nil {
		t.Fatalf("check with the new credentials: %v", resp)
	}
	assertSelected(t, s, addrOf(moved))
	// Now the old credentials are refused and their ufrag is free again; a
	// closed session cannot restart.
	if code := errorCode(t, exchange(t, peer, addr, check{}.build(t), wait)); code != stun.CodeUnauthorized {
		t.Fatalf("check with the old credentials after the restart: %d", code)
	}
	if _, err := m.NewSession(testLocal, Credentials{}); err != nil {
		t.Fatal(err)
	}
	_ = other.Close()
	if err := other.Restart(Credentials{Ufrag: "srvB3", Pwd: newLocal.Pwd}, Credentials{}); !errors.Is(err, ErrSessionClosed) {
		t.Fatalf("Restart after Close: %v", err)
	}
}

func TestMuxSessionWriteBatch(t *testing.T) {
	m, addr := startMux(t, MuxConfig{})
	s := newTestSession(t, m)
	if _, err := s.WriteBatch([][]byte{rtpPacket}); !errors.Is(err, ErrNoPath) {
		t.Fatalf("WriteBatch before any check: %v", err)
	}
	peer := newPeer(t)
	mustSucceed(t, exchange(t, peer, addr, check{useCand: true}.build(t), wait), addrOf(peer))
	const n = 3*DefaultWriteBatchSize + 5 // several system calls
	bufs := make([][]byte, n)
	for i := range bufs {
		bufs[i] = []byte{0x80, 96, 0, byte(i)}
	}
	if sent, err := s.WriteBatch(bufs); sent != n || err != nil {
		t.Fatalf("WriteBatch = %d, %v", sent, err)
	}
	for i := range n {
		if got := readRaw(t, peer); !bytes.Equal(got, bufs[i]) {
			t.Fatalf("datagram %d: got %x", i, got)
		}
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := s.WriteBatch(bufs[:8]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("WriteBatch: %v allocations", allocs)
	}
	_ = s.Close()
	if _, err := s.WriteBatch(bufs); !errors.Is(err, ErrSessionClosed) {
		t.Fatalf("WriteBatch after Close: %v", err)
	}
}

// plainPacketConn hides the *net.UDPConn behind the net.PacketConn
// interface, so that the Mux takes its portable path (no recvmmsg, no
// packet information).
type plainPacketConn struct{ net.PacketConn }

func TestMuxPortablePacketConn(t *testing.T) {
	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	bc, err := newReadConn(plainPacketConn{udp}, DefaultBatchSize)
	if err != nil || bc.Batched() {
		t.Fatalf("newReadConn on a plain PacketConn: batched=%v, %v", bc != nil && bc.Batched(), err)
	}
	m := NewMux(plainPacketConn{udp}, MuxConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Serve(ctx) }()
	defer func() {
		cancel()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve = %v", err)
		}
	}()
	s := newTestSession(t, m)
	addr := udp.LocalAddr().(*net.UDPAddr).AddrPort()
	peer := newPeer(t)
	mustSucceed(t, exchange(t, peer, addr, check{useCand: true}.build(t), wait), addrOf(peer))
	if _, err := peer.WriteToUDPAddrPort(rtpPacket, addr); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	_ = s.SetReadDeadline(time.Now().Add(wait))
	if n, err := s.Read(buf); err != nil || !bytes.Equal(buf[:n], rtpPacket) {
		t.Fatalf("Read = %x, %v", buf[:n], err)
	}
	if _, err := s.Write(dtlsRecord); err != nil {
		t.Fatal(err)
	}
	if got := readRaw(t, peer); !bytes.Equal(got, dtlsRecord) {
		t.Fatalf("peer got %x", got)
	}
}

// TestMuxWriteBatch: one WriteBatch reaches each session's own peer, skips
// a session without a path, and allocates nothing once warm.
func TestMuxWriteBatch(t *testing.T) {
	m, addr := startMux(t, MuxConfig{})
	var out []Datagram
	var peers []*net.UDPConn
	for i := range 3 {
		s, err := m.NewSession(Credentials{Ufrag: fmt.Sprintf("wb%02d", i), Pwd: testLocal.Pwd}, Credentials{})
		if err != nil {
			t.Fatal(err)
		}
		peer := newPeer(t)
		mustSucceed(t, exchange(t, peer, addr, check{username: fmt.Sprintf("wb%02d:x", i), useCand: true}.build(t), wait), addrOf(peer))
		peers = append(peers, peer)
		out = append(out, Datagram{Session: s, Buf: []byte{0x80, 0x60, byte(i)}})
	}
	lonely, err := m.NewSession(Credentials{Ufrag: "wbNone", Pwd: testLocal.Pwd}, Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	withLonely := append(out, Datagram{Session: lonely, Buf: []byte{0x80}})
	if n, err := m.WriteBatch(withLonely); n != 3 || !errors.Is(err, ErrNoPath) {
		t.Fatalf("WriteBatch = %d, %v; want 3 and ErrNoPath", n, err)
	}
	for i, p := range peers {
		if got := readRaw(t, p); !bytes.Equal(got, out[i].Buf) {
			t.Fatalf("peer %d got %x", i, got)
		}
	}
	if n := testing.AllocsPerRun(50, func() { _, _ = m.WriteBatch(out) }); n != 0 {
		t.Errorf("WriteBatch: %v allocations", n)
	}
}
