package peer

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestRTXRoundTrip(t *testing.T) {
	o := rtpOpts{ssrc: 0xAAAA, pt: 96, ts: 9000, marker: true, payload: 300, padding: 5,
		csrc: []uint32{3}, ext: map[uint8][]byte{2: {7, 7, 7}}}
	orig := mkRTP(t, 4321, o)
	rtx, ok := appendRTX([]byte{0xFF}, orig, 0xBBBB, 97, 17)
	if !ok || rtx[0] != 0xFF {
		t.Fatalf("appendRTX: %v, prefix %x", ok, rtx[:1])
	}
	rtx = rtx[1:]
	p := parseRTP(t, rtx)
	if p.SSRC != 0xBBBB || p.PayloadType != 97 || p.SequenceNumber != 17 || p.Padding ||
		binary.BigEndian.Uint16(p.Payload) != 4321 {
		t.Fatalf("RTX header %+v", p.Header)
	}
	back, ok := rtxDecapsulate(rtx, 0xAAAA, 96)
	o.padding = 0
	if want := mkRTP(t, 4321, o); !ok || !bytes.Equal(back, want) {
		t.Fatalf("decapsulated\n%x\nwant the original without padding\n%x", back, want)
	}
}

func TestRTXDecapsulateRejects(t *testing.T) {
	probe := mkRTP(t, 5, rtpOpts{ssrc: 0xBBBB, pt: 97, padding: 200}) // Chrome's padding probe
	oneByte := mkRTP(t, 6, rtpOpts{ssrc: 0xBBBB, pt: 97, payload: 1})
	for name, p := range map[string][]byte{
		"padding probe": probe, "short payload": oneByte, "truncated": oneByte[:8], "empty": nil,
	} {
		if _, ok := rtxDecapsulate(p, 1, 96); ok {
			t.Errorf("%s: decapsulated", name)
		}
	}
	if _, ok := appendRTX(nil, oneByte[:8], 1, 97, 1); ok {
		t.Error("appendRTX of a truncated packet")
	}
}

func TestRTXNoAllocs(t *testing.T) {
	orig := mkRTP(t, 1, rtpOpts{payload: 1100, ext: map[uint8][]byte{3: {1, 2}}})
	buf := make([]byte, 0, 1500)
	assertNoAllocs(t, "appendRTX and rtxDecapsulate", func() {
		buf, _ = appendRTX(buf[:0], orig, 2, 97, 3)
		rtxDecapsulate(buf, 1, 96)
	})
}

func BenchmarkRTXDecapsulate(b *testing.B) {
	orig := mkRTP(b, 1, rtpOpts{payload: 1100})
	rtx, _ := appendRTX(nil, orig, 2, 97, 3)
	buf := make([]byte, len(rtx))
	b.ReportAllocs()
	for range b.N {
		copy(buf, rtx)
		rtxDecapsulate(buf, 1, 96)
	}
}
