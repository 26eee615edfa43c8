package ice

import (
	"fmt"
	"sync"

	"github.com/streamwire/streamwire/internal/sockio"
)

// Datagram is one datagram for Mux.WriteBatch: its bytes and the session
// whose selected pair it goes to.
type Datagram struct {
	Session *Session
	Buf     []byte
}

// muxWriter is the Mux's batched writer for WriteBatch, made at its first
// use.
type muxWriter struct {
	mu   sync.Mutex
	bc   *sockio.BatchConn
	msgs []sockio.Message
}

// WriteBatch sends each datagram to the selected pair of its session, the
// UDP ones in as few sendmmsg(2) calls as possible (MuxWriteBatchSize
// datagrams each): the fan-out of one media packet to the viewers of a
// stream costs one system call per batch instead of one per viewer.
// Consecutive datagrams to one session's path, of one length but a
// shorter last one (a video frame's RTP packets), go as one UDP GSO send
// where Linux has it (UDP_SEGMENT): one trip down the network stack. A
// datagram whose session has no path, is closed or is past its write
// deadline is skipped, as is one the kernel refuses; datagrams of sessions
// on ICE-TCP are written one by one. Every session must be of this Mux.
// It returns how many datagrams were sent and the first error met. It
// does not allocate once its buffers have grown to len(out).
func (m *Mux) WriteBatch(out []Datagram) (int, error) {
	w := &m.writer
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.bc == nil {
		bc, err := sockio.NewBatchConn(m.conn, sockio.BatchConfig{Size: MuxWriteBatchSize, GSO: true})
		if err != nil {
			return 0, fmt.Errorf("ice: mux writer: %w", err)
		}
		w.bc = bc
	}
	sent := 0
	var first error
	ms := w.msgs[:0]
	for _, d := range out {
		p, err := d.Session.writePath()
		switch {
		case err != nil:
		case p.tcp != nil:
			if _, err = d.Session.Write(d.Buf); err == nil {
				sent++
			}
		default:
			ms = append(ms, sockio.Message{Buf: d.Buf, Addr: p.remote, Local: p.local, IfIndex: p.ifIndex})
		}
		if err != nil && first == nil {
			first = err
		}
	}
	w.msgs = ms
	defer clear(ms) // drop the references to the callers' buffers
	n, err := writePastRefused(w.bc, ms, first)
	return sent + n, err
}
