package peer

import (
	"github.com/pion/rtp"
	"github.com/streamwire/streamwire/ice"
)

// Batch sends the RTP packets of many tracks, of many peers, in batched
// writes: WriteRTP protects a packet as LocalTrack.WriteRTP would and
// queues it, and the queue goes to the peers' ice.Mux in one
// ice.Mux.WriteBatch (one sendmmsg(2) per ice.MuxWriteBatchSize
// datagrams) when it is full and at Flush. A relay that sends a stream to
// many viewers from one goroutine pays one system call per batch instead
// of one per packet and viewer. A Batch is not safe for concurrent use.
// Its zero value is ready; its buffers grow to ice.MuxWriteBatchSize
// packets of MaxPacketSize, after which it does not allocate.
type Batch struct {
	mux  *ice.Mux // of the queued packets' peers
	bufs [][]byte
	out  []ice.Datagram
	sent int   // datagrams written since the last Flush
	err  error // the first write error since the last Flush
}

// WriteRTP queues pkt on track t as t.WriteRTP would send it: the same
// header, retransmission history, sender-report counters and SRTP. The
// packet, whose bytes are copied, goes out with the rest of the queue.
// A packet of a peer on another Mux than the queued ones flushes the
// queue first. It returns the errors of t.WriteRTP that concern the
// track (ErrNotConnected, the peer's Err, ErrPacketTooLarge, a protect
// error); write errors of the batch are Flush's.
func (b *Batch) WriteRTP(t *LocalTrack, pkt *rtp.Packet) error {
	if mux := t.p.cfg.Mux; mux != b.mux {
		b.Flush()
		b.mux = mux
	}
	i := len(b.out)
	if i == len(b.bufs) {
		b.bufs = append(b.bufs, make([]byte, 0, MaxPacketSize))
	}
	out, err := t.protect(pkt, b.bufs[i][:0])
	if err != nil {
		return err
	}
	b.bufs[i] = out
	b.out = append(b.out, ice.Datagram{Session: t.p.ice, Buf: out})
	if len(b.out) == ice.MuxWriteBatchSize {
		b.write()
	}
	return nil
}

// Queued is how many packets wait for the next write.
func (b *Batch) Queued() int { return len(b.out) }

// Flush sends the queued packets and returns how many datagrams the
// Batch wrote since the last Flush, and the first write error among them
// (see ice.Mux.WriteBatch: a datagram of a session that has closed or has
// no path is skipped). Call it once a round of writes is done: queued
// packets wait for it.
func (b *Batch) Flush() (int, error) {
	b.write()
	n, err := b.sent, b.err
	b.sent, b.err = 0, nil
	return n, err
}

// write hands the queue to the Mux.
func (b *Batch) write() {
	if len(b.out) == 0 {
		return
	}
	n, err := b.mux.WriteBatch(b.out)
	b.sent += n
	if b.err == nil && err != nil {
		b.err = err
	}
	clear(b.out) // no session pinned
	b.out = b.out[:0]
}

// protect records pkt as sent on the track and returns its protected copy
// in dst.
func (t *LocalTrack) protect(pkt *rtp.Packet, dst []byte) ([]byte, error) {
	s, err := t.p.sendable()
	if err != nil {
		return nil, err
	}
	wall := t.p.now()
	now := t.p.clock.at(wall)
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.protectLocked(s, pkt, dst, wall, now)
}
