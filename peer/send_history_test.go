package peer

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// collectResends returns an emit function that records copies of the packets.
func collectResends(out *[][]byte) func([]byte) {
	return func(p []byte) { *out = append(*out, append([]byte(nil), p...)) }
}

// fillHistory stores packets first..first+n-1 (1,000-byte payloads) at at(0)
// and returns them by sequence number.
func fillHistory(t *testing.T, h *sendHistory, first uint16, n int, o rtpOpts) map[uint16][]byte {
	t.Helper()
	sent := make(map[uint16][]byte)
	for i := range n {
		seq := first + uint16(i)
		p := mkRTP(t, seq, o)
		if !h.store(p, at(0)) {
			t.Fatalf("store(%d) = false", seq)
		}
		sent[seq] = p
	}
	return sent
}

func TestSendHistoryPlainResend(t *testing.T) {
	h := newSendHistory(sendHistoryConfig{})
	sent := fillHistory(t, h, 65530, 12, rtpOpts{ssrc: 7, pt: 96, payload: 1000}) // wraps to 5
	var got [][]byte
	n := h.resend([]rtcp.NackPair{
		{PacketID: 65531, LostPackets: 0b0101_0101}, // 65532, 65534, 0, 2
		{PacketID: 4},
	}, at(5), collectResends(&got))
	want := []uint16{65531, 65532, 65534, 0, 2, 4}
	if n != len(want) || len(got) != len(want) {
		t.Fatalf("resent %d packets (%d emitted), want %d", n, len(got), len(want))
	}
	for i, seq := range want {
		if !bytes.Equal(got[i], sent[seq]) {
			t.Errorf("retransmission %d is not the original %d", i, seq)
		}
	}
	if h.stats.Resent != 6 || h.stats.Missing != 0 {
		t.Errorf("stats %+v", h.stats)
	}
}

func TestSendHistoryRTX(t *testing.T) {
	h := newSendHistory(sendHistoryConfig{RTX: true, RTXSSRC: 0xBEEF, RTXPayloadType: 97, RTXSeq: 65535})
	o := rtpOpts{
		ssrc: 0xCAFE, pt: 96, ts: 123456, marker: true, payload: 500, padding: 7,
		csrc: []uint32{11, 12}, ext: map[uint8][]byte{3: {1, 2, 3}, 5: {9, 9}},
	}
	sent := fillHistory(t, h, 1000, 3, o)
	var got [][]byte
	h.resend([]rtcp.NackPair{{PacketID: 1000, LostPackets: 0b10}}, at(1), collectResends(&got))
	if len(got) != 2 {
		t.Fatalf("emitted %d packets, want 2", len(got))
	}
	for i, osn := range []uint16{1000, 1002} {
		orig, rtx := parseRTP(t, sent[osn]), parseRTP(t, got[i])
		wantSeq := uint16(65535) + uint16(i) // wraps to 0
		if rtx.SSRC != 0xBEEF || rtx.PayloadType != 97 || rtx.SequenceNumber != wantSeq {
			t.Errorf("rtx %d: ssrc %x pt %d seq %d, want beef 97 %d", i, rtx.SSRC, rtx.PayloadType, rtx.SequenceNumber, wantSeq)
		}
		if !rtx.Marker || rtx.Timestamp != orig.Timestamp || rtx.Padding || len(rtx.CSRC) != 2 {
			t.Errorf("rtx %d header %+v does not keep marker, timestamp, CSRCs or drop padding", i, rtx.Header)
		}
		if !bytes.Equal(rtx.GetExtension(3), []byte{1, 2, 3}) || !bytes.Equal(rtx.GetExtension(5), []byte{9, 9}) {
			t.Errorf("rtx %d lost its header extensions", i)
		}
		if len(rtx.Payload) < 2 || binary.BigEndian.Uint16(rtx.Payload) != osn || !bytes.Equal(rtx.Payload[2:], orig.Payload) {
			t.Errorf("rtx %d payload is not OSN %d + original payload", i, osn)
		}
	}
	if h.rtxSeq != 1 {
		t.Errorf("next RTX seq %d, want 1", h.rtxSeq)
	}
}

func TestSendHistoryMaxAge(t *testing.T) {
	h := newSendHistory(sendHistoryConfig{MaxAge: 500 * time.Millisecond})
	fillHistory(t, h, 1, 1, rtpOpts{payload: 10})
	var got [][]byte
	h.resend([]rtcp.NackPair{{PacketID: 1}}, at(500), collectResends(&got))
	if len(got) != 1 {
		t.Fatalf("a packet exactly MaxAge old was not resent")
	}
	h.resend([]rtcp.NackPair{{PacketID: 1}}, at(501), collectResends(&got))
	if len(got) != 1 || h.stats.Missing != 1 {
		t.Fatalf("a packet older than MaxAge was resent (stats %+v)", h.stats)
	}
}

func TestSendHistoryResendInterval(t *testing.T) {
	h := newSendHistory(sendHistoryConfig{})
	fillHistory(t, h, 1, 1, rtpOpts{payload: 10})
	nack := []rtcp.NackPair{{PacketID: 1}}
	var got [][]byte
	for _, step := range []struct {
		ms   float64
		rtt  time.Duration
		want int
	}{
		{0, 0, 1},
		{9, 0, 1},                      // within defaultMinResendInterval
		{10, 0, 2},                     // interval elapsed
		{40, 50 * time.Millisecond, 2}, // RTT is longer than the minimum
		{60, 50 * time.Millisecond, 3}, // one RTT after the last resend
		{62, 0, 3},                     // minimum applies again without RTT
		{70, 0, 4},
	} {
		h.setRTT(step.rtt)
		h.resend(nack, at(step.ms), collectResends(&got))
		if len(got) != step.want {
			t.Fatalf("at %v ms (rtt %v): %d retransmissions, want %d", step.ms, step.rtt, len(got), step.want)
		}
	}
	if h.stats.Throttled != 3 {
		t.Errorf("throttled %d, want 3", h.stats.Throttled)
	}
}

func TestSendHistoryPerNackCap(t *testing.T) {
	h := newSendHistory(sendHistoryConfig{MaxPerNack: 3})
	fillHistory(t, h, 10, 20, rtpOpts{payload: 10})
	var got [][]byte
	n := h.resend([]rtcp.NackPair{{PacketID: 10, LostPackets: 0xFFFF}}, at(1), collectResends(&got))
	if n != 3 || len(got) != 3 || h.stats.OverCap != 14 {
		t.Fatalf("resent %d, emitted %d, over cap %d; want 3, 3, 14", n, len(got), h.stats.OverCap)
	}
	for i, p := range got {
		if seq := rtpSeq(p); seq != uint16(10+i) {
			t.Errorf("retransmission %d is seq %d, want the first ones in NACK order", i, seq)
		}
	}
	// A missing packet does not use the budget.
	got = got[:0]
	n = h.resend([]rtcp.NackPair{{PacketID: 100}, {PacketID: 20, LostPackets: 0b11}}, at(2), collectResends(&got))
	if n != 3 {
		t.Fatalf("resent %d, want 3", n)
	}
}

func TestSendHistoryRateLimit(t *testing.T) {
	// 24 kbit/s = 3,000 B/s; the bucket holds max(750 B, one packet).
	h := newSendHistory(sendHistoryConfig{ResendRate: 24_000, MaxPacket: 1100})
	fillHistory(t, h, 1, 10, rtpOpts{payload: 988}) // 1,000-byte packets
	var got [][]byte
	h.resend([]rtcp.NackPair{{PacketID: 1, LostPackets: 0b11}}, at(0), collectResends(&got))
	if len(got) != 1 || h.stats.RateLimited != 2 {
		t.Fatalf("emitted %d, rate limited %d; want 1, 2", len(got), h.stats.RateLimited)
	}
	// 200 ms earn 600 B: 702 in the bucket, still short of 1,002.
	h.resend([]rtcp.NackPair{{PacketID: 2}}, at(200), collectResends(&got))
	if len(got) != 1 {
		t.Fatalf("resent before the bucket refilled")
	}
	// 400 ms more earn 1,200 B, capped at the 1,102 B depth.
	h.resend([]rtcp.NackPair{{PacketID: 2, LostPackets: 1}}, at(600), collectResends(&got))
	if len(got) != 2 {
		t.Fatalf("emitted %d after refill, want 2", len(got))
	}
	// A negative rate disables the cap.
	u := newSendHistory(sendHistoryConfig{ResendRate: -1})
	fillHistory(t, u, 1, 10, rtpOpts{payload: 988})
	got = got[:0]
	u.resend([]rtcp.NackPair{{PacketID: 1, LostPackets: 0x1FF}}, at(0), collectResends(&got))
	if len(got) != 10 {
		t.Fatalf("unlimited history resent %d of 10", len(got))
	}
}

func TestSendHistoryArenaWrap(t *testing.T) {
	h := newSendHistory(sendHistoryConfig{Bytes: 3000, MaxPacket: 1200})
	o := rtpOpts{payload: 988}         // 1,000 bytes
	sent := fillHistory(t, h, 1, 4, o) // 4 overwrites 1
	big := mkRTP(t, 5, rtpOpts{payload: 1188})
	h.store(big, at(0)) // at 1,000..2,200: overwrites 2 and 3
	sent[5] = big
	check := func(want ...uint16) {
		t.Helper()
		var got [][]byte
		h.resend([]rtcp.NackPair{{PacketID: 1, LostPackets: 0xFF}}, at(0), collectResends(&got))
		if len(got) != len(want) {
			t.Fatalf("resent %d packets, want %v", len(got), want)
		}
		for i, seq := range want {
			if !bytes.Equal(got[i], sent[seq]) {
				t.Errorf("packet %d is not the original %d", i, seq)
			}
		}
		for i := range h.slots { // allow the next check to resend them again
			h.slots[i].resentAt = 0
		}
	}
	check(4, 5)
	sent[6] = mkRTP(t, 6, rtpOpts{payload: 1188})
	h.store(sent[6], at(0)) // does not fit at 2,200: skips to 0, overwriting 4 and 5
	check(6)
}

func TestSendHistorySlotReuse(t *testing.T) {
	h := newSendHistory(sendHistoryConfig{Slots: 3}) // rounded up to 4
	if len(h.slots) != 4 {
		t.Fatalf("%d slots, want 4", len(h.slots))
	}
	fillHistory(t, h, 1, 5, rtpOpts{payload: 10})
	var got [][]byte
	h.resend([]rtcp.NackPair{{PacketID: 1, LostPackets: 0b1111}}, at(0), collectResends(&got))
	if len(got) != 4 || rtpSeq(got[0]) != 2 || h.stats.Missing != 1 {
		t.Fatalf("emitted %d (first %d), missing %d; want 2..5 and 1 missing", len(got), rtpSeq(got[0]), h.stats.Missing)
	}
}

func TestSendHistoryUnstorable(t *testing.T) {
	h := newSendHistory(sendHistoryConfig{MaxPacket: 200})
	for _, p := range [][]byte{
		mkRTP(t, 1, rtpOpts{payload: 189}),        // 201 bytes
		{0x80, 96, 0, 1},                          // short
		append([]byte{0x40}, make([]byte, 20)...), // version 1
		append([]byte{0xA0}, make([]byte, 20)...), // padding 0
		append([]byte{0x8F}, make([]byte, 20)...), // 15 CSRCs in 21 bytes
	} {
		if h.store(p, at(0)) {
			t.Errorf("stored %x", p)
		}
	}
	if h.stats.Unstorable != 5 || h.stats.Stored != 0 {
		t.Errorf("stats %+v", h.stats)
	}
}

func TestSendHistoryNoAllocs(t *testing.T) {
	h := newSendHistory(sendHistoryConfig{RTX: true, RTXSSRC: 2, RTXPayloadType: 97})
	pkt := mkRTP(t, 0, rtpOpts{payload: 1100, ext: map[uint8][]byte{1: {1, 2}}})
	seq, ms := uint16(0), 0.0
	assertNoAllocs(t, "store", func() {
		seq++
		ms += 5
		binary.BigEndian.PutUint16(pkt[2:], seq)
		h.store(pkt, at(ms))
	})
	pairs := []rtcp.NackPair{{PacketID: seq - 20, LostPackets: 0xFFFF}}
	emitted := 0
	emit := func(p []byte) { emitted += len(p) }
	assertNoAllocs(t, "resend", func() {
		ms += 20
		h.resend(pairs, at(ms), emit)
	})
	if emitted == 0 {
		t.Fatal("nothing was resent")
	}
}

func BenchmarkSendHistoryStore(b *testing.B) {
	h := newSendHistory(sendHistoryConfig{})
	pkt := mkRTP(b, 0, rtpOpts{payload: 1100})
	now := at(0)
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for i := range b.N {
		binary.BigEndian.PutUint16(pkt[2:], uint16(i))
		h.store(pkt, now)
	}
}

func BenchmarkSendHistoryResendRTX(b *testing.B) {
	h := newSendHistory(sendHistoryConfig{RTX: true, RTXSSRC: 2, RTXPayloadType: 97, ResendRate: -1})
	pkt := mkRTP(b, 0, rtpOpts{payload: 1100})
	for i := range 512 {
		binary.BigEndian.PutUint16(pkt[2:], uint16(i))
		h.store(pkt, at(0))
	}
	pairs := []rtcp.NackPair{{PacketID: 100}}
	var n int
	emit := func(p []byte) { n += len(p) }
	b.ReportAllocs()
	for i := range b.N {
		pairs[0].PacketID = uint16(i % 512)
		h.slots[pairs[0].PacketID].resentAt = 0
		h.resend(pairs, at(0), emit)
	}
}

// TestSendHistoryStoreParts: a packet stored as header and payload is
// resent as the joined packet, across the arena's wrap, and a header
// split at the wrong place or padding the payload cannot hold is refused.
func TestSendHistoryStoreParts(t *testing.T) {
	h := newSendHistory(sendHistoryConfig{Bytes: 2500, MaxPacket: 1500})
	sent := make(map[uint16][]byte)
	opts := []rtpOpts{
		{ssrc: 7, payload: 1000},
		{ssrc: 7, payload: 900, padding: 3, csrc: []uint32{1, 2}, ext: map[uint8][]byte{3: {1, 2, 3}}},
		{ssrc: 7, payload: 0, twoByte: true, ext: map[uint8][]byte{200: {9}}},
		{ssrc: 7, payload: 900}, // does not fit at the end: skips to 0, over 10 only
	}
	for i, o := range opts {
		seq := uint16(10 + i)
		p := mkRTP(t, seq, o)
		n, _ := rtpHeaderSize(p)
		if !h.storeParts(p[:n], p[n:], at(0)) {
			t.Fatalf("storeParts(%d) = false", seq)
		}
		sent[seq] = p
	}
	var got [][]byte
	h.resend([]rtcp.NackPair{{PacketID: 11, LostPackets: 0b11}}, at(1), collectResends(&got))
	if len(got) != 3 {
		t.Fatalf("resent %d packets, want 3 (10 was overwritten)", len(got))
	}
	for i, p := range got {
		if want := sent[uint16(11+i)]; !bytes.Equal(p, want) {
			t.Errorf("retransmission of %d: %x, want %x", 11+i, p, want)
		}
	}

	p := mkRTP(t, 20, rtpOpts{payload: 10, csrc: []uint32{1}})
	padded := mkRTP(t, 21, rtpOpts{payload: 2, padding: 4})
	for _, c := range []struct {
		name            string
		header, payload []byte
	}{
		{"header short", p[:12], p[12:]},
		{"header long", p[:17], p[17:]},
		{"padding longer than payload", padded[:12], padded[15:]},
		{"padding without payload", padded[:12], nil},
		{"too large", p[:16], make([]byte, 1500)},
	} {
		if h.storeParts(c.header, c.payload, at(2)) {
			t.Errorf("%s: stored", c.name)
		}
	}
	if h.stats.Unstorable != 5 {
		t.Errorf("stats %+v, want 5 unstorable", h.stats)
	}
	assertNoAllocs(t, "storeParts", func() { h.storeParts(p[:16], p[16:], at(3)) })
}

// TestSendHistoryStoreShared: a packet stored with its payload shared is
// resent whole, plain and as RTX, without the history copying the
// payload (a change to it shows in the retransmission) or allocating
// its arena; a header longer than maxSharedHeader is copied instead, and
// a copy stored over a shared slot releases its payload.
func TestSendHistoryStoreShared(t *testing.T) {
	for _, rtx := range []bool{false, true} {
		h := newSendHistory(sendHistoryConfig{Slots: 8, RTX: rtx, RTXSSRC: 0xBEEF, RTXPayloadType: 97})
		p := mkRTP(t, 100, rtpOpts{ssrc: 5, pt: 96, marker: true, payload: 1000, ext: map[uint8][]byte{3: {1, 2, 3}}})
		n, _ := rtpHeaderSize(p)
		if n > maxSharedHeader {
			t.Fatalf("a %d-byte header: not the case tested", n)
		}
		payload := bytes.Clone(p[n:])
		if !h.storeShared(p[:n], payload, at(0)) {
			t.Fatal("storeShared = false")
		}
		if h.arena != nil {
			t.Error("the arena was allocated for a shared payload")
		}
		payload[0] ^= 0xFF // the history sees the caller's bytes
		p[n] ^= 0xFF
		var got [][]byte
		h.resend([]rtcp.NackPair{{PacketID: 100}}, at(1), collectResends(&got))
		if len(got) != 1 {
			t.Fatalf("rtx %v: resent %d packets, want 1", rtx, len(got))
		}
		if !rtx {
			if !bytes.Equal(got[0], p) {
				t.Errorf("plain retransmission %x, want %x", got[0][:16], p[:16])
			}
		} else {
			r := parseRTP(t, got[0])
			if r.SSRC != 0xBEEF || !r.Marker || binary.BigEndian.Uint16(r.Payload) != 100 || !bytes.Equal(r.Payload[2:], payload) {
				t.Errorf("RTX retransmission %+v is not of the shared packet", r.Header)
			}
		}

		// Slot 100&7 again: a copy releases the shared payload.
		q := mkRTP(t, 108, rtpOpts{ssrc: 5, payload: 10})
		if !h.store(q, at(2)) || h.payloads[108&h.mask] != nil {
			t.Error("a copy over a shared slot kept its payload")
		}
	}

	h := newSendHistory(sendHistoryConfig{})
	long := mkRTP(t, 7, rtpOpts{payload: 50, csrc: []uint32{1, 2, 3, 4}})
	n, _ := rtpHeaderSize(long)
	payload := bytes.Clone(long[n:])
	if n <= maxSharedHeader || !h.storeShared(long[:n], payload, at(0)) {
		t.Fatalf("a %d-byte header not stored", n)
	}
	payload[0] ^= 0xFF
	var got [][]byte
	h.resend([]rtcp.NackPair{{PacketID: 7}}, at(1), collectResends(&got))
	if len(got) != 1 || !bytes.Equal(got[0], long) {
		t.Error("a long header's packet was not copied whole")
	}
}

func TestSendHistorySharedNoAllocs(t *testing.T) {
	h := newSendHistory(sendHistoryConfig{RTX: true, RTXSSRC: 2, RTXPayloadType: 97})
	pkt := mkRTP(t, 0, rtpOpts{payload: 1100, ext: map[uint8][]byte{1: {1, 2}}})
	n, _ := rtpHeaderSize(pkt)
	seq, ms := uint16(0), 0.0
	h.storeShared(pkt[:n], pkt[n:], at(ms)) // allocates the payload index
	assertNoAllocs(t, "storeShared", func() {
		seq++
		ms += 5
		binary.BigEndian.PutUint16(pkt[2:], seq)
		h.storeShared(pkt[:n], pkt[n:], at(ms))
	})
	emitted := 0
	h.resend([]rtcp.NackPair{{PacketID: seq}}, at(ms+20), func(p []byte) { emitted++ }) // allocates joined
	pairs := []rtcp.NackPair{{PacketID: seq - 20, LostPackets: 0xFFFF}}
	assertNoAllocs(t, "resend", func() {
		ms += 20
		h.resend(pairs, at(ms), func(p []byte) { emitted++ })
	})
	if emitted < 2 {
		t.Fatal("nothing was resent")
	}
}

// TestSendHistoryFreshFirst: packets never resent take the per-NACK
// budget before packets NACKed again (as pion's NACK generator does for
// packets repaired through RTX, pion/interceptor#320), though these come
// first in the NACK; a repeat is resent with what is left.
func TestSendHistoryFreshFirst(t *testing.T) {
	h := newSendHistory(sendHistoryConfig{MaxPerNack: 5})
	fillHistory(t, h, 10, 20, rtpOpts{payload: 10})
	var got [][]byte
	if n := h.resend([]rtcp.NackPair{{PacketID: 10, LostPackets: 0b1111}}, at(1), collectResends(&got)); n != 5 {
		t.Fatalf("first NACK: %d resent, want 5", n)
	}
	got = got[:0]
	// 10-14 again, and 15-26 for the first time.
	h.resend([]rtcp.NackPair{{PacketID: 10, LostPackets: 0xFFFF}}, at(100), collectResends(&got))
	var seqs []uint16
	for _, p := range got {
		seqs = append(seqs, rtpSeq(p))
	}
	if want := []uint16{15, 16, 17, 18, 19}; !slices.Equal(seqs, want) {
		t.Fatalf("second NACK resent %v, want %v: the packets lost for the first time", seqs, want)
	}
	got = got[:0]
	h.resend([]rtcp.NackPair{{PacketID: 10, LostPackets: 0b11}}, at(200), collectResends(&got))
	if len(got) != 3 || rtpSeq(got[0]) != 10 {
		t.Fatalf("a third NACK of 10-12 alone resent %d packets, want the 3", len(got))
	}
	if h.stats.Throttled != 0 {
		t.Errorf("%d throttled: the first pass's packets were counted again in the second", h.stats.Throttled)
	}
}
