package peer

import (
	"bytes"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/streamwire/streamwire/dtlssrtp"
	"github.com/streamwire/streamwire/ice"
	"github.com/streamwire/streamwire/sdp"
)

// TestPeerPlainRetransmitAcrossWrap: without RTX, a NACK for a packet
// sent before the sequence number wrapped is answered with the original
// packet protected under the rollover counter it was first sent with
// (RFC 3711 §3.3.1): the remote side, which has seen the wrap, decrypts
// it. Packets go out through WriteRTP and Batch alike, with the header
// marshalled into the output buffer.
func TestPeerPlainRetransmitAcrossWrap(t *testing.T) {
	srv := newTestServer(t, ice.MuxConfig{})
	r := newTestRemote(t, sdp.MediaConfig{Disabled: true}, sdp.MediaConfig{NoRTX: true})
	p := r.answer(srv.config())
	r.connect(srv)
	waitConnected(t, p)
	lt := p.LocalTracks()[0]
	if r.desc.Sections[0].RTX != 0 {
		t.Fatal("RTX negotiated")
	}
	payload := func(seq uint16) []byte { return bytes.Repeat([]byte{byte(seq)}, 100+int(seq%7)) }
	var b Batch
	for i, seq := range []uint16{65533, 65534, 65535, 0, 1, 2} {
		pkt := &rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: 3000}, Payload: payload(seq)}
		if i%2 == 0 {
			if err := lt.WriteRTP(pkt); err != nil {
				t.Fatal(err)
			}
		} else {
			if err := b.WriteRTP(lt, pkt); err != nil {
				t.Fatal(err)
			}
			if n, err := b.Flush(); n != 1 || err != nil {
				t.Fatalf("Flush = %d, %v", n, err)
			}
		}
		if seq == 65535 { // lost on the way: not unprotected
			for dtlssrtp.Classify(r.next()) != dtlssrtp.ClassRTP {
			}
			continue
		}
		if got := r.readRTP(); got.SequenceNumber != seq || !bytes.Equal(got.Payload, payload(seq)) {
			t.Fatalf("got %d %x, want %d", got.SequenceNumber, got.Payload, seq)
		}
	}
	r.sendRTCP(&rtcp.TransportLayerNack{MediaSSRC: lt.SSRC(), Nacks: []rtcp.NackPair{{PacketID: 65535}}})
	got := r.readRTP() // fails unless protected with ROC 0
	if got.SequenceNumber != 65535 || got.SSRC != lt.SSRC() || !bytes.Equal(got.Payload, payload(65535)) {
		t.Fatalf("retransmission %v, want 65535", got)
	}
}
