package peer

// Design note: RTCP reception statistics, both ways.
//
// receiveStats is the receiver of one incoming SSRC (RFC 3550 §6.4.1,
// Appendix A.3 and A.8). It counts the packets received against the
// extended highest sequence number (seqTracker, A.1) for the cumulative
// loss (clamped to the field's 24-bit signed range) and the fraction lost
// since the previous report; it estimates the interarrival jitter in RTP
// timestamp units with the integer filter of A.8 (J += (|D| - J) / 16),
// from the packets that advance the sequence, since a reordered or
// retransmitted packet's send time is not its timestamp's; and it keeps the
// middle 32 bits of the last sender report's NTP time (LSR) and when it
// arrived, for DLSR. Every packet accepted by seqTracker counts, including
// duplicates and retransmissions (RFC 3550 A.3), so with NACK the reported
// loss is the loss left after repair; RTX packets that repair nothing
// (bandwidth probes) never get here (RemoteTrack.receive).
//
// remoteReceiverStats is the other side: the reception report blocks that a
// viewer sends about one of our SSRCs, from which it takes the loss and
// jitter and computes the RTT as now - LSR - DLSR in NTP short format
// (RFC 3550 §6.4.1). A block without LSR (no SR received yet) or whose
// arithmetic goes negative (clock step, garbage) gives no RTT sample.

import (
	"time"

	"github.com/pion/rtcp"
)

// lostMax and lostMin bound the 24-bit signed cumulative loss field
// (RFC 3550 §6.4.1).
const (
	lostMax = 1<<23 - 1
	lostMin = -1 << 23
	// jitterMaxStep is the largest transit change, in seconds, taken as
	// jitter.
	jitterMaxStep = 5
)

// receiveStats keeps the RFC 3550 reception statistics of one incoming
// SSRC. Not safe for concurrent use: the peer calls onRTP from its read
// loop and report from its report timer, under one lock or on one
// goroutine.
type receiveStats struct {
	seq           seqTracker
	clockRate     uint32
	base          int64 // extended sequence number of the first packet
	received      int64
	expectedPrior int64
	receivedPrior int64
	octets        uint64 // payload and header bytes received
	jitter        uint32 // RFC 3550 A.8 estimate, scaled by 16
	transit       uint32 // arrival minus timestamp of the last advancing packet
	hasTransit    bool
	lastSR        uint32   // middle 32 bits of the last SR's NTP time
	lastSRAt      monotime // 0 for no SR
}

// newReceiveStats returns statistics for a stream whose RTP clock runs at
// clockRate Hz (90,000 for video, 48,000 for Opus); the jitter is in
// those units.
func newReceiveStats(clockRate uint32) *receiveStats {
	return &receiveStats{clockRate: max(clockRate, 1)}
}

// onRTP counts a packet of size bytes with sequence number seq and RTP
// timestamp ts that arrived at now. It does not allocate.
func (s *receiveStats) onRTP(seq uint16, ts uint32, size int, now monotime) {
	started := s.seq.started
	ext, v := s.seq.update(seq)
	switch v {
	case seqJump:
		return
	case seqStart:
		if started {
			s.expectedPrior, s.receivedPrior, s.received = 0, 0, 0
		}
		s.base = ext
		s.hasTransit = false
		s.updateJitter(ts, now)
	case seqAdvance:
		s.updateJitter(ts, now)
	}
	s.received++
	s.octets += uint64(max(size, 0))
}

// updateJitter applies RFC 3550 A.8 with the packet's transit time. A
// transit change beyond jitterMaxStep (a timestamp jump, not jitter) is
// skipped, as libwebrtc does beyond 5 s, which also keeps the scaled
// estimate within 32 bits.
func (s *receiveStats) updateJitter(ts uint32, now monotime) {
	transit := s.rtpUnits(now) - ts
	if s.hasTransit {
		d := int64(int32(transit - s.transit))
		if d < 0 {
			d = -d
		}
		if d < min(jitterMaxStep*int64(s.clockRate), 1<<26) {
			s.jitter += uint32(d) - (s.jitter+8)>>4
		}
	}
	s.transit, s.hasTransit = transit, true
}

// rtpUnits converts now to the stream's RTP clock, modulo 2^32, without
// overflowing for any positive now.
func (s *receiveStats) rtpUnits(now monotime) uint32 {
	sec, ns := uint64(now)/1e9, uint64(now)%1e9
	return uint32(sec*uint64(s.clockRate) + ns*uint64(s.clockRate)/1e9)
}

// onSenderReport records the NTP time of a sender report for this SSRC
// (RFC 3550 §6.4.1 LSR) and its arrival at now.
func (s *receiveStats) onSenderReport(ntp uint64, now monotime) {
	s.lastSR = uint32(ntp >> 16)
	s.lastSRAt = now
}

// report returns the reception report block for ssrc at now and starts a
// new interval for the fraction lost (RFC 3550 A.3). ok is false before the
// first packet.
func (s *receiveStats) report(ssrc uint32, now monotime) (rr rtcp.ReceptionReport, ok bool) {
	if !s.seq.started {
		return rtcp.ReceptionReport{}, false
	}
	expected := s.seq.highest - s.base + 1
	lost := min(max(expected-s.received, lostMin), lostMax)
	expInterval := expected - s.expectedPrior
	lostInterval := expInterval - (s.received - s.receivedPrior)
	s.expectedPrior, s.receivedPrior = expected, s.received
	var fraction uint8
	if expInterval > 0 && lostInterval > 0 {
		fraction = uint8(lostInterval << 8 / expInterval)
	}
	rr = rtcp.ReceptionReport{
		SSRC:               ssrc,
		FractionLost:       fraction,
		TotalLost:          uint32(lost) & 0xFFFFFF,
		LastSequenceNumber: uint32(s.seq.highest),
		Jitter:             s.jitter >> 4,
	}
	if s.lastSRAt != 0 {
		rr.LastSenderReport = s.lastSR
		rr.Delay = ntpShortDuration(now.sub(s.lastSRAt))
	}
	return rr, true
}

// receiverFeedback is what the remote receiver of one of our SSRCs last
// reported (RFC 3550 §6.4.1).
type receiverFeedback struct {
	FractionLost float64       // 0..1, over the receiver's last interval
	PacketsLost  int32         // cumulative, negative with duplicates
	HighestSeq   uint32        // extended highest sequence number received
	Jitter       time.Duration // interarrival jitter
	RTT          time.Duration // last round-trip sample; 0 until HasRTT
	HasRTT       bool
	Reports      uint64 // report blocks received
}

// remoteReceiverStats keeps the receiver reports about one of our SSRCs.
// Not safe for concurrent use; the peer calls it from its RTCP path.
type remoteReceiverStats struct {
	clockRate uint32
	fb        receiverFeedback
}

// newRemoteReceiverStats returns the report state of a stream we send
// with an RTP clock of clockRate Hz.
func newRemoteReceiverStats(clockRate uint32) *remoteReceiverStats {
	return &remoteReceiverStats{clockRate: max(clockRate, 1)}
}

// onReceptionReport takes a report block about our SSRC received at now
// (the wall clock that stamped our sender reports) and reports whether it
// gave an RTT sample.
func (r *remoteReceiverStats) onReceptionReport(rr *rtcp.ReceptionReport, now time.Time) bool {
	r.fb.Reports++
	r.fb.FractionLost = float64(rr.FractionLost) / 256
	r.fb.PacketsLost = int32(rr.TotalLost<<8) >> 8 // sign-extend 24 bits
	r.fb.HighestSeq = rr.LastSequenceNumber
	r.fb.Jitter = time.Duration(uint64(rr.Jitter) * uint64(time.Second) / uint64(r.clockRate))
	if rr.LastSenderReport == 0 {
		return false
	}
	rtt := ntpShort(now) - rr.LastSenderReport - rr.Delay
	if int32(rtt) < 0 {
		return false
	}
	r.fb.RTT, r.fb.HasRTT = durationFromNTPShort(rtt), true
	return true
}

// feedback returns the last report's figures.
func (r *remoteReceiverStats) feedback() receiverFeedback { return r.fb }
