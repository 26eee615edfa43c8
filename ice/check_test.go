package ice

import (
	"bytes"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streamwire/streamwire/stun"
)

// otherLocal are the credentials of a second session in these tests.
var otherLocal = Credentials{Ufrag: "srvB", Pwd: "otherServerPassword12345"}

// checkFor returns a nominating check keyed for local, with remote's
// ufrag as the sender's.
func checkFor(t testing.TB, local, remote Credentials) []byte {
	t.Helper()
	var b stun.Builder
	b.Start(nil, stun.BindingRequest, testTxn)
	b.AddUsername(local.Ufrag + ":" + remote.Ufrag)
	b.AddICEControlling(1)
	b.AddUseCandidate()
	b.AddMessageIntegrity(stun.NewShortTermIntegrity(local.Pwd))
	b.AddFingerprint()
	req, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestCheckAddressMovesBetweenSessions: an address validated by one
// session, from which a check for another session arrives, is routed to
// the other one from then on, and back again after a check for the
// first: a check is routed by its ufrag, whatever session its address
// routes to (RFC 8445 §7.2.2).
func TestCheckAddressMovesBetweenSessions(t *testing.T) {
	tr := newTestReader(t)
	b, err := tr.m.NewSession(otherLocal, testRemote)
	if err != nil {
		t.Fatal(err)
	}
	peer := newPeer(t)
	from := addrOf(peer)
	buf := make([]byte, 1500)
	for _, step := range []struct {
		check []byte
		to    *Session
	}{
		{check{useCand: true}.build(t), tr.s},
		{checkFor(t, otherLocal, testRemote), b},
		{check{}.build(t), tr.s},
	} {
		if !tr.feed(t, step.check, from) {
			t.Fatal("check not answered")
		}
		if m := readSTUN(t, peer, wait); m == nil || m.Type() != stun.BindingSuccess {
			t.Fatalf("check answered with %v", m)
		}
		tr.feed(t, rtpPacket, from)
		_ = step.to.SetReadDeadline(time.Now().Add(wait))
		if n, _, err := step.to.ReadPacket(buf); err != nil || !bytes.Equal(buf[:n], rtpPacket) {
			t.Fatalf("media after the check went elsewhere: %x, %v", buf[:n], err)
		}
	}
	if st := tr.m.Stats(); st.UnknownAddr != 0 || st.QueueFull != 0 {
		t.Fatalf("media dropped: %+v", st)
	}
}

// TestCheckClockOncePerBatch: the Mux reads its clock (MuxConfig.Now)
// once for the checks of a batch of datagrams, not once per check.
func TestCheckClockOncePerBatch(t *testing.T) {
	conn := newPeer(t)
	var reads atomic.Int64
	m := NewMux(conn, MuxConfig{Now: func() time.Time { reads.Add(1); return time.Now() }})
	bc, err := newReadConn(conn, m.batch)
	if err != nil {
		t.Fatal(err)
	}
	r := m.newReader(bc)
	s, err := m.NewSession(testLocal, testRemote)
	if err != nil {
		t.Fatal(err)
	}
	req := check{}.build(t)
	const n = 8
	for i := range n {
		in := &r.in[i]
		in.N, in.Addr = copy(in.Buf, req), netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(9000+i))
	}
	before := reads.Load()
	r.handleBatch(n)
	if r.nout != n {
		t.Fatalf("%d of %d checks answered", r.nout, n)
	}
	r.nout = 0
	if got := reads.Load() - before; got != 1 {
		t.Errorf("%d clock readings for a batch of %d checks, want 1", got, n)
	}
	if s.lastCheck.Load() < time.Now().Add(-time.Minute).UnixNano() {
		t.Error("consent not refreshed")
	}
}

// TestCheckUDPTakesNoSessionLock: the UDP reader answers a check while
// the session's credentials lock (which ICE-TCP readers share) is held:
// it has its own Integrity.
func TestCheckUDPTakesNoSessionLock(t *testing.T) {
	tr := newTestReader(t)
	peer := newPeer(t)
	creds := tr.s.creds.Load()
	creds.mu.Lock()
	answered := make(chan bool, 1)
	go func() { answered <- tr.feed(t, check{useCand: true}.build(t), addrOf(peer)) }()
	select {
	case ok := <-answered:
		creds.mu.Unlock()
		if !ok {
			t.Fatal("check not answered")
		}
	case <-time.After(wait):
		creds.mu.Unlock()
		<-answered
		t.Fatal("the UDP check waited for the session's lock")
	}
	mustSucceed(t, readSTUN(t, peer, wait), addrOf(peer))
}

// TestChecksUDPAndTCPAtOnce: checks of one session over UDP and over two
// ICE-TCP connections at the same time are all answered and correctly
// keyed; the race detector watches the session's integrity state, which
// the UDP reader and the TCP readers must not share unguarded.
func TestChecksUDPAndTCPAtOnce(t *testing.T) {
	m, udp, tcp := startTCPMux(t, MuxConfig{})
	s := newTestSession(t, m)
	const rounds = 50
	req := check{}.build(t)
	peer := newPeer(t)
	conns := []*net.TCPConn{dialTCP(t, tcp, netip.Addr{}), dialTCP(t, tcp, netip.Addr{})}
	// Each goroutine sends its checks one at a time and keeps the answers
	// (nil for one that did not come); the test goroutine checks them.
	answers := make([][][]byte, 1+len(conns))
	var wg sync.WaitGroup
	wg.Add(len(answers))
	go func() {
		defer wg.Done()
		buf := make([]byte, 1500)
		for range rounds {
			var got []byte
			if _, err := peer.WriteToUDPAddrPort(req, udp); err == nil {
				_ = peer.SetReadDeadline(time.Now().Add(wait))
				if n, _, err := peer.ReadFromUDPAddrPort(buf); err == nil {
					got = bytes.Clone(buf[:n])
				}
			}
			answers[0] = append(answers[0], got)
		}
	}()
	for i, c := range conns {
		go func() {
			defer wg.Done()
			for range rounds {
				var got []byte
				if _, err := c.Write(frame(req)); err == nil {
					got, _ = readFrameFrom(c, wait)
				}
				answers[1+i] = append(answers[1+i], got)
			}
		}()
	}
	wg.Wait()
	froms := []netip.AddrPort{addrOf(peer), tcpAddrOf(conns[0]), tcpAddrOf(conns[1])}
	for i, list := range answers {
		for _, b := range list {
			var resp stun.Message
			if err := resp.Decode(b); err != nil {
				t.Fatalf("path %d: answer %x: %v", i, b, err)
			}
			mustSucceed(t, &resp, froms[i])
		}
	}
	if _, _, ok := s.Selected(); !ok {
		t.Fatal("no path selected")
	}
	if got := m.Stats().Checks; got != 3*rounds {
		t.Fatalf("%d checks answered, want %d", got, 3*rounds)
	}
}
