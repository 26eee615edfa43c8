package peer_test

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/pion/rtp"

	"github.com/streamwire/streamwire/dtlsparams"
	"github.com/streamwire/streamwire/dtlssrtp"
	"github.com/streamwire/streamwire/ice"
	"github.com/streamwire/streamwire/peer"
	"github.com/streamwire/streamwire/sdp"
)

// A server answers a viewer's offer: one Mux serves every peer on one UDP
// port, one certificate serves every DTLS handshake, and the answer
// carries the Mux's host candidate. The viewer's checks then reach the
// Mux, and the peer connects on its own.
func Example() {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	mux := ice.NewMux(conn, ice.MuxConfig{})
	go mux.Serve(context.Background())
	defer mux.Close()
	cert, err := dtlssrtp.GenerateCertificate(dtlssrtp.CertificateConfig{})
	if err != nil {
		panic(err)
	}
	addr := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	host := ice.Candidate{Foundation: "1", Component: 1, Transport: ice.TransportUDP,
		Addr: addr.Addr(), Port: addr.Port(), Type: ice.TypeHost}
	host.Priority = host.RecommendedPriority(ice.DefaultLocalPreference)

	offer := viewerOffer() // from the viewer, e.g. a WHEP POST body
	p, err := peer.Answer(offer, peer.Config{
		Mux: mux, Certificate: cert, Candidates: []ice.Candidate{host},
		SDP: sdp.Config{Video: sdp.MediaConfig{Direction: sdp.SendOnly}},
	})
	if err != nil {
		panic(err)
	}
	defer p.Close()
	answer := string(p.LocalDescription())
	fmt.Println("ice-lite:", strings.Contains(answer, "a=ice-lite"))
	for _, t := range p.LocalTracks() {
		fmt.Println("sends", t.Kind(), t.Codec().Name)
	}
	// Output:
	// ice-lite: true
	// sends audio opus
	// sends video H264
}

// viewerOffer stands in for a browser's recvonly offer.
func viewerOffer() []byte {
	fp, err := dtlsparams.NewFingerprint(dtlsparams.SHA256, make([]byte, 32))
	if err != nil {
		panic(err)
	}
	o, err := sdp.Offer(&sdp.Config{
		Audio:        sdp.MediaConfig{Direction: sdp.RecvOnly},
		Video:        sdp.MediaConfig{Direction: sdp.RecvOnly},
		Fingerprints: []dtlsparams.Fingerprint{fp},
	})
	if err != nil {
		panic(err)
	}
	return o.SDP
}

// A relay's sending goroutine writes a frame to every viewer in a few
// sendmmsg(2) calls: each WriteRTP gives a packet the track's header and
// keys and queues it, the Batch writes 64 at a time, and Flush sends the
// rest. A viewer whose WriteRTP fails has gone (its peer stopped).
func ExampleBatch() {
	var viewers []*peer.LocalTrack // connected viewers' video tracks, all on one Mux
	frame := []*rtp.Packet{{Header: rtp.Header{Marker: true}, Payload: []byte{0x65}}}
	var b peer.Batch
	for _, t := range viewers {
		for _, pkt := range frame {
			if err := b.WriteRTP(t, pkt); err != nil {
				break // drop the viewer
			}
		}
	}
	n, err := b.Flush()
	fmt.Println("datagrams written:", n, err)
	// Output: datagrams written: 0 <nil>
}
