package dtlssrtp

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/streamwire/streamwire/dtlsparams"
)

func TestSessionProtectZeroAllocs(t *testing.T) {
	for _, p := range AllProfiles {
		t.Run(p.String(), func(t *testing.T) {
			a, b := sessionPair(t, p)
			const runs = 100
			plain := make([][]byte, runs+2)
			for i := range plain {
				plain[i] = marshalRTP(t, uint16(i+1), 1, make([]byte, 1200))
			}
			protected := make([][]byte, len(plain))
			for k := range protected {
				protected[k] = make([]byte, 0, 1500)
			}
			i := 0
			allocs := testing.AllocsPerRun(runs, func() {
				var err error
				protected[i], err = a.ProtectRTP(protected[i], plain[i])
				if err != nil {
					t.Fatal(err)
				}
				i++
			})
			if allocs != 0 {
				t.Fatalf("ProtectRTP: %v allocs/op, want 0", allocs)
			}
			in := make([]byte, 0, 1500)
			j := 0
			allocs = testing.AllocsPerRun(runs, func() {
				var err error
				in, err = b.UnprotectRTP(in, protected[j])
				if err != nil {
					t.Fatal(err)
				}
				j++
			})
			if allocs != 0 {
				t.Fatalf("UnprotectRTP: %v allocs/op, want 0", allocs)
			}
		})
	}
}

// sessionPair handshakes two sessions over a pipe for tests that only need keys.
func sessionPair(t testing.TB, p Profile) (*Session, *Session) {
	t.Helper()
	cfgA, cfgB := pairConfigs(t, p)
	ea, eb := newPipe()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, b := handshakePair(ctx, ea.dtls, eb.dtls, dtlsparams.RoleClient, dtlsparams.RoleServer, cfgA, cfgB)
	if a.err != nil || b.err != nil {
		closeSessions(a, b)
		t.Fatalf("handshake: a=%v b=%v", a.err, b.err)
	}
	t.Cleanup(func() { closeSessions(a, b) })
	return a.s, b.s
}

// SRTCP with the HMAC profiles does not allocate. On the AEAD profiles
// pion/srtp v3.0.13 allocates once per packet in each direction (its
// SRTCP AAD buffer escapes); RTCP runs at a few packets per second, so
// that is left to upstream, and the test pins it at one.
func TestSessionProtectRTCPAllocs(t *testing.T) {
	for _, p := range AllProfiles {
		t.Run(p.String(), func(t *testing.T) {
			a, b := sessionPair(t, p)
			plain := marshalRTCP(t, 5)
			const runs = 100
			protected := make([][]byte, runs+2)
			for k := range protected {
				protected[k] = make([]byte, 0, 1500)
			}
			i := 0
			n := testing.AllocsPerRun(runs, func() {
				var err error
				if protected[i], err = a.ProtectRTCP(protected[i], plain); err != nil {
					t.Fatal(err)
				}
				i++
			})
			limit := 0.0
			if p == ProfileAEADAES128GCM || p == ProfileAEADAES256GCM {
				limit = 1
			}
			if n > limit {
				t.Fatalf("ProtectRTCP: %v allocs/op, want <= %v", n, limit)
			}
			in := make([]byte, 0, 1500)
			j := 0
			if n := testing.AllocsPerRun(runs, func() {
				var err error
				if in, err = b.UnprotectRTCP(in, protected[j]); err != nil {
					t.Fatal(err)
				}
				j++
			}); n > limit {
				t.Fatalf("UnprotectRTCP: %v allocs/op, want <= %v", n, limit)
			}
		})
	}
}

// Sessions hold a fixed, small number of goroutines (pion/dtls's read
// and flight loops) and release them all on Close; failed handshakes
// release theirs before returning.
func TestSessionGoroutines(t *testing.T) {
	settle := func(limit int) int {
		deadline := time.Now().Add(3 * time.Second)
		n := runtime.NumGoroutine()
		for n > limit && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			n = runtime.NumGoroutine()
		}
		return n
	}
	before := runtime.NumGoroutine()
	a, b := sessionPairNoCleanup(t)
	open := runtime.NumGoroutine() - before
	t.Logf("goroutines for one session pair (both ends): %d", open)
	if open > 10 {
		t.Fatalf("%d goroutines for two sessions", open)
	}
	_ = a.Close()
	_ = b.Close()
	if n := settle(before); n > before {
		t.Fatalf("%d goroutines left after Close, %d before", n, before)
	}

	// A silent peer: the failed handshake leaves nothing behind.
	cfgA, _ := pairConfigs(t)
	ea, _ := newPipe()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := Client(ctx, ea.dtls, cfgA); !errors.Is(err, ErrHandshakeTimeout) {
		t.Fatal(err)
	}
	if n := settle(before); n > before {
		t.Fatalf("%d goroutines left after a failed handshake, %d before", n, before)
	}
}

func sessionPairNoCleanup(t *testing.T) (*Session, *Session) {
	cfgA, cfgB := pairConfigs(t)
	ea, eb := newPipe()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, b := handshakePair(ctx, ea.dtls, eb.dtls, dtlsparams.RoleClient, dtlsparams.RoleServer, cfgA, cfgB)
	if a.err != nil || b.err != nil {
		closeSessions(a, b)
		t.Fatalf("handshake: a=%v b=%v", a.err, b.err)
	}
	return a.s, b.s
}
