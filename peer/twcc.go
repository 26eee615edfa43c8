package peer

// Design note: transport-wide congestion control feedback, the receiver
// side of draft-holmer-rmcat-transport-wide-cc-extensions-01, as Chrome's
// RemoteEstimatorProxy does it, so that a browser publisher's send-side
// bandwidth estimator (GCC) can ramp up.
//
// record takes the transport-wide sequence number of every incoming RTP
// packet (header extension, §2; twccSeq reads it) and its arrival time:
// every packet that carries one, on any SSRC, including RTX retransmissions
// and padding-only probes, since the sender's estimator accounts for each
// of them. The
// numbers are unwrapped to 64 bits by serial arithmetic (they are one
// counter across all SSRCs, so there is no restart to detect) and kept in a
// ring of twccWindow slots: memory is fixed, and a packet more than
// twccWindow behind the newest is ignored. Only a packet's first arrival
// counts. A packet that arrives after the feedback that reported it lost
// moves the start of the next feedback back to it, so the sender learns of
// it (Chrome does the same).
//
// appendFeedback writes feedback packets (§3.1) covering every sequence
// number from the last feedback's end to the newest packet: base sequence
// number, status count, reference time (the first received packet's
// arrival in 64 ms units, 24 bits), a feedback packet count, packet status
// chunks and receive deltas (250 µs units, 1 byte for 0..63.75 ms, 2 signed
// bytes otherwise), padded to 32 bits. Chunks are chosen as libwebrtc's
// LastChunk does: a status vector of seven 2-bit or fourteen 1-bit symbols,
// or a run length of up to 8,191 equal statuses when that holds more.
// Deltas are taken between rounded timestamps so that rounding errors do
// not accumulate. A packet ends early, and the next one continues, when a
// delta does not fit in 16 bits or the packet would exceed
// twccMaxFeedbackBytes. Nothing allocates once the recorder exists; the
// feedback is appended to the caller's buffer.
//
// The peer sends feedback every twccInterval (100 ms, Chrome's default
// for the receiver side) or sooner when twccMaxPending packets are
// waiting, which keeps each feedback packet small at high rates.

import (
	"encoding/binary"
	"time"
)

const (
	// twccWindow is the number of sequence numbers tracked: 2,048, 0.7 s
	// of a 30 Mbit/s publisher. A power of two.
	twccWindow = 2048
	// twccInterval is the feedback interval (twccRecorder.due).
	twccInterval = 100 * time.Millisecond
	// twccMaxPending is the number of packets that makes feedback due
	// before the interval.
	twccMaxPending = 200
	// twccMaxFeedbackBytes bounds one feedback packet, leaving room in a
	// 1,200-byte datagram for SRTCP and other compound packets.
	twccMaxFeedbackBytes = 1100
	// twccHeaderBytes is the RTCP header and the fixed feedback fields.
	twccHeaderBytes = 20
	// twccRefTick and twccDeltaTick are the units of the reference time
	// and of the receive deltas (§3.1).
	twccRefTick   = 64 * time.Millisecond
	twccDeltaTick = 250 * time.Microsecond
	// twccFormat and twccPacketType identify the packet (§3.1: FMT 15 of
	// RTPFB, RFC 4585).
	twccFormat     = 15
	twccPacketType = 205
)

// Packet status symbols (§3.1.1). A 1-bit vector holds only the first two.
const (
	twccNotReceived uint8 = iota
	twccSmallDelta
	twccLargeDelta
)

// Status chunk limits (§3.1.3, §3.1.4).
const (
	twccMaxRunLength = 1<<13 - 1
	twccOneBitCap    = 14
	twccTwoBitCap    = 7
)

// twccSeq returns the transport-wide sequence number of the RTP packet pkt
// carried in header extension id (the extmap id negotiated for
// http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01).
func twccSeq(pkt []byte, id uint8) (uint16, bool) {
	v, ok := rtpExtension(pkt, id)
	if !ok || len(v) < 2 {
		return 0, false
	}
	return binary.BigEndian.Uint16(v), true
}

// twccSlot is the arrival of one sequence number.
type twccSlot struct {
	ext int64    // unwrapped transport-wide sequence number
	at  monotime // 0 for not received
}

// twccStats counts what a twccRecorder did, for metrics and tests.
type twccStats struct {
	Recorded   uint64 // packets recorded
	Duplicates uint64 // later arrivals of recorded packets, ignored
	TooOld     uint64 // packets behind the window, ignored
	Feedbacks  uint64 // feedback packets written
}

// twccRecorder records packet arrivals and writes transport-cc feedback.
// Not safe for concurrent use: the peer calls record from its read loop
// and appendFeedback from its feedback timer, under one lock or on one
// goroutine.
type twccRecorder struct {
	senderSSRC uint32
	mediaSSRC  uint32
	slots      [twccWindow]twccSlot
	highest    int64 // newest sequence number recorded
	start      int64 // first sequence number of the next feedback
	started    bool
	pending    int
	lastSent   monotime // last feedback
	fbCount    uint8
	chunker    twccChunker
	chunks     [twccMaxFeedbackBytes / 2]uint16
	deltas     [twccMaxFeedbackBytes]byte
	stats      twccStats
}

// newTWCCRecorder returns a recorder whose feedback carries senderSSRC as
// the packet sender.
func newTWCCRecorder(senderSSRC uint32) *twccRecorder {
	return &twccRecorder{senderSSRC: senderSSRC}
}

// record notes that the packet of media SSRC ssrc with transport-wide
// sequence number seq arrived at now. It does not allocate.
func (r *twccRecorder) record(ssrc uint32, seq uint16, now monotime) {
	if !r.started {
		r.highest, r.start, r.started = int64(seq), int64(seq), true
	}
	ext := r.highest + int64(int16(seq-uint16(r.highest)))
	if ext <= r.highest-twccWindow {
		r.stats.TooOld++
		return
	}
	s := &r.slots[ext&(twccWindow-1)]
	if s.ext == ext && s.at != 0 {
		r.stats.Duplicates++
		return
	}
	*s = twccSlot{ext: ext, at: now}
	r.highest = max(r.highest, ext)
	r.start = min(r.start, ext)
	r.mediaSSRC = ssrc
	r.pending++
	r.stats.Recorded++
}

// due reports whether feedback should be sent at now: packets are waiting
// and the interval has passed since the last feedback, or many packets are
// waiting.
func (r *twccRecorder) due(now monotime) bool {
	if r.pending == 0 {
		return false
	}
	return r.pending >= twccMaxPending || now.sub(r.lastSent) >= twccInterval
}

// appendFeedback appends to dst the feedback packets for every packet
// recorded since the last call (none when there is nothing new), and
// returns the extended buffer. It does not allocate when dst has room.
func (r *twccRecorder) appendFeedback(dst []byte, now monotime) []byte {
	r.lastSent = now
	r.pending = 0
	if !r.started {
		return dst
	}
	r.start = max(r.start, r.highest-twccWindow+1)
	for r.start <= r.highest {
		dst, r.start = r.appendOne(dst, r.start, r.highest+1)
	}
	return dst
}

// received returns the arrival time of ext, or 0.
func (r *twccRecorder) received(ext int64) monotime {
	if s := &r.slots[ext&(twccWindow-1)]; s.ext == ext {
		return s.at
	}
	return 0
}

// appendOne appends one feedback packet starting at begin and covering as
// much of [begin, end) as fits, and returns where the next one starts.
func (r *twccRecorder) appendOne(dst []byte, begin, end int64) ([]byte, int64) {
	first := begin
	for first < end && r.received(first) == 0 {
		first++
	}
	if first == end {
		return dst, end
	}
	refTicks := int64(r.received(first)) / int64(twccRefTick)
	last := monotime(refTicks * int64(twccRefTick))
	r.chunker = twccChunker{}
	chunks, deltas := r.chunks[:0], r.deltas[:0]
	seq := begin
	for ; seq < end; seq++ {
		// Room for this status and delta, and for the chunk being
		// filled to be split in two.
		if twccHeaderBytes+2*(len(chunks)+2)+len(deltas)+2 > twccMaxFeedbackBytes {
			break
		}
		sym, d := twccNotReceived, int64(0)
		if at := r.received(seq); at != 0 {
			d = roundDiv(int64(at-last), int64(twccDeltaTick))
			if sym = deltaSymbol(d); sym == twccNotReceived {
				break // the next feedback reports it, with its own reference
			}
			last = last.add(time.Duration(d) * twccDeltaTick)
		}
		if !r.chunker.canAdd(sym) {
			chunks = append(chunks, r.chunker.emit())
		}
		r.chunker.add(sym)
		switch sym {
		case twccSmallDelta:
			deltas = append(deltas, byte(d))
		case twccLargeDelta:
			deltas = binary.BigEndian.AppendUint16(deltas, uint16(d))
		}
	}
	chunks = append(chunks, r.chunker.last())
	return r.appendPacket(dst, uint16(begin), uint16(seq-begin), uint32(refTicks), chunks, deltas), seq
}

// appendPacket writes one feedback packet (§3.1) with padding to 32 bits
// (RFC 3550 §6.4.1 P bit: the last byte counts the padding).
func (r *twccRecorder) appendPacket(dst []byte, base, count uint16, ref uint32, chunks []uint16, deltas []byte) []byte {
	size := twccHeaderBytes + 2*len(chunks) + len(deltas)
	pad := (4 - size%4) % 4
	b0 := byte(0x80 | twccFormat)
	if pad > 0 {
		b0 |= 0x20
	}
	dst = append(dst, b0, twccPacketType)
	dst = binary.BigEndian.AppendUint16(dst, uint16((size+pad)/4-1))
	dst = binary.BigEndian.AppendUint32(dst, r.senderSSRC)
	dst = binary.BigEndian.AppendUint32(dst, r.mediaSSRC)
	dst = binary.BigEndian.AppendUint16(dst, base)
	dst = binary.BigEndian.AppendUint16(dst, count)
	dst = binary.BigEndian.AppendUint32(dst, ref<<8|uint32(r.fbCount))
	for _, c := range chunks {
		dst = binary.BigEndian.AppendUint16(dst, c)
	}
	dst = append(dst, deltas...)
	for i := 1; i < pad; i++ {
		dst = append(dst, 0)
	}
	if pad > 0 {
		dst = append(dst, byte(pad))
	}
	r.fbCount++
	r.stats.Feedbacks++
	return dst
}

// deltaSymbol returns the status of a received packet whose delta is d
// ticks, or twccNotReceived when d does not fit in 16 bits.
func deltaSymbol(d int64) uint8 {
	switch {
	case d >= 0 && d <= 0xFF:
		return twccSmallDelta
	case d >= -1<<15 && d < 1<<15:
		return twccLargeDelta
	}
	return twccNotReceived
}

// roundDiv divides rounding half away from zero, as libwebrtc rounds
// receive deltas.
func roundDiv(a, b int64) int64 {
	if a < 0 {
		return (a - b/2) / b
	}
	return (a + b/2) / b
}

// twccChunker builds packet status chunks as libwebrtc's LastChunk.
type twccChunker struct {
	sym      [twccOneBitCap]uint8
	size     int
	allSame  bool
	hasLarge bool
}

// canAdd reports whether sym fits in the chunk being filled.
func (c *twccChunker) canAdd(sym uint8) bool {
	switch {
	case c.size < twccTwoBitCap:
		return true
	case c.size < twccOneBitCap && !c.hasLarge && sym != twccLargeDelta:
		return true
	}
	return c.size < twccMaxRunLength && c.allSame && sym == c.sym[0]
}

// add appends sym to the chunk being filled; canAdd must be true.
func (c *twccChunker) add(sym uint8) {
	if c.size < twccOneBitCap {
		c.sym[c.size] = sym
	}
	c.allSame = c.size == 0 || c.allSame && sym == c.sym[0]
	c.hasLarge = c.hasLarge || sym == twccLargeDelta
	c.size++
}

// emit encodes a full chunk and keeps any symbols it did not hold.
func (c *twccChunker) emit() uint16 {
	switch {
	case c.allSame:
		chunk := c.runLength()
		*c = twccChunker{}
		return chunk
	case c.size == twccOneBitCap:
		chunk := c.oneBit()
		*c = twccChunker{}
		return chunk
	}
	chunk := c.twoBit(twccTwoBitCap)
	old := *c
	*c = twccChunker{}
	for _, s := range old.sym[twccTwoBitCap:old.size] {
		c.add(s)
	}
	return chunk
}

// last encodes the final, possibly partial, chunk.
func (c *twccChunker) last() uint16 {
	switch {
	case c.allSame:
		return c.runLength()
	case c.size <= twccTwoBitCap:
		return c.twoBit(c.size)
	}
	return c.oneBit()
}

// runLength encodes §3.1.3: T=0, 2-bit symbol, 13-bit run length.
func (c *twccChunker) runLength() uint16 {
	return uint16(c.sym[0])<<13 | uint16(c.size)
}

// oneBit encodes §3.1.4 with S=0: fourteen 1-bit symbols (0 not received,
// 1 received with a small delta).
func (c *twccChunker) oneBit() uint16 {
	chunk := uint16(0x8000)
	for i, s := range c.sym[:c.size] {
		chunk |= uint16(s) << (13 - i)
	}
	return chunk
}

// twoBit encodes §3.1.4 with S=1: the first n (at most seven) 2-bit
// symbols; unused positions are zero.
func (c *twccChunker) twoBit(n int) uint16 {
	chunk := uint16(0xC000)
	for i, s := range c.sym[:n] {
		chunk |= uint16(s) << (12 - 2*i)
	}
	return chunk
}
