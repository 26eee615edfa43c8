//go:build linux

package wheplab

import "sync/atomic"

// maxSSRCs is how many SSRCs a viewer counts apart (video, audio, and a
// repair stream); packets of further SSRCs are counted as stray.
const maxSSRCs = 4

// seqCounter counts the packets of one SSRC and the sequence numbers
// expected, as RFC 3550 §A.3 does: expected is the highest extended
// sequence number seen minus the first one, plus one; expected minus
// received is the loss (negative with duplicates). It is written by one
// goroutine; the atomics let another read it.
type seqCounter struct {
	ssrc      uint32
	used      bool
	base, max int64 // extended sequence numbers (with the wrap count)
	received  atomic.Uint64
	expected  atomic.Uint64
}

// add counts a packet with sequence number seq. A packet older than the
// highest seen (reordered) counts as received but moves nothing; one more
// than 2^15 behind it is taken as older, not as a wrap (RFC 3550 §A.1
// uses the same half-range test).
func (c *seqCounter) add(seq uint16) {
	c.received.Add(1)
	if !c.used {
		c.used = true
		c.base, c.max = int64(seq), int64(seq)
		c.expected.Store(1)
		return
	}
	ext := c.max + int64(int16(seq-uint16(c.max)))
	if ext > c.max {
		c.max = ext
		c.expected.Store(uint64(c.max - c.base + 1))
	}
}

// counters are a viewer's totals over its SSRCs.
type counters struct {
	packets, expected uint64
}

func sumCounters(cs []seqCounter) counters {
	var t counters
	for i := range cs {
		t.packets += cs[i].received.Load()
		t.expected += cs[i].expected.Load()
	}
	return t
}
