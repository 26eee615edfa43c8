package peer

import (
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/streamwire/streamwire/dtlssrtp"
	"github.com/streamwire/streamwire/sdp"
)

// feedbackTick is the longest the read loop waits before it runs its
// timers: NACK retries, transport-wide feedback (due every 100 ms), REMB
// and, every ReportInterval, sender and receiver reports.
const feedbackTick = 50 * time.Millisecond

// peerStats are the peer's counters, written by its goroutines.
type peerStats struct {
	srtpErrors, unknownSSRC atomic.Uint64
}

// bandwidthFeedback is what the peer tells a remote sender about the
// bandwidth: transport-wide feedback when transport-cc is negotiated,
// else REMB when goog-remb is (see withFeedbackDefaults). Read goroutine
// only.
type bandwidthFeedback struct {
	twcc   *twccRecorder
	twccID uint8 // transport-wide sequence number extension ID
	remb   *rembEstimator
	ssrcs  []uint32 // the media SSRCs a REMB covers
	buf    []byte
}

// init picks the feedback from the receiving m-sections.
func (f *bandwidthFeedback) init(p *Peer, desc *sdp.Session) {
	for i := range desc.Sections {
		s := &desc.Sections[i]
		if s.Rejected || !s.Direction.Receives() {
			continue
		}
		if id := extensionID(s, uriTransportCC); id != 0 && slices.Contains(s.RTCPFeedback, "transport-cc") {
			f.twcc, f.twccID = newTWCCRecorder(p.rtcpSSRC), id
			return
		}
	}
	for i := range desc.Sections {
		s := &desc.Sections[i]
		if !s.Rejected && s.Direction.Receives() && slices.Contains(s.RTCPFeedback, "goog-remb") {
			f.remb = newREMBEstimator(rembConfig{})
			return
		}
	}
}

// onPacket counts one incoming RTP packet, RTX and probes included.
func (f *bandwidthFeedback) onPacket(pkt []byte, now monotime) {
	if f.twcc != nil {
		if seq, ok := twccSeq(pkt, f.twccID); ok {
			f.twcc.record(rtpSSRC(pkt), seq, now)
		}
	}
	if f.remb != nil {
		f.remb.onPacket(len(pkt), now)
	}
}

// send writes the feedback that is due.
func (f *bandwidthFeedback) send(p *Peer, now monotime) {
	switch {
	case f.twcc != nil && f.twcc.due(now):
		f.buf = f.twcc.appendFeedback(f.buf[:0], now)
	case f.remb != nil && f.remb.due(now):
		f.ssrcs = f.ssrcs[:0]
		for _, t := range p.remote {
			if ssrc := t.ssrc.Load(); ssrc != 0 {
				f.ssrcs = append(f.ssrcs, ssrc)
			}
		}
		var err error
		if f.buf, err = f.remb.appendREMB(f.buf[:0], p.rtcpSSRC, f.ssrcs, now); err != nil {
			return
		}
	default:
		return
	}
	if len(f.buf) > 0 {
		_ = p.writeRTCPBytes(f.buf)
	}
}

// readRTCP unprotects and handles one SRTCP compound packet. RTCP comes a
// few times a second, so pion/rtcp's allocating parser is good enough.
func (p *Peer) readRTCP(s *dtlssrtp.Session, b, plain []byte, now monotime) {
	out, err := s.UnprotectRTCP(plain[:0], b)
	if err != nil {
		p.stats.srtpErrors.Add(1)
		return
	}
	pkts, err := rtcp.Unmarshal(out)
	if err != nil {
		return
	}
	wall := p.clock.time(now)
	for _, pk := range pkts {
		switch v := pk.(type) {
		case *rtcp.SenderReport:
			if t := p.demux.track(v.SSRC); t != nil {
				t.stats.onSenderReport(v.NTPTime, now)
			}
			p.onReceptionReports(v.Reports, wall)
		case *rtcp.ReceiverReport:
			p.onReceptionReports(v.Reports, wall)
		case *rtcp.TransportLayerNack:
			if t := p.localTrack(v.MediaSSRC); t != nil {
				t.resend(v.Nacks, now)
			}
		case *rtcp.PictureLossIndication:
			p.keyFrameRequested(v.MediaSSRC, now)
		case *rtcp.FullIntraRequest:
			for _, e := range v.FIR {
				p.keyFrameRequested(e.SSRC, now)
			}
		case *rtcp.ReceiverEstimatedMaximumBitrate:
			p.fbMu.Lock()
			p.remoteREMB.onREMB(v, now)
			p.fbMu.Unlock()
		}
	}
}

// onReceptionReports hands report blocks about our SSRCs to their tracks;
// a round-trip time measured there also spaces the NACKs we send.
func (p *Peer) onReceptionReports(rrs []rtcp.ReceptionReport, wall time.Time) {
	for i := range rrs {
		t := p.localTrack(rrs[i].SSRC)
		if t == nil {
			continue
		}
		if rtt, ok := t.onReceptionReport(&rrs[i], wall); ok {
			for _, r := range p.remote {
				if r.nack != nil {
					r.nack.setRTT(rtt)
				}
			}
		}
	}
}

// localTrack returns the local track sending ssrc, or nil.
func (p *Peer) localTrack(ssrc uint32) *LocalTrack {
	for _, t := range p.local {
		if t.ssrc == ssrc {
			return t
		}
	}
	return nil
}

// keyFrameRequested passes a PLI or FIR for ssrc up to OnKeyFrameRequest,
// at most once per KeyFrameRequestInterval per track; a request within the
// interval is held and passed up when it ends.
func (p *Peer) keyFrameRequested(ssrc uint32, now monotime) {
	if t := p.localTrack(ssrc); t != nil && t.keyframe.request(now) && p.cfg.OnKeyFrameRequest != nil {
		p.cfg.OnKeyFrameRequest(t)
	}
}

// onTimer runs the peer's timed RTCP work, then sets the read deadline to
// the next instant it is needed.
func (p *Peer) onTimer(now monotime) {
	next := now.add(feedbackTick)
	if p.srtp.Load() != nil {
		if now >= p.nextReport {
			interval := p.reportInterval()
			if !p.sendReports(now) && len(p.remote) == 0 && p.reportsBatched(now) {
				// Batches send every report of this peer: wake only to
				// take them back once a batch stops (batchReportGrace).
				interval *= batchReportGrace
			}
			p.nextReport = now.add(interval)
		}
		if len(p.remote) == 0 {
			// A peer that only sends (a WHEP viewer) has no NACK,
			// transport-wide or REMB feedback to time: it wakes for its
			// reports and held key frame requests alone, not 20 times a
			// second, which thousands of viewers would pay for.
			next = p.nextReport
		}
		for _, t := range p.remote {
			if d := t.onTimer(now); d != 0 && d < next {
				next = d
			}
		}
		for _, t := range p.local {
			if t.keyframe.poll(now) && p.cfg.OnKeyFrameRequest != nil {
				p.cfg.OnKeyFrameRequest(t)
			}
			if d, ok := t.keyframe.deadline(); ok && d < next {
				next = d
			}
		}
		p.feedback.send(p, now)
	}
	p.nextTimer = next
	// The socket's deadline is on the real clock; Config.Now may be another.
	_ = p.ice.SetReadDeadline(time.Now().Add(next.sub(now)))
}

// sendReports sends one compound packet (RFC 3550 §6.1): a sender report
// per local track, the first carrying the reception report blocks of the
// remote tracks, or a receiver report when the peer sends nothing. A
// REMB estimate moves with the loss the report shows.
// It reports whether it sent anything.
func (p *Peer) sendReports(now monotime) bool {
	wall := p.clock.time(now)
	var rrs []rtcp.ReceptionReport
	for _, t := range p.remote {
		if rr, ok := t.report(now); ok {
			rrs = append(rrs, rr)
			if p.feedback.remb != nil && t.kind == sdp.KindVideo {
				p.feedback.remb.update(float64(rr.FractionLost)/256, now)
			}
		}
	}
	var pkts []rtcp.Packet
	for _, t := range p.local {
		if sr, ok := t.senderReport(now, wall); ok {
			if len(pkts) == 0 {
				sr.Reports, rrs = rrs, nil
			}
			pkts = append(pkts, &sr)
		}
	}
	if len(rrs) > 0 {
		pkts = append(pkts, &rtcp.ReceiverReport{SSRC: p.rtcpSSRC, Reports: rrs})
	}
	if len(pkts) == 0 {
		return false
	}
	_ = p.writeRTCP(pkts...)
	return true
}

// reportsBatched reports whether a Batch sends the sender reports of one
// of the peer's tracks.
func (p *Peer) reportsBatched(now monotime) bool {
	for _, t := range p.local {
		t.mu.Lock()
		b := t.srBatched != 0 && now.sub(t.srBatched) < batchReportGrace*p.reportInterval()
		t.mu.Unlock()
		if b {
			return true
		}
	}
	return false
}

// reportInterval is the interval of the peer's RTCP reports.
func (p *Peer) reportInterval() time.Duration {
	return positiveOr(p.cfg.ReportInterval, DefaultReportInterval)
}

// writeRTCP marshals, protects and sends one compound RTCP packet.
func (p *Peer) writeRTCP(pkts ...rtcp.Packet) error {
	b, err := rtcp.Marshal(pkts)
	if err != nil {
		return fmt.Errorf("peer: rtcp: %w", err)
	}
	return p.writeRTCPBytes(b)
}

// writeRTCPBytes protects and sends one RTCP packet.
func (p *Peer) writeRTCPBytes(b []byte) error {
	s, err := p.sendable()
	if err != nil {
		return err
	}
	out, err := s.ProtectRTCP(nil, b)
	if err != nil {
		return fmt.Errorf("peer: protect rtcp: %w", err)
	}
	return p.write(out)
}

// remoteBitrate returns the remote side's last REMB if it covers ssrc.
func (p *Peer) remoteBitrate(ssrc uint32) float64 {
	now := p.clock.at(p.now())
	p.fbMu.Lock()
	defer p.fbMu.Unlock()
	if !p.remoteREMB.covers(ssrc) {
		return 0
	}
	bps, _ := p.remoteREMB.estimate(now)
	return bps
}

// sendable returns the SRTP session for a write, or why there is none.
func (p *Peer) sendable() (*dtlssrtp.Session, error) {
	if p.stopped.Load() {
		if err := p.Err(); err != nil {
			return nil, err
		}
		return nil, ErrClosed // never nil with a nil session
	}
	s := p.srtp.Load()
	if s == nil {
		return nil, ErrNotConnected
	}
	return s, nil
}
