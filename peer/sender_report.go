package peer

// Design note: sender reports for one SSRC we send (RFC 3550 §6.4.1). A
// receiver maps each stream's RTP timestamps to wall clock time through
// the (NTP, RTP) pair of the latest SR, and lines audio up with video by
// those wall clock times, so the pair must describe one instant. The SR's
// RTP timestamp is extrapolated from the newest packet sent: its timestamp
// plus the time elapsed since it was sent, at the stream's clock rate, as
// libwebrtc and mediasoup do. A packet is "newer" when its timestamp is
// ahead in serial number arithmetic (RFC 1982), so reordered or
// retransmitted packets do not move the mapping back; a step back by more
// than srMaxBackStep is a new timeline (a source switch) and is taken. The
// packet and octet counts are 32-bit and wrap as the RFC says; octets are
// payload only, without header and padding.

import (
	"encoding/binary"
	"time"

	"github.com/pion/rtcp"
)

// srMaxBackStep is the largest backward timestamp step, in seconds of the
// stream's clock, that is taken as reordering rather than a new timeline.
const srMaxBackStep = 5

// senderStats keeps what the sender report of one SSRC needs. Not safe for
// concurrent use: the peer calls onSent from its write path and
// senderReport from its report timer, under one lock.
type senderStats struct {
	clockRate uint32
	packets   uint32
	octets    uint32
	lastTS    uint32   // newest RTP timestamp sent (or mapped)
	lastAt    monotime // when it was sent (or the instant mapped); 0 before the first
	// mapped is set once the track's user maps timestamps to instants
	// (LocalTrack.MapTimestamp): from then on only those mappings move
	// lastTS and lastAt, not the send times.
	mapped bool
	sent   bool // a packet was sent: there is something to report
}

// newSenderStats returns sender statistics for a stream whose RTP clock
// runs at clockRate Hz.
func newSenderStats(clockRate uint32) *senderStats {
	return &senderStats{clockRate: max(clockRate, 1)}
}

// onSent counts an original (not retransmitted) packet with RTP timestamp
// ts and payloadLen payload bytes, sent at now. It does not allocate.
func (s *senderStats) onSent(ts uint32, payloadLen int, now monotime) {
	s.packets++
	s.octets += uint32(max(payloadLen, 0))
	s.sent = true
	if !s.mapped {
		s.advance(ts, now)
	}
}

// mapTimestamp takes ts as the RTP timestamp of instant at, in place of
// send times, for this and every later sender report.
func (s *senderStats) mapTimestamp(ts uint32, at monotime) {
	if !s.mapped {
		s.mapped, s.lastAt = true, 0
	}
	s.advance(ts, at)
}

// advance moves the mapping to (ts, at) when ts is newer than the last
// one, or a new timeline.
func (s *senderStats) advance(ts uint32, at monotime) {
	back := int64(int32(s.lastTS - ts))
	if s.lastAt == 0 || back <= 0 || back > srMaxBackStep*int64(s.clockRate) {
		s.lastTS, s.lastAt = ts, at
	}
}

// rtpTimeAt extrapolates the RTP timestamp of instant now from the newest
// packet sent.
func (s *senderStats) rtpTimeAt(now monotime) uint32 {
	d := now - s.lastAt
	neg := d < 0
	if neg {
		d = -d
	}
	sec, ns := uint64(d)/1e9, uint64(d)%1e9
	units := uint32(sec*uint64(s.clockRate) + ns*uint64(s.clockRate)/1e9)
	if neg {
		return s.lastTS - units
	}
	return s.lastTS + units
}

// senderReport returns the SR of ssrc carrying reports (which it does not
// copy) for one instant, read as now on the monotonic clock and as wall on
// the wall clock. ok is false before the first packet: a stream that has
// sent nothing has no timestamp to map, and RFC 3550 §6.4 has it send a
// receiver report instead.
func (s *senderStats) senderReport(ssrc uint32, now monotime, wall time.Time, reports []rtcp.ReceptionReport) (sr rtcp.SenderReport, ok bool) {
	if !s.sent || s.lastAt == 0 {
		return rtcp.SenderReport{}, false
	}
	return rtcp.SenderReport{
		SSRC:        ssrc,
		NTPTime:     ntpTime(wall),
		RTPTime:     s.rtpTimeAt(now),
		PacketCount: s.packets,
		OctetCount:  s.octets,
		Reports:     reports,
	}, true
}

// senderReportSize is the size of a sender report without reception
// report blocks (RFC 3550 §6.4.1): header, SSRC, NTP and RTP timestamps,
// packet and octet counts.
const senderReportSize = 28

// appendSenderReport appends sr, whose Reports and ProfileExtensions
// must be empty, to b as rtcp.SenderReport.Marshal would, without
// allocating.
func appendSenderReport(b []byte, sr *rtcp.SenderReport) []byte {
	b = append(b, 2<<6, byte(rtcp.TypeSenderReport), 0, senderReportSize/4-1)
	b = binary.BigEndian.AppendUint32(b, sr.SSRC)
	b = binary.BigEndian.AppendUint64(b, sr.NTPTime)
	b = binary.BigEndian.AppendUint32(b, sr.RTPTime)
	b = binary.BigEndian.AppendUint32(b, sr.PacketCount)
	return binary.BigEndian.AppendUint32(b, sr.OctetCount)
}
