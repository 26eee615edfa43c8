package peer

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/streamwire/streamwire/sdp"
)

// RemoteTrack is what the peer receives in one m-section: the SSRC the
// offer announced or the first one seen with its payload type, and its
// RTX stream. Its receive state is the read goroutine's own.
type RemoteTrack struct {
	p     *Peer
	mid   string
	kind  sdp.Kind
	codec sdp.NegotiatedCodec
	rtxPT uint8
	// ssrc and rtxSSRC are the remote SSRCs, 0 until known; written by the
	// read goroutine.
	ssrc, rtxSSRC atomic.Uint32

	// Read goroutine only.
	stats   *receiveStats
	nack    *nackGenerator // nil without "nack"
	reorder *reorderBuffer
	pkt     rtp.Packet // what OnRTP gets, reused
	pairs   []rtcp.NackPair
	// redundant counts the RTX packets dropped as repeats.
	redundant uint64

	keyMu    sync.Mutex // guards keyframe, which RequestKeyFrame also uses
	keyframe *keyframeLimiter
	plis     atomic.Uint64

	counters atomic.Pointer[ReceiveStats] // published by the timer
}

func newRemoteTrack(p *Peer, s *sdp.Section) *RemoteTrack {
	t := &RemoteTrack{
		p: p, mid: s.Mid, kind: s.Kind, codec: s.Codec, rtxPT: s.RTX,
		stats:    newReceiveStats(s.Codec.ClockRate),
		reorder:  newReorderBuffer(reorderConfig{MaxPacket: MaxPacketSize}),
		keyframe: newKeyframeLimiter(p.cfg.KeyFrameRequestInterval),
	}
	if slices.Contains(s.RTCPFeedback, "nack") {
		// A retransmission later than the reorder window's wait is
		// dropped, so asking for it later is wasted.
		t.nack = newNackGenerator(nackGenConfig{MaxAge: defaultReorderDelay})
	}
	t.counters.Store(&ReceiveStats{})
	return t
}

// Mid returns the track's m-section mid.
func (t *RemoteTrack) Mid() string { return t.mid }

// Kind returns the track's media kind.
func (t *RemoteTrack) Kind() sdp.Kind { return t.kind }

// Codec returns the negotiated codec of the packets OnRTP receives.
func (t *RemoteTrack) Codec() sdp.NegotiatedCodec { return t.codec }

// SSRC returns the remote SSRC of the track's media, 0 until known.
func (t *RemoteTrack) SSRC() uint32 { return t.ssrc.Load() }

// receive handles one RTP packet of the track (after RTX decapsulation,
// rtx true): statistics, loss detection with an immediate NACK, then the
// reordering window, out of which packets reach OnRTP in sequence order.
//
// An RTX packet that repeats a packet the window no longer awaits is
// dropped before it counts anywhere: libwebrtc (Chrome, Firefox) probes
// the bandwidth with RTX copies of packets already sent ("redundant
// payloads"), and counted as received they would turn the cumulative loss
// of the receiver reports negative and hide real loss from the sender.
func (t *RemoteTrack) receive(pkt []byte, now monotime, rtx bool) {
	seq := rtpSeq(pkt)
	if rtx && !t.reorder.awaits(seq) {
		t.redundant++
		return
	}
	t.stats.onRTP(seq, rtpTimestamp(pkt), len(pkt), now)
	if t.nack != nil {
		sig := t.nack.push(seq, now)
		if sig&nackLoss != 0 {
			t.sendNACK(now)
		}
		if sig&nackKeyframe != 0 {
			_ = t.RequestKeyFrame()
		}
	}
	skipped := t.reorder.stats.Skipped
	t.reorder.push(pkt, now, t.emit)
	t.afterSkip(skipped)
}

// afterSkip asks for a key frame when the reordering window gave up on a
// hole since it counted skipped: the packets after it cannot be decoded
// until one comes.
func (t *RemoteTrack) afterSkip(skipped uint64) {
	if t.reorder.stats.Skipped != skipped && t.kind == sdp.KindVideo {
		_ = t.RequestKeyFrame()
	}
}

// emit passes one in-order packet to OnRTP.
func (t *RemoteTrack) emit(b []byte) {
	if t.p.cfg.OnRTP == nil || t.pkt.Unmarshal(b) != nil {
		return
	}
	t.p.cfg.OnRTP(t, &t.pkt)
}

// sendNACK sends the NACK pairs that are due (RFC 4585 §6.2.1).
func (t *RemoteTrack) sendNACK(now monotime) {
	t.pairs = t.nack.appendPairs(t.pairs[:0], now)
	if len(t.pairs) == 0 {
		return
	}
	_ = t.p.writeRTCP(&rtcp.TransportLayerNack{SenderSSRC: t.p.rtcpSSRC, MediaSSRC: t.ssrc.Load(), Nacks: t.pairs})
}

// onTimer runs the track's timed work: NACK retries, the reordering
// window's timeout and a held key frame request; it returns the earliest
// instant it needs to run again, or 0.
func (t *RemoteTrack) onTimer(now monotime) monotime {
	if t.nack != nil && t.nack.missing() > 0 {
		t.sendNACK(now)
	}
	skipped := t.reorder.stats.Skipped
	t.reorder.poll(now, t.emit)
	t.afterSkip(skipped)
	next, _ := t.reorder.deadline()
	t.keyMu.Lock()
	send := t.keyframe.poll(now)
	if d, ok := t.keyframe.deadline(); ok && (next == 0 || d < next) {
		next = d
	}
	t.keyMu.Unlock()
	if send {
		t.sendPLI()
	}
	return next
}

// RequestKeyFrame asks the remote sender for a key frame with a PLI (RFC
// 4585 §6.3.1). At most one PLI leaves per KeyFrameRequestInterval; a
// request within it is held and sent when the interval ends, unless a
// key frame request has gone out meanwhile. It returns ErrNotConnected
// before DTLS is up or before the track's SSRC is known.
func (t *RemoteTrack) RequestKeyFrame() error {
	if t.ssrc.Load() == 0 || t.p.srtp.Load() == nil {
		return ErrNotConnected
	}
	t.keyMu.Lock()
	send := t.keyframe.request(t.p.clock.at(t.p.now()))
	t.keyMu.Unlock()
	if !send {
		return nil
	}
	return t.sendPLI()
}

func (t *RemoteTrack) sendPLI() error {
	t.plis.Add(1)
	return t.p.writeRTCP(&rtcp.PictureLossIndication{SenderSSRC: t.p.rtcpSSRC, MediaSSRC: t.ssrc.Load()})
}

// report returns the track's reception report block, ok false before
// any packet, and publishes its counters for Stats.
func (t *RemoteTrack) report(now monotime) (rtcp.ReceptionReport, bool) {
	ssrc := t.ssrc.Load()
	if ssrc == 0 {
		return rtcp.ReceptionReport{}, false
	}
	rr, ok := t.stats.report(ssrc, now)
	if ok {
		t.publish(rr)
	}
	return rr, ok
}

// ReceiveStats is what a RemoteTrack received, as its last receiver
// report (RFC 3550 §6.4.1) counted it, and the repair it asked for.
type ReceiveStats struct {
	HighestSeq   uint32  // extended highest sequence number received
	PacketsLost  int32   // cumulative
	FractionLost float64 // 0..1, over the last report interval
	Jitter       time.Duration
	NACKed       uint64 // NACKs sent, retries included
	Recovered    uint64 // missing packets that arrived later
	PLIs         uint64 // key frame requests sent
	Reordered    uint64 // packets that waited in the reordering window
	SkippedHoles uint64 // holes the window gave up waiting for
	Late         uint64 // packets dropped because their hole was skipped
	// Redundant counts the RTX packets dropped because they repeat a
	// packet already received, or come after their hole was skipped:
	// libwebrtc's bandwidth probes. They count neither as received nor
	// as Late.
	Redundant uint64
}

func (t *RemoteTrack) publish(rr rtcp.ReceptionReport) {
	st := &ReceiveStats{
		HighestSeq: rr.LastSequenceNumber, PacketsLost: signed24(rr.TotalLost),
		FractionLost: float64(rr.FractionLost) / 256,
		Jitter:       time.Duration(uint64(rr.Jitter) * uint64(time.Second) / uint64(max(t.codec.ClockRate, 1))),
		PLIs:         t.plis.Load(),
		Reordered:    t.reorder.stats.Reordered, SkippedHoles: t.reorder.stats.Skipped, Late: t.reorder.stats.Late,
		Redundant: t.redundant,
	}
	if t.nack != nil {
		st.NACKed, st.Recovered = t.nack.stats.Nacked, t.nack.stats.Recovered
	}
	t.counters.Store(st)
}

// signed24 reads RTCP's 24-bit signed cumulative loss.
func signed24(v uint32) int32 { return int32(v<<8) >> 8 }

// Stats returns the track's counters as of its last receiver report
// (every ReportInterval).
func (t *RemoteTrack) Stats() ReceiveStats { return *t.counters.Load() }
