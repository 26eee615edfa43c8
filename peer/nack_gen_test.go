package peer

import (
	"reflect"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// pushAll pushes seqs at now and returns the union of the signals.
func pushAll(g *nackGenerator, now monotime, seqs ...uint16) nackSignal {
	var s nackSignal
	for _, q := range seqs {
		s |= g.push(q, now)
	}
	return s
}

// wantPairs checks the pairs appendPairs returns at now.
func wantPairs(t *testing.T, g *nackGenerator, now monotime, want ...rtcp.NackPair) {
	t.Helper()
	got := g.appendPairs(nil, now)
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("at %v: pairs %+v, want %+v", time.Duration(now-at(0)), got, want)
	}
}

func TestNackGeneratorPairs(t *testing.T) {
	g := newNackGenerator(nackGenConfig{})
	if s := pushAll(g, at(0), 1, 2); s != 0 {
		t.Fatalf("in-order packets signalled %b", s)
	}
	if s := g.push(5, at(1)); s != nackLoss {
		t.Fatalf("gap signalled %b, want nackLoss", s)
	}
	wantPairs(t, g, at(1), rtcp.NackPair{PacketID: 3, LostPackets: 0b1})
	wantPairs(t, g, at(50)) // within the default RTT
	wantPairs(t, g, at(101), rtcp.NackPair{PacketID: 3, LostPackets: 0b1})
	if s := g.push(3, at(160)); s != nackRecovered {
		t.Fatalf("late packet signalled %b, want nackRecovered", s)
	}
	if g.srtt != 0 {
		t.Fatalf("a packet NACKed twice gave an RTT sample (Karn's rule)")
	}
	wantPairs(t, g, at(201), rtcp.NackPair{PacketID: 4})
	g.setRTT(20 * time.Millisecond)
	wantPairs(t, g, at(215))
	wantPairs(t, g, at(221), rtcp.NackPair{PacketID: 4})
	g.setRTT(time.Millisecond) // the minimum interval applies
	wantPairs(t, g, at(230))
	wantPairs(t, g, at(231), rtcp.NackPair{PacketID: 4})
	if g.stats.Nacked != 7 || g.stats.Recovered != 1 || g.missing() != 1 {
		t.Errorf("stats %+v, missing %d", g.stats, g.missing())
	}
}

func TestNackGeneratorMeasuredRTT(t *testing.T) {
	g := newNackGenerator(nackGenConfig{})
	pushAll(g, at(0), 1, 3, 5) // missing 2 and 4
	wantPairs(t, g, at(0), rtcp.NackPair{PacketID: 2, LostPackets: 0b10})
	g.push(2, at(40)) // NACKed once: a 40 ms sample
	if g.srtt != 40*time.Millisecond {
		t.Fatalf("srtt %v after one 40 ms sample", g.srtt)
	}
	wantPairs(t, g, at(39.9))
	wantPairs(t, g, at(40), rtcp.NackPair{PacketID: 4}) // retried after the measured RTT
	pushAll(g, at(50), 7)                               // missing 6
	wantPairs(t, g, at(50), rtcp.NackPair{PacketID: 6})
	g.push(6, at(50+8)) // 8 ms: srtt 40 + (8-40)/8 = 36 ms
	if g.srtt != 36*time.Millisecond {
		t.Fatalf("srtt %v, want 36ms", g.srtt)
	}
	g.setRTT(5 * time.Millisecond) // a set RTT wins over the measured one
	if g.retryRTT() != 5*time.Millisecond {
		t.Fatal("setRTT ignored")
	}
	g.setRTT(0)
	if g.retryRTT() != 36*time.Millisecond {
		t.Fatal("setRTT(0) did not return to the measured RTT")
	}
}

func TestNackGeneratorPacking(t *testing.T) {
	g := newNackGenerator(nackGenConfig{})
	pushAll(g, at(0), 65530, 65531, 9, 11) // missing 65532..8 (13 packets) and 10
	wantPairs(t, g, at(0),
		rtcp.NackPair{PacketID: 65532, LostPackets: 0b10_1111_1111_1111}, // 65533..8, 10
	)
	pushAll(g, at(0), 40) // missing 12..39: 28 packets
	wantPairs(t, g, at(0),
		rtcp.NackPair{PacketID: 12, LostPackets: 0xFFFF},
		rtcp.NackPair{PacketID: 29, LostPackets: 0b11_1111_1111},
	)
}

func TestNackGeneratorMaxPairs(t *testing.T) {
	g := newNackGenerator(nackGenConfig{MaxPairs: 2})
	pushAll(g, at(0), 1, 3, 30, 60) // missing 2, 4..29, 31..59
	wantPairs(t, g, at(0),
		rtcp.NackPair{PacketID: 2, LostPackets: 0xFFFE},  // 4..18
		rtcp.NackPair{PacketID: 19, LostPackets: 0xFBFF}, // 20..29, 31..35
	)
	wantPairs(t, g, at(0), rtcp.NackPair{PacketID: 36, LostPackets: 0xFFFF}, rtcp.NackPair{PacketID: 53, LostPackets: 0x3F})
	wantPairs(t, g, at(0))
}

func TestNackGeneratorGiveUp(t *testing.T) {
	g := newNackGenerator(nackGenConfig{MaxRetries: 2, MaxAge: 300 * time.Millisecond})
	pushAll(g, at(0), 1, 3)
	wantPairs(t, g, at(0), rtcp.NackPair{PacketID: 2})
	wantPairs(t, g, at(100), rtcp.NackPair{PacketID: 2})
	wantPairs(t, g, at(200)) // two NACKs sent: given up
	if g.stats.GaveUpTries != 1 || g.missing() != 0 {
		t.Fatalf("stats %+v", g.stats)
	}
	pushAll(g, at(250), 5)
	wantPairs(t, g, at(250), rtcp.NackPair{PacketID: 4})
	wantPairs(t, g, at(550.001)) // missing longer than MaxAge
	if g.stats.GaveUpAge != 1 {
		t.Fatalf("stats %+v", g.stats)
	}
	if g.push(4, at(600)) != 0 {
		t.Error("a packet given up was reported recovered")
	}
}

func TestNackGeneratorFarBehind(t *testing.T) {
	g := newNackGenerator(nackGenConfig{MaxMissing: 2000})
	pushAll(g, at(0), 1, 3)
	for s := uint16(4); s <= 3+seqMaxMisorder+1; s++ {
		g.push(s, at(0))
	}
	wantPairs(t, g, at(1)) // 2 is now 1,502 behind: a retransmission would look like a jump
	if g.stats.GaveUpAge != 1 {
		t.Fatalf("stats %+v", g.stats)
	}
}

func TestNackGeneratorKeyFrame(t *testing.T) {
	g := newNackGenerator(nackGenConfig{MaxMissing: 4})
	pushAll(g, at(0), 1, 4) // missing 2, 3
	if s := g.push(7, at(0)); s != nackLoss {
		t.Fatalf("gap into a full list signalled %b", s)
	}
	if s := g.push(9, at(0)); s != nackLoss|nackKeyframe {
		t.Fatalf("overflow signalled %b, want loss and key frame", s)
	}
	wantPairs(t, g, at(0), rtcp.NackPair{PacketID: 3, LostPackets: 0b10110}) // 3, 5, 6, 8
	if s := g.push(15, at(0)); s != nackKeyframe || g.missing() != 0 {
		t.Fatalf("a gap larger than the list signalled %b with %d missing", s, g.missing())
	}
	// Recovered entries leave room: no key frame.
	pushAll(g, at(0), 18)     // missing 16, 17
	pushAll(g, at(0), 16, 17) // recovered
	if s := g.push(23, at(0)); s != nackLoss {
		t.Fatalf("gap after recovery signalled %b", s)
	}
	// A confirmed sequence restart.
	if s := pushAll(g, at(0), 40000); s != 0 {
		t.Fatalf("a single jump signalled %b", s)
	}
	if s := pushAll(g, at(0), 40001); s != nackKeyframe || g.missing() != 0 {
		t.Fatalf("restart signalled %b with %d missing", s, g.missing())
	}
	if g.stats.KeyFrameAsks != 3 {
		t.Errorf("stats %+v", g.stats)
	}
}

func TestNackGeneratorNoAllocs(t *testing.T) {
	g := newNackGenerator(nackGenConfig{})
	dst := make([]rtcp.NackPair, 0, defaultNackMaxPairs)
	seq, ms := uint16(0), 0.0
	assertNoAllocs(t, "push and appendPairs", func() {
		ms += 10
		seq += 3 // two lost of every three
		g.push(seq, at(ms))
		g.push(seq-1, at(ms)) // one recovered
		dst = g.appendPairs(dst[:0], at(ms))
	})
	if g.stats.Nacked == 0 || g.stats.Recovered == 0 {
		t.Fatalf("stats %+v", g.stats)
	}
}

func BenchmarkNackGeneratorPush(b *testing.B) {
	g := newNackGenerator(nackGenConfig{})
	now := at(0)
	b.ReportAllocs()
	for i := range b.N {
		seq := uint16(i)
		if i%100 == 50 { // 1% loss, recovered 10 packets later
			continue
		}
		g.push(seq, now)
		if i%100 == 60 {
			g.push(seq-10, now)
		}
	}
}
