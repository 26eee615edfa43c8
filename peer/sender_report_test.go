package peer

import (
	"reflect"
	"testing"

	"github.com/pion/rtcp"
)

func TestSenderReport(t *testing.T) {
	s := newSenderStats(90000)
	if _, ok := s.senderReport(1, at(0), t0, nil); ok {
		t.Fatal("SR before any packet")
	}
	s.onSent(1000, 500, at(0))
	s.onSent(1900, 400, at(10))
	s.onSent(1000, 300, at(12)) // a late packet does not move the mapping back
	reports := []rtcp.ReceptionReport{{SSRC: 9, FractionLost: 3}}
	sr, ok := s.senderReport(0xC0FFEE, at(30), wallAt(30), reports)
	want := rtcp.SenderReport{
		SSRC:        0xC0FFEE,
		NTPTime:     ntpTime(wallAt(30)),
		RTPTime:     1900 + 20*90,
		PacketCount: 3,
		OctetCount:  1200,
		Reports:     reports,
	}
	if !ok || !reflect.DeepEqual(sr, want) {
		t.Fatalf("SR %+v, want %+v", sr, want)
	}
	raw, err := sr.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var back rtcp.SenderReport
	if err := back.Unmarshal(raw); err != nil || !reflect.DeepEqual(back, want) {
		t.Fatalf("pion round trip %+v %v", back, err)
	}
}

func TestSenderReportTimeline(t *testing.T) {
	s := newSenderStats(48000)
	s.onSent(0xFFFFFF00, 100, at(0))
	s.onSent(0x00000100, 100, at(10)) // wraps forward: newer
	if sr, _ := s.senderReport(1, at(20), wallAt(20), nil); sr.RTPTime != 0x100+480 {
		t.Fatalf("RTP time %#x after wrap", sr.RTPTime)
	}
	base := uint32(0x100)
	back := base - 6*48000
	s.onSent(back, 100, at(30)) // 6 s back: a new timeline
	if sr, _ := s.senderReport(1, at(30), wallAt(30), nil); sr.RTPTime != back {
		t.Fatalf("RTP time %#x after a timeline switch", sr.RTPTime)
	}
	if sr, _ := s.senderReport(1, at(29), wallAt(29), nil); sr.RTPTime != back-48 {
		t.Fatalf("RTP time %#x for an instant before the last packet", sr.RTPTime)
	}
	// Counters wrap at 32 bits (RFC 3550 §6.4.1).
	s.packets, s.octets = 0xFFFFFFFF, 0xFFFFFFF0
	s.onSent(0x100, 0x20, at(40))
	if s.packets != 0 || s.octets != 0x10 {
		t.Fatalf("counters %d %d", s.packets, s.octets)
	}
}

// TestSenderReportAVSync checks that audio and video SRs of one capture
// timeline map to the same wall clock, the receiver's lip-sync condition.
func TestSenderReportAVSync(t *testing.T) {
	audio, video := newSenderStats(48000), newSenderStats(90000)
	const aBase, vBase = 1234, 987654 // random RTP offsets
	for ms := 0; ms < 1000; ms += 20 {
		audio.onSent(aBase+uint32(ms*48), 160, at(float64(ms)+0.5))
	}
	for ms := 0; ms < 1000; ms += 33 {
		video.onSent(vBase+uint32(ms*90), 1100, at(float64(ms)+2))
	}
	a, _ := audio.senderReport(1, at(1500), wallAt(1500), nil)
	v, _ := video.senderReport(2, at(1500), wallAt(1500), nil)
	// Capture time of the SR instant according to each stream, relative to
	// its base, in microseconds: both must agree within the send jitter.
	aUs := float64(a.RTPTime-aBase) / 48
	vUs := float64(v.RTPTime-vBase) / 90
	if d := aUs - vUs; d < -3 || d > 3 {
		t.Fatalf("audio says %.1f ms, video says %.1f ms at the same NTP time", aUs, vUs)
	}
}

// TestSenderReportMapped checks the arrival-time mapping of a relay: audio
// that is sent 50 ms after the video of the same instant (a transcoder's
// delay), but whose timestamps are mapped to when each frame arrived, gets
// SRs that agree with the video's within 20 ms; by send times alone they
// would be 50 ms apart.
func TestSenderReportMapped(t *testing.T) {
	audio, video := newSenderStats(48000), newSenderStats(90000)
	const aBase, vBase = 1234, 987654
	if _, ok := audio.senderReport(1, at(0), wallAt(0), nil); ok {
		t.Fatal("SR before any packet")
	}
	for ms := 0; ms < 1000; ms += 20 {
		ts := aBase + uint32(ms*48)
		audio.mapTimestamp(ts, at(float64(ms)+1))
		audio.onSent(ts, 160, at(float64(ms)+51)) // 50 ms late
	}
	for ms := 0; ms < 1000; ms += 33 {
		ts := vBase + uint32(ms*90)
		video.mapTimestamp(ts, at(float64(ms)+2))
		video.onSent(ts, 1100, at(float64(ms)+3))
	}
	a, _ := audio.senderReport(1, at(1500), wallAt(1500), nil)
	v, _ := video.senderReport(2, at(1500), wallAt(1500), nil)
	aMs := float64(a.RTPTime-aBase) / 48
	vMs := float64(v.RTPTime-vBase) / 90
	if d := aMs - vMs; d < -20 || d > 20 {
		t.Fatalf("audio says %.1f ms, video says %.1f ms at the same NTP time", aMs, vMs)
	}
	if a.PacketCount != 50 || v.PacketCount != 31 {
		t.Fatalf("packet counts %d %d", a.PacketCount, v.PacketCount)
	}
}

func TestSenderStatsNoAllocs(t *testing.T) {
	s := newSenderStats(90000)
	ts, ms := uint32(0), 0.0
	assertNoAllocs(t, "onSent", func() {
		ts += 3000
		ms += 33
		s.onSent(ts, 1100, at(ms))
	})
}
