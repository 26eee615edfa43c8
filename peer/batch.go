package peer

import (
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/streamwire/streamwire/ice"
)

// Batch sends the RTP packets of many tracks, of many peers, in batched
// writes: WriteRTP protects a packet as LocalTrack.WriteRTP would and
// queues it, and the queue goes to the peers' ice.Mux in one
// ice.Mux.WriteBatch (one sendmmsg(2) per ice.MuxWriteBatchSize
// datagrams) when it is full and at Flush. A relay that sends a stream to
// many viewers from one goroutine pays one system call per batch instead
// of one per packet and viewer. The sender reports of the tracks a Batch
// writes (RFC 3550 §6.4.1) go in its writes too, once per the peer's
// ReportInterval, and the peer's timer leaves them to it while it writes.
// A Batch is not safe for concurrent use.
// Its zero value is ready; its buffers grow to ice.MuxWriteBatchSize
// packets of MaxPacketSize, after which it does not allocate.
type Batch struct {
	mux  *ice.Mux // of the queued packets' peers
	bufs [][]byte
	out  []ice.Datagram
	sent int   // datagrams written since the last Flush
	err  error // the first write error since the last Flush
	// wall is the time of the queued packets of peers on time.Now (set:
	// read), read once per write: a clock reading per packet was a
	// tenth of the protect path.
	wall time.Time
	set  bool
	sr   [senderReportSize]byte // a sender report being protected
}

// WriteRTP queues pkt on track t as t.WriteRTP would send it: the same
// header, retransmission history, sender-report counters and SRTP. The
// packet, whose bytes are copied, goes out with the rest of the queue.
// A packet of a peer on another Mux than the queued ones flushes the
// queue first. It returns the errors of t.WriteRTP that concern the
// track (ErrNotConnected, the peer's Err, ErrPacketTooLarge, a protect
// error); write errors of the batch are Flush's.
func (b *Batch) WriteRTP(t *LocalTrack, pkt *rtp.Packet) error { return b.writeRTP(t, pkt, false) }

// WriteRTPShared is WriteRTP for a payload that nobody modifies after
// the call, as LocalTrack.WriteRTPShared: the track's retransmission
// history keeps a reference to it, not a copy.
func (b *Batch) WriteRTPShared(t *LocalTrack, pkt *rtp.Packet) error { return b.writeRTP(t, pkt, true) }

func (b *Batch) writeRTP(t *LocalTrack, pkt *rtp.Packet, shared bool) error {
	if mux := t.p.cfg.Mux; mux != b.mux {
		b.Flush()
		b.mux = mux
	}
	s, err := t.p.sendable()
	if err != nil {
		return err
	}
	wall := b.now(t.p)
	now := t.p.clock.at(wall)
	t.mu.Lock()
	out, err := t.protectLocked(s, pkt, b.next(), wall, now, shared)
	var sr rtcp.SenderReport
	report := false
	if err == nil {
		sr, report = t.batchReport(now, wall)
	}
	t.mu.Unlock()
	if err != nil {
		return err
	}
	b.queue(t.p, out)
	if report {
		// Its sender report, in the batch rather than with a wake-up
		// and a system call of the peer's own each second. A report
		// that cannot be protected is not sent; the next one may be.
		if out, err := s.ProtectRTCP(b.next(), appendSenderReport(b.sr[:0], &sr)); err == nil {
			b.queue(t.p, out)
		}
	}
	return nil
}

// next returns the buffer of the next queued datagram, empty.
func (b *Batch) next() []byte {
	i := len(b.out)
	if i == len(b.bufs) {
		b.bufs = append(b.bufs, make([]byte, 0, MaxPacketSize))
	}
	return b.bufs[i][:0]
}

// queue queues out, written into next's buffer, for p's ICE session,
// and writes the queue once it is full.
func (b *Batch) queue(p *Peer, out []byte) {
	b.bufs[len(b.out)] = out
	b.out = append(b.out, ice.Datagram{Session: p.ice, Buf: out})
	if len(b.out) == ice.MuxWriteBatchSize {
		b.write()
	}
}

// now is the send time of a packet of p: the batch's time, or p's own
// clock when the peer has one (Config.Now).
func (b *Batch) now(p *Peer) time.Time {
	if !p.realClock {
		return p.now()
	}
	if !b.set {
		b.wall, b.set = time.Now(), true
	}
	return b.wall
}

// Queued is how many datagrams (packets and sender reports) wait for the
// next write.
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
	b.set = false
}
