package peer

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/streamwire/streamwire/dtlsparams"
	"github.com/streamwire/streamwire/dtlssrtp"
	"github.com/streamwire/streamwire/ice"
	"github.com/streamwire/streamwire/sdp"
	"github.com/streamwire/streamwire/stun"
)

const testWait = 10 * time.Second

// testServer is a Mux on a loopback socket with the certificate and
// candidate a test's peers share.
type testServer struct {
	mux  *ice.Mux
	addr netip.AddrPort
	cert *dtlssrtp.Certificate
}

func newTestServer(t testing.TB, cfg ice.MuxConfig) *testServer {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	m := ice.NewMux(conn, cfg)
	served := make(chan error, 1)
	go func() { served <- m.Serve(context.Background()) }()
	t.Cleanup(func() {
		m.Close()
		if err := <-served; !errors.Is(err, ice.ErrServerClosed) {
			t.Errorf("Serve = %v", err)
		}
		conn.Close()
	})
	return &testServer{mux: m, addr: conn.LocalAddr().(*net.UDPAddr).AddrPort(), cert: testCertificate(t)}
}

var testCert *dtlssrtp.Certificate

func testCertificate(t testing.TB) *dtlssrtp.Certificate {
	t.Helper()
	if testCert == nil {
		c, err := dtlssrtp.GenerateCertificate(dtlssrtp.CertificateConfig{})
		if err != nil {
			t.Fatal(err)
		}
		testCert = c
	}
	return testCert
}

func (s *testServer) config() Config {
	c := ice.Candidate{Foundation: "1", Component: 1, Transport: ice.TransportUDP,
		Addr: s.addr.Addr(), Port: s.addr.Port(), Type: ice.TypeHost}
	c.Priority = c.RecommendedPriority(ice.DefaultLocalPreference)
	return Config{Mux: s.mux, Certificate: s.cert, Candidates: []ice.Candidate{c}}
}

// testRemote is the remote side of a Peer: a controlling ICE agent reduced
// to the one nominating check a lite peer needs, and a DTLS-SRTP endpoint,
// on its own loopback socket.
type testRemote struct {
	t     testing.TB
	conn  *net.UDPConn
	offer *sdp.LocalOffer
	desc  *sdp.Session // what the answer negotiated
	ufrag string       // the remote's own ICE ufrag
	dtls  *dtlssrtp.Session
	dtlsQ chan []byte
	media chan []byte // SRTP and SRTCP datagrams from the peer
	// discard makes the read loop drop what it reads without allocating,
	// while a test counts the peer's allocations.
	discard atomic.Bool
	// closed ends the DTLS connection's reads when the remote's DTLS
	// session closes.
	closed    chan struct{}
	closeOnce sync.Once
}

// newTestRemote makes the remote side's offer with mc for both kinds.
func newTestRemote(t testing.TB, audio, video sdp.MediaConfig) *testRemote {
	t.Helper()
	fp, err := testCertificate(t).Fingerprint(dtlsparams.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	offer, err := sdp.Offer(&sdp.Config{Audio: audio, Video: video, Fingerprints: []dtlsparams.Fingerprint{fp}})
	if err != nil {
		t.Fatal(err)
	}
	return &testRemote{t: t, offer: offer, closed: make(chan struct{}), dtlsQ: make(chan []byte, 64), media: make(chan []byte, 1024)}
}

// answer runs peer.Answer on the remote's offer and reads the answer.
func (r *testRemote) answer(cfg Config) *Peer {
	r.t.Helper()
	p, err := Answer(r.offer.SDP, cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() {
		p.Close()
		select {
		case <-p.Done():
		case <-time.After(testWait):
			r.t.Error("peer did not stop")
		}
	})
	if r.desc, err = r.offer.Accept(p.LocalDescription()); err != nil {
		r.t.Fatal(err)
	}
	r.ufrag = r.offer.LocalUfrag
	return p
}

// connect opens the remote's socket, sends the nominating check to srv and runs the DTLS handshake.
func (r *testRemote) connect(srv *testServer) {
	r.t.Helper()
	conn, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(srv.addr))
	if err != nil {
		r.t.Fatal(err)
	}
	r.conn = conn
	r.t.Cleanup(func() { conn.Close() })
	go r.readLoop()
	r.check()
	sec := &r.desc.Sections[0]
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	s, err := dtlssrtp.Handshake(ctx, &remoteDTLSConn{r}, sec.LocalRole, dtlssrtp.Config{
		Certificate: testCertificate(r.t), RemoteFingerprints: sec.RemoteFingerprints})
	if err != nil {
		r.t.Fatal(err)
	}
	r.dtls = s
	r.t.Cleanup(func() { s.Close() })
}

// check sends one Binding request with USE-CANDIDATE, as a controlling
// agent nominating the pair (RFC 8445 §7.2.2).
func (r *testRemote) check() {
	sec := &r.desc.Sections[0]
	var b stun.Builder
	b.Start(nil, stun.BindingRequest, stun.TransactionID{1, 2, 3})
	b.AddUsername(sec.RemoteUfrag + ":" + r.ufrag)
	b.AddPriority(0x6e0001ff)
	b.AddICEControlling(1)
	b.AddUseCandidate()
	b.AddMessageIntegrity(stun.NewShortTermIntegrity(sec.RemotePwd))
	b.AddFingerprint()
	msg, err := b.Finish()
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.conn.Write(msg); err != nil {
		r.t.Fatal(err)
	}
}

func (r *testRemote) readLoop() {
	scratch := make([]byte, 1500)
	for {
		b := scratch
		if !r.discard.Load() {
			b = make([]byte, 1500)
		}
		n, err := r.conn.Read(b)
		if err != nil {
			close(r.dtlsQ)
			return
		}
		if r.discard.Load() {
			continue
		}
		switch dtlssrtp.Classify(b[:n]) {
		case dtlssrtp.ClassDTLS:
			r.dtlsQ <- b[:n]
		case dtlssrtp.ClassRTP, dtlssrtp.ClassRTCP:
			select {
			case r.media <- b[:n]:
			default:
			}
		}
	}
}

// readRTP returns the next RTP packet from the peer, skipping RTCP.
func (r *testRemote) readRTP() *rtp.Packet {
	r.t.Helper()
	for {
		b := r.next()
		if dtlssrtp.Classify(b) != dtlssrtp.ClassRTP {
			continue
		}
		plain, err := r.dtls.UnprotectRTP(nil, b)
		if err != nil {
			r.t.Fatal(err)
		}
		var p rtp.Packet
		if err := p.Unmarshal(plain); err != nil {
			r.t.Fatal(err)
		}
		return &p
	}
}

// readRTCP returns the next RTCP compound packet from the peer, skipping RTP.
func (r *testRemote) readRTCP() []rtcp.Packet {
	r.t.Helper()
	for {
		b := r.next()
		if dtlssrtp.Classify(b) != dtlssrtp.ClassRTCP {
			continue
		}
		plain, err := r.dtls.UnprotectRTCP(nil, b)
		if err != nil {
			r.t.Fatal(err)
		}
		pkts, err := rtcp.Unmarshal(plain)
		if err != nil {
			r.t.Fatal(err)
		}
		return pkts
	}
}

func (r *testRemote) next() []byte {
	r.t.Helper()
	select {
	case b := <-r.media:
		return b
	case <-time.After(testWait):
		r.t.Fatal("nothing from the peer")
		return nil
	}
}

// sendRTP protects and sends pkt.
func (r *testRemote) sendRTP(pkt *rtp.Packet) {
	r.t.Helper()
	b, err := pkt.Marshal()
	if err != nil {
		r.t.Fatal(err)
	}
	out, err := r.dtls.ProtectRTP(nil, b)
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.conn.Write(out); err != nil {
		r.t.Fatal(err)
	}
}

// sendRTCP protects and sends one compound packet.
func (r *testRemote) sendRTCP(pkts ...rtcp.Packet) {
	r.t.Helper()
	b, err := rtcp.Marshal(pkts)
	if err != nil {
		r.t.Fatal(err)
	}
	out, err := r.dtls.ProtectRTCP(nil, b)
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.conn.Write(out); err != nil {
		r.t.Fatal(err)
	}
}

// remoteDTLSConn gives dtlssrtp.Handshake the remote's DTLS records.
type remoteDTLSConn struct{ r *testRemote }

func (c *remoteDTLSConn) Read(b []byte) (int, error) {
	select {
	case rec, ok := <-c.r.dtlsQ:
		if !ok {
			return 0, net.ErrClosed
		}
		return copy(b, rec), nil
	case <-c.r.closed:
		return 0, net.ErrClosed
	}
}
func (c *remoteDTLSConn) Write(b []byte) (int, error) { return c.r.conn.Write(b) }
func (c *remoteDTLSConn) Close() error {
	c.r.closeOnce.Do(func() { close(c.r.closed) })
	return nil
}
func (c *remoteDTLSConn) LocalAddr() net.Addr              { return c.r.conn.LocalAddr() }
func (c *remoteDTLSConn) RemoteAddr() net.Addr             { return c.r.conn.RemoteAddr() }
func (c *remoteDTLSConn) SetDeadline(time.Time) error      { return nil }
func (c *remoteDTLSConn) SetReadDeadline(time.Time) error  { return nil }
func (c *remoteDTLSConn) SetWriteDeadline(time.Time) error { return nil }

// atomicTime is a settable clock for Config.Now.
type atomicTime struct{ ns atomic.Int64 }

func (a *atomicTime) set(t time.Time) { a.ns.Store(t.UnixNano()) }
func (a *atomicTime) get() time.Time  { return time.Unix(0, a.ns.Load()) }
