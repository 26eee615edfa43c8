package relay

import (
	"encoding/binary"
	"testing"

	"github.com/pion/rtp"
)

// fuzzPackets encodes packets as the fuzz input of FuzzDepacketizer: per
// packet a flags byte (bit 0 marker, bits 1-2 the sequence step: 0 next,
// 1 same, 2 one lost, 3 one back; bit 3 a new timestamp), a 16-bit length
// and the payload.
func fuzzPackets(pkts []*rtp.Packet) []byte {
	var b []byte
	for i, p := range pkts {
		var flags byte
		if p.Marker {
			flags |= 1
		}
		if i > 0 && p.Timestamp != pkts[i-1].Timestamp {
			flags |= 8
		}
		b = append(b, flags)
		b = binary.BigEndian.AppendUint16(b, uint16(len(p.Payload)))
		b = append(b, p.Payload...)
	}
	return b
}

// depacketizeFuzz runs the depacketizer of codec over a fuzz input and
// checks every frame it hands on as whole.
func depacketizeFuzz(t *testing.T, codec Codec, data []byte) {
	const maxBytes = 1 << 16
	d := newDepacketizer(codec, maxBytes)
	var seq uint16
	var ts uint32
	done := func(frame, _ []byte, _ uint32, ok bool) {
		switch {
		case !ok:
		case len(frame) == 0 || len(frame) > maxBytes:
			t.Fatalf("a whole frame of %d bytes", len(frame))
		case codec == H264 && !validAVCC(frame, 4):
			t.Fatalf("a whole H.264 frame that is not AVCC: %x", frame)
		}
	}
	for len(data) >= 3 {
		flags := data[0]
		n := min(int(binary.BigEndian.Uint16(data[1:])), len(data)-3)
		payload := data[3 : 3+n]
		data = data[3+n:]
		seq += [4]uint16{1, 0, 2, 0xffff}[flags>>1&3]
		if flags&8 != 0 {
			ts += 3000
		}
		d.push(seq, ts, flags&1 != 0, payload, done)
	}
}

// FuzzDepacketizer: any packets, lost, repeated or out of order, give
// whole frames that are well-formed, or broken ones, never a panic or a
// frame beyond the size bound. The seeds are packets of the H.264 file as
// pion packetizes them (a STAP-A of SPS and PPS, FU-A fragments, single
// NAL unit packets), whole and with a packet lost, each payload cut to 48
// bytes: the headers are what matters, and small seeds keep the fuzzer's
// minimization quick.
func FuzzDepacketizer(f *testing.F) {
	var pkts []*rtp.Packet
	for _, p := range flatten(packetizeH264(readH264AUs(f), 0, 0)[:3]) {
		c := *p
		c.Payload = c.Payload[:min(len(c.Payload), 48)]
		pkts = append(pkts, &c)
	}
	f.Add(fuzzPackets(pkts))
	f.Add(fuzzPackets(slicesDelete(pkts, pkts[2])))
	f.Add(fuzzPackets(pkts[len(pkts)-2:]))
	f.Fuzz(func(t *testing.T, data []byte) {
		depacketizeFuzz(t, H264, data)
		depacketizeFuzz(t, VP8, data)
	})
}

// Building a frame allocates nothing once the depacketizer's buffer has
// grown: only a finished frame costs its publisher a payload.
func TestDepacketizerAllocs(t *testing.T) {
	au := packetizeH264(readH264AUs(t), 0, 0)[0] // an IDR: STAP-A, then FU-A fragments
	d := newDepacketizer(H264, DefaultMaxFrameBytes)
	done := func(_, _ []byte, _ uint32, _ bool) {}
	seq := uint16(0)
	push := func() {
		for _, p := range au {
			d.push(seq, uint32(seq), p.Marker, p.Payload, done)
			seq++
		}
	}
	push()
	if n := testing.AllocsPerRun(100, push); n != 0 {
		t.Fatalf("%.1f allocations per frame", n)
	}
}
