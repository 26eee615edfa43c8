package relay

import (
	"bytes"
	"slices"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// sei is a small SEI NAL unit (H.264 §7.3.2.3: a user_data_unregistered
// payload of one byte), to give every access unit several NAL units.
var sei = []byte{0x06, 0x05, 0x01, 0xaa, 0x80}

// TestWHIPToWHEPForwardsPayloads: a WebRTC viewer of a WebRTC
// publisher's H.264 gets the publisher's RTP payloads byte for byte (a
// STAP-A of SPS and PPS, single NAL unit packets and FU-A fragments cut
// at 500 bytes, not at RTPMaxPayload as the hub would cut them), with the
// publisher's timestamps plus its own offset, the marker on each access
// unit's last packet, and sequence numbers of its own that run on without
// a gap across the frames the publisher's lost packet made the hub drop.
// RTMP players still get the reassembled frames.
func TestWHIPToWHEPForwardsPayloads(t *testing.T) {
	aus := readH264AUs(t)[:60]
	pz := rtp.NewPacketizerWithOptions(500+12, &codecs.H264Payloader{}, rtp.NewFixedSequencer(100), 90000,
		rtp.WithPayloadType(102), rtp.WithSSRC(0x1234), rtp.WithTimestamp(0xffff0000)) // the timestamps wrap
	var sent []rtpAU
	for _, au := range aus {
		au = slices.Insert(slices.Clone(au), len(au)-1, sei) // before the slice
		sent = append(sent, pz.Packetize(annexB(au), 3000))
	}
	if len(sent[0]) < 3 || sent[0][0].Payload[0]&0x1f != naluSTAPA || sent[0][len(sent[0])-1].Payload[0]&0x1f != naluFUA || sent[1][0].Payload[0] != sei[0] {
		t.Fatal("want a STAP-A and FU-A fragments in the IDR, and an SEI packet before each slice")
	}

	h := NewHub(Config{})
	pub, _ := h.Publish("live/fwd")
	w := NewWebRTCPublisher(pub, WebRTCPublisherConfig{})
	viewerSub, _ := h.Subscribe("live/fwd")
	player, _ := h.Subscribe("live/fwd")
	video := newFakeLocal("H264")
	_, wait := runViewer(t, viewerSub, WebRTCSubscriberConfig{Rand: zeroRand()}, video, nil)
	track := newFakeRemote("H264")
	var want []*rtp.Packet
	for i, au := range sent {
		for j, p := range au {
			if i == 10 && j == 1 {
				continue // lost: frames 10 to 29 are dropped, up to the IDR at 30
			}
			if err := w.WriteRTP(track, p); err != nil {
				t.Fatal(err)
			}
		}
		if i < 10 || i >= 30 {
			want = append(want, au...)
		}
	}
	w.Close()
	if err := wait(); err != nil {
		t.Fatal(err)
	}

	got := video.sent()
	if len(got) != len(want) {
		t.Fatalf("the viewer got %d packets, want the publisher's %d", len(got), len(want))
	}
	for i, g := range got {
		p := want[i]
		if !bytes.Equal(g.payload, p.Payload) || g.ts != p.Timestamp || g.marker != p.Marker || g.seq != uint16(i) {
			t.Fatalf("packet %d: seq %d ts %d marker %v %x..., want seq %d ts %d marker %v %x...",
				i, g.seq, g.ts, g.marker, g.payload[:min(8, len(g.payload))], i, p.Timestamp, p.Marker, p.Payload[:min(8, len(p.Payload))])
		}
	}

	// The RTMP player's frames are the access units without SPS and PPS.
	frames := readAll(t, player)
	if len(frames) != 1+40 || !frames[0].SequenceHeader {
		t.Fatalf("the player got %d frames, want a sequence header and 40", len(frames))
	}
	for i, f := range frames[1:] {
		n := i
		if i >= 10 {
			n += 20
		}
		_, nalus := avcNALUs(t, f)
		if wantNALUs := withoutParams(slices.Insert(slices.Clone(aus[n]), len(aus[n])-1, sei)); !slices.EqualFunc(nalus, wantNALUs, bytes.Equal) {
			t.Fatalf("player frame %d: %d NAL units, want access unit %d's %d", i, len(nalus), n, len(wantNALUs))
		}
	}
}

// A publisher whose payloads are too large to forward with a viewer's
// headers (cut for a 1,500-byte MTU without room for SRTP) has those
// frames cut afresh: the viewer's payloads stay within maxForwardPayload,
// and every frame arrives.
func TestWHIPToWHEPRecutsLargePayloads(t *testing.T) {
	aus := readH264AUs(t)[:30]
	pz := rtp.NewPacketizerWithOptions(1480, &codecs.H264Payloader{}, rtp.NewFixedSequencer(1), 90000,
		rtp.WithPayloadType(102), rtp.WithSSRC(1), rtp.WithTimestamp(0))
	h := NewHub(Config{})
	pub, _ := h.Publish("live/big")
	w := NewWebRTCPublisher(pub, WebRTCPublisherConfig{})
	sub, _ := h.Subscribe("live/big")
	video := newFakeLocal("H264")
	_, wait := runViewer(t, sub, WebRTCSubscriberConfig{}, video, nil)
	track := newFakeRemote("H264")
	large := 0
	for _, au := range aus {
		for _, p := range pz.Packetize(annexB(au), 3000) {
			if len(p.Payload) > maxForwardPayload {
				large++
			}
			if err := w.WriteRTP(track, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	w.Close()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if large == 0 {
		t.Fatal("no payload above maxForwardPayload: the case is not tested")
	}
	frames := 0
	for _, p := range video.sent() {
		if len(p.payload) > maxForwardPayload {
			t.Fatalf("a payload of %d bytes", len(p.payload))
		}
		if p.marker {
			frames++
		}
	}
	if frames != len(aus) {
		t.Fatalf("the viewer got %d frames, want %d", frames, len(aus))
	}
}
