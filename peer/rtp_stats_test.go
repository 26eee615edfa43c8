package peer

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
)

func TestReceiveStatsLoss(t *testing.T) {
	s := newReceiveStats(90000)
	if _, ok := s.report(1, at(0)); ok {
		t.Fatal("report before any packet")
	}
	for seq := uint16(100); seq < 200; seq++ {
		if seq%10 == 3 {
			continue // 10 lost
		}
		s.onRTP(seq, 0, 1000, at(0))
	}
	rr, _ := s.report(0xAB, at(0))
	want := rtcp.ReceptionReport{SSRC: 0xAB, FractionLost: 25, TotalLost: 10, LastSequenceNumber: 199}
	if rr != want {
		t.Fatalf("report %+v, want %+v", rr, want)
	}
	s.onRTP(113, 0, 1000, at(0)) // recovered by NACK
	for seq := uint16(200); seq < 250; seq++ {
		s.onRTP(seq, 0, 1000, at(0))
	}
	s.onRTP(249, 0, 1000, at(0)) // duplicate
	rr, _ = s.report(0xAB, at(0))
	want = rtcp.ReceptionReport{SSRC: 0xAB, FractionLost: 0, TotalLost: 8, LastSequenceNumber: 249}
	if rr != want {
		t.Fatalf("second report %+v, want %+v", rr, want)
	}
	if s.octets != 92*1000+50*1000 {
		t.Errorf("octets %d", s.octets)
	}
}

func TestReceiveStatsWrapAndClamp(t *testing.T) {
	s := newReceiveStats(48000)
	for seq := uint16(65500); seq != 101; seq++ {
		s.onRTP(seq, 0, 100, at(0))
	}
	s.onRTP(100, 0, 100, at(0)) // 2 duplicates: lost -2
	s.onRTP(100, 0, 100, at(0))
	rr, _ := s.report(1, at(0))
	if rr.LastSequenceNumber != 65536+100 || rr.TotalLost != 0xFFFFFE {
		t.Fatalf("report %+v, want highest 65636 and lost -2 in 24 bits", rr)
	}
	raw, err := rr.Marshal()
	if err != nil {
		t.Fatalf("pion marshal: %v", err)
	}
	var back rtcp.ReceptionReport
	if err := back.Unmarshal(raw); err != nil || back != rr {
		t.Fatalf("round trip %+v %v", back, err)
	}
	// 2,900 jumps of 2,999 (each within MAX_DROPOUT) lose more than 2^23.
	seq := uint16(100)
	for range 2900 {
		seq += 2999
		s.onRTP(seq, 0, 100, at(0))
	}
	rr, _ = s.report(1, at(0))
	if rr.TotalLost != lostMax || rr.FractionLost != 255 {
		t.Fatalf("lost %#x fraction %d, want clamped %#x and 255", rr.TotalLost, rr.FractionLost, lostMax)
	}
}

func TestReceiveStatsJitter(t *testing.T) {
	s := newReceiveStats(90000)
	s.onRTP(1, 0, 100, at(0))
	s.onRTP(2, 1800, 100, at(30)) // 10 ms late: D = 900
	if rr, _ := s.report(1, at(30)); rr.Jitter != 900>>4 {
		t.Fatalf("jitter %d, want %d", rr.Jitter, 900>>4)
	}
	s.onRTP(3, 3600, 100, at(40)) // back on time: D = 900 again
	s.onRTP(1, 0, 100, at(45))    // a duplicate does not count
	s.onRTP(4, 3600, 100, at(40)) // same frame, same transit: D = 0
	want := (1744 + 0 - (1744+8)>>4) >> 4
	if rr, _ := s.report(1, at(40)); rr.Jitter != uint32(want) {
		t.Fatalf("jitter %d, want %d", rr.Jitter, want)
	}
	j := s.jitter
	s.onRTP(5, 3600+90000*6, 100, at(60)) // a 6 s timestamp jump is not jitter
	if s.jitter != j {
		t.Fatalf("timestamp jump changed the jitter from %d to %d", j, s.jitter)
	}
}

func TestReceiveStatsLSR(t *testing.T) {
	s := newReceiveStats(90000)
	s.onRTP(1, 0, 100, at(0))
	srNTP := ntpTime(wallAt(100))
	s.onSenderReport(srNTP, at(100))
	rr, _ := s.report(1, at(1600))
	if rr.LastSenderReport != uint32(srNTP>>16) || rr.Delay != 98304 { // 1.5 s in 1/65536 s
		t.Fatalf("LSR %#x DLSR %d, want %#x 98304", rr.LastSenderReport, rr.Delay, uint32(srNTP>>16))
	}
}

func TestReceiveStatsRestart(t *testing.T) {
	s := newReceiveStats(90000)
	for seq := uint16(1); seq <= 10; seq += 2 {
		s.onRTP(seq, 0, 100, at(0)) // 4 lost
	}
	s.onRTP(30000, 0, 100, at(0)) // jump: ignored
	s.onRTP(30001, 0, 100, at(0)) // confirmed restart
	s.onRTP(30002, 0, 100, at(0))
	rr, _ := s.report(1, at(0))
	if rr.TotalLost != 0 || rr.LastSequenceNumber != 30002 || rr.FractionLost != 0 {
		t.Fatalf("after restart %+v", rr)
	}
}

func TestRemoteReceiverStats(t *testing.T) {
	r := newRemoteReceiverStats(90000)
	sent := wallAt(0)
	rr := rtcp.ReceptionReport{
		SSRC: 1, FractionLost: 64, TotalLost: 0xFFFFFF, LastSequenceNumber: 70000, Jitter: 900,
		LastSenderReport: ntpShort(sent), Delay: ntpShortDuration(500 * time.Millisecond),
	}
	if !r.onReceptionReport(&rr, wallAt(600)) {
		t.Fatal("no RTT sample")
	}
	fb := r.feedback()
	if fb.FractionLost != 0.25 || fb.PacketsLost != -1 || fb.HighestSeq != 70000 || fb.Jitter != 10*time.Millisecond {
		t.Fatalf("feedback %+v", fb)
	}
	if d := fb.RTT - 100*time.Millisecond; d < -50*time.Microsecond || d > 50*time.Microsecond {
		t.Fatalf("RTT %v, want 100ms within the 15 µs NTP resolution", fb.RTT)
	}
	// Garbage: an LSR in the future gives no sample and keeps the last one.
	rr.LastSenderReport = ntpShort(wallAt(5000))
	if r.onReceptionReport(&rr, wallAt(700)) || r.feedback().RTT != fb.RTT {
		t.Fatal("an LSR in the future gave an RTT sample")
	}
	rr.LastSenderReport = 0
	if r.onReceptionReport(&rr, wallAt(700)) {
		t.Fatal("a report without LSR gave an RTT sample")
	}
	if r.feedback().Reports != 3 {
		t.Errorf("reports %d", r.feedback().Reports)
	}
}

// TestReceiveStatsRoundTrip sends our reception report through pion's
// marshalling to the sender-side parser.
func TestReceiveStatsRoundTrip(t *testing.T) {
	recv := newReceiveStats(48000)
	for seq := uint16(0); seq < 100; seq++ {
		if seq%4 != 1 { // 25 lost
			recv.onRTP(seq, uint32(seq)*960, 100, at(float64(seq)*20))
		}
	}
	recv.onSenderReport(ntpTime(wallAt(1000)), at(1000))
	block, _ := recv.report(0x55, at(1800))
	raw, err := rtcp.ReceiverReport{SSRC: 9, Reports: []rtcp.ReceptionReport{block}}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	pkts, err := rtcp.Unmarshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	send := newRemoteReceiverStats(48000)
	send.onReceptionReport(&pkts[0].(*rtcp.ReceiverReport).Reports[0], wallAt(1810))
	fb := send.feedback()
	if fb.PacketsLost != 25 || fb.FractionLost != 64.0/256 || !fb.HasRTT {
		t.Fatalf("feedback %+v", fb)
	}
	if d := fb.RTT - 10*time.Millisecond; d < -50*time.Microsecond || d > 50*time.Microsecond {
		t.Fatalf("RTT %v, want 10ms", fb.RTT)
	}
}

func TestReceiveStatsNoAllocs(t *testing.T) {
	s := newReceiveStats(90000)
	seq, ms := uint16(0), 0.0
	assertNoAllocs(t, "onRTP", func() {
		seq++
		ms += 3
		s.onRTP(seq, uint32(ms*90), 1200, at(ms))
	})
}

func BenchmarkReceiveStatsOnRTP(b *testing.B) {
	s := newReceiveStats(90000)
	now := at(0)
	b.ReportAllocs()
	for i := range b.N {
		s.onRTP(uint16(i), uint32(i)*30, 1200, now)
	}
}
