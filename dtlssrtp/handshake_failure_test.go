package dtlssrtp

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/protocol/extension"
	"github.com/pion/dtls/v3/pkg/protocol/handshake"

	"github.com/streamwire/streamwire/dtlsparams"
)

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
	for _, checker := range []dtlsparams.Role{dtlsparams.RoleClient, dtlsparams.RoleServer} {
		t.Run(checker.String()+"-checks", func(t *testing.T) {
			cfgA, cfgB := pairConfigs(t)
			// A (the checker) expects someone else's certificate.
			cfgA.RemoteFingerprints = []dtlsparams.Fingerprint{sha256Of(t, stranger)}
			other := dtlsparams.RoleServer
			if checker == dtlsparams.RoleServer {
				other = dtlsparams.RoleClient
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
	bad512, _ := stranger.Fingerprint(dtlsparams.SHA512)
	cfgA.RemoteFingerprints = []dtlsparams.Fingerprint{good256, bad512}
	ea, eb := newPipe()
	ctx, cancel := context.WithTimeout(context.Background(), failureDeadline)
	defer cancel()
	a, b := handshakePair(ctx, ea.dtls, eb.dtls, dtlsparams.RoleClient, dtlsparams.RoleServer, cfgA, cfgB)
	closeSessions(b)
	checkFailure(t, a, ErrFingerprintMismatch, "client")
}

func TestWrongRolePairs(t *testing.T) {
	for _, r := range []dtlsparams.Role{dtlsparams.RoleClient, dtlsparams.RoleServer} {
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
	for _, r := range []dtlsparams.Role{dtlsparams.RoleClient, dtlsparams.RoleServer} {
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
	_, err := Handshake(context.Background(), ea.dtls, dtlsparams.RoleClient, cfgA)
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
	for _, r := range []dtlsparams.Role{dtlsparams.RoleClient, dtlsparams.RoleServer} {
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
	good := Config{Certificate: cert, RemoteFingerprints: []dtlsparams.Fingerprint{sha256Of(t, cert)}}
	cases := []struct {
		name string
		role dtlsparams.Role
		cfg  Config
		want error
	}{
		{"no certificate", dtlsparams.RoleClient, Config{RemoteFingerprints: good.RemoteFingerprints}, ErrBadCertificate},
		{"no fingerprint", dtlsparams.RoleClient, Config{Certificate: cert}, ErrNoFingerprint},
		{"zero fingerprint", dtlsparams.RoleServer, Config{Certificate: cert, RemoteFingerprints: []dtlsparams.Fingerprint{{}}}, ErrNoFingerprint},
		{"bad role", dtlsparams.Role(9), good, dtlsparams.ErrBadRole},
		{"unsupported profile", dtlsparams.RoleClient, Config{Certificate: cert, RemoteFingerprints: good.RemoteFingerprints, Profiles: []Profile{0x0005}}, ErrUnsupportedProfile},
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
	if _, err := Handshake(context.Background(), nil, dtlsparams.RoleClient, good); !errors.Is(err, ErrHandshake) {
		t.Fatalf("nil conn: %v", err)
	}
}

// A DTLS server that leaves use_srtp out of its ServerHello: pion/dtls as
// client refuses it (RFC 5764 §4.1.1 lets a client that needs SRTP abort).
func TestServerWithoutUseSRTP(t *testing.T) {
	cfgA, _ := pairConfigs(t)
	plain := newTestCert(t)
	cfgA.RemoteFingerprints = []dtlsparams.Fingerprint{sha256Of(t, plain)}
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
	cfgB.RemoteFingerprints = []dtlsparams.Fingerprint{sha256Of(t, plain)}
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
