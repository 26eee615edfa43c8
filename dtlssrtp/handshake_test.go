package dtlssrtp

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/streamwire/streamwire/dtlsparams"
)

func newTestCert(t testing.TB) *Certificate {
	t.Helper()
	c, err := GenerateCertificate(CertificateConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sha256Of(t testing.TB, c *Certificate) dtlsparams.Fingerprint {
	t.Helper()
	f, err := c.Fingerprint(dtlsparams.SHA256)
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
func handshakePair(ctx context.Context, ca, cb net.Conn, ra, rb dtlsparams.Role, cfgA, cfgB Config) (a, b handshakeResult) {
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
	return Config{Certificate: ca, RemoteFingerprints: []dtlsparams.Fingerprint{sha256Of(t, cb)}, Profiles: profiles},
		Config{Certificate: cb, RemoteFingerprints: []dtlsparams.Fingerprint{sha256Of(t, ca)}, Profiles: profiles}
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
		for _, roleA := range []dtlsparams.Role{dtlsparams.RoleClient, dtlsparams.RoleServer} {
			t.Run(p.String()+"/a="+roleA.String(), func(t *testing.T) {
				roleB := dtlsparams.RoleServer
				if roleA == dtlsparams.RoleServer {
					roleB = dtlsparams.RoleClient
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
	a, b := handshakePair(ctx, ca, cb, dtlsparams.RoleClient, dtlsparams.RoleServer, cfgA, cfgB)
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
	a, b := handshakePair(ctx, ea.dtls, eb.dtls, dtlsparams.RoleClient, dtlsparams.RoleServer, cfgA, cfgB)
	defer closeSessions(a, b)
	if a.err != nil || b.err != nil {
		t.Fatalf("handshake: a=%v b=%v", a.err, b.err)
	}
	if a.s.Profile() != cfgB.Profiles[0] || b.s.Profile() != cfgB.Profiles[0] {
		t.Fatalf("negotiated %v/%v, want the server's first choice %v", a.s.Profile(), b.s.Profile(), cfgB.Profiles[0])
	}
}

func mustParse(t testing.TB, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
