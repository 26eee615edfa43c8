package ice

import (
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streamwire/streamwire/stun"
)

// fakeClock is an injectable MuxConfig.Now.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// TestMuxConsentExpiry: with the default 30 s consent timeout (RFC 7675
// §5.1) on an injected clock, exactly the session whose peer stopped
// checking is closed, with ErrConsentExpired, and its address no longer
// routes; the session whose peer kept checking stays.
func TestMuxConsentExpiry(t *testing.T) {
	clock := newFakeClock()
	// The sweeper is off; expireConsent runs by hand with the default.
	m, addr := startMux(t, MuxConfig{Now: clock.Now, ConsentTimeout: -1})
	alive, err := m.NewSession(testLocal, testRemote)
	if err != nil {
		t.Fatal(err)
	}
	other := Credentials{Ufrag: "srvB", Pwd: "otherServerPassword12345"}
	gone, err := m.NewSession(other, testRemote)
	if err != nil {
		t.Fatal(err)
	}
	p1, p2 := newPeer(t), newPeer(t)
	mustSucceed(t, exchange(t, p1, addr, check{useCand: true}.build(t), wait), addrOf(p1))
	var b stun.Builder
	b.Start(nil, stun.BindingRequest, testTxn)
	b.AddUsername(other.Ufrag + ":" + testRemote.Ufrag)
	b.AddICEControlling(1)
	b.AddUseCandidate()
	b.AddMessageIntegrity(stun.NewShortTermIntegrity(other.Pwd))
	b.AddFingerprint()
	req, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if r := exchange(t, p2, addr, req, wait); r == nil || r.Type() != stun.BindingSuccess {
		t.Fatalf("check of the second session: %v", r)
	}

	clock.Advance(20 * time.Second)
	if n := m.expireConsent(DefaultConsentTimeout); n != 0 {
		t.Fatalf("%d sessions expired after 20 s", n)
	}
	mustSucceed(t, exchange(t, p1, addr, check{}.build(t), wait), addrOf(p1))
	clock.Advance(15 * time.Second) // 35 s after the second session's last check
	if n := m.expireConsent(DefaultConsentTimeout); n != 1 {
		t.Fatalf("%d sessions expired, want 1", n)
	}
	select {
	case <-gone.Done():
	default:
		t.Fatal("the silent session is still open")
	}
	if err := gone.Err(); !errors.Is(err, ErrConsentExpired) || !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Err = %v", err)
	}
	if _, err := gone.Read(make([]byte, 10)); !errors.Is(err, ErrConsentExpired) {
		t.Fatalf("Read of an expired session: %v", err)
	}
	if alive.Err() != nil {
		t.Fatalf("the checked session closed: %v", alive.Err())
	}
	if _, err := p2.WriteToUDPAddrPort(rtpPacket, addr); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "media of the expired session to be dropped", func() bool { return m.Stats().UnknownAddr == 1 })
	if st := m.Stats(); st.Expired != 1 {
		t.Fatalf("Stats = %+v", st)
	}
}

// TestMuxConsentSweeper: Serve's sweeper closes a session that never gets a
// check once the timeout passes, and never when consent is disabled.
func TestMuxConsentSweeper(t *testing.T) {
	m, _ := startMux(t, MuxConfig{ConsentTimeout: 60 * time.Millisecond})
	s := newTestSession(t, m)
	select {
	case <-s.Done():
		if !errors.Is(s.Err(), ErrConsentExpired) {
			t.Fatalf("Err = %v", s.Err())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the session outlived its consent")
	}

	m2, _ := startMux(t, MuxConfig{ConsentTimeout: -1})
	s2 := newTestSession(t, m2)
	time.Sleep(100 * time.Millisecond)
	if s2.Err() != nil || m2.Stats().Expired != 0 {
		t.Fatal("consent expired while disabled")
	}
}
