package ice

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/streamwire/streamwire/stun"
)

// Credentials of the tests: the server side (local) and the controlling
// peer (remote).
var (
	testLocal  = Credentials{Ufrag: "srvA", Pwd: "serverPasswordOf24Chars+"}
	testRemote = Credentials{Ufrag: "peerA", Pwd: "peerPasswordIs24CharsXY/"}
)

// startMux serves a Mux on a loopback UDP socket until the test ends, and
// checks that Serve then returns ErrServerClosed.
func startMux(t *testing.T, cfg MuxConfig) (*Mux, netip.AddrPort) {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	return serveMux(t, conn, cfg), conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// serveMux serves a Mux on conn until the test ends, then checks that Serve
// returns ErrServerClosed and closes conn.
func serveMux(t *testing.T, conn *net.UDPConn, cfg MuxConfig) *Mux {
	t.Helper()
	m := NewMux(conn, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, ErrServerClosed) {
				t.Errorf("Serve = %v, want ErrServerClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after cancel")
		}
		conn.Close()
	})
	return m
}

// newPeer opens a loopback UDP socket for a test peer.
func newPeer(t testing.TB) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func addrOf(c *net.UDPConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }

// check describes a connectivity check the controlling peer sends.
type check struct {
	username   string // "" means testLocal.Ufrag + ":" + testRemote.Ufrag
	pwd        string // MESSAGE-INTEGRITY key; "" means testLocal.Pwd
	noIntegr   bool
	noPriority bool
	useCand    bool
	controlled bool // ICE-CONTROLLED instead of ICE-CONTROLLING
	noUsername bool
}

var testTxn = stun.TransactionID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}

// build returns the check as a datagram.
func (c check) build(t testing.TB) []byte {
	t.Helper()
	user, pwd := c.username, c.pwd
	if user == "" {
		user = testLocal.Ufrag + ":" + testRemote.Ufrag
	}
	if pwd == "" {
		pwd = testLocal.Pwd
	}
	var b stun.Builder
	b.Start(nil, stun.BindingRequest, testTxn)
	if !c.noUsername {
		b.AddUsername(user)
	}
	if !c.noPriority {
		b.AddPriority(Priority(TypePrflx.Preference(), DefaultLocalPreference, 1))
	}
	if c.controlled {
		b.AddICEControlled(42)
	} else {
		b.AddICEControlling(42)
	}
	if c.useCand {
		b.AddUseCandidate()
	}
	if !c.noIntegr {
		b.AddMessageIntegrity(stun.NewShortTermIntegrity(pwd))
	}
	b.AddFingerprint()
	out, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// exchange sends req from peer to the mux and returns the decoded
// response, or nil if none came within wait.
func exchange(t testing.TB, peer *net.UDPConn, to netip.AddrPort, req []byte, wait time.Duration) *stun.Message {
	t.Helper()
	if _, err := peer.WriteToUDPAddrPort(req, to); err != nil {
		t.Fatal(err)
	}
	return readSTUN(t, peer, wait)
}

// readSTUN reads the next datagram of peer and decodes it as STUN; nil
// when nothing came within wait.
func readSTUN(t testing.TB, peer *net.UDPConn, wait time.Duration) *stun.Message {
	t.Helper()
	buf := make([]byte, 1500)
	_ = peer.SetReadDeadline(time.Now().Add(wait))
	n, _, err := peer.ReadFromUDPAddrPort(buf)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil
		}
		t.Fatal(err)
	}
	var m stun.Message
	if err := m.Decode(buf[:n]); err != nil {
		t.Fatalf("response does not decode: %v", err)
	}
	// Every response carries FINGERPRINT (RFC 8445 §7.3), except GOOG-PING
	// answers to requests without one, which mirror Chromium's.
	if err := m.VerifyFingerprint(); err != nil && (err != stun.ErrAttributeNotFound || m.Type() != stun.GoogPingSuccess) {
		t.Fatalf("response fingerprint: %v", err)
	}
	return &m
}

// errorCode returns the ERROR-CODE of an error response.
func errorCode(t testing.TB, m *stun.Message) int {
	t.Helper()
	if m == nil {
		t.Fatal("no response")
	}
	if m.Type() != stun.BindingError {
		t.Fatalf("response type %v, want Binding error", m.Type())
	}
	code, _, err := m.ErrorCode()
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// mustSucceed checks that m is an authenticated Binding success response
// mapping from.
func mustSucceed(t testing.TB, m *stun.Message, from netip.AddrPort) {
	t.Helper()
	if m == nil {
		t.Fatal("no response")
	}
	if m.Type() != stun.BindingSuccess {
		t.Fatalf("response %v, want Binding success", m)
	}
	if m.TransactionID() != testTxn {
		t.Fatal("transaction ID not echoed")
	}
	if got, err := m.XORMappedAddress(); err != nil || got != from {
		t.Fatalf("XOR-MAPPED-ADDRESS = %v, %v; want %v", got, err, from)
	}
	if err := stun.NewShortTermIntegrity(testLocal.Pwd).Verify(m); err != nil {
		t.Fatalf("response MESSAGE-INTEGRITY: %v", err)
	}
}

// waitFor polls cond until it holds or 5 s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// Datagrams of the other protocols of RFC 7983.
var (
	dtlsRecord = []byte{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1, 0, 3, 'a', 'b', 'c'}
	rtpPacket  = []byte{0x80, 96, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xde, 0xad}
)
