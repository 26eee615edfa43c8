package dtlssrtp_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/streamwire/streamwire/dtlssrtp"
)

// The a=fingerprint value of a browser's offer, parsed and written back in
// canonical form.
func ExampleParseFingerprint() {
	f, err := dtlssrtp.ParseFingerprint("SHA-256 e0:54:7b:2c:a4:36:15:1a:5d:fe:b6:43:c6:90:cd:7e:96:2b:59:67:a1:a6:85:df:db:1e:eb:5e:35:a5:44:41")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(f.Algorithm(), len(f.Digest()), "bytes")
	fmt.Println("a=fingerprint:" + f.String())

	_, err = dtlssrtp.ParseFingerprint("md5 00:11:22")
	fmt.Println(err)
	// Output:
	// sha-256 32 bytes
	// a=fingerprint:sha-256 E0:54:7B:2C:A4:36:15:1A:5D:FE:B6:43:C6:90:CD:7E:96:2B:59:67:A1:A6:85:DF:DB:1E:EB:5E:35:A5:44:41
	// dtlssrtp: unsupported fingerprint hash function: "md5"
}

// A server answering a browser's offer: the browser sends a=setup:actpass,
// so by default we answer active and open the DTLS connection as client.
func ExampleSelectRole() {
	remote, _ := dtlssrtp.ParseSetup("actpass")

	role, setup, _ := dtlssrtp.SelectRole(dtlssrtp.Answerer, remote, dtlssrtp.RolePolicy{})
	fmt.Printf("default: role %v, answer a=setup:%v\n", role, setup)

	role, setup, _ = dtlssrtp.SelectRole(dtlssrtp.Answerer, remote, dtlssrtp.RolePolicy{AnswerPassive: true})
	fmt.Printf("passive policy: role %v, answer a=setup:%v\n", role, setup)

	// We offered actpass and the peer answered active: we are the server.
	active, _ := dtlssrtp.ParseSetup("active")
	role, _, _ = dtlssrtp.SelectRole(dtlssrtp.Offerer, active, dtlssrtp.RolePolicy{})
	fmt.Printf("offerer, answer active: role %v\n", role)

	// An answer may not be actpass.
	_, _, err := dtlssrtp.SelectRole(dtlssrtp.Offerer, dtlssrtp.SetupActpass, dtlssrtp.RolePolicy{})
	fmt.Println(err)
	// Output:
	// default: role client, answer a=setup:active
	// passive policy: role server, answer a=setup:passive
	// offerer, answer active: role server
	// dtlssrtp: impossible DTLS role combination: answer must not be actpass
}

// Sorting datagrams that arrive on one ICE socket.
func ExampleClassify() {
	for _, b := range [][]byte{
		{0x00, 0x01, 0x00, 0x58}, // STUN Binding request
		{0x16, 0xfe, 0xfd, 0x00}, // DTLS handshake record
		{0x80, 0x60, 0x00, 0x01}, // RTP, payload type 96
		{0x80, 0xc8, 0x00, 0x06}, // RTCP sender report
		{0x40, 0x00, 0x00, 0x04}, // TURN ChannelData
		{0x60, 0x00},             // nothing (80-127 is unassigned)
	} {
		fmt.Println(dtlssrtp.Classify(b))
	}
	// Output:
	// stun
	// dtls
	// rtp
	// rtcp
	// turn-channel
	// unknown
}

// Making the certificate a session presents, and the attribute for our SDP.
func ExampleGenerateCertificate() {
	cert, err := dtlssrtp.GenerateCertificate(dtlssrtp.CertificateConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	f, _ := cert.Fingerprint(dtlssrtp.SHA256)
	line := "a=fingerprint:" + f.String()
	fmt.Println(len(line), line[:22])
	// Output:
	// 117 a=fingerprint:sha-256
}

// A media server answering a browser: pick the role from the offer's
// a=setup, put our fingerprint and a=setup in the answer, then run the
// handshake on the ICE connection and protect media with the session.
// (Compiled, not run: it needs an ICE connection.)
func ExampleHandshake() {
	var (
		iceConn          net.Conn // from the ICE agent: this session's DTLS datagrams (Classify == ClassDTLS)
		offerSetup       = "actpass"
		offerFingerprint = "sha-256 E0:54:7B:2C:A4:36:15:1A:5D:FE:B6:43:C6:90:CD:7E:96:2B:59:67:A1:A6:85:DF:DB:1E:EB:5E:35:A5:44:41"
	)
	remoteSetup, err := dtlssrtp.ParseSetup(offerSetup)
	if err != nil {
		return
	}
	role, answerSetup, err := dtlssrtp.SelectRole(dtlssrtp.Answerer, remoteSetup, dtlssrtp.RolePolicy{})
	if err != nil {
		return
	}
	remoteFP, err := dtlssrtp.ParseFingerprint(offerFingerprint)
	if err != nil {
		return
	}
	cert, err := dtlssrtp.GenerateCertificate(dtlssrtp.CertificateConfig{})
	if err != nil {
		return
	}
	ourFP, _ := cert.Fingerprint(dtlssrtp.SHA256)
	fmt.Printf("a=setup:%v\r\na=fingerprint:%v\r\n", answerSetup, ourFP) // goes into the answer

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	session, err := dtlssrtp.Handshake(ctx, iceConn, role, dtlssrtp.Config{
		Certificate:        cert,
		RemoteFingerprints: []dtlssrtp.Fingerprint{remoteFP},
	})
	if err != nil {
		return // errors.Is(err, dtlssrtp.ErrFingerprintMismatch), ErrHandshakeTimeout, ...
	}
	defer session.Close() // sends close_notify

	var rtpPacket []byte // a marshalled RTP packet
	buf := make([]byte, 0, 1500)
	if buf, err = session.ProtectRTP(buf, rtpPacket); err == nil {
		_, _ = iceConn.Write(buf) // in a real server: the ICE socket, to the selected pair
	}
}
