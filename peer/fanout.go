package peer

import (
	"fmt"

	"github.com/pion/rtp"
	"github.com/streamwire/streamwire/ice"
)

// Fanout sends one RTP packet to many viewers' tracks in one batched
// write: each track's copy gets the track's header and SRTP keys, and all
// of them go to the Mux together (ice.Mux.WriteBatch, one sendmmsg(2) per
// ice.DefaultWriteBatchSize viewers). A relay keeps one Fanout per stream
// and calls it from one goroutine; it is not safe for concurrent use. Its
// zero value is ready.
type Fanout struct {
	bufs [][]byte
	out  []ice.Datagram
}

// WriteRTP sends pkt on every track of tracks as LocalTrack.WriteRTP
// would, in one batched write per Mux: tracks whose peer is not connected
// or stopped are skipped. Tracks of peers on another Mux than the first
// track's are written one by one. It returns how many tracks were sent to
// and the first error. Once its buffers have grown to len(tracks), it
// does not allocate.
func (f *Fanout) WriteRTP(tracks []*LocalTrack, pkt *rtp.Packet) (int, error) {
	if len(tracks) == 0 {
		return 0, nil
	}
	mux := tracks[0].p.cfg.Mux
	for len(f.bufs) < len(tracks) {
		f.bufs = append(f.bufs, make([]byte, 0, MaxPacketSize))
	}
	f.out = f.out[:0]
	sent := 0
	var first error
	for i, t := range tracks {
		if t.p.cfg.Mux != mux {
			err := t.WriteRTP(pkt)
			if err == nil {
				sent++
			} else if first == nil {
				first = err
			}
			continue
		}
		b, err := t.protect(pkt, f.bufs[i][:0])
		if err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		f.bufs[i] = b
		f.out = append(f.out, ice.Datagram{Session: t.p.ice, Buf: b})
	}
	n, err := mux.WriteBatch(f.out)
	clear(f.out)
	if first == nil {
		first = err
	}
	return sent + n, first
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
	plain, err := t.record(pkt, wall, now)
	if err != nil {
		return nil, err
	}
	out, err := s.ProtectRTP(dst, plain)
	if err != nil {
		return nil, fmt.Errorf("peer: protect: %w", err)
	}
	return out, nil
}
