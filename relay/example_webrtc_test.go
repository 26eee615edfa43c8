package relay_test

import (
	"bytes"
	"context"
	"fmt"

	"github.com/pion/rtp"

	"github.com/streamwire/streamwire/relay"
	"github.com/streamwire/streamwire/sdp"
)

// whipTrack stands in for the *peer.RemoteTrack of a WHIP publisher's
// H.264 video.
type whipTrack struct{}

func (*whipTrack) Kind() sdp.Kind { return sdp.KindVideo }
func (*whipTrack) Codec() sdp.NegotiatedCodec {
	return sdp.NegotiatedCodec{Name: "H264", ClockRate: 90000, PayloadType: 102}
}
func (*whipTrack) RequestKeyFrame() error { return nil }

// whepTrack stands in for the *peer.LocalTrack of a WHEP viewer: it
// prints what the viewer would be sent.
type whepTrack struct{}

func (whepTrack) Codec() sdp.NegotiatedCodec {
	return sdp.NegotiatedCodec{Name: "H264", ClockRate: 90000, PayloadType: 96}
}

func (whepTrack) WriteRTP(p *rtp.Packet) error {
	fmt.Printf("seq %d, timestamp %d, marker %v: NAL type %d, %d bytes\n",
		p.SequenceNumber, p.Timestamp, p.Marker, p.Payload[0]&0x1f, len(p.Payload))
	return nil
}

// A WHIP publisher's H.264 reaches a WHEP viewer through the hub: its
// RTP is reassembled into access units (which RTMP players of the stream
// get as AVC tags), and the viewer gets the publisher's own payloads,
// with sequence numbers and timestamp offset of its own.
func ExampleWebRTCPublisher() {
	hub := relay.NewHub(relay.Config{})
	pub, _ := hub.Publish("live/whip")
	w := relay.NewWebRTCPublisher(pub, relay.WebRTCPublisherConfig{})
	sub, _ := hub.Subscribe("live/whip")
	v := relay.NewWebRTCSubscriber(sub, relay.WebRTCSubscriberConfig{
		// Sequence numbers from 0 and RTP times offset by 0, for the example:
		// the viewer gets the publisher's RTP times plus its own offset.
		Rand: bytes.NewReader(make([]byte, 12)),
	})

	// What the publisher's peer passes to OnRTP: a STAP-A of SPS and PPS
	// and an IDR slice, then a P slice 1/30 s later.
	sps := []byte{0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40}
	pps := []byte{0x68, 0xce, 0x3c, 0x80}
	stapA := append(append([]byte{0x78, 0, byte(len(sps))}, sps...), append([]byte{0, byte(len(pps))}, pps...)...)
	track := &whipTrack{}
	for _, p := range []rtp.Packet{
		{Header: rtp.Header{SequenceNumber: 1, Timestamp: 90000}, Payload: stapA},
		{Header: rtp.Header{SequenceNumber: 2, Timestamp: 90000, Marker: true}, Payload: []byte{0x65, 0x88, 0x84, 0x21}},
		{Header: rtp.Header{SequenceNumber: 3, Timestamp: 93000, Marker: true}, Payload: []byte{0x41, 0x9a, 0x21}},
	} {
		_ = w.WriteRTP(track, &p)
	}
	w.Close() // the publisher leaves: the viewer sends what is queued, then Run returns

	err := v.Run(context.Background(), whepTrack{}, nil)
	fmt.Println("Run:", err)
	// Output:
	// seq 0, timestamp 90000, marker false: NAL type 24, 16 bytes
	// seq 1, timestamp 90000, marker true: NAL type 5, 4 bytes
	// seq 2, timestamp 93000, marker true: NAL type 1, 3 bytes
	// Run: <nil>
}
