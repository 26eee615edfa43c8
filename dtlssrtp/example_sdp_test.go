package dtlssrtp_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/streamwire/streamwire/dtlsparams"
	"github.com/streamwire/streamwire/dtlssrtp"
	"github.com/streamwire/streamwire/sdp"
)

// A server answers a real Chromium offer with sdp.Answer and runs the DTLS
// handshake with what the answer decided: Section.LocalRole and
// Section.RemoteFingerprints are dtlsparams types that Handshake takes as
// they are. A second dtlssrtp endpoint plays the browser over a loopback
// UDP pair: it has its own certificate, whose fingerprint takes the place
// of the one captured in the offer, and it reads the answer's a=setup and
// a=fingerprint with the same dtlsparams parsers.
func Example_sdpAnswerToHandshake() {
	// The browser's side: a certificate, and the captured offer carrying its
	// fingerprint.
	browserCert, err := dtlssrtp.GenerateCertificate(dtlssrtp.CertificateConfig{})
	if err != nil {
		panic(err)
	}
	browserFP, _ := browserCert.Fingerprint(dtlsparams.SHA256)
	offer, err := os.ReadFile("../sdp/testdata/offers/chromium156_sendrecv.sdp")
	if err != nil {
		panic(err)
	}
	offer = regexp.MustCompile(`(?m)^a=fingerprint:.*\r$`).ReplaceAll(offer, []byte("a=fingerprint:"+browserFP.String()+"\r"))

	// The server's side: sdp.Answer with our certificate's fingerprint.
	serverCert, err := dtlssrtp.GenerateCertificate(dtlssrtp.CertificateConfig{})
	if err != nil {
		panic(err)
	}
	serverFP, _ := serverCert.Fingerprint(dtlsparams.SHA256)
	answer, err := sdp.Answer(offer, &sdp.Config{Fingerprints: []dtlsparams.Fingerprint{serverFP}})
	if err != nil {
		panic(err)
	}
	sec := answer.Sections[0]
	fmt.Printf("offer a=setup:%s, answer a=setup:%s, server is the DTLS %s\n", sec.RemoteSetup, sec.LocalSetup, sec.LocalRole)

	// The browser reads the answer, as an offerer that sent actpass.
	answerSetup, answerFPs := readDTLSAttributes(answer.SDP)
	browserRole, _, err := dtlsparams.SelectRole(dtlsparams.Offerer, answerSetup, dtlsparams.RolePolicy{})
	if err != nil {
		panic(err)
	}
	fmt.Printf("browser reads a=setup:%s, is the DTLS %s\n", answerSetup, browserRole)

	serverConn, browserConn, err := loopbackPair()
	if err != nil {
		panic(err)
	}
	defer serverConn.Close()
	defer browserConn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	type result struct {
		s   *dtlssrtp.Session
		err error
	}
	browserDone := make(chan result, 1)
	go func() {
		s, err := dtlssrtp.Handshake(ctx, browserConn, browserRole, dtlssrtp.Config{
			Certificate: browserCert, RemoteFingerprints: answerFPs,
		})
		browserDone <- result{s, err}
	}()
	server, err := dtlssrtp.Handshake(ctx, serverConn, sec.LocalRole, dtlssrtp.Config{
		Certificate: serverCert, RemoteFingerprints: sec.RemoteFingerprints,
	})
	browser := <-browserDone
	if err != nil || browser.err != nil {
		fmt.Println("handshake:", err, browser.err)
		return
	}
	defer server.Close()
	defer browser.s.Close()
	fmt.Println("server:", server.Role(), server.Profile(), "peer certificate matches", dtlssrtp.VerifyFingerprint(server.PeerCertificate(), sec.RemoteFingerprints) == nil)
	fmt.Println("browser:", browser.s.Role(), browser.s.Profile())

	// Keys agree: an RTP packet protected by the browser opens at the server.
	rtp := []byte{0x80, 0x6f, 0x00, 0x01, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef, 'o', 'p', 'u', 's'}
	srtp, err := browser.s.ProtectRTP(nil, rtp)
	if err != nil {
		panic(err)
	}
	plain, err := server.UnprotectRTP(nil, srtp)
	fmt.Println("SRTP round trip:", err == nil && bytes.Equal(plain, rtp))
	// Output:
	// offer a=setup:actpass, answer a=setup:active, server is the DTLS client
	// browser reads a=setup:active, is the DTLS server
	// server: client AEAD_AES_128_GCM peer certificate matches true
	// browser: server AEAD_AES_128_GCM
	// SRTP round trip: true
}

// readDTLSAttributes returns the first a=setup and every a=fingerprint of a
// description, as a browser's offerer reads the answer (a sketch: it does
// not separate media sections).
func readDTLSAttributes(desc []byte) (dtlsparams.Setup, []dtlsparams.Fingerprint) {
	var (
		setup    dtlsparams.Setup
		hasSetup bool
		fps      []dtlsparams.Fingerprint
	)
	sc := bufio.NewScanner(bytes.NewReader(desc))
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "a=setup:"); ok && !hasSetup {
			setup, _ = dtlsparams.ParseSetup(v)
			hasSetup = true
		}
		if v, ok := strings.CutPrefix(line, "a=fingerprint:"); ok {
			if f, err := dtlsparams.ParseFingerprint(v); err == nil && !containsFP(fps, f) {
				fps = append(fps, f)
			}
		}
	}
	return setup, fps
}

func containsFP(fps []dtlsparams.Fingerprint, f dtlsparams.Fingerprint) bool {
	for _, g := range fps {
		if g == f { // Fingerprint is comparable
			return true
		}
	}
	return false
}

// loopbackPair returns two net.Conns over UDP sockets on 127.0.0.1, each
// talking only to the other: what an ICE agent hands the DTLS layer once a
// candidate pair is selected.
func loopbackPair() (a, b net.Conn, err error) {
	lo := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	ua, err := net.ListenUDP("udp", lo)
	if err != nil {
		return nil, nil, err
	}
	ub, err := net.ListenUDP("udp", lo)
	if err != nil {
		ua.Close()
		return nil, nil, err
	}
	return &peerConn{ua, ub.LocalAddr().(*net.UDPAddr)}, &peerConn{ub, ua.LocalAddr().(*net.UDPAddr)}, nil
}

// peerConn is a net.Conn over an unconnected UDP socket that talks to one
// peer and drops datagrams from anyone else.
type peerConn struct {
	*net.UDPConn
	peer *net.UDPAddr
}

func (c *peerConn) Read(b []byte) (int, error) {
	for {
		n, from, err := c.ReadFromUDP(b)
		if err != nil || from.AddrPort() == c.peer.AddrPort() {
			return n, err
		}
	}
}

func (c *peerConn) Write(b []byte) (int, error) { return c.WriteToUDP(b, c.peer) }
func (c *peerConn) RemoteAddr() net.Addr        { return c.peer }

// What sdp produces is what dtlssrtp consumes, with no conversion: these
// declarations stop compiling if either package grows a type of its own
// for a role, a setup value or a fingerprint again.
var (
	_ dtlsparams.Role                                                = sdp.Section{}.LocalRole
	_ []dtlsparams.Fingerprint                                       = dtlssrtp.Config{RemoteFingerprints: sdp.Section{}.RemoteFingerprints}.RemoteFingerprints
	_                                                                = sdp.Config{Fingerprints: []dtlsparams.Fingerprint{}, RolePolicy: dtlsparams.RolePolicy{}}
	_ func(dtlsparams.HashAlgorithm) (dtlsparams.Fingerprint, error) = (*dtlssrtp.Certificate)(nil).Fingerprint
	_ func() dtlsparams.Role                                         = (*dtlssrtp.Session)(nil).Role
)
