package ice

import (
	"github.com/streamwire/streamwire/internal/sockio"
	"github.com/streamwire/streamwire/stun"
)

// reader is the state of the Mux's one UDP read goroutine: the batch being
// read, the packets that own its buffers, the responses waiting to be
// written, and the STUN scratch space (checker), all reused, so that
// handling a datagram allocates nothing.
type reader struct {
	checker
	bc      *sockio.BatchConn
	in      []sockio.Message
	held    []*packet // held[i] owns in[i].Buf
	out     []sockio.Message
	outBufs [][]byte
	nout    int
}

func (m *Mux) newReader(bc *sockio.BatchConn) *reader {
	r := &reader{checker: checker{m: m, udp: true}, bc: bc, in: make([]sockio.Message, m.batch), held: make([]*packet, m.batch),
		out: make([]sockio.Message, m.batch), outBufs: make([][]byte, m.batch)}
	for i := range r.in {
		r.held[i] = m.pool.get()
		r.in[i].Buf = r.held[i].buf
		r.outBufs[i] = make([]byte, 0, m.size+stun.MaxResponseGrowth)
	}
	return r
}

// loop reads batches until the socket fails or the Mux is closed.
func (r *reader) loop() error {
	for {
		n, err := r.bc.ReadBatch(r.in)
		if err != nil {
			if isTransient(err) && !r.m.isClosed() {
				continue
			}
			return err
		}
		r.m.datagrams.Add(uint64(n))
		r.handleBatch(n)
		if err := r.flush(); err != nil {
			return err
		}
	}
}

// handleBatch handles the first n datagrams of the batch, read at one
// time.
func (r *reader) handleBatch(n int) {
	r.clock = 0
	for i := range n {
		r.handle(i)
	}
}

// handle demultiplexes datagram i of the batch by its first byte (RFC 7983
// §7).
func (r *reader) handle(i int) {
	in := &r.in[i]
	if in.Truncated || in.N == 0 || in.N > r.m.size {
		r.m.dropped.Add(1)
		return
	}
	switch classify(in.Buf[0]) {
	case classSTUN:
		from := path{remote: in.Addr, local: in.Local, ifIndex: in.IfIndex}
		if resp := r.handleSTUN(&from, in.Buf[:in.N], r.responseBuf()); resp != nil {
			r.queue(in, resp)
		}
	case classMedia:
		r.route(i)
	default:
		r.m.dropped.Add(1)
	}
}

// route queues non-STUN datagram i to the session that validated its
// source, handing the buffer over and taking a free one in its place.
func (r *reader) route(i int) {
	in := &r.in[i]
	s := r.m.sessionByAddr(in.Addr)
	if s == nil {
		r.m.unknownAddr.Add(1)
		return
	}
	p := r.held[i]
	p.n, p.from = in.N, in.Addr
	if !s.deliver(p) {
		r.m.queueFull.Add(1)
		return
	}
	r.m.routed.Add(1)
	np := r.m.pool.get()
	r.held[i] = np
	in.Buf = np.buf
}

// responseBuf returns an empty buffer for the next response.
func (r *reader) responseBuf() []byte { return r.outBufs[r.nout][:0] }

// queue schedules resp (built in responseBuf) as the reply to in, leaving
// from the local address and interface in reached.
func (r *reader) queue(in *sockio.Message, resp []byte) {
	o := &r.out[r.nout]
	o.Buf, o.Addr, o.Local, o.IfIndex = resp, in.Addr, in.Local, in.IfIndex
	r.outBufs[r.nout] = resp[:0]
	r.nout++
}

// flush writes the queued responses. A response the kernel refuses is
// counted and skipped; a failing socket ends the loop.
func (r *reader) flush() error {
	out := r.out[:r.nout]
	r.nout = 0
	for len(out) > 0 {
		n, err := r.bc.WriteBatch(out)
		if err == nil {
			return nil
		}
		if !sockio.Refused(err) {
			return err
		}
		r.m.refused.Add(1)
		out = out[n+1:]
	}
	return nil
}
