package peer

// Design note: the send-side packet history that answers NACKs (RFC 4585
// §6.2.1) with retransmissions, as RTX (RFC 4588 §4, rtx.go) when
// negotiated and as plain retransmissions of the original packet
// otherwise.
//
// Each sent packet (plain RTP, before SRTP) is copied into one byte arena
// used as a ring: memory is bounded by bytes, not by a slot size times a
// slot count, so 100-byte audio packets do not reserve 1,500 bytes each. A
// power-of-two slot table indexed by sequence number locates the copies; a
// copy is valid while the arena has not wrapped over it and it is younger
// than MaxAge (1 s by default: mediasoup keeps by time too, and a
// retransmission older than the receiver's jitter buffer is wasted
// bandwidth). All memory is allocated by newSendHistory; store and resend
// allocate nothing.
//
// Retransmissions are limited three ways, as libwebrtc's RtpPacketHistory
// and mediasoup's RtpStreamSend do: one packet is not resent twice within
// max(RTT, MinResendInterval), since the receiver re-NACKs only after an
// RTT and an earlier duplicate is wasted; one NACK packet resends at most
// MaxPerNack packets; and a token bucket caps the retransmission bitrate
// at ResendRate, so that a receiver NACKing everything cannot multiply our
// output.

import (
	"math/bits"
	"time"

	"github.com/pion/rtcp"
)

const (
	// defaultHistorySlots is the slot count when sendHistoryConfig.Slots
	// is zero: 512 packets, about 1 s of 4 Mbit/s video in 1,000-byte
	// packets.
	defaultHistorySlots = 512
	// maxHistorySlots keeps the slot table within half the sequence number
	// space, so that a slot never holds two live sequence numbers.
	maxHistorySlots = 1 << 15
	// defaultHistoryBytes is the arena size when sendHistoryConfig.Bytes
	// is zero: 512 KiB, 1 s of 4 Mbit/s.
	defaultHistoryBytes = 512 << 10
	// defaultMaxPacket bounds one stored packet, in bytes (an Ethernet MTU).
	defaultMaxPacket = 1500
	// defaultHistoryMaxAge is the age beyond which a packet is not resent.
	defaultHistoryMaxAge = time.Second
	// defaultMinResendInterval is the shortest interval between two
	// retransmissions of one packet while the RTT is unknown or shorter.
	defaultMinResendInterval = 10 * time.Millisecond
	// defaultResendRate caps retransmissions, in bits per second.
	defaultResendRate = 4_000_000
	// resendBurst is the depth of the retransmission token bucket, as time
	// at ResendRate.
	resendBurst = 250 * time.Millisecond
	// defaultResendPerNack caps the packets resent for one NACK packet.
	defaultResendPerNack = 64
	// rtxOSNSize is the size of the original sequence number that starts
	// an RTX payload (RFC 4588 §4).
	rtxOSNSize = 2
	// resendHeadroom is the spare capacity of the buffer passed to emit, so
	// that SRTP can append its authentication tag in place.
	resendHeadroom = 64
)

// sendHistoryConfig configures a sendHistory. The zero value gives plain
// retransmissions with the defaults above.
type sendHistoryConfig struct {
	// Slots is the number of packets indexed, rounded up to a power of
	// two, at most maxHistorySlots. Zero means defaultHistorySlots.
	Slots int
	// Bytes is the arena size in bytes, at least MaxPacket. Zero means
	// defaultHistoryBytes.
	Bytes int
	// MaxPacket is the largest packet stored, in bytes; larger packets
	// are sent but cannot be retransmitted. Zero means defaultMaxPacket.
	MaxPacket int
	// MaxAge is the age beyond which a packet is not resent. Zero means
	// defaultHistoryMaxAge (1 s).
	MaxAge time.Duration
	// MinResendInterval is the shortest interval between two
	// retransmissions of one packet when the RTT is shorter. Zero means
	// defaultMinResendInterval (10 ms).
	MinResendInterval time.Duration
	// ResendRate caps retransmissions in bits per second; negative means
	// no cap. Zero means defaultResendRate (4 Mbit/s).
	ResendRate int
	// MaxPerNack caps the packets resent for one NACK packet. Zero means
	// defaultResendPerNack (64).
	MaxPerNack int
	// RTX selects RFC 4588 retransmissions on RTXSSRC with payload type
	// RTXPayloadType, numbered from RTXSeq; false resends the original
	// packet unchanged.
	RTX            bool
	RTXSSRC        uint32
	RTXPayloadType uint8
	RTXSeq         uint16
}

// historySlot locates one stored packet: a copy in the arena, or its
// header here and its payload, shared, in sendHistory.payloads.
type historySlot struct {
	pos      uint64   // absolute arena position of the copy
	sentAt   monotime // 0 for an empty slot
	resentAt monotime // last retransmission, 0 for none
	n        uint16   // length of the copy, or of hdr
	seq      uint16
	shared   bool // the header is in hdr, the payload in payloads
	hdr      [maxSharedHeader]byte
}

// maxSharedHeader is the longest header that storeShared keeps beside a
// shared payload: 12 bytes and a few words of extensions (the track's
// own header is 12 or 20 bytes).
const maxSharedHeader = 24

// historyStats counts what a sendHistory did, for metrics and tests.
type historyStats struct {
	Stored      uint64 // packets stored
	Unstorable  uint64 // packets too large or malformed to store
	Resent      uint64 // retransmissions emitted
	ResentBytes uint64 // bytes of those retransmissions
	Missing     uint64 // NACKed packets not in the history or too old
	Throttled   uint64 // NACKed packets resent less than an interval ago
	RateLimited uint64 // NACKed packets over the retransmission bitrate
	OverCap     uint64 // NACKed packets beyond MaxPerNack
}

// sendHistory stores the packets sent on one SSRC and answers NACKs for
// them. Not safe for concurrent use: the peer calls it from its write path
// and its RTCP path under one lock (or one goroutine).
type sendHistory struct {
	slots []historySlot
	// payloads holds the shared payload of each slot stored with
	// storeShared (a slice of its own, so that slots hold no pointer for
	// the garbage collector to scan); nil until the first.
	payloads  [][]byte
	mask      uint16
	arena     []byte // allocated by the first copy: a relay's tracks may never copy
	arenaSize int
	w         uint64 // absolute write cursor into arena
	scratch   []byte // retransmission being built
	joined    []byte // a shared packet's header and payload, for an RTX build
	maxPacket int
	maxAge    time.Duration
	minResend time.Duration
	rate      float64 // bytes per nanosecond; 0 for no cap
	burst     float64 // bucket depth in bytes
	tokens    float64
	refilled  monotime
	perNack   int
	rtx       bool
	rtxSSRC   uint32
	rtxPT     uint8
	rtxSeq    uint16
	rtt       time.Duration
	stats     historyStats
}

// newSendHistory allocates a history with all the memory it will use.
func newSendHistory(cfg sendHistoryConfig) *sendHistory {
	slots := min(max(cfg.Slots, 1), maxHistorySlots)
	if cfg.Slots == 0 {
		slots = defaultHistorySlots
	}
	slots = 1 << bits.Len(uint(slots-1))
	maxPacket := orDefault(cfg.MaxPacket, defaultMaxPacket)
	h := &sendHistory{
		slots:     make([]historySlot, slots),
		mask:      uint16(slots - 1),
		arenaSize: max(orDefault(cfg.Bytes, defaultHistoryBytes), maxPacket),
		scratch:   make([]byte, 0, maxPacket+rtxOSNSize+resendHeadroom),
		maxPacket: maxPacket,
		maxAge:    orDefault(cfg.MaxAge, defaultHistoryMaxAge),
		minResend: orDefault(cfg.MinResendInterval, defaultMinResendInterval),
		perNack:   orDefault(cfg.MaxPerNack, defaultResendPerNack),
		rtx:       cfg.RTX,
		rtxSSRC:   cfg.RTXSSRC,
		rtxPT:     cfg.RTXPayloadType & rtpPayloadTypeMx,
		rtxSeq:    cfg.RTXSeq,
	}
	if rate := orDefault(cfg.ResendRate, defaultResendRate); rate > 0 {
		h.rate = float64(rate) / 8 / float64(time.Second)
		h.burst = max(h.rate*float64(resendBurst), float64(maxPacket+rtxOSNSize))
		h.tokens = h.burst
	}
	return h
}

// orDefault returns v, or def when v is zero.
func orDefault[T ~int | ~int64 | ~float64](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// setRTT sets the round-trip time that spaces retransmissions of one
// packet (from the receiver reports, rtp_stats.go).
func (h *sendHistory) setRTT(rtt time.Duration) { h.rtt = rtt }

// store copies pkt, a plain RTP packet as sent at now, into the history. It
// reports false, and stores nothing, for a packet larger than MaxPacket or
// malformed. It does not allocate.
func (h *sendHistory) store(pkt []byte, now monotime) bool {
	n, ok := rtpHeaderSize(pkt)
	if !ok {
		h.stats.Unstorable++
		return false
	}
	return h.storeParts(pkt[:n], pkt[n:], now)
}

// storeParts is store of the packet header||payload, for the send path,
// which holds the two apart: header must be exactly the packet's RTP
// header. The packet is copied into the arena in one piece, as store
// would copy it.
func (h *sendHistory) storeParts(header, payload []byte, now monotime) bool {
	size := len(header) + len(payload)
	if size > h.maxPacket || !validParts(header, payload) {
		h.stats.Unstorable++
		return false
	}
	if h.arena == nil {
		h.arena = make([]byte, h.arenaSize)
	}
	arena := uint64(len(h.arena))
	if phys := h.w % arena; phys+uint64(size) > arena {
		h.w += arena - phys // skip the tail: copies are contiguous
	}
	seq := rtpSeq(header)
	if h.payloads != nil {
		h.payloads[seq&h.mask] = nil // no longer pinned
	}
	h.slots[seq&h.mask] = historySlot{
		pos:    h.w,
		sentAt: now,
		n:      uint16(size),
		seq:    seq,
	}
	at := h.arena[h.w%arena:]
	copy(at[copy(at, header):], payload)
	h.w += uint64(size)
	h.stats.Stored++
	return true
}

// storeShared is storeParts for a payload that is never modified and
// may be shared by many tracks (a relay's frame, sent to every viewer):
// the history keeps the header and a reference to the payload, not a
// copy. A header longer than maxSharedHeader is copied with the payload.
func (h *sendHistory) storeShared(header, payload []byte, now monotime) bool {
	if len(header) > maxSharedHeader {
		return h.storeParts(header, payload, now)
	}
	if len(header)+len(payload) > h.maxPacket || !validParts(header, payload) {
		h.stats.Unstorable++
		return false
	}
	if h.payloads == nil {
		h.payloads = make([][]byte, len(h.slots))
	}
	seq := rtpSeq(header)
	i := seq & h.mask
	s := &h.slots[i]
	*s = historySlot{sentAt: now, n: uint16(len(header)), seq: seq, shared: true}
	copy(s.hdr[:], header)
	h.payloads[i] = payload
	h.stats.Stored++
	return true
}

// validParts reports whether header is exactly one RTP header and the
// payload after it holds its padding (RFC 3550 §5.1), as rtpPayloadBounds
// requires of the joined packet.
func validParts(header, payload []byte) bool {
	if n, ok := rtpHeaderSize(header); !ok || n != len(header) {
		return false
	}
	if header[0]&rtpPaddingBit == 0 {
		return true
	}
	return len(payload) > 0 && payload[len(payload)-1] != 0 && int(payload[len(payload)-1]) <= len(payload)
}

// resend answers the NACK pairs (RFC 4585 §6.2.1: PID and the bitmask of the
// 16 following packets) received at now. For every packet it may resend it
// calls emit with the retransmission: an RTX packet when configured, else a
// copy of the original. pkt is a buffer of the history with at least
// resendHeadroom bytes of spare capacity; emit may modify it in place (SRTP)
// but must not keep it after returning. resend returns the number of
// packets emitted and does not allocate.
//
// Packets never resent go first, in a pass of their own: a receiver may
// NACK again a packet it already got back (pion's NACK generator does not
// see packets repaired through RTX: pion/interceptor#320), and those
// repeats, earlier in the NACK, must not spend the budget that a packet
// lost for the first time needs.
func (h *sendHistory) resend(pairs []rtcp.NackPair, now monotime, emit func(pkt []byte)) int {
	h.refill(now)
	budget := h.perNack
	for _, fresh := range [...]bool{true, false} {
		for _, p := range pairs {
			h.resendBudgeted(p.PacketID, now, emit, &budget, fresh)
			for lost := uint16(p.LostPackets); lost != 0; lost &= lost - 1 {
				h.resendBudgeted(p.PacketID+uint16(bits.TrailingZeros16(lost))+1, now, emit, &budget, fresh)
			}
		}
	}
	return h.perNack - budget
}

// inPass reports whether resend takes seq in its first pass (fresh: a
// stored packet never resent) or in its second (any other, but those
// the first pass took).
func (h *sendHistory) inPass(seq uint16, now monotime, fresh bool) bool {
	s := &h.slots[seq&h.mask]
	stored := s.seq == seq && s.sentAt != 0
	if fresh {
		return stored && s.resentAt == 0
	}
	return !stored || (s.resentAt != 0 && s.resentAt != now)
}

// resendBudgeted resends seq, if resend takes it in this pass and the
// per-NACK budget allows, and spends one unit of it when it does.
func (h *sendHistory) resendBudgeted(seq uint16, now monotime, emit func([]byte), budget *int, fresh bool) {
	if !h.inPass(seq, now, fresh) {
		return
	}
	if *budget == 0 {
		h.stats.OverCap++
		return
	}
	if h.resendOne(seq, now, emit) {
		*budget--
	}
}

// resendOne emits seq if it is stored, young enough, not resent within the
// interval and within the bitrate; it reports whether it did.
func (h *sendHistory) resendOne(seq uint16, now monotime, emit func([]byte)) bool {
	i := seq & h.mask
	s := &h.slots[i]
	overwritten := !s.shared && h.w-s.pos > uint64(len(h.arena))
	if s.sentAt == 0 || s.seq != seq || overwritten || now.sub(s.sentAt) > h.maxAge {
		h.stats.Missing++
		return false
	}
	if s.resentAt != 0 && now.sub(s.resentAt) < max(h.rtt, h.minResend) {
		h.stats.Throttled++
		return false
	}
	if h.rate > 0 && h.tokens < float64(int(s.n)+rtxOSNSize) {
		h.stats.RateLimited++
		return false
	}
	pkt := h.build(i)
	if h.rate > 0 {
		h.tokens -= float64(len(pkt))
	}
	if h.rtx {
		h.rtxSeq++
	}
	s.resentAt = now
	h.stats.Resent++
	h.stats.ResentBytes += uint64(len(pkt))
	emit(pkt)
	return true
}

// appendOriginal appends the packet stored in slot i to b: its copy in
// the arena, or its header and its shared payload.
func (h *sendHistory) appendOriginal(b []byte, i uint16) []byte {
	s := &h.slots[i]
	if c := h.arenaCopy(i); c != nil {
		return append(b, c...)
	}
	return append(append(b, s.hdr[:s.n]...), h.payloads[i]...)
}

// build writes the retransmission of the packet in slot i into h.scratch:
// the packet itself, or its RTX packet (rtx.go), built from the packet in
// the arena or joined in h.joined. resendOne advances the RTX sequence
// number once the packet is emitted.
func (h *sendHistory) build(i uint16) []byte {
	if !h.rtx {
		h.scratch = h.appendOriginal(h.scratch[:0], i)
		return h.scratch
	}
	orig := h.arenaCopy(i)
	if orig == nil {
		if h.joined == nil {
			h.joined = make([]byte, 0, h.maxPacket)
		}
		h.joined = h.appendOriginal(h.joined[:0], i)
		orig = h.joined
	}
	h.scratch, _ = appendRTX(h.scratch[:0], orig, h.rtxSSRC, h.rtxPT, h.rtxSeq) // orig checked by store
	return h.scratch
}

// arenaCopy returns the arena's copy of the packet in slot i, or nil for
// a packet stored with its payload shared.
func (h *sendHistory) arenaCopy(i uint16) []byte {
	s := &h.slots[i]
	if s.shared {
		return nil
	}
	size := uint64(len(h.arena))
	return h.arena[s.pos%size : s.pos%size+uint64(s.n)]
}

// refill adds the tokens earned since the last refill.
func (h *sendHistory) refill(now monotime) {
	if h.rate == 0 {
		return
	}
	if h.refilled != 0 && now > h.refilled {
		h.tokens = min(h.burst, h.tokens+float64(now-h.refilled)*h.rate)
	}
	h.refilled = now
}
