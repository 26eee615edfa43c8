package peer

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

func TestKeyframeLimiter(t *testing.T) {
	l := newKeyframeLimiter(0)
	steps := []struct {
		ms      float64
		op      string // "req", "poll", "kf"
		want    bool
		pending bool
	}{
		{0, "req", true, false},      // first passes
		{100, "req", false, true},    // held
		{500, "req", false, true},    // merged with the held one
		{999, "poll", false, true},   // not yet
		{1000, "poll", true, false},  // passed one interval after the last
		{1000, "poll", false, false}, // only once
		{1500, "req", false, true},
		{1700, "kf", false, false}, // a key frame arrived: nothing to send
		{2000, "poll", false, false},
		{2100, "req", true, false}, // interval passed: at once
		{3100, "req", true, false},
	}
	for _, s := range steps {
		var got bool
		switch s.op {
		case "req":
			got = l.request(at(s.ms))
		case "poll":
			got = l.poll(at(s.ms))
		case "kf":
			l.keyframeArrived()
		}
		if got != s.want || l.pending != s.pending {
			t.Fatalf("%s at %v ms: %v (pending %v), want %v (pending %v)", s.op, s.ms, got, l.pending, s.want, s.pending)
		}
	}
	l.request(at(3200))
	if d, ok := l.deadline(); !ok || d != at(4100) {
		t.Fatalf("deadline %v %v, want 4100 ms", time.Duration(d-at(0)), ok)
	}
}

func TestAppendPLI(t *testing.T) {
	got := appendPLI([]byte{1}, 0x11223344, 0x55667788)
	want, _ := rtcp.PictureLossIndication{SenderSSRC: 0x11223344, MediaSSRC: 0x55667788}.Marshal()
	if !bytes.Equal(got, append([]byte{1}, want...)) {
		t.Fatalf("PLI %x, want 01%x", got, want)
	}
}

func TestAppendFIR(t *testing.T) {
	var f firCounter
	fir := func(repeat bool) *rtcp.FullIntraRequest {
		t.Helper()
		b := f.appendFIR(nil, 7, 0xCAFE, repeat)
		pkts, err := rtcp.Unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		p := pkts[0].(*rtcp.FullIntraRequest)
		want, _ := p.Marshal()
		if !bytes.Equal(b, want) || p.SenderSSRC != 7 || p.MediaSSRC != 0 || len(p.FIR) != 1 || p.FIR[0].SSRC != 0xCAFE {
			t.Fatalf("FIR %x decodes to %+v", b, p)
		}
		return p
	}
	if s := fir(true).FIR[0].SequenceNumber; s != 0 {
		t.Fatalf("first FIR (a repeat of nothing) seq %d", s)
	}
	if s := fir(true).FIR[0].SequenceNumber; s != 0 {
		t.Fatalf("repeated FIR seq %d, want 0", s)
	}
	if s := fir(false).FIR[0].SequenceNumber; s != 1 {
		t.Fatalf("new FIR seq %d, want 1", s)
	}
	f.next = 255
	if s := fir(false).FIR[0].SequenceNumber; s != 255 {
		t.Fatalf("seq %d", s)
	}
	if s := fir(false).FIR[0].SequenceNumber; s != 0 {
		t.Fatalf("seq %d after 255, want 0", s)
	}
}
