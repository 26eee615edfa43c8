package dtlssrtp

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/dtls/v3"

	"github.com/streamwire/streamwire/dtlsparams"
)

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestHandshakeCancelIsNotTimeout cancels the context while the handshake
// waits for a silent peer: the error wraps context.Canceled and pion's
// error, and is neither ErrHandshakeTimeout nor a net.Error timeout.
func TestHandshakeCancelIsNotTimeout(t *testing.T) {
	for _, r := range []dtlsparams.Role{dtlsparams.RoleClient, dtlsparams.RoleServer} {
		t.Run(r.String(), func(t *testing.T) {
			cfg, _ := pairConfigs(t)
			ea, _ := newPipe()
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(150*time.Millisecond, cancel)
			start := time.Now()
			s, err := Handshake(ctx, ea.dtls, r, cfg)
			if s != nil {
				t.Fatal("session from a cancelled handshake")
			}
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err %v, want context.Canceled", err)
			}
			if errors.Is(err, ErrHandshakeTimeout) || isTimeout(err) {
				t.Fatalf("cancel reported as a timeout: %v", err)
			}
			var he *dtls.HandshakeError
			if !errors.As(err, &he) {
				t.Errorf("pion's error is not wrapped: %v", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("cancel took %v", d)
			}
		})
	}
}

// TestHandshakeDeadlineIsTimeout runs into the context's deadline and into
// Config.HandshakeTimeout: both give ErrHandshakeTimeout, a net.Error with
// Timeout() true, wrapping context.DeadlineExceeded and pion's error.
func TestHandshakeDeadlineIsTimeout(t *testing.T) {
	cfg, _ := pairConfigs(t)
	ea, _ := newPipe()
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	_, err := Handshake(ctx, ea.dtls, dtlsparams.RoleClient, cfg)
	checkTimeout(t, "ctx deadline", err)

	cfg, _ = pairConfigs(t)
	cfg.HandshakeTimeout = 150 * time.Millisecond
	eb, _ := newPipe()
	_, err = Handshake(context.Background(), eb.dtls, dtlsparams.RoleServer, cfg)
	checkTimeout(t, "HandshakeTimeout", err)
}

func checkTimeout(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, ErrHandshakeTimeout) || !errors.Is(err, context.DeadlineExceeded) || !isTimeout(err) {
		t.Errorf("%s: %v, want ErrHandshakeTimeout, DeadlineExceeded and Timeout()", what, err)
	}
	var he *dtls.HandshakeError
	if !errors.As(err, &he) {
		t.Errorf("%s: pion's error is not wrapped: %v", what, err)
	}
}

// TestSessionWrapsPionErrors checks that an SRTP failure from pion/srtp
// comes back wrapped, with this package's prefix and the cause reachable.
func TestSessionWrapsPionErrors(t *testing.T) {
	a, _ := sessionPairNoCleanup(t)
	defer a.Close()
	pkt := marshalRTP(t, 1, 0x1234, []byte("media"))
	_, err := a.UnprotectRTP(nil, pkt) // not SRTP: the tag does not verify
	if err == nil || !strings.HasPrefix(err.Error(), "dtlssrtp: unprotect rtp: ") || errors.Unwrap(err) == nil {
		t.Fatalf("err %v, want a wrapped pion/srtp error", err)
	}
}

// TestZeroValues checks that the zero value of each exported type works or
// fails with a clear error, never a nil dereference.
func TestZeroValues(t *testing.T) {
	var s Session
	for name, f := range map[string]func([]byte, []byte) ([]byte, error){
		"ProtectRTP": s.ProtectRTP, "UnprotectRTP": s.UnprotectRTP,
		"ProtectRTCP": s.ProtectRTCP, "UnprotectRTCP": s.UnprotectRTCP,
	} {
		if _, err := f(nil, []byte{0x80, 0, 0, 1}); !errors.Is(err, ErrNotEstablished) {
			t.Errorf("zero Session %s: %v", name, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("zero Session Close: %v", err)
	}
	_, _, _, _ = s.Role(), s.Profile(), s.Keys(), s.PeerCertificate()

	var c Certificate
	if _, err := c.Fingerprint(dtlsparams.SHA256); !errors.Is(err, ErrBadCertificate) {
		t.Errorf("zero Certificate Fingerprint: %v", err)
	}
	if !c.NotAfter().IsZero() || c.Leaf() != nil {
		t.Error("zero Certificate has a leaf")
	}
	cfg, _ := pairConfigs(t)
	cfg.Certificate = &c
	ea, _ := newPipe()
	if _, err := Handshake(context.Background(), ea.dtls, dtlsparams.RoleClient, cfg); !errors.Is(err, ErrBadCertificate) {
		t.Errorf("Handshake with a zero Certificate: %v", err)
	}
	eb, _ := newPipe()
	if _, err := Handshake(context.Background(), eb.dtls, dtlsparams.RoleClient, Config{}); !errors.Is(err, ErrBadCertificate) {
		t.Errorf("Handshake with a zero Config: %v", err)
	}
	if _, _, err := (KeyingMaterial{}).Contexts(0); !errors.Is(err, ErrUnsupportedProfile) {
		t.Errorf("zero KeyingMaterial: %v", err)
	}
	if (dtlsparams.Fingerprint{}).Matches([]byte("x")) {
		t.Error("zero Fingerprint matches")
	}
	_ = (dtlsparams.Fingerprint{}).String()
	if _, _, err := dtlsparams.SelectRole(dtlsparams.Answerer, dtlsparams.SetupActpass, dtlsparams.RolePolicy{}); err != nil {
		t.Errorf("zero RolePolicy: %v", err)
	}
	if _, err := GenerateCertificate(CertificateConfig{}); err != nil {
		t.Errorf("zero CertificateConfig: %v", err)
	}
}

// TestPionLogBounded feeds pion's logger a 1 MB message, as one that quotes
// what a hostile peer sent, and checks the log line stays bounded.
func TestPionLogBounded(t *testing.T) {
	var buf bytes.Buffer
	l := slogFactory{slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: levelTrace}))}.NewLogger("handshake")
	huge := strings.Repeat("A", 1<<20)
	l.Warn(huge)
	l.Debugf("peer sent %s", huge)
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if len(line) > 2*maxPionLog {
			t.Errorf("log line of %d bytes", len(line))
		}
	}
	if n := strings.Count(buf.String(), "\n"); n != 2 {
		t.Errorf("%d lines logged, want 2", n)
	}
}
