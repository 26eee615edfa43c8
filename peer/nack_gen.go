package peer

// Design note: the receive-side NACK generator for one incoming SSRC
// (RFC 4585 §6.2.1 Generic NACK), after libwebrtc's NackRequester and
// mediasoup's NackGenerator.
//
// Sequence numbers are extended with seqTracker (RFC 3550 A.1). A forward
// gap adds its packets to a missing list, a ring kept in sequence order
// (gaps only ever appear beyond the highest packet), so that a late packet
// is found by binary search and removed. The list is bounded
// (MaxMissing, 512 by default): a gap larger than the whole list, a
// sequence restart, or an overflow that drops packets still being asked
// for, all mean NACK cannot repair the stream, and push says so
// (nackKeyframe) so that the peer sends a PLI instead, as libwebrtc does.
//
// appendPairs, called on the peer's feedback timer and right after push
// reports new loss, NACKs every missing packet that is due: never asked
// for, or last asked for at least max(RTT, MinRetryInterval) ago, since the
// retransmission needs a round trip to arrive. A packet is given up after
// MaxRetries NACKs (10), when it has been missing longer than MaxAge (1 s:
// too late for any jitter buffer downstream), or when it falls further
// behind the highest packet than seqTracker accepts as reordering, so that
// a retransmission could no longer be recognised. One call emits at most
// MaxPairs NACK pairs (64: a 268-byte RTCP packet); the rest stay due for
// the next call.
//
// The retry spacing needs the RTT to the media sender, which a receiver
// does not learn from RTCP reports (only the sender computes it, from our
// LSR and DLSR). Unless the peer sets one, the generator measures it: the
// time from a packet's only NACK to its arrival is one round trip plus the
// sender's reaction, and Karn's rule (RFC 6298 §3) discards packets NACKed
// more than once, whose sample is ambiguous. Samples are smoothed as TCP's
// SRTT (gain 1/8); until the first one, defaultNackRTT (100 ms) applies.

import (
	"time"

	"github.com/pion/rtcp"
)

const (
	// defaultNackMaxMissing bounds the missing list when
	// nackGenConfig.MaxMissing is zero.
	defaultNackMaxMissing = 512
	// defaultNackMaxRetries is the NACK count per packet when
	// nackGenConfig.MaxRetries is zero (libwebrtc, mediasoup: 10).
	defaultNackMaxRetries = 10
	// defaultNackMaxAge is how long a packet is asked for when
	// nackGenConfig.MaxAge is zero.
	defaultNackMaxAge = time.Second
	// defaultNackRTT spaces NACKs of one packet until setRTT gives a
	// measurement (libwebrtc kDefaultRtt, mediasoup DefaultRtt).
	defaultNackRTT = 100 * time.Millisecond
	// defaultNackMinInterval is the shortest spacing of NACKs of one
	// packet when nackGenConfig.MinRetryInterval is zero.
	defaultNackMinInterval = 10 * time.Millisecond
	// defaultNackMaxPairs bounds the pairs of one appendPairs call when
	// nackGenConfig.MaxPairs is zero.
	defaultNackMaxPairs = 64
	// maxNackPairs is the most pairs one NACK packet can carry: its
	// 8-bit RTCP length counts 2 words of SSRCs plus 1 per pair.
	maxNackPairs = 253
)

// nackGenConfig configures a nackGenerator; the zero value gives the
// defaults above.
type nackGenConfig struct {
	// MaxMissing bounds the missing packets tracked. Zero means
	// defaultNackMaxMissing (512).
	MaxMissing int
	// MaxRetries is how many times one packet is NACKed. Zero means
	// defaultNackMaxRetries (10).
	MaxRetries int
	// MaxAge is how long a missing packet is asked for. Zero means
	// defaultNackMaxAge (1 s). A peer that reorders incoming packets
	// should not set it above the reorder window's delay, after which a
	// retransmission is dropped anyway.
	MaxAge time.Duration
	// MinRetryInterval is the shortest spacing of two NACKs of one packet.
	// Zero means defaultNackMinInterval (10 ms).
	MinRetryInterval time.Duration
	// MaxPairs bounds the NACK pairs of one appendPairs call, at most
	// maxNackPairs. Zero means defaultNackMaxPairs (64).
	MaxPairs int
}

// nackSignal is the set of things push tells the caller.
type nackSignal uint8

const (
	// nackLoss: new packets went missing; NACKs are due now.
	nackLoss nackSignal = 1 << iota
	// nackRecovered: the packet was missing and is now recovered.
	nackRecovered
	// nackKeyframe: loss that NACK cannot repair (a gap beyond the missing
	// list, an overflow, a sequence restart); request a key frame.
	nackKeyframe
)

// nackEntry is one missing packet.
type nackEntry struct {
	ext      int64    // extended sequence number
	missedAt monotime // when the gap was seen
	sentAt   monotime // last NACK, 0 for none
	retries  uint8
	live     bool // false once recovered or given up
}

// nackStats counts what a nackGenerator did, for metrics and tests.
type nackStats struct {
	Nacked       uint64 // NACK requests sent, counting retries
	Recovered    uint64 // missing packets that arrived
	GaveUpTries  uint64 // packets given up after MaxRetries
	GaveUpAge    uint64 // packets given up after MaxAge or too far behind
	Overflow     uint64 // packets dropped from a full missing list
	KeyFrameAsks uint64 // nackKeyframe signals
}

// nackGenerator tracks the missing packets of one incoming SSRC and builds
// NACK pairs for them. Not safe for concurrent use: the peer calls push
// from its read loop and appendPairs from its feedback timer, under one
// lock or on one goroutine.
type nackGenerator struct {
	seq         seqTracker
	ring        []nackEntry
	head, n     int // ring holds n entries from head, including dead ones
	maxRetries  uint8
	maxPairs    int
	maxAge      time.Duration
	minInterval time.Duration
	rtt         time.Duration // set by setRTT; 0 to use srtt
	srtt        time.Duration // measured from recovered packets; 0 for none
	stats       nackStats
}

// newNackGenerator allocates a generator with all the memory it will use.
func newNackGenerator(cfg nackGenConfig) *nackGenerator {
	return &nackGenerator{
		ring:        make([]nackEntry, max(orDefault(cfg.MaxMissing, defaultNackMaxMissing), 1)),
		maxRetries:  uint8(min(max(orDefault(cfg.MaxRetries, defaultNackMaxRetries), 1), 255)),
		maxPairs:    min(max(orDefault(cfg.MaxPairs, defaultNackMaxPairs), 1), maxNackPairs),
		maxAge:      orDefault(cfg.MaxAge, defaultNackMaxAge),
		minInterval: orDefault(cfg.MinRetryInterval, defaultNackMinInterval),
	}
}

// setRTT sets the round-trip time to the media sender, which spaces the
// NACKs of one packet. Zero or negative returns to the measured RTT.
func (g *nackGenerator) setRTT(rtt time.Duration) { g.rtt = max(rtt, 0) }

// retryRTT returns the RTT that spaces NACKs: the one set, else the
// measured one, else defaultNackRTT.
func (g *nackGenerator) retryRTT() time.Duration {
	switch {
	case g.rtt > 0:
		return g.rtt
	case g.srtt > 0:
		return g.srtt
	}
	return defaultNackRTT
}

// missing returns the number of packets currently asked for.
func (g *nackGenerator) missing() int {
	live := 0
	for i := range g.n {
		if g.at(i).live {
			live++
		}
	}
	return live
}

// push records the arrival of packet seq (a media packet, or the original
// sequence number of a retransmission) at now. It does not allocate.
func (g *nackGenerator) push(seq uint16, now monotime) nackSignal {
	prev, started := g.seq.highest, g.seq.started
	ext, v := g.seq.update(seq)
	switch v {
	case seqStart:
		g.clear()
		if started {
			return g.keyFrame()
		}
	case seqBehind:
		if g.recover(ext, now) {
			g.stats.Recovered++
			return nackRecovered
		}
	case seqAdvance:
		return g.addGap(prev+1, ext, now)
	}
	return 0
}

// addGap adds the packets [from, to) to the missing list.
func (g *nackGenerator) addGap(from, to int64, now monotime) nackSignal {
	gap := int(to - from)
	if gap == 0 {
		return 0
	}
	if gap > len(g.ring) {
		g.stats.Overflow += uint64(g.missing() + gap)
		g.clear()
		return g.keyFrame()
	}
	var sig nackSignal
	for g.n+gap > len(g.ring) {
		if e := g.at(0); e.live {
			g.stats.Overflow++
			sig = nackKeyframe
		}
		g.pop()
	}
	for ext := from; ext < to; ext++ {
		*g.at(g.n) = nackEntry{ext: ext, missedAt: now, live: true}
		g.n++
	}
	if sig != 0 {
		g.stats.KeyFrameAsks++
	}
	return sig | nackLoss
}

// recover marks ext received at now and reports whether it was missing.
func (g *nackGenerator) recover(ext int64, now monotime) bool {
	lo, hi := 0, g.n // binary search for the first entry >= ext
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if g.at(mid).ext < ext {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == g.n || g.at(lo).ext != ext || !g.at(lo).live {
		return false
	}
	e := g.at(lo)
	e.live = false
	if e.retries == 1 && now > e.sentAt {
		g.sampleRTT(now.sub(e.sentAt))
	}
	g.compact()
	return true
}

// sampleRTT folds one NACK-to-arrival time into srtt (RFC 6298 §2, gain
// 1/8). Samples beyond MaxAge are not round trips.
func (g *nackGenerator) sampleRTT(d time.Duration) {
	if d > g.maxAge {
		return
	}
	if g.srtt == 0 {
		g.srtt = d
		return
	}
	g.srtt += (d - g.srtt) / 8
}

// appendPairs appends to dst the NACK pairs (RFC 4585 §6.2.1: a packet id
// and a bitmask of the 16 following ones) for the packets due at now, and
// gives up the packets that are too old or were asked for often enough.
// It does not allocate when dst has room for MaxPairs more pairs.
func (g *nackGenerator) appendPairs(dst []rtcp.NackPair, now monotime) []rtcp.NackPair {
	interval := max(g.retryRTT(), g.minInterval)
	first := len(dst)
	for i := range g.n {
		e := g.at(i)
		if !e.live {
			continue
		}
		if now.sub(e.missedAt) > g.maxAge || g.seq.highest-e.ext > seqMaxMisorder {
			e.live = false
			g.stats.GaveUpAge++
			continue
		}
		if e.sentAt != 0 && now.sub(e.sentAt) < interval {
			continue
		}
		if e.retries >= g.maxRetries {
			e.live = false
			g.stats.GaveUpTries++
			continue
		}
		seq := uint16(e.ext)
		if last := len(dst) - 1; last >= first && seq-dst[last].PacketID-1 < 16 {
			dst[last].LostPackets |= 1 << (seq - dst[last].PacketID - 1)
		} else if len(dst)-first == g.maxPairs {
			break
		} else {
			dst = append(dst, rtcp.NackPair{PacketID: seq})
		}
		e.sentAt = now
		e.retries++
		g.stats.Nacked++
	}
	g.compact()
	return dst
}

// keyFrame counts and returns a key frame request.
func (g *nackGenerator) keyFrame() nackSignal {
	g.stats.KeyFrameAsks++
	return nackKeyframe
}

// at returns the i-th entry from the head.
func (g *nackGenerator) at(i int) *nackEntry { return &g.ring[(g.head+i)%len(g.ring)] }

// pop removes the head entry.
func (g *nackGenerator) pop() {
	g.head = (g.head + 1) % len(g.ring)
	g.n--
}

// compact pops the dead entries at the head.
func (g *nackGenerator) compact() {
	for g.n > 0 && !g.at(0).live {
		g.pop()
	}
}

// clear empties the missing list.
func (g *nackGenerator) clear() { g.head, g.n = 0, 0 }
