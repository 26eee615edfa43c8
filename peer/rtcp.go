package peer

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/streamwire/streamwire/dtlssrtp"
)

// feedbackTick is the period of the peer's timer: NACK retries, transport
// feedback and, every ReportInterval, sender and receiver reports.
const feedbackTick = 50 * time.Millisecond

// peerStats are the peer's counters, written by its goroutines.
type peerStats struct {
	srtpErrors, unknownSSRC atomic.Uint64
	remb                    atomic.Uint64 // last REMB bitrate from the remote side, bit/s
}

// readRTCP unprotects and handles one SRTCP compound packet. RTCP comes a
// few times a second, so pion/rtcp's allocating parser is good enough.
func (p *Peer) readRTCP(s *dtlssrtp.Session, b, plain []byte) {
	out, err := s.UnprotectRTCP(plain[:0], b)
	if err != nil {
		p.stats.srtpErrors.Add(1)
		return
	}
	pkts, err := rtcp.Unmarshal(out)
	if err != nil {
		return
	}
	now := p.now()
	for _, pk := range pkts {
		switch v := pk.(type) {
		case *rtcp.PictureLossIndication:
			p.keyFrameRequested(v.MediaSSRC, now)
		case *rtcp.FullIntraRequest:
			for _, e := range v.FIR {
				p.keyFrameRequested(e.SSRC, now)
			}
		case *rtcp.ReceiverEstimatedMaximumBitrate:
			p.stats.remb.Store(uint64(v.Bitrate))
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
// at most once per KeyFrameRequestInterval per track.
func (p *Peer) keyFrameRequested(ssrc uint32, now time.Time) {
	t := p.localTrack(ssrc)
	if t == nil || p.cfg.OnKeyFrameRequest == nil {
		return
	}
	if now.Sub(t.lastKeyFrameRequest) < positiveOr(p.cfg.KeyFrameRequestInterval, DefaultKeyFrameRequestInterval) {
		return
	}
	t.lastKeyFrameRequest = now
	p.cfg.OnKeyFrameRequest(t)
}

// RequestKeyFrame sends a PLI (RFC 4585 §6.3.1) for the track, at most
// once per KeyFrameRequestInterval; a request within the interval is
// dropped and reports nil. It returns ErrNotConnected before DTLS is up
// or before the track's SSRC is known.
func (t *RemoteTrack) RequestKeyFrame() error {
	ssrc := t.ssrc.Load()
	if ssrc == 0 {
		return ErrNotConnected
	}
	now := t.p.now()
	t.keyMu.Lock()
	if now.Sub(t.lastKeyFrameRequest) < positiveOr(t.p.cfg.KeyFrameRequestInterval, DefaultKeyFrameRequestInterval) {
		t.keyMu.Unlock()
		return nil
	}
	t.lastKeyFrameRequest = now
	t.keyMu.Unlock()
	return t.p.writeRTCP(&rtcp.PictureLossIndication{SenderSSRC: t.p.rtcpSSRC, MediaSSRC: ssrc})
}

// writeRTCP marshals, protects and sends one compound RTCP packet.
func (p *Peer) writeRTCP(pkts ...rtcp.Packet) error {
	s, err := p.sendable()
	if err != nil {
		return err
	}
	b, err := rtcp.Marshal(pkts)
	if err != nil {
		return fmt.Errorf("peer: rtcp: %w", err)
	}
	out, err := s.ProtectRTCP(nil, b)
	if err != nil {
		return fmt.Errorf("peer: protect rtcp: %w", err)
	}
	return p.write(out)
}

// tick runs the periodic RTCP work.
func (p *Peer) tick(now time.Time) {
	_ = now
}
