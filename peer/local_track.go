package peer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/streamwire/streamwire/dtlssrtp"
	"github.com/streamwire/streamwire/ice"
	"github.com/streamwire/streamwire/sdp"
)

// Header extension URIs the peer writes or reads (RFC 8285).
const (
	uriAbsSendTime = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
	uriTransportCC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
	uriMid         = "urn:ietf:params:rtp-hdrext:sdes:mid"
)

// ErrPacketTooLarge is returned by writes of an RTP packet that would not
// fit MaxPacketSize once protected.
var ErrPacketTooLarge = errors.New("peer: RTP packet too large")

// maxSRTPOverhead is the most any SRTP profile adds to a packet: a 16-byte
// AEAD tag (RFC 7714 §9).
const maxSRTPOverhead = 16

// LocalTrack is what the peer sends in one m-section: one SSRC (and one
// RTX SSRC when RTX is negotiated, RFC 4588) with the negotiated codec.
type LocalTrack struct {
	p       *Peer
	mid     string
	kind    sdp.Kind
	codec   sdp.NegotiatedCodec
	ssrc    uint32
	rtxSSRC uint32
	rtxPT   uint8
	absID   uint8 // abs-send-time extension ID, 0 when not negotiated
	nack    bool  // the remote side may NACK ("nack" negotiated)

	mu      sync.Mutex // guards everything below
	out     []byte     // the protected packet
	history *sendHistory
	sender  *senderStats
	// A Batch sends the track's sender reports in its writes (see
	// Batch.WriteRTP): srDue is when the next is due, srBatched when a
	// batch last sent one (0: never). t.mu guards both.
	srDue, srBatched monotime
	receiver         *remoteReceiverStats
	keyframe         *keyframeLimiter // key frame requests from the remote side (read goroutine only)
	batch            [][]byte         // protected packets of WriteRTPBatch, made by its first call
	sends            [][]byte
}

func newLocalTrack(p *Peer, s *sdp.Section) *LocalTrack {
	t := &LocalTrack{
		p: p, mid: s.Mid, kind: s.Kind, codec: s.Codec,
		ssrc: s.LocalSSRC, rtxSSRC: s.LocalRTXSSRC, rtxPT: s.RTX,
		absID:    extensionID(s, uriAbsSendTime),
		nack:     slices.Contains(s.RTCPFeedback, "nack"),
		sender:   newSenderStats(s.Codec.ClockRate),
		receiver: newRemoteReceiverStats(s.Codec.ClockRate),
		keyframe: newKeyframeLimiter(p.cfg.KeyFrameRequestInterval),
	}
	return t
}

// start allocates the send buffers and the retransmission history once
// the peer is connected, so that a peer that never connects costs little.
func (t *LocalTrack) start() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.out = make([]byte, 0, MaxPacketSize)
	if !t.nack {
		return
	}
	size := positiveOr(t.p.cfg.HistoryBytes, DefaultHistoryBytes)
	if t.kind == sdp.KindAudio {
		size /= 8 // some 50 kbit/s of Opus against megabits of video
	}
	t.history = newSendHistory(sendHistoryConfig{
		Bytes: max(size, MaxPacketSize), MaxPacket: MaxPacketSize,
		RTX: t.rtxPT != 0, RTXSSRC: t.rtxSSRC, RTXPayloadType: t.rtxPT,
		RTXSeq: uint16(t.ssrc), // any start; RFC 4588 §8.3 asks only for a random-looking one
	})
}

func extensionID(s *sdp.Section, uri string) uint8 {
	for _, e := range s.Extensions {
		if e.URI == uri && e.ID > 0 && e.ID < 15 {
			return uint8(e.ID)
		}
	}
	return 0
}

// Peer returns the peer the track belongs to.
func (t *LocalTrack) Peer() *Peer { return t.p }

// Mid returns the track's m-section mid (RFC 8843 §5).
func (t *LocalTrack) Mid() string { return t.mid }

// Kind returns the track's media kind.
func (t *LocalTrack) Kind() sdp.Kind { return t.kind }

// Codec returns the negotiated codec: its payload type is the one WriteRTP
// writes.
func (t *LocalTrack) Codec() sdp.NegotiatedCodec { return t.codec }

// SSRC returns the track's SSRC, as the answer announces it (RFC 5576).
func (t *LocalTrack) SSRC() uint32 { return t.ssrc }

// WriteRTP sends one RTP packet on the track: its sequence number,
// timestamp, marker and payload as given, with the track's SSRC and
// payload type written over the packet's, its CSRCs and header extensions
// left out (the peer writes abs-send-time when negotiated, so that the
// remote side can estimate bandwidth and send REMB), kept for
// retransmission when the remote side NACKs it (RFC 4585 §6.2.1), then
// SRTP-protected and sent to the selected ICE pair. It does not allocate.
// It returns ErrNotConnected before the DTLS handshake has finished, the
// peer's Err after it stopped, ErrPacketTooLarge for a packet that does
// not fit MaxPacketSize, and the ICE session's write error otherwise.
// Safe for concurrent use.
func (t *LocalTrack) WriteRTP(pkt *rtp.Packet) error { return t.writeRTP(pkt, false) }

// WriteRTPShared is WriteRTP for a payload that nobody modifies after
// the call and that many tracks may be sent (a relay's frame, sent to
// every viewer): the retransmission history keeps a reference to
// pkt.Payload instead of a copy, so that it costs no copy per packet and
// a viewer no history memory beyond its index of packets.
func (t *LocalTrack) WriteRTPShared(pkt *rtp.Packet) error { return t.writeRTP(pkt, true) }

func (t *LocalTrack) writeRTP(pkt *rtp.Packet, shared bool) error {
	s, err := t.p.sendable()
	if err != nil {
		return err
	}
	wall := t.p.now()
	now := t.p.clock.at(wall)
	t.mu.Lock()
	defer t.mu.Unlock()
	out, err := t.protectLocked(s, pkt, t.out[:0], wall, now, shared)
	if err != nil {
		return err
	}
	return t.p.write(out)
}

// MapTimestamp tells the track that RTP timestamp ts belongs to the
// instant at, for the NTP/RTP mapping of its sender reports (RFC 3550
// §6.4.1). By default a sender report maps the newest packet's timestamp
// to when it was sent, which is right for a source that sends media as
// it is captured. A relay that holds or transcodes media (audio through a
// transcoder leaves tens of milliseconds after the video of the same
// instant) maps each frame's timestamp to when the frame arrived, so that
// receivers line tracks up by arrival. Once called, only mappings move
// the sender reports' timeline, not send times; older timestamps (in RFC
// 1982 serial order) are ignored, except a step back of more than 5 s,
// which starts a new timeline. A track has no sender report until it has
// sent a packet. It does not allocate; safe for concurrent use.
func (t *LocalTrack) MapTimestamp(ts uint32, at time.Time) {
	now := t.p.clock.at(at)
	t.mu.Lock()
	t.sender.mapTimestamp(ts, now)
	t.mu.Unlock()
}

// WriteRTPBatch sends pkts as WriteRTP sends each, protected into buffers
// of the track's and handed to the ICE session in one batched write
// (sendmmsg on Linux, ice.Session.WriteBatch), up to
// ice.DefaultWriteBatchSize packets per system call: a video frame's
// packets cost one call. It returns how many packets were sent and the
// first error. The first call allocates the batch buffers; later ones do
// not allocate.
func (t *LocalTrack) WriteRTPBatch(pkts []*rtp.Packet) (int, error) {
	s, err := t.p.sendable()
	if err != nil {
		return 0, err
	}
	wall := t.p.now()
	now := t.p.clock.at(wall)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.batch == nil {
		t.batch = make([][]byte, ice.DefaultWriteBatchSize)
		for i := range t.batch {
			t.batch[i] = make([]byte, 0, MaxPacketSize)
		}
		t.sends = make([][]byte, 0, ice.DefaultWriteBatchSize)
	}
	sent := 0
	for len(pkts) > 0 {
		n := min(len(pkts), len(t.batch))
		t.sends = t.sends[:0]
		for i, pkt := range pkts[:n] {
			out, err := t.protectLocked(s, pkt, t.batch[i][:0], wall, now, false)
			if err != nil {
				return sent, err
			}
			t.sends = append(t.sends, out)
		}
		k, err := t.p.ice.WriteBatch(t.sends)
		sent += k
		if err != nil {
			return sent, err
		}
		pkts = pkts[n:]
	}
	return sent, nil
}

// protectLocked records pkt as sent at wall (now on the peer's clock)
// and returns its protected copy in dst, whose capacity should be
// MaxPacketSize: the header is written there and protected in place,
// followed by the encrypted payload, so the plain packet is never joined
// (dtlssrtp.Session.ProtectRTPParts). t.mu is held.
func (t *LocalTrack) protectLocked(s *dtlssrtp.Session, pkt *rtp.Packet, dst []byte, wall time.Time, now monotime, shared bool) ([]byte, error) {
	if cap(dst) < MaxPacketSize {
		dst = make([]byte, 0, MaxPacketSize) // not on the track's own paths
	}
	header, err := t.marshalHeader(dst[:cap(dst)], pkt, wall)
	if err != nil {
		return nil, err
	}
	t.record(header, pkt, now, shared)
	out, err := s.ProtectRTPParts(dst, header, pkt.Payload)
	if err != nil {
		return nil, fmt.Errorf("peer: protect: %w", err)
	}
	return out, nil
}

// record keeps the packet header||pkt.Payload for retransmission (a
// reference to a shared payload) and counts it for sender reports. t.mu
// is held.
func (t *LocalTrack) record(header []byte, pkt *rtp.Packet, now monotime, shared bool) {
	switch {
	case t.history == nil:
	case shared:
		t.history.storeShared(header, pkt.Payload, now)
	default:
		t.history.storeParts(header, pkt.Payload, now)
	}
	t.sender.onSent(pkt.Timestamp, len(pkt.Payload), now)
}

// marshalHeader writes the track's RTP header for pkt at the start of b
// and returns it: V=2, no padding, no CSRC, the abs-send-time extension
// when negotiated. It returns ErrPacketTooLarge when the header, the
// payload and the SRTP tag do not fit MaxPacketSize.
func (t *LocalTrack) marshalHeader(b []byte, pkt *rtp.Packet, now time.Time) ([]byte, error) {
	hdr := 12
	if t.absID != 0 {
		hdr += 8
	}
	if hdr+len(pkt.Payload)+maxSRTPOverhead > min(len(b), MaxPacketSize) {
		return nil, ErrPacketTooLarge
	}
	b[0] = 0x80
	b[1] = t.codec.PayloadType
	if pkt.Marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], pkt.SequenceNumber)
	binary.BigEndian.PutUint32(b[4:], pkt.Timestamp)
	binary.BigEndian.PutUint32(b[8:], t.ssrc)
	if t.absID != 0 {
		b[0] |= 0x10
		// One-byte header (RFC 8285 §4.2): one word of extensions holding
		// the 3-byte abs-send-time, 6.18 fixed-point seconds.
		b[12], b[13], b[14], b[15] = 0xBE, 0xDE, 0, 1
		b[16] = t.absID<<4 | 2
		ast := absSendTime(now)
		b[17], b[18], b[19] = byte(ast>>16), byte(ast>>8), byte(ast)
	}
	return b[:hdr], nil
}

// absSendTime is the 24-bit abs-send-time value of t: seconds in 6.18
// fixed point, wrapping every 64 s.
func absSendTime(t time.Time) uint32 {
	ns := uint64(t.UnixNano())
	return uint32((ns << 18 / uint64(time.Second)) & 0xFFFFFF)
}

// resend answers a NACK from the remote side with retransmissions from
// the history: RTX when negotiated, the original packets otherwise. It
// runs on the read goroutine.
func (t *LocalTrack) resend(pairs []rtcp.NackPair, now monotime) {
	s := t.p.srtp.Load()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.history == nil || s == nil {
		return
	}
	t.history.resend(pairs, now, func(pkt []byte) {
		if out, err := s.ProtectRTP(t.out[:0], pkt); err == nil {
			_ = t.p.write(out)
		}
	})
}

// senderReport returns the track's sender report for now (RFC 3550 §6.4.1),
// ok false before the first packet.
// It reports false while a Batch sends the track's reports (one did
// within batchReportGrace intervals).
func (t *LocalTrack) senderReport(now monotime, wall time.Time) (rtcp.SenderReport, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.srBatched != 0 && now.sub(t.srBatched) < batchReportGrace*t.p.reportInterval() {
		return rtcp.SenderReport{}, false
	}
	return t.sender.senderReport(t.ssrc, now, wall, nil)
}

// batchReportGrace is how many report intervals the peer waits after a
// Batch's last sender report of a track before it sends the track's
// reports itself again (a stream that stopped sending frames).
const batchReportGrace = 3

// batchReport returns the track's sender report when one is due, for a
// Batch that sends the track's packets, and takes the reports of the
// track over from the peer's timer. The first packet a Batch sends
// schedules the first report an interval later. t.mu is held.
func (t *LocalTrack) batchReport(now monotime, wall time.Time) (rtcp.SenderReport, bool) {
	if t.srDue == 0 || now < t.srDue {
		if t.srDue == 0 {
			t.srDue = now.add(t.p.reportInterval())
		}
		return rtcp.SenderReport{}, false
	}
	t.srDue = now.add(t.p.reportInterval())
	t.srBatched = now
	return t.sender.senderReport(t.ssrc, now, wall, nil)
}

// onReceptionReport takes the remote receiver's report block about the
// track, and returns the round-trip time it measured, if any.
func (t *LocalTrack) onReceptionReport(rr *rtcp.ReceptionReport, wall time.Time) (time.Duration, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.receiver.onReceptionReport(rr, wall) {
		return 0, false
	}
	rtt := t.receiver.feedback().RTT
	if t.history != nil {
		t.history.setRTT(rtt)
	}
	return rtt, true
}

// SendStats is what a LocalTrack sent and what the remote receiver last
// reported about it (RFC 3550 §6.4.1), plus its bandwidth estimate.
type SendStats struct {
	Packets, Bytes uint64  // RTP packets and payload bytes sent, retransmissions excluded (32-bit counters, as in RTCP)
	FractionLost   float64 // 0..1, over the remote receiver's last report interval
	PacketsLost    int32   // cumulative, as the remote receiver counts it
	Jitter         time.Duration
	RTT            time.Duration // from the last report with LSR/DLSR; 0 before one
	Reports        uint64        // report blocks received
	// EstimatedBitrate is the remote side's last REMB covering the track,
	// in bit/s; 0 when none in the last 10 s.
	EstimatedBitrate float64
	NACKed           uint64 // packets the remote side asked for again
	Retransmitted    uint64 // retransmissions sent
}

// Stats returns the track's counters and the remote side's feedback.
func (t *LocalTrack) Stats() SendStats {
	t.mu.Lock()
	fb := t.receiver.feedback()
	st := SendStats{
		Packets: uint64(t.sender.packets), Bytes: uint64(t.sender.octets),
		FractionLost: fb.FractionLost, PacketsLost: fb.PacketsLost, Jitter: fb.Jitter,
		RTT: fb.RTT, Reports: fb.Reports,
	}
	if h := t.history; h != nil {
		st.NACKed = h.stats.Resent + h.stats.Missing + h.stats.Throttled + h.stats.RateLimited + h.stats.OverCap
		st.Retransmitted = h.stats.Resent
	}
	t.mu.Unlock()
	st.EstimatedBitrate = t.p.remoteBitrate(t.ssrc)
	return st
}
