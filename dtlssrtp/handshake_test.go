package dtlssrtp

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/protocol/extension"
	"github.com/pion/dtls/v3/pkg/protocol/handshake"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

func newTestCert(t testing.TB) *Certificate {
	t.Helper()
	c, err := GenerateCertificate(CertificateConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sha256Of(t testing.TB, c *Certificate) Fingerprint {
	t.Helper()
	f, err := c.Fingerprint(SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

type handshakeResult struct {
	s       *Session
	err     error
	elapsed time.Duration
}

// handshakePair runs Handshake on both conns concurrently and waits for both.
func handshakePair(ctx context.Context, ca, cb net.Conn, ra, rb Role, cfgA, cfgB Config) (a, b handshakeResult) {
	done := make(chan handshakeResult, 1)
	start := time.Now()
	go func() {
		s, err := Handshake(ctx, cb, rb, cfgB)
		done <- handshakeResult{s, err, time.Since(start)}
	}()
	s, err := Handshake(ctx, ca, ra, cfgA)
	a = handshakeResult{s, err, time.Since(start)}
	b = <-done
	return a, b
}

// pairConfigs returns configs for two fresh endpoints that trust each other.
func pairConfigs(t testing.TB, profiles ...Profile) (Config, Config) {
	ca, cb := newTestCert(t), newTestCert(t)
	return Config{Certificate: ca, RemoteFingerprints: []Fingerprint{sha256Of(t, cb)}, Profiles: profiles},
		Config{Certificate: cb, RemoteFingerprints: []Fingerprint{sha256Of(t, ca)}, Profiles: profiles}
}

func closeSessions(rs ...handshakeResult) {
	for _, r := range rs {
		if r.s != nil {
			_ = r.s.Close()
		}
	}
}

func marshalRTP(t testing.TB, seq uint16, ssrc uint32, payload []byte) []byte {
	t.Helper()
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, SSRC: ssrc}, Payload: payload}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func marshalRTCP(t testing.TB, ssrc uint32) []byte {
	t.Helper()
	b, err := rtcp.Marshal([]rtcp.Packet{
		&rtcp.ReceiverReport{SSRC: ssrc, Reports: []rtcp.ReceptionReport{{SSRC: 0x11223344, LastSequenceNumber: 7}}},
		&rtcp.PictureLossIndication{SenderSSRC: ssrc, MediaSSRC: 0x11223344},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// exchange sends protected RTP and RTCP from one session over the pipe and
// checks the peer recovers them, and rejects a replay and a forgery.
func exchange(t *testing.T, from, to *Session, fromEnd, toEnd *pipeEnd, ssrc uint32) {
	t.Helper()
	for seq := uint16(1); seq <= 5; seq++ {
		plain := marshalRTP(t, seq, ssrc, bytes.Repeat([]byte{byte(seq)}, 200))
		protected, err := from.ProtectRTP(nil, plain)
		if err != nil {
			t.Fatalf("ProtectRTP: %v", err)
		}
		if want := len(plain) + from.Profile().Overhead(); len(protected) != want {
			t.Fatalf("protected RTP is %d bytes, want %d", len(protected), want)
		}
		fromEnd.send(protected)
		got, ok := toEnd.recvMedia(2 * time.Second)
		if !ok {
			t.Fatal("SRTP packet not delivered")
		}
		if Classify(got) != ClassRTP {
			t.Fatalf("SRTP classified as %v", Classify(got))
		}
		dec, err := to.UnprotectRTP(nil, got)
		if err != nil {
			t.Fatalf("UnprotectRTP: %v", err)
		}
		if !bytes.Equal(dec, plain) {
			t.Fatal("RTP round trip changed the packet")
		}
		if _, err := to.UnprotectRTP(nil, got); err == nil {
			t.Fatal("replayed SRTP packet accepted")
		}
	}
	forged := marshalRTP(t, 100, ssrc, []byte("forged"))
	forgedProtected, err := from.ProtectRTP(nil, forged)
	if err != nil {
		t.Fatal(err)
	}
	forgedProtected[len(forgedProtected)-1] ^= 1
	if _, err := to.UnprotectRTP(nil, forgedProtected); err == nil {
		t.Fatal("SRTP packet with a broken tag accepted")
	}

	plainRTCP := marshalRTCP(t, ssrc)
	for i := 0; i < 3; i++ {
		protected, err := from.ProtectRTCP(nil, plainRTCP)
		if err != nil {
			t.Fatalf("ProtectRTCP: %v", err)
		}
		fromEnd.send(protected)
		got, ok := toEnd.recvMedia(2 * time.Second)
		if !ok {
			t.Fatal("SRTCP packet not delivered")
		}
		if Classify(got) != ClassRTCP {
			t.Fatalf("SRTCP classified as %v", Classify(got))
		}
		dec, err := to.UnprotectRTCP(nil, got)
		if err != nil {
			t.Fatalf("UnprotectRTCP: %v", err)
		}
		if !bytes.Equal(dec, plainRTCP) {
			t.Fatal("RTCP round trip changed the packet")
		}
		if _, err := to.UnprotectRTCP(nil, got); err == nil {
			t.Fatal("replayed SRTCP packet accepted")
		}
	}
}

func TestHandshakeEveryProfileBothRoles(t *testing.T) {
	for _, p := range AllProfiles {
		for _, roleA := range []Role{RoleClient, RoleServer} {
			t.Run(p.String()+"/a="+roleA.String(), func(t *testing.T) {
				roleB := RoleServer
				if roleA == RoleServer {
					roleB = RoleClient
				}
				cfgA, cfgB := pairConfigs(t, p)
				ea, eb := newPipe()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				a, b := handshakePair(ctx, ea.dtls, eb.dtls, roleA, roleB, cfgA, cfgB)
				defer closeSessions(a, b)
				if a.err != nil || b.err != nil {
					t.Fatalf("handshake: a=%v b=%v", a.err, b.err)
				}
				for _, s := range []*Session{a.s, b.s} {
					if s.Profile() != p {
						t.Fatalf("negotiated %v, want %v", s.Profile(), p)
					}
				}
				if a.s.Role() != roleA || b.s.Role() != roleB {
					t.Fatalf("roles %v/%v, want %v/%v", a.s.Role(), b.s.Role(), roleA, roleB)
				}
				ka, kb := a.s.Keys(), b.s.Keys()
				if !bytes.Equal(ka.LocalKey, kb.RemoteKey) || !bytes.Equal(ka.LocalSalt, kb.RemoteSalt) ||
					!bytes.Equal(ka.RemoteKey, kb.LocalKey) || !bytes.Equal(ka.RemoteSalt, kb.LocalSalt) {
					t.Fatal("the two sides exported different keys")
				}
				if len(ka.LocalKey) != p.KeyLen() || len(ka.LocalSalt) != p.SaltLen() || bytes.Equal(ka.LocalKey, ka.RemoteKey) {
					t.Fatalf("bad key layout: %d/%d bytes", len(ka.LocalKey), len(ka.LocalSalt))
				}
				if !cfgB.Certificate.Leaf().Equal(mustParse(t, a.s.PeerCertificate())) {
					t.Fatal("PeerCertificate is not the peer's certificate")
				}
				exchange(t, a.s, b.s, ea, eb, 0xA0A0A0A0)
				exchange(t, b.s, a.s, eb, ea, 0xB0B0B0B0)
			})
		}
	}
}

func TestHandshakeLoopbackUDP(t *testing.T) {
	ua, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ub, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ca := &udpConn{UDPConn: ua, peer: ub.LocalAddr().(*net.UDPAddr)}
	cb := &udpConn{UDPConn: ub, peer: ua.LocalAddr().(*net.UDPAddr)}
	cfgA, cfgB := pairConfigs(t) // default profiles
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, b := handshakePair(ctx, ca, cb, RoleClient, RoleServer, cfgA, cfgB)
	if a.err != nil || b.err != nil {
		closeSessions(a, b)
		t.Fatalf("handshake: a=%v b=%v", a.err, b.err)
	}
	if a.s.Profile() != DefaultProfiles[0] {
		t.Fatalf("negotiated %v, want the first default %v", a.s.Profile(), DefaultProfiles[0])
	}
	// Application data still flows over the DTLS connection (data channels).
	if _, err := a.s.DTLSConn().Write([]byte("sctp would go here")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	n, err := b.s.DTLSConn().Read(buf)
	if err != nil || string(buf[:n]) != "sctp would go here" {
		t.Fatalf("DTLS application data: %q, %v", buf[:n], err)
	}
	// close_notify: the peer's reader sees the end of the stream.
	if err := a.s.Close(); err != nil {
		t.Fatal(err)
	}
	readErr := make(chan error, 1)
	go func() {
		_, err := b.s.DTLSConn().Read(buf)
		readErr <- err
	}()
	select {
	case err := <-readErr:
		if !errors.Is(err, io.EOF) {
			t.Fatalf("after close_notify the peer read %v, want io.EOF", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("close_notify not seen by the peer")
	}
	_ = b.s.Close()
}

func TestProfilePreference(t *testing.T) {
	// The server picks: the first of its profiles that the client offered.
	cfgA, cfgB := pairConfigs(t)
	cfgA.Profiles = []Profile{ProfileAES128CMHMACSHA1_80, ProfileAEADAES256GCM}
	cfgB.Profiles = []Profile{ProfileAEADAES256GCM, ProfileAES128CMHMACSHA1_80}
	ea, eb := newPipe()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, b := handshakePair(ctx, ea.dtls, eb.dtls, RoleClient, RoleServer, cfgA, cfgB)
	defer closeSessions(a, b)
	if a.err != nil || b.err != nil {
		t.Fatalf("handshake: a=%v b=%v", a.err, b.err)
	}
	if a.s.Profile() != cfgB.Profiles[0] || b.s.Profile() != cfgB.Profiles[0] {
		t.Fatalf("negotiated %v/%v, want the server's first choice %v", a.s.Profile(), b.s.Profile(), cfgB.Profiles[0])
	}
}

// failureDeadline bounds the failure tests: each must end with an error
// before it, plus this much slack for the goroutines to unwind.
const (
	failureDeadline = 1500 * time.Millisecond
	failureSlack    = 1500 * time.Millisecond
)

func checkFailure(t *testing.T, r handshakeResult, want error, side string) {
	t.Helper()
	if r.s != nil {
		_ = r.s.Close()
		t.Fatalf("%s: handshake succeeded, want %v", side, want)
	}
	if !errors.Is(r.err, want) {
		t.Fatalf("%s: error %v, want %v", side, r.err, want)
	}
	if r.elapsed > failureDeadline+failureSlack {
		t.Fatalf("%s: failed after %v, deadline was %v", side, r.elapsed, failureDeadline)
	}
}

func TestFingerprintMismatch(t *testing.T) {
	stranger := newTestCert(t)
	for _, checker := range []Role{RoleClient, RoleServer} {
		t.Run(checker.String()+"-checks", func(t *testing.T) {
			cfgA, cfgB := pairConfigs(t)
			// A (the checker) expects someone else's certificate.
			cfgA.RemoteFingerprints = []Fingerprint{sha256Of(t, stranger)}
			other := RoleServer
			if checker == RoleServer {
				other = RoleClient
			}
			ea, eb := newPipe()
			ctx, cancel := context.WithTimeout(context.Background(), failureDeadline)
			defer cancel()
			a, b := handshakePair(ctx, ea.dtls, eb.dtls, checker, other, cfgA, cfgB)
			checkFailure(t, a, ErrFingerprintMismatch, "checker")
			if !errors.Is(a.err, ErrHandshake) {
				t.Fatalf("mismatch %v does not wrap ErrHandshake", a.err)
			}
			// The peer learns of it from the bad_certificate alert, or from
			// silence when it is the server and the client stops.
			if b.s != nil {
				_ = b.s.Close()
				t.Fatal("peer completed the handshake")
			}
			if !errors.Is(b.err, ErrHandshake) && !errors.Is(b.err, ErrHandshakeTimeout) {
				t.Fatalf("peer error %v", b.err)
			}
			t.Logf("checker: %v; peer: %v", a.err, b.err)
		})
	}
}

func TestFingerprintStrongestHashDecides(t *testing.T) {
	cfgA, cfgB := pairConfigs(t)
	stranger := newTestCert(t)
	good256 := cfgA.RemoteFingerprints[0]
	// A correct sha-256 next to a wrong sha-512: RFC 8122 §5 checks the
	// strongest hash, so this must fail.
	bad512, _ := stranger.Fingerprint(SHA512)
	cfgA.RemoteFingerprints = []Fingerprint{good256, bad512}
	ea, eb := newPipe()
	ctx, cancel := context.WithTimeout(context.Background(), failureDeadline)
	defer cancel()
	a, b := handshakePair(ctx, ea.dtls, eb.dtls, RoleClient, RoleServer, cfgA, cfgB)
	closeSessions(b)
	checkFailure(t, a, ErrFingerprintMismatch, "client")
}

func TestWrongRolePairs(t *testing.T) {
	for _, r := range []Role{RoleClient, RoleServer} {
		t.Run("both-"+r.String(), func(t *testing.T) {
			cfgA, cfgB := pairConfigs(t)
			ea, eb := newPipe()
			ctx, cancel := context.WithTimeout(context.Background(), failureDeadline)
			defer cancel()
			a, b := handshakePair(ctx, ea.dtls, eb.dtls, r, r, cfgA, cfgB)
			checkFailure(t, a, ErrHandshakeTimeout, "a")
			checkFailure(t, b, ErrHandshakeTimeout, "b")
			if !errors.Is(a.err, context.DeadlineExceeded) {
				t.Fatalf("timeout %v does not wrap context.DeadlineExceeded", a.err)
			}
		})
	}
}

func TestSilentPeer(t *testing.T) {
	for _, r := range []Role{RoleClient, RoleServer} {
		t.Run(r.String(), func(t *testing.T) {
			cfgA, _ := pairConfigs(t)
			ea, _ := newPipe() // nobody reads or answers on the other end
			ctx, cancel := context.WithTimeout(context.Background(), failureDeadline)
			defer cancel()
			start := time.Now()
			s, err := Handshake(ctx, ea.dtls, r, cfgA)
			checkFailure(t, handshakeResult{s, err, time.Since(start)}, ErrHandshakeTimeout, r.String())
		})
	}
}

func TestHandshakeTimeoutWithoutContextDeadline(t *testing.T) {
	cfgA, _ := pairConfigs(t)
	cfgA.HandshakeTimeout = 300 * time.Millisecond
	ea, _ := newPipe()
	start := time.Now()
	_, err := Handshake(context.Background(), ea.dtls, RoleClient, cfgA)
	if !errors.Is(err, ErrHandshakeTimeout) {
		t.Fatalf("err %v, want ErrHandshakeTimeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("HandshakeTimeout 300ms took %v", d)
	}
}

// garbagePeer answers every datagram it receives with records that look
// like DTLS by their first byte but are not valid.
func garbagePeer(ctx context.Context, end *pipeEnd) {
	junk := [][]byte{
		{22}, // a content type alone
		{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff},                                             // length far beyond the datagram
		append([]byte{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16}, bytes.Repeat([]byte{0xee}, 16)...), // handshake of nonsense
		append([]byte{23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 1, 0, 32}, bytes.Repeat([]byte{0x42}, 32)...), // application data, epoch 1, no keys
		append([]byte{21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2}, 0x09, 0x09),                         // alert with bad level
		append([]byte{63, 1, 2, 3}, bytes.Repeat([]byte{0x99}, 60)...),                                   // unknown content type
	}
	buf := make([]byte, 2048)
	for ctx.Err() == nil {
		for _, j := range junk {
			end.send(j)
		}
		_ = end.dtls.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, err := end.dtls.Read(buf); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return
		}
	}
}

func TestGarbageRecords(t *testing.T) {
	for _, r := range []Role{RoleClient, RoleServer} {
		t.Run(r.String(), func(t *testing.T) {
			cfgA, _ := pairConfigs(t)
			ea, eb := newPipe()
			ctx, cancel := context.WithTimeout(context.Background(), failureDeadline)
			defer cancel()
			go garbagePeer(ctx, eb)
			start := time.Now()
			s, err := Handshake(ctx, ea.dtls, r, cfgA)
			// RFC 6347 §4.1.2.7: invalid records are silently discarded, so
			// garbage alone cannot fail the handshake; the deadline ends it.
			checkFailure(t, handshakeResult{s, err, time.Since(start)}, ErrHandshakeTimeout, r.String())
		})
	}
}

func TestConfigErrors(t *testing.T) {
	cert := newTestCert(t)
	good := Config{Certificate: cert, RemoteFingerprints: []Fingerprint{sha256Of(t, cert)}}
	cases := []struct {
		name string
		role Role
		cfg  Config
		want error
	}{
		{"no certificate", RoleClient, Config{RemoteFingerprints: good.RemoteFingerprints}, ErrBadCertificate},
		{"no fingerprint", RoleClient, Config{Certificate: cert}, ErrNoFingerprint},
		{"zero fingerprint", RoleServer, Config{Certificate: cert, RemoteFingerprints: []Fingerprint{{}}}, ErrNoFingerprint},
		{"bad role", Role(9), good, ErrBadRole},
		{"unsupported profile", RoleClient, Config{Certificate: cert, RemoteFingerprints: good.RemoteFingerprints, Profiles: []Profile{0x0005}}, ErrUnsupportedProfile},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ea, _ := newPipe()
			_, err := Handshake(context.Background(), ea.dtls, c.role, c.cfg)
			if !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			if _, werr := ea.dtls.Write([]byte{22}); !errors.Is(werr, net.ErrClosed) {
				t.Fatal("a failed Handshake must close its conn")
			}
		})
	}
	if _, err := Handshake(context.Background(), nil, RoleClient, good); !errors.Is(err, ErrHandshake) {
		t.Fatalf("nil conn: %v", err)
	}
}

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
	a, b := handshakePair(ctx, ea.dtls, eb.dtls, RoleClient, RoleServer, cfgA, cfgB)
	if a.err != nil || b.err != nil {
		closeSessions(a, b)
		t.Fatalf("handshake: a=%v b=%v", a.err, b.err)
	}
	t.Cleanup(func() { closeSessions(a, b) })
	return a.s, b.s
}

func mustParse(t testing.TB, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
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

// A DTLS server that leaves use_srtp out of its ServerHello: pion/dtls as
// client refuses it (RFC 5764 §4.1.1 lets a client that needs SRTP abort).
func TestServerWithoutUseSRTP(t *testing.T) {
	cfgA, _ := pairConfigs(t)
	plain := newTestCert(t)
	cfgA.RemoteFingerprints = []Fingerprint{sha256Of(t, plain)}
	ea, eb := newPipe()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		pc := newPacketConn(eb.dtls)
		srv, err := dtls.ServerWithOptions(pc, pc.peer,
			dtls.WithCertificates(plain.TLSCertificate()), dtls.WithInsecureSkipVerify(true),
			dtls.WithSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM),
			dtls.WithServerHelloMessageHook(func(h handshake.MessageServerHello) handshake.Message {
				kept := h.Extensions[:0]
				for _, e := range h.Extensions {
					if _, ok := e.(*extension.UseSRTP); !ok {
						kept = append(kept, e)
					}
				}
				h.Extensions = kept
				return &h
			}),
			dtls.WithClientAuth(dtls.RequireAnyClientCert), dtls.WithExtendedMasterSecret(dtls.RequireExtendedMasterSecret))
		if err == nil {
			_ = srv.HandshakeContext(ctx)
			_ = srv.Close()
		}
	}()
	s, err := Client(ctx, ea.dtls, cfgA)
	if s != nil {
		_ = s.Close()
	}
	<-done
	if !errors.Is(err, ErrHandshake) {
		t.Fatalf("err %v, want ErrHandshake", err)
	}
}

// A DTLS client that does not offer use_srtp (a plain DTLS peer): the
// handshake completes, but there is no profile to key SRTP with.
func TestClientWithoutUseSRTP(t *testing.T) {
	_, cfgB := pairConfigs(t)
	plain := newTestCert(t)
	cfgB.RemoteFingerprints = []Fingerprint{sha256Of(t, plain)}
	ea, eb := newPipe()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan struct{})
	release := make(chan struct{}) // keep the client open until our side is done
	go func() {
		defer close(done)
		pc := newPacketConn(ea.dtls)
		cli, err := dtls.ClientWithOptions(pc, pc.peer,
			dtls.WithCertificates(plain.TLSCertificate()), dtls.WithInsecureSkipVerify(true),
			dtls.WithExtendedMasterSecret(dtls.RequireExtendedMasterSecret))
		if err == nil {
			_ = cli.HandshakeContext(ctx)
			<-release
			_ = cli.Close()
		}
	}()
	s, err := Server(ctx, eb.dtls, cfgB)
	close(release)
	if s != nil {
		_ = s.Close()
	}
	<-done
	if !errors.Is(err, ErrNoProfile) {
		t.Fatalf("err %v, want ErrNoProfile", err)
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
	a, b := handshakePair(ctx, ea.dtls, eb.dtls, RoleClient, RoleServer, cfgA, cfgB)
	if a.err != nil || b.err != nil {
		closeSessions(a, b)
		t.Fatalf("handshake: a=%v b=%v", a.err, b.err)
	}
	return a.s, b.s
}
