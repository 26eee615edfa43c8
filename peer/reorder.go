package peer

// Design note: a small reordering window for one incoming SSRC, so that the
// caller receives RTP in sequence order (the issue's "per-track RTP out to
// the caller in order"). It is a jitter buffer reduced to ordering: no
// playout timing, no frame assembly.
//
// The window holds Slots packets (128 by default, a power of two at most
// 1,024 so that it stays within seqTracker's reordering distance), each in
// a preallocated MaxPacket-byte buffer: 192 KiB per incoming video track
// by default, allocated once. A packet that is next in order is passed to
// emit straight from the caller's buffer, with no copy; a packet ahead of a
// hole is copied into its slot. A hole is waited for at most MaxDelay
// (150 ms by default) from the arrival of the first packet behind it, then
// skipped; a packet that arrives after its hole was skipped is dropped as
// late, so order is never broken. A packet further ahead than the window
// releases (or skips) the oldest slots to make room, so waiting is bounded
// in packets as well as in time. MaxDelay should leave room for two NACK
// round trips (nack_gen.go): the first retransmission can be lost too.
//
// A sequence restart (seqTracker) flushes the buffered packets in order and
// continues with the new numbering, as if it followed them.

import (
	"math/bits"
	"time"
)

const (
	// defaultReorderSlots is the window size when reorderConfig.Slots is
	// zero.
	defaultReorderSlots = 128
	// maxReorderSlots bounds the window within seqMaxMisorder.
	maxReorderSlots = 1024
	// defaultReorderDelay is the longest wait for a hole when
	// reorderConfig.MaxDelay is zero.
	defaultReorderDelay = 150 * time.Millisecond
)

// reorderConfig configures a reorderBuffer; the zero value gives the
// defaults above.
type reorderConfig struct {
	// Slots is the window size in packets, rounded up to a power of two,
	// at most maxReorderSlots. Zero means defaultReorderSlots (128).
	Slots int
	// MaxDelay is the longest wait for a missing packet. Zero means
	// defaultReorderDelay (150 ms).
	MaxDelay time.Duration
	// MaxPacket is the largest packet that can be buffered, in bytes; a
	// larger one is still passed on when it is next in order. Zero means
	// defaultMaxPacket (1,500).
	MaxPacket int
}

// reorderResult says what push did with a packet.
type reorderResult uint8

const (
	// reorderEmitted: the packet was next in order and was passed to emit.
	reorderEmitted reorderResult = iota
	// reorderBuffered: the packet waits in the window for a hole before it.
	reorderBuffered
	// reorderLate: the packet's turn has passed (its hole was skipped, or
	// it was already emitted); dropped.
	reorderLate
	// reorderDuplicate: the packet is already buffered; dropped.
	reorderDuplicate
	// reorderDropped: malformed, a sequence jump seqTracker does not
	// accept, or too large to buffer; dropped.
	reorderDropped
)

// reorderStats counts what a reorderBuffer did, for metrics and tests.
type reorderStats struct {
	InOrder    uint64 // packets emitted straight from push
	Reordered  uint64 // packets emitted from the window
	Skipped    uint64 // holes given up
	Late       uint64 // packets dropped as late
	Duplicates uint64 // packets dropped as already buffered
	Dropped    uint64 // malformed, jumps, too large
}

// reorderSlot is one buffered packet.
type reorderSlot struct {
	ext     int64 // extended sequence number in the window's numbering
	arrived monotime
	n       int
	full    bool
}

// reorderBuffer orders the packets of one incoming SSRC. Not safe for
// concurrent use: the peer calls push from its read loop and poll from its
// timer, under one lock or on one goroutine. It does not allocate after
// newReorderBuffer.
type reorderBuffer struct {
	seq       seqTracker
	slots     []reorderSlot
	data      []byte // len(slots) buffers of maxPacket bytes
	maxPacket int
	maxDelay  time.Duration
	next      int64 // next extended sequence number to emit
	base      int64 // added to seqTracker's numbers after restarts
	buffered  int
	waitFrom  monotime // arrival of the first packet behind the head hole
	stats     reorderStats
}

// newReorderBuffer allocates a window with all the memory it will use.
func newReorderBuffer(cfg reorderConfig) *reorderBuffer {
	n := min(max(orDefault(cfg.Slots, defaultReorderSlots), 1), maxReorderSlots)
	n = 1 << bits.Len(uint(n-1))
	maxPacket := orDefault(cfg.MaxPacket, defaultMaxPacket)
	return &reorderBuffer{
		slots:     make([]reorderSlot, n),
		data:      make([]byte, n*maxPacket),
		maxPacket: maxPacket,
		maxDelay:  orDefault(cfg.MaxDelay, defaultReorderDelay),
	}
}

// push takes the RTP packet pkt (after SRTP), which arrived at now, and
// calls emit for every packet that is now in order: pkt itself when it is
// next, then any buffered packets that follow it. The slices passed to emit
// are valid only during the call, and emit must not call back into r.
func (r *reorderBuffer) push(pkt []byte, now monotime, emit func(pkt []byte)) reorderResult {
	if len(pkt) < rtpFixedHeader || pkt[0]>>6 != rtpVersion {
		r.stats.Dropped++
		return reorderDropped
	}
	started := r.seq.started
	ext, v := r.seq.update(rtpSeq(pkt))
	switch v {
	case seqJump:
		r.stats.Dropped++
		return reorderDropped
	case seqStart:
		if started {
			r.flush(emit)
		}
		r.base = r.next - ext
		if !started {
			r.base, r.next = 0, ext
		}
	}
	ext += r.base
	size := int64(len(r.slots))
	switch {
	case ext < r.next:
		r.stats.Late++
		return reorderLate
	case ext >= r.next+size:
		r.release(ext-size+1, emit)
	}
	if ext == r.next {
		r.stats.InOrder++
		r.next++
		emit(pkt)
		r.drain(emit)
		return reorderEmitted
	}
	s := &r.slots[ext&(size-1)]
	switch {
	case s.full:
		r.stats.Duplicates++
		return reorderDuplicate
	case len(pkt) > r.maxPacket:
		r.stats.Dropped++
		return reorderDropped
	}
	*s = reorderSlot{ext: ext, arrived: now, n: len(pkt), full: true}
	copy(r.buf(ext), pkt)
	r.buffered++
	if r.waitFrom == 0 {
		r.waitFrom = now
	}
	return reorderBuffered
}

// awaits reports whether a packet with sequence number seq is still
// wanted: it is ahead of the window or fills one of its holes, rather
// than repeating a packet already buffered or emitted, coming after its
// hole was skipped, or jumping. It changes nothing.
func (r *reorderBuffer) awaits(seq uint16) bool {
	ext, v := r.seq.peek(seq)
	switch v {
	case seqStart, seqAdvance:
		return true
	case seqJump:
		return false
	}
	ext += r.base
	s := &r.slots[ext&int64(len(r.slots)-1)]
	return ext >= r.next && (!s.full || s.ext != ext)
}

// poll skips the holes that have been waited for MaxDelay at now and emits
// the packets behind them, as push does. The peer calls it from a timer set
// to deadline.
func (r *reorderBuffer) poll(now monotime, emit func(pkt []byte)) {
	for r.buffered > 0 && now.sub(r.waitFrom) >= r.maxDelay {
		r.release(r.firstBuffered(), emit)
	}
}

// flush emits every buffered packet in order, skipping the holes.
func (r *reorderBuffer) flush(emit func([]byte)) {
	for r.buffered > 0 {
		r.release(r.firstBuffered(), emit)
	}
}

// deadline returns when poll next has a hole to skip; ok is false when
// nothing is buffered.
func (r *reorderBuffer) deadline() (t monotime, ok bool) {
	if r.buffered == 0 {
		return 0, false
	}
	return r.waitFrom.add(r.maxDelay), true
}

// release emits the buffered packets before upTo in order, skipping the
// holes among them, moves the window to start at upTo and drains the
// packets in order from there.
func (r *reorderBuffer) release(upTo int64, emit func([]byte)) {
	scan := min(upTo, r.next+int64(len(r.slots)))
	if r.buffered == 0 {
		scan = r.next
	}
	for ; r.next < scan; r.next++ {
		if !r.emitSlot(r.next, emit) {
			r.stats.Skipped++
		}
	}
	r.stats.Skipped += uint64(upTo - r.next)
	r.next = upTo
	r.drain(emit)
}

// drain emits the buffered packets that follow r.next without a hole, then
// restarts the wait for the next hole.
func (r *reorderBuffer) drain(emit func([]byte)) {
	for r.buffered > 0 && r.emitSlot(r.next, emit) {
		r.next++
	}
	r.waitFrom = 0
	if r.buffered > 0 {
		r.waitFrom = r.slots[r.firstBuffered()&int64(len(r.slots)-1)].arrived
	}
}

// emitSlot emits and frees the slot of ext if it holds ext.
func (r *reorderBuffer) emitSlot(ext int64, emit func([]byte)) bool {
	s := &r.slots[ext&int64(len(r.slots)-1)]
	if !s.full || s.ext != ext {
		return false
	}
	s.full = false
	r.buffered--
	r.stats.Reordered++
	emit(r.buf(ext)[:s.n])
	return true
}

// firstBuffered returns the lowest buffered sequence number; r.buffered
// must be positive.
func (r *reorderBuffer) firstBuffered() int64 {
	ext := r.next
	for !r.slots[ext&int64(len(r.slots)-1)].full {
		ext++
	}
	return ext
}

// buf returns the slot buffer of ext.
func (r *reorderBuffer) buf(ext int64) []byte {
	i := int(ext&int64(len(r.slots)-1)) * r.maxPacket
	return r.data[i : i+r.maxPacket]
}
