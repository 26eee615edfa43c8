package rtmp

import (
	"fmt"

	"github.com/streamwire/streamwire/rtmp/flv"
)

// AggregateIter splits an Aggregate message (type 22, §7.1.6) into its
// sub-messages without allocating. The body is a run of FLV tags (11-byte
// header, data, 4-byte back pointer); sub-message timestamps are rebased
// so that the first one equals the aggregate message's timestamp.
//
//	it := rtmp.NewAggregateIter(m)
//	var sub rtmp.Message
//	for it.Next(&sub) { ... }
//	if err := it.Err(); err != nil { ... }
type AggregateIter struct {
	rest     []byte
	msg      Message
	first    bool
	base     uint32 // timestamp of the first sub-message
	err      error
	finished bool
}

// NewAggregateIter returns an iterator over the sub-messages of m.
func NewAggregateIter(m Message) AggregateIter {
	return AggregateIter{rest: m.Payload, msg: m, first: true}
}

// Next stores the next sub-message in sub (ChunkStreamID and StreamID from
// the aggregate, Payload aliasing its payload) and reports whether there
// was one.
func (it *AggregateIter) Next(sub *Message) bool {
	if it.finished || len(it.rest) == 0 {
		it.finished = true
		return false
	}
	p := it.rest
	if len(p) < 11 {
		return it.fail("sub-message header")
	}
	n := int(p[1])<<16 | int(p[2])<<8 | int(p[3])
	ts := uint32(p[7])<<24 | uint32(p[4])<<16 | uint32(p[5])<<8 | uint32(p[6])
	if len(p) < 11+n {
		return it.fail("sub-message data")
	}
	if it.first {
		it.base, it.first = ts, false
	}
	*sub = Message{
		ChunkStreamID: it.msg.ChunkStreamID,
		Type:          MessageType(p[0] & 0x1f),
		StreamID:      it.msg.StreamID,
		Timestamp:     it.msg.Timestamp + (ts - it.base),
		Payload:       p[11 : 11+n],
	}
	p = p[11+n:]
	// The back pointer is optional at the very end (some encoders omit it).
	if len(p) >= 4 {
		p = p[4:]
	} else {
		p = nil
	}
	it.rest = p
	return true
}

func (it *AggregateIter) fail(what string) bool {
	it.err = fmt.Errorf("rtmp: truncated aggregate %s: %w", what, flv.ErrMalformed)
	it.finished = true
	return false
}

// Err returns the error that stopped the iteration, if any.
func (it *AggregateIter) Err() error { return it.err }
