package bench

// DTLS-SRTP benchmarks, streamwire/dtlssrtp side by side with the pion
// packages it builds on:
//
//   - BenchmarkDTLSHandshake: complete DTLS 1.2 + use_srtp handshakes, both
//     ends in this process over loopback UDP, ECDSA P-256 certificates,
//     fingerprint check included; reports handshakes/s.
//   - BenchmarkSRTPProtect, BenchmarkSRTPUnprotect: 1,200-byte RTP payloads
//     per profile, destination buffer reused (0 allocs/op expected for
//     streamwire).
//
//	cd bench && go test -run '^$' -bench 'DTLSHandshake|SRTP' -benchmem -count 3 .

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/streamwire/streamwire/dtlsparams"
	"github.com/streamwire/streamwire/dtlssrtp"
)

// dsUDPPair is two loopback UDP sockets that know each other's address.
func dsUDPPair(tb testing.TB) (a, b *net.UDPConn) {
	tb.Helper()
	lo := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	a, err := net.ListenUDP("udp4", lo)
	if err != nil {
		tb.Fatal(err)
	}
	b, err = net.ListenUDP("udp4", lo)
	if err != nil {
		tb.Fatal(err)
	}
	return a, b
}

// dsConnectedUDP is a net.Conn over an unconnected UDP socket that talks to one peer.
type dsConnectedUDP struct {
	*net.UDPConn
	peer *net.UDPAddr
}

func (c *dsConnectedUDP) Read(b []byte) (int, error) {
	for {
		n, from, err := c.ReadFromUDP(b)
		if err != nil || from.AddrPort() == c.peer.AddrPort() {
			return n, err
		}
	}
}

func (c *dsConnectedUDP) Write(b []byte) (int, error) { return c.WriteToUDP(b, c.peer) }
func (c *dsConnectedUDP) RemoteAddr() net.Addr        { return c.peer }

type dsEndpoints struct {
	certA, certB *dtlssrtp.Certificate
	fpA, fpB     dtlsparams.Fingerprint
}

func dsNewEndpoints(tb testing.TB) dsEndpoints {
	tb.Helper()
	var e dsEndpoints
	var err error
	if e.certA, err = dtlssrtp.GenerateCertificate(dtlssrtp.CertificateConfig{}); err != nil {
		tb.Fatal(err)
	}
	if e.certB, err = dtlssrtp.GenerateCertificate(dtlssrtp.CertificateConfig{}); err != nil {
		tb.Fatal(err)
	}
	e.fpA, _ = e.certA.Fingerprint(dtlsparams.SHA256)
	e.fpB, _ = e.certB.Fingerprint(dtlsparams.SHA256)
	return e
}

// streamwireHandshake runs one handshake pair with dtlssrtp.
func (e dsEndpoints) streamwireHandshake(tb testing.TB, profile dtlssrtp.Profile) (client, server *dtlssrtp.Session) {
	ua, ub := dsUDPPair(tb)
	ca := &dsConnectedUDP{ua, ub.LocalAddr().(*net.UDPAddr)}
	cb := &dsConnectedUDP{ub, ua.LocalAddr().(*net.UDPAddr)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var profiles []dtlssrtp.Profile
	if profile != 0 {
		profiles = []dtlssrtp.Profile{profile}
	}
	type result struct {
		s   *dtlssrtp.Session
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := dtlssrtp.Server(ctx, cb, dtlssrtp.Config{Certificate: e.certB, RemoteFingerprints: []dtlsparams.Fingerprint{e.fpA}, Profiles: profiles})
		done <- result{s, err}
	}()
	client, err := dtlssrtp.Client(ctx, ca, dtlssrtp.Config{Certificate: e.certA, RemoteFingerprints: []dtlsparams.Fingerprint{e.fpB}, Profiles: profiles})
	r := <-done
	if err != nil || r.err != nil {
		tb.Fatalf("handshake: client %v, server %v", err, r.err)
	}
	return client, r.s
}

// pionHandshake runs the same handshake with pion/dtls directly, with the
// options pion/webrtc uses and an equivalent sha-256 fingerprint check.
func (e dsEndpoints) pionHandshake(tb testing.TB) (client, server *dtls.Conn) {
	ua, ub := dsUDPPair(tb)
	verify := func(want dtlsparams.Fingerprint) func([][]byte, [][]*x509.Certificate) error {
		digest := want.Digest()
		return func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("no certificate")
			}
			if sum := sha256.Sum256(raw[0]); !bytes.Equal(sum[:], digest) {
				return errors.New("fingerprint mismatch")
			}
			return nil
		}
	}
	profiles := dtls.WithSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AEAD_AES_256_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		var err error
		server, err = dtls.ServerWithOptions(ub, ua.LocalAddr(),
			dtls.WithCertificates(e.certB.TLSCertificate()), profiles, dtls.WithInsecureSkipVerify(true),
			dtls.WithClientAuth(dtls.RequireAnyClientCert), dtls.WithVerifyPeerCertificate(verify(e.fpA)),
			dtls.WithExtendedMasterSecret(dtls.RequireExtendedMasterSecret))
		if err == nil {
			err = server.HandshakeContext(ctx)
		}
		done <- err
	}()
	client, err := dtls.ClientWithOptions(ua, ub.LocalAddr(),
		dtls.WithCertificates(e.certA.TLSCertificate()), profiles, dtls.WithInsecureSkipVerify(true),
		dtls.WithVerifyPeerCertificate(verify(e.fpB)), dtls.WithExtendedMasterSecret(dtls.RequireExtendedMasterSecret))
	if err == nil {
		err = client.HandshakeContext(ctx)
	}
	if serr := <-done; err != nil || serr != nil {
		tb.Fatalf("pion handshake: client %v, server %v", err, serr)
	}
	return client, server
}

func BenchmarkDTLSHandshake(b *testing.B) {
	e := dsNewEndpoints(b)
	b.Run("streamwire", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			c, s := e.streamwireHandshake(b, 0)
			_ = c.Close()
			_ = s.Close()
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
	})
	b.Run("pion", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			c, s := e.pionHandshake(b)
			_ = c.Close()
			_ = s.Close()
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
	})
}

const dsPayloadSize = 1200

func dsRTP(tb testing.TB, seq uint16) []byte {
	p := rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, SSRC: 0x1234abcd},
		Payload: bytes.Repeat([]byte{0xab}, dsPayloadSize),
	}
	raw, err := p.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

// dsPionContexts builds pion/srtp contexts from the session's keys: the
// anchor is the same cipher without the dtlssrtp wrapper.
func dsPionContexts(tb testing.TB, k dtlssrtp.KeyingMaterial) (out, in *srtp.Context) {
	out, err := srtp.CreateContext(k.LocalKey, k.LocalSalt, srtp.ProtectionProfile(k.Profile))
	if err != nil {
		tb.Fatal(err)
	}
	in, err = srtp.CreateContext(k.LocalKey, k.LocalSalt, srtp.ProtectionProfile(k.Profile),
		srtp.SRTPReplayProtection(dtlssrtp.DefaultReplayWindow))
	if err != nil {
		tb.Fatal(err)
	}
	return out, in
}

func BenchmarkSRTPProtect(b *testing.B) {
	e := dsNewEndpoints(b)
	for _, p := range dtlssrtp.AllProfiles {
		b.Run(p.String(), func(b *testing.B) {
			client, server := e.streamwireHandshake(b, p)
			defer client.Close()
			defer server.Close()
			plain := dsRTP(b, 1)
			b.Run("streamwire", func(b *testing.B) {
				dst := make([]byte, 0, 1500)
				b.SetBytes(dsPayloadSize)
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					var err error
					if dst, err = client.ProtectRTP(dst, plain); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("pion", func(b *testing.B) {
				out, _ := dsPionContexts(b, client.Keys())
				dst := make([]byte, 0, 1500)
				b.SetBytes(dsPayloadSize)
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					var err error
					if dst, err = out.EncryptRTP(dst, plain, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// dsProtectedBatch holds SRTP packets with consecutive sequence numbers, so
// that the receiver's replay window accepts every one; it is refilled
// outside the timer.
type dsProtectedBatch struct {
	encrypt func(dst, plain []byte) ([]byte, error)
	seq     uint16
	pkts    [][]byte
	next    int
}

func (pb *dsProtectedBatch) fill(tb testing.TB) {
	if pb.pkts == nil {
		pb.pkts = make([][]byte, 1024)
		for i := range pb.pkts {
			pb.pkts[i] = make([]byte, 0, 1500)
		}
	}
	for i := range pb.pkts {
		pb.seq++
		var err error
		if pb.pkts[i], err = pb.encrypt(pb.pkts[i][:0], dsRTP(tb, pb.seq)); err != nil {
			tb.Fatal(err)
		}
	}
	pb.next = 0
}

func (pb *dsProtectedBatch) take(b *testing.B) []byte {
	if pb.next == len(pb.pkts) {
		b.StopTimer()
		pb.fill(b)
		b.StartTimer()
	}
	p := pb.pkts[pb.next]
	pb.next++
	return p
}

func BenchmarkSRTPUnprotect(b *testing.B) {
	e := dsNewEndpoints(b)
	for _, p := range dtlssrtp.AllProfiles {
		b.Run(p.String(), func(b *testing.B) {
			client, server := e.streamwireHandshake(b, p)
			defer client.Close()
			defer server.Close()
			// One batch across the runs of the sub-benchmark: the server's
			// replay window remembers what earlier runs delivered.
			batch := &dsProtectedBatch{encrypt: client.ProtectRTP}
			b.Run("streamwire", func(b *testing.B) {
				batch.fill(b)
				dst := make([]byte, 0, 1500)
				b.SetBytes(dsPayloadSize)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					var err error
					if dst, err = server.UnprotectRTP(dst, batch.take(b)); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("pion", func(b *testing.B) {
				out, in := dsPionContexts(b, client.Keys())
				batch := &dsProtectedBatch{encrypt: func(dst, plain []byte) ([]byte, error) { return out.EncryptRTP(dst, plain, nil) }}
				batch.fill(b)
				dst := make([]byte, 0, 1500)
				b.SetBytes(dsPayloadSize)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					var err error
					if dst, err = in.DecryptRTP(dst, batch.take(b), nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
