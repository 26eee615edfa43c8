package sdp_test

import (
	"fmt"
	"os"

	"github.com/streamwire/streamwire/dtlsparams"
	"github.com/streamwire/streamwire/sdp"
)

// A WHIP server answers OBS: receive only, ICE-lite with one host candidate.
func ExampleAnswer() {
	offer, err := os.ReadFile("testdata/offers/obs30_whip_sendonly.sdp")
	if err != nil {
		panic(err)
	}
	cfg := &sdp.Config{
		Audio:        sdp.MediaConfig{Direction: sdp.RecvOnly},
		Video:        sdp.MediaConfig{Direction: sdp.RecvOnly},
		ICELite:      true,
		Candidates:   []string{"candidate:1 1 udp 2130706431 192.0.2.10 8443 typ host"},
		Fingerprints: []dtlsparams.Fingerprint{fingerprint("sha-256 0F:1E:2D:3C:4B:5A:69:78:87:96:A5:B4:C3:D2:E1:F0:0F:1E:2D:3C:4B:5A:69:78:87:96:A5:B4:C3:D2:E1:F0")},
	}
	sess, err := sdp.Answer(offer, cfg)
	if err != nil {
		panic(err)
	}
	fmt.Println("bundle:", sess.Bundle)
	for _, s := range sess.Sections {
		fmt.Printf("mid %s %s %s: %s/%d fmtp %q, remote ufrag %s, setup %s->%s\n",
			s.Mid, s.Kind, s.Direction, s.Codec.Name, s.Codec.PayloadType, s.Codec.Fmtp,
			s.RemoteUfrag, s.RemoteSetup, s.LocalSetup)
	}
	// Output:
	// bundle: [0 1]
	// mid 0 audio recvonly: OPUS/111 fmtp "minptime=10;maxaveragebitrate=96000;stereo=1;sprop-stereo=1;useinbandfec=1", remote ufrag Wd3h, setup actpass->active
	// mid 1 video recvonly: H264/96 fmtp "profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1", remote ufrag Wd3h, setup actpass->active
}

// ffmpeg's WHIP muxer offers a=setup:passive, so the server must be the DTLS
// client; Section.LocalRole is what dtlssrtp.Handshake takes.
func ExampleAnswer_setup() {
	offer, err := os.ReadFile("testdata/offers/ffmpeg8_whip_sendonly.sdp")
	if err != nil {
		panic(err)
	}
	cfg := &sdp.Config{Fingerprints: []dtlsparams.Fingerprint{fingerprint("sha-1 0F:1E:2D:3C:4B:5A:69:78:87:96:A5:B4:C3:D2:E1:F0:0F:1E:2D:3C")}}
	sess, err := sdp.Answer(offer, cfg)
	if err != nil {
		panic(err)
	}
	s := sess.Sections[0]
	fmt.Printf("offer a=setup:%s, answer a=setup:%s, we are the DTLS %s\n", s.RemoteSetup, s.LocalSetup, s.LocalRole)
	fmt.Println("peer:", s.RemoteFingerprints[0].Algorithm(), len(s.RemoteFingerprints[0].Digest()), "bytes")
	// Output:
	// offer a=setup:passive, answer a=setup:active, we are the DTLS client
	// peer: sha-256 32 bytes
}

// fingerprint parses a constant a=fingerprint value; in a server the value
// comes from dtlssrtp.Certificate.Fingerprint.
func fingerprint(s string) dtlsparams.Fingerprint {
	f, err := dtlsparams.ParseFingerprint(s)
	if err != nil {
		panic(err)
	}
	return f
}

// A WHIP PATCH body with a trickled candidate (RFC 8840, RFC 9725 §4.3.2).
func ExampleParseSDPFrag() {
	frag, err := sdp.ParseSDPFrag([]byte("a=ice-ufrag:EsAw\r\n" +
		"a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" +
		"a=mid:0\r\n" +
		"a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host\r\n" +
		"a=end-of-candidates\r\n"))
	if err != nil {
		panic(err)
	}
	m := &frag.Media[0]
	ufrag, _ := frag.Credentials(m)
	fmt.Println(m.Mid, ufrag, m.Candidates[0], m.EndOfCandidates)

	_, err = sdp.ParseSDPFrag([]byte("a=candidate:1 1 udp 1 192.0.2.1 1 typ host\r\n"))
	fmt.Println(err)
	// Output:
	// 0 EsAw 1387637174 1 udp 2122260223 192.0.2.1 61764 typ host true
	// sdp: malformed trickle-ice-sdpfrag: line 1: a=candidate before any m= line
}

// A server offers first (a WHEP counter-offer) and reads the player's answer.
func ExampleOffer() {
	cfg := &sdp.Config{
		Audio:        sdp.MediaConfig{Direction: sdp.SendOnly},
		Video:        sdp.MediaConfig{Direction: sdp.SendOnly, Codecs: []sdp.Codec{{Name: "VP8"}}},
		Fingerprints: []dtlsparams.Fingerprint{fingerprint("sha-1 0F:1E:2D:3C:4B:5A:69:78:87:96:A5:B4:C3:D2:E1:F0:0F:1E:2D:3C")},
	}
	offer, err := sdp.Offer(cfg)
	if err != nil {
		panic(err)
	}
	player := &sdp.Config{
		Audio:        sdp.MediaConfig{Direction: sdp.RecvOnly},
		Video:        sdp.MediaConfig{Direction: sdp.RecvOnly, Codecs: []sdp.Codec{{Name: "vp8"}}},
		Fingerprints: []dtlsparams.Fingerprint{fingerprint("sha-1 AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD")},
	}
	answer, err := sdp.Answer(offer.SDP, player)
	if err != nil {
		panic(err)
	}
	sess, err := offer.Accept(answer.SDP)
	if err != nil {
		panic(err)
	}
	for _, s := range sess.Sections {
		fmt.Printf("mid %s %s %s/%d rtx %d, we are the DTLS %s\n", s.Mid, s.Direction, s.Codec.Name, s.Codec.PayloadType, s.RTX, s.LocalRole)
	}
	// Output:
	// mid 0 sendonly opus/96 rtx 0, we are the DTLS server
	// mid 1 sendonly VP8/96 rtx 97, we are the DTLS server
}
