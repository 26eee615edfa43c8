package peer

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"testing"
	"time"
)

// reorderRig pushes test packets and records the emitted sequence numbers.
type reorderRig struct {
	t    *testing.T
	r    *reorderBuffer
	out  []uint16
	sent map[uint16][]byte
}

func newReorderRig(t *testing.T, cfg reorderConfig) *reorderRig {
	return &reorderRig{t: t, r: newReorderBuffer(cfg), sent: map[uint16][]byte{}}
}

func (g *reorderRig) emit(p []byte) {
	seq := rtpSeq(p)
	if want := g.sent[seq]; !bytes.Equal(p, want) {
		g.t.Errorf("emitted packet %d differs from the one pushed", seq)
	}
	g.out = append(g.out, seq)
}

// push pushes seq at ms and checks the result.
func (g *reorderRig) push(ms float64, seq uint16, want reorderResult) {
	g.t.Helper()
	p := mkRTP(g.t, seq, rtpOpts{payload: 20 + int(seq%7)})
	g.sent[seq] = p
	if got := g.r.push(p, at(ms), g.emit); got != want {
		g.t.Fatalf("push(%d) at %v ms = %d, want %d", seq, ms, got, want)
	}
}

// expect checks the packets emitted since the last call.
func (g *reorderRig) expect(want ...uint16) {
	g.t.Helper()
	if len(g.out) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(g.out, want) {
		g.t.Fatalf("emitted %v, want %v", g.out, want)
	}
	g.out = g.out[:0]
}

func TestReorderInOrderNoCopy(t *testing.T) {
	r := newReorderBuffer(reorderConfig{})
	pkt := mkRTP(t, 7, rtpOpts{payload: 100})
	var got []byte
	if res := r.push(pkt, at(0), func(p []byte) { got = p }); res != reorderEmitted {
		t.Fatalf("push = %d", res)
	}
	if &got[0] != &pkt[0] || len(got) != len(pkt) {
		t.Fatal("an in-order packet was copied")
	}
	if _, ok := r.deadline(); ok {
		t.Fatal("deadline with nothing buffered")
	}
}

func TestReorderSwap(t *testing.T) {
	g := newReorderRig(t, reorderConfig{})
	g.push(0, 1, reorderEmitted)
	g.push(1, 3, reorderBuffered)
	g.push(2, 4, reorderBuffered)
	g.push(2, 4, reorderDuplicate)
	g.expect(1)
	if d, ok := g.r.deadline(); !ok || d != at(1+150) {
		t.Fatalf("deadline %v %v, want 151 ms", time.Duration(d-at(0)), ok)
	}
	g.push(3, 2, reorderEmitted)
	g.expect(2, 3, 4)
	g.push(4, 2, reorderLate)
	g.push(4, 5, reorderEmitted)
	g.expect(5)
	if s := g.r.stats; s.InOrder != 3 || s.Reordered != 2 || s.Late != 1 || s.Duplicates != 1 || s.Skipped != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestReorderAwaits: the window awaits the packets ahead of it and those
// of its holes, not the ones it buffered, emitted or skipped, nor a jump,
// and asking changes nothing.
func TestReorderAwaits(t *testing.T) {
	g := newReorderRig(t, reorderConfig{MaxDelay: 100 * time.Millisecond})
	if !g.r.awaits(40000) {
		t.Error("an empty window does not await its first packet")
	}
	g.push(0, 1, reorderEmitted)
	g.push(1, 3, reorderBuffered)
	g.push(1, 6, reorderBuffered)
	g.expect(1)
	for seq, want := range map[uint16]bool{0: false, 1: false, 2: true, 3: false, 4: true, 5: true, 6: false, 7: true, 100: true, 20000: false} {
		if got := g.r.awaits(seq); got != want {
			t.Errorf("awaits(%d) = %v, want %v", seq, got, want)
		}
	}
	g.r.poll(at(101), g.emit) // skips 2, then 4 and 5
	g.expect(3, 6)
	for seq, want := range map[uint16]bool{2: false, 5: false, 6: false, 7: true} {
		if got := g.r.awaits(seq); got != want {
			t.Errorf("after the skips, awaits(%d) = %v, want %v", seq, got, want)
		}
	}
	g.push(203, 7, reorderEmitted)
	g.expect(7)
}

func TestReorderTimeout(t *testing.T) {
	g := newReorderRig(t, reorderConfig{MaxDelay: 100 * time.Millisecond})
	g.push(0, 1, reorderEmitted)
	g.push(10, 3, reorderBuffered) // hole 2 waits from 10 ms
	g.push(50, 5, reorderBuffered) // hole 4 will wait from 50 ms
	g.r.poll(at(109.999), g.emit)
	g.expect(1)
	g.r.poll(at(110), g.emit)
	g.expect(3)
	if d, _ := g.r.deadline(); d != at(150) {
		t.Fatalf("next deadline %v, want 150 ms", time.Duration(d-at(0)))
	}
	g.push(120, 2, reorderLate)
	g.push(130, 4, reorderEmitted)
	g.expect(4, 5)
	// Two expired holes go in one poll.
	g.push(200, 7, reorderBuffered)
	g.push(200, 9, reorderBuffered)
	g.r.poll(at(400), g.emit)
	g.expect(7, 9)
	if s := g.r.stats; s.Skipped != 3 || s.Late != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestReorderWindowFull(t *testing.T) {
	g := newReorderRig(t, reorderConfig{Slots: 3}) // rounded up to 4
	g.push(0, 1, reorderEmitted)
	g.push(0, 3, reorderBuffered)
	g.push(0, 4, reorderBuffered)
	g.push(0, 5, reorderBuffered) // window is 2..5
	g.push(0, 6, reorderEmitted)  // 2 is given up for room
	g.expect(1, 3, 4, 5, 6)
	// A jump beyond the window skips what cannot fit, and waits for the
	// packets that still can (997..999) as usual.
	g.push(0, 1000, reorderBuffered)
	g.push(1, 998, reorderBuffered)
	g.expect()
	g.r.poll(at(150), g.emit)
	g.expect(998, 1000)
	if s := g.r.stats; s.Skipped != 1+990+1+1 {
		t.Errorf("skipped %d, want 993", s.Skipped)
	}
}

func TestReorderWrap(t *testing.T) {
	g := newReorderRig(t, reorderConfig{})
	g.push(0, 65534, reorderEmitted)
	g.push(0, 0, reorderBuffered)
	g.push(0, 1, reorderBuffered)
	g.push(0, 65535, reorderEmitted)
	g.expect(65534, 65535, 0, 1)
}

func TestReorderRestart(t *testing.T) {
	g := newReorderRig(t, reorderConfig{})
	g.push(0, 10, reorderEmitted)
	g.push(0, 12, reorderBuffered)
	g.push(0, 40000, reorderDropped) // a jump, not yet a restart
	g.expect(10)
	g.push(0, 40001, reorderEmitted) // confirmed: 12 is flushed first
	g.expect(12, 40001)
	g.push(0, 40003, reorderBuffered)
	g.push(0, 40002, reorderEmitted)
	g.expect(40002, 40003)
	g.push(0, 11, reorderDropped) // the old numbering is a jump now
}

func TestReorderOversizeAndMalformed(t *testing.T) {
	r := newReorderBuffer(reorderConfig{MaxPacket: 100})
	big := func(seq uint16) []byte { return mkRTP(t, seq, rtpOpts{payload: 200}) }
	n := 0
	emit := func([]byte) { n++ }
	if res := r.push(big(1), at(0), emit); res != reorderEmitted || n != 1 {
		t.Fatalf("in-order large packet: %d", res)
	}
	if res := r.push(big(3), at(0), emit); res != reorderDropped {
		t.Fatalf("out-of-order large packet: %d", res)
	}
	for _, p := range [][]byte{nil, {0x80, 1, 2}, append([]byte{0x00}, make([]byte, 20)...)} {
		if res := r.push(p, at(0), emit); res != reorderDropped {
			t.Errorf("push(%x) = %d", p, res)
		}
	}
}

func TestReorderNoAllocs(t *testing.T) {
	r := newReorderBuffer(reorderConfig{MaxDelay: 20 * time.Millisecond})
	pkts := make([][]byte, 8)
	for i := range pkts {
		pkts[i] = mkRTP(t, 0, rtpOpts{payload: 1000})
	}
	order := []int{0, 2, 1, 3, 5, 6, 7} // 4 is lost
	base, ms, n := uint16(0), 0.0, 0
	emit := func([]byte) { n++ }
	assertNoAllocs(t, "push and poll", func() {
		for _, i := range order {
			ms++
			binary.BigEndian.PutUint16(pkts[i][2:], base+uint16(i))
			r.push(pkts[i], at(ms), emit)
		}
		ms += 25
		r.poll(at(ms), emit)
		base += 8
	})
	if n == 0 || r.stats.Skipped == 0 || r.stats.Reordered == 0 {
		t.Fatalf("stats %+v", r.stats)
	}
}

func BenchmarkReorderPush(b *testing.B) {
	for _, bc := range []struct {
		name string
		swap bool
	}{{"InOrder", false}, {"Swapped", true}} {
		b.Run(bc.name, func(b *testing.B) {
			r := newReorderBuffer(reorderConfig{})
			pkt := mkRTP(b, 0, rtpOpts{payload: 1100})
			n := 0
			emit := func([]byte) { n++ }
			b.ReportAllocs()
			for i := range b.N {
				seq := uint16(i)
				if bc.swap { // every pair arrives swapped
					seq ^= 1
				}
				binary.BigEndian.PutUint16(pkt[2:], seq)
				r.push(pkt, at(0), emit)
			}
		})
	}
}
