package peer

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// TestTWCCPionVector reproduces "example1" of pion/rtcp's
// TestTransportLayerCC_Unmarshal: one packet, reference time 4,057,090,
// a 37 ms delta, feedback count 23.
func TestTWCCPionVector(t *testing.T) {
	r := newTWCCRecorder(0xfa17fa17)
	r.fbCount = 23
	now := monotime(4057090*twccRefTick + 37*time.Millisecond)
	r.record(0x43032fa0, 153, now)
	got := r.appendFeedback(nil, now)
	want := []byte{
		0xaf, 0xcd, 0x0, 0x5,
		0xfa, 0x17, 0xfa, 0x17,
		0x43, 0x3, 0x2f, 0xa0,
		0x0, 0x99, 0x0, 0x1,
		0x3d, 0xe8, 0x2, 0x17,
		0x20, 0x1, 0x94, 0x1,
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("feedback\n%x\nwant\n%x", got, want)
	}
}

func TestTWCCChunker(t *testing.T) {
	N, S, L := twccNotReceived, twccSmallDelta, twccLargeDelta
	for _, c := range []struct {
		name string
		syms []uint8
		want []uint16 // emitted chunks, then the last one
	}{
		{"8191 lost", bytes.Repeat([]byte{N}, 8191), []uint16{0x1FFF}},
		{"8192 lost", bytes.Repeat([]byte{N}, 8192), []uint16{0x1FFF, 0x0001}},
		{"14 small then large", append(bytes.Repeat([]byte{S}, 14), L), []uint16{0x200E, 0x4001}},
		{"1-bit vector", []uint8{S, N, S, N, S, N, S, N, S, N, S, N, S, N, S}, []uint16{0xAAAA, 0x2001}},
		{"2-bit vector", []uint8{L, S, S, S, S, S, S, S}, []uint16{0xE555, 0x2001}},
		{"run then large", []uint8{S, S, S, S, S, S, S, L}, []uint16{0x2007, 0x4001}},
		{"large splits a 1-bit run", []uint8{N, S, N, S, N, S, N, S, L}, []uint16{0xC444, 0xD800}},
		{"short mixed", []uint8{S, L, N}, []uint16{0xD800}},
		{"9 mixed", []uint8{S, N, S, N, S, N, S, N, S}, []uint16{0xAAA0}},
	} {
		var ch twccChunker
		var got []uint16
		for _, s := range c.syms {
			if !ch.canAdd(s) {
				got = append(got, ch.emit())
			}
			ch.add(s)
		}
		got = append(got, ch.last())
		if len(got) != len(c.want) {
			t.Errorf("%s: chunks %04x, want %04x", c.name, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: chunks %04x, want %04x", c.name, got, c.want)
				break
			}
		}
	}
}

// decodedPacket is one packet's status in a feedback packet.
type decodedPacket struct {
	seq      uint16
	received bool
	at       time.Duration // reference time plus deltas
}

// decodeFeedback parses buf with pion/rtcp and expands every feedback
// packet in it into per-packet statuses.
func decodeFeedback(t testing.TB, buf []byte) (out []decodedPacket, fbs []*rtcp.TransportLayerCC) {
	t.Helper()
	pkts, err := rtcp.Unmarshal(buf)
	if err != nil {
		t.Fatalf("pion cannot parse the feedback %x: %v", buf, err)
	}
	for _, p := range pkts {
		fb, ok := p.(*rtcp.TransportLayerCC)
		if !ok {
			t.Fatalf("%T in the feedback", p)
		}
		if fb.MarshalSize() > twccMaxFeedbackBytes {
			t.Errorf("feedback of %d bytes", fb.MarshalSize())
		}
		fbs = append(fbs, fb)
		var syms []uint16
		for _, c := range fb.PacketChunks {
			switch c := c.(type) {
			case *rtcp.RunLengthChunk:
				for range c.RunLength {
					syms = append(syms, c.PacketStatusSymbol)
				}
			case *rtcp.StatusVectorChunk:
				syms = append(syms, c.SymbolList...)
			}
		}
		if len(syms) < int(fb.PacketStatusCount) {
			t.Fatalf("%d statuses for a count of %d", len(syms), fb.PacketStatusCount)
		}
		ref := time.Duration(fb.ReferenceTime) * twccRefTick
		d := 0
		for i := range int(fb.PacketStatusCount) {
			dp := decodedPacket{seq: fb.BaseSequenceNumber + uint16(i)}
			if syms[i] == rtcp.TypeTCCPacketReceivedSmallDelta || syms[i] == rtcp.TypeTCCPacketReceivedLargeDelta {
				ref += time.Duration(fb.RecvDeltas[d].Delta) * time.Microsecond
				d++
				dp.received, dp.at = true, ref
			}
			out = append(out, dp)
		}
	}
	return out, fbs
}

// TestTWCCRoundTrip records a lossy, reordered, jittery stream across
// several feedback intervals and checks that pion decodes exactly what
// was recorded, each arrival within half a delta tick.
func TestTWCCRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	r := newTWCCRecorder(1)
	arrivals := map[uint16]time.Duration{} // first arrival
	lastReport := map[uint16]decodedPacket{}
	seq := uint16(65000) // wraps
	ms := 0.0
	var buf []byte
	for round := range 40 {
		var late []uint16
		for range 50 + rng.IntN(100) {
			seq++
			ms += rng.Float64() * 3
			switch x := rng.IntN(100); {
			case x < 5: // lost
				continue
			case x < 10: // arrives after the next feedback
				late = append(late, seq)
				continue
			}
			r.record(7, seq, at(ms))
			arrivals[seq] = time.Duration(at(ms))
		}
		buf = r.appendFeedback(buf[:0], at(ms))
		dec, _ := decodeFeedback(t, buf)
		for _, p := range dec {
			if p.received {
				want, ok := arrivals[p.seq]
				if !ok {
					t.Fatalf("round %d: %d reported received, never recorded", round, p.seq)
				}
				if d := p.at - want; d < -twccDeltaTick/2 || d > twccDeltaTick/2 {
					t.Fatalf("round %d: %d arrival %v, recorded %v", round, p.seq, p.at, want)
				}
			} else if _, ok := arrivals[p.seq]; ok {
				t.Fatalf("round %d: %d reported lost, was recorded", round, p.seq)
			}
			lastReport[p.seq] = p
		}
		for _, s := range late {
			ms += 1
			r.record(7, s, at(ms))
			arrivals[s] = time.Duration(at(ms))
		}
	}
	if buf = r.appendFeedback(buf[:0], at(ms)); len(buf) > 0 {
		dec, _ := decodeFeedback(t, buf)
		for _, p := range dec {
			lastReport[p.seq] = p
		}
	}
	for s := range arrivals {
		if p, ok := lastReport[s]; !ok || !p.received {
			t.Fatalf("%d was recorded but its last report is %+v", s, p)
		}
	}
	if r.stats.Recorded != uint64(len(arrivals)) || r.fbCount != uint8(r.stats.Feedbacks) {
		t.Errorf("stats %+v, fb count %d", r.stats, r.fbCount)
	}
}

func TestTWCCLatePacket(t *testing.T) {
	r := newTWCCRecorder(1)
	for _, s := range []uint16{65534, 65535, 1} {
		r.record(1, s, at(float64(s%10)))
	}
	dec, fbs := decodeFeedback(t, r.appendFeedback(nil, at(10)))
	if fbs[0].BaseSequenceNumber != 65534 || len(dec) != 4 || dec[2].received {
		t.Fatalf("first feedback %+v", dec)
	}
	r.record(1, 0, at(11)) // reported lost, arrives now
	r.record(1, 2, at(12))
	dec, fbs = decodeFeedback(t, r.appendFeedback(nil, at(20)))
	if fbs[0].BaseSequenceNumber != 0 || fbs[0].FbPktCount != 1 || len(dec) != 3 || !dec[0].received || !dec[1].received {
		t.Fatalf("second feedback %+v", dec)
	}
	r.record(1, 2, at(13)) // duplicate
	if out := r.appendFeedback(nil, at(30)); len(out) != 0 || r.stats.Duplicates != 1 {
		t.Fatalf("a duplicate produced feedback %x", out)
	}
	r.record(1, uint16(65536+2-twccWindow), at(14))
	if r.stats.TooOld != 1 {
		t.Fatalf("a packet behind the window was recorded")
	}
	// Feedback never reaches back further than the window.
	r.record(1, 10, at(15))
	r.record(1, 5000, at(16))
	_, fbs = decodeFeedback(t, r.appendFeedback(nil, at(20)))
	if fbs[0].BaseSequenceNumber != 5000-twccWindow+1 {
		t.Fatalf("feedback starts at %d, want %d", fbs[0].BaseSequenceNumber, 5000-twccWindow+1)
	}
}

func TestTWCCSplits(t *testing.T) {
	r := newTWCCRecorder(1)
	// A 10 s pause needs a new reference time: two packets in one call.
	r.record(1, 10, at(0))
	r.record(1, 11, at(10000))
	dec, fbs := decodeFeedback(t, r.appendFeedback(nil, at(10000)))
	if len(fbs) != 2 || len(dec) != 2 || fbs[1].BaseSequenceNumber != 11 {
		t.Fatalf("pause: %d feedbacks, %+v", len(fbs), dec)
	}
	// Alternating loss with large deltas (-10 ms each, reordered arrival)
	// fills more than one packet.
	for i := range 900 {
		r.record(1, uint16(100+2*i), at(20000-10*float64(i)))
	}
	dec, fbs = decodeFeedback(t, r.appendFeedback(nil, at(20000)))
	if len(fbs) < 2 {
		t.Fatalf("%d feedback packets for 1,799 statuses with 900 large deltas", len(fbs))
	}
	next := uint16(12)
	for _, p := range dec {
		if p.seq != next {
			t.Fatalf("feedback skips from %d to %d", next, p.seq)
		}
		next++
		if p.received != (p.seq%2 == 0 && p.seq >= 100) {
			t.Fatalf("%d received=%v", p.seq, p.received)
		}
	}
	if next != 100+2*899+1 {
		t.Fatalf("feedback ends at %d", next)
	}
}

func TestTWCCDue(t *testing.T) {
	r := newTWCCRecorder(1)
	if r.due(at(0)) {
		t.Fatal("due with nothing recorded")
	}
	r.record(1, 1, at(0))
	r.appendFeedback(nil, at(0))
	r.record(1, 2, at(1))
	if r.due(at(99)) || !r.due(at(100)) {
		t.Fatal("not due after exactly the interval")
	}
	for i := range twccMaxPending {
		r.record(1, uint16(3+i), at(2))
	}
	if !r.due(at(2)) {
		t.Fatal("not due with many packets pending")
	}
}

func TestTWCCSeq(t *testing.T) {
	pkt := mkRTP(t, 1, rtpOpts{payload: 10, ext: map[uint8][]byte{3: {0x12, 0x34}, 5: {1}}})
	if s, ok := twccSeq(pkt, 3); !ok || s != 0x1234 {
		t.Fatalf("twccSeq = %#x %v", s, ok)
	}
	if _, ok := twccSeq(pkt, 5); ok {
		t.Fatal("a 1-byte extension read as a sequence number")
	}
	if _, ok := twccSeq(pkt, 4); ok {
		t.Fatal("absent extension found")
	}
}

func TestTWCCNoAllocs(t *testing.T) {
	r := newTWCCRecorder(1)
	buf := make([]byte, 0, 16<<10)
	seq, ms := uint16(0), 0.0
	assertNoAllocs(t, "record and appendFeedback", func() {
		for i := range 100 {
			seq++
			ms += 0.7
			if i%17 != 0 {
				r.record(5, seq, at(ms))
			}
		}
		buf = r.appendFeedback(buf[:0], at(ms))
	})
	if len(buf) == 0 {
		t.Fatal("no feedback")
	}
}

func BenchmarkTWCCRecord(b *testing.B) {
	r := newTWCCRecorder(1)
	buf := make([]byte, 0, 16<<10)
	now := at(0)
	b.ReportAllocs()
	for i := range b.N {
		r.record(5, uint16(i), now)
		if i%100 == 99 {
			buf = r.appendFeedback(buf[:0], now)
			now = now.add(50 * time.Millisecond)
		}
	}
}

func BenchmarkTWCCFeedback100(b *testing.B) {
	r := newTWCCRecorder(1)
	buf := make([]byte, 0, 16<<10)
	now := at(0)
	b.ReportAllocs()
	for i := range b.N {
		b.StopTimer()
		for j := range 100 {
			if j%20 != 0 {
				r.record(5, uint16(i*100+j), now.add(time.Duration(j)*time.Millisecond))
			}
		}
		b.StartTimer()
		buf = r.appendFeedback(buf[:0], now)
		now = now.add(100 * time.Millisecond)
	}
}
