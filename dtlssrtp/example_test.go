package dtlssrtp_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/streamwire/streamwire/dtlsparams"
	"github.com/streamwire/streamwire/dtlssrtp"
)

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
	f, _ := cert.Fingerprint(dtlsparams.SHA256)
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
	remoteSetup, err := dtlsparams.ParseSetup(offerSetup)
	if err != nil {
		return
	}
	role, answerSetup, err := dtlsparams.SelectRole(dtlsparams.Answerer, remoteSetup, dtlsparams.RolePolicy{})
	if err != nil {
		return
	}
	remoteFP, err := dtlsparams.ParseFingerprint(offerFingerprint)
	if err != nil {
		return
	}
	cert, err := dtlssrtp.GenerateCertificate(dtlssrtp.CertificateConfig{})
	if err != nil {
		return
	}
	ourFP, _ := cert.Fingerprint(dtlsparams.SHA256)
	fmt.Printf("a=setup:%v\r\na=fingerprint:%v\r\n", answerSetup, ourFP) // goes into the answer

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	session, err := dtlssrtp.Handshake(ctx, iceConn, role, dtlssrtp.Config{
		Certificate:        cert,
		RemoteFingerprints: []dtlsparams.Fingerprint{remoteFP},
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
