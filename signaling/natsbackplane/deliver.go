package natsbackplane

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// Deliveries to the WebSockets of another instance travel in batches: one
// request to PREFIX.i.INSTANCE.b carries, for each message, the sink id
// and the payload's length as uvarints, then the payload; the reply is
// one byte per message, in order, replyYes or replyNo. One batch per
// instance is in flight at a time, and what is sent meanwhile waits for
// it and goes in the next: a lone message goes at once, alone, and under
// load a NATS round trip carries many messages. The order of one sender's
// messages is kept (a sender waits for each delivery), and of all the
// messages to one instance too.
const (
	batchToken = "b"
	// maxBatch caps the messages of one batch.
	maxBatch = 512
)

// delivery is one message waiting in an outbound queue.
type delivery struct {
	sink    uint64
	payload []byte
	queued  time.Time
	done    chan deliveryResult // capacity 1
}

// deliveryResult is whether a delivery's sink took its message, or why
// nobody could tell.
type deliveryResult struct {
	yes bool
	err error
}

// outbound is the queue of deliveries to one other instance.
type outbound struct {
	inst    string
	subj    string
	mu      sync.Mutex
	queue   []*delivery
	running bool // a flusher drains the queue
}

// doneChans recycles the deliveries' result channels.
var doneChans = sync.Pool{New: func() any { return make(chan deliveryResult, 1) }}

// deliverRemote delivers payload to the sink at to, on another instance,
// in the next batch to it, and reports whether the sink took it. When ctx
// ends first it returns ctx's error; the message may still be delivered.
func (bp *Backplane) deliverRemote(ctx context.Context, to loc, payload []byte) (bool, error) {
	o, err := bp.outbound(to.Inst)
	if err != nil {
		return false, err
	}
	d := &delivery{sink: to.Sink, payload: payload, queued: time.Now(), done: doneChans.Get().(chan deliveryResult)}
	o.mu.Lock()
	o.queue = append(o.queue, d)
	start := !o.running
	o.running = true
	o.mu.Unlock()
	if start {
		bp.startFlush(o)
	}
	select {
	case r := <-d.done:
		doneChans.Put(d.done)
		return r.yes, r.err
	case <-ctx.Done():
		// d.done is left to the flusher, which sends on it once.
		return false, fmt.Errorf("natsbackplane: delivery to instance %s: %w", to.Inst, ctx.Err())
	}
}

// outbound returns the queue to inst, made on first use; it fails after
// Close.
func (bp *Backplane) outbound(inst string) (*outbound, error) {
	bp.mu.Lock()
	defer bp.mu.Unlock()
	if bp.closed {
		return nil, ErrClosed
	}
	o := bp.outs[inst]
	if o == nil {
		o = &outbound{inst: inst, subj: bp.cfg.Prefix + ".i." + inst + "." + batchToken}
		bp.outs[inst] = o
	}
	return o, nil
}

// startFlush starts a flusher of o. Close waits for those started before
// it; one started after (a delivery that raced with Close) still ends
// once its requests fail.
func (bp *Backplane) startFlush(o *outbound) {
	bp.mu.Lock()
	counted := !bp.closed
	if counted {
		bp.flushers.Add(1)
	}
	bp.mu.Unlock()
	go func() {
		if counted {
			defer bp.flushers.Done()
		}
		bp.flush(o)
	}()
}

// flush sends o's queue in batches until it is empty.
func (bp *Backplane) flush(o *outbound) {
	var buf []byte
	var batch []*delivery
	for {
		o.mu.Lock()
		n := bp.batchLen(o.queue)
		if n == 0 {
			o.running = false
			o.mu.Unlock()
			return
		}
		batch = append(batch[:0], o.queue[:n]...)
		clear(o.queue[:n])
		o.queue = o.queue[n:]
		o.mu.Unlock()
		if batch = bp.dropExpired(o, batch); len(batch) == 0 {
			continue
		}
		buf = encodeBatch(buf[:0], batch)
		answers, err := bp.sendBatch(o, buf, len(batch))
		for i, d := range batch {
			r := deliveryResult{err: err}
			if err == nil {
				r.yes = answers[i] == replyYes
				if r.yes {
					bp.stats.forwarded.Add(1)
				} else {
					bp.stats.refused.Add(1)
				}
			}
			d.done <- r
		}
		clear(batch)
	}
}

// dropExpired fails the deliveries of batch that waited in the queue for
// DeliveryTimeout already (the batches ahead of them waited out a slow
// instance), and returns the others.
func (bp *Backplane) dropExpired(o *outbound, batch []*delivery) []*delivery {
	now := time.Now()
	return slices.DeleteFunc(batch, func(d *delivery) bool {
		if now.Sub(d.queued) < bp.cfg.DeliveryTimeout {
			return false
		}
		d.done <- deliveryResult{err: fmt.Errorf("natsbackplane: delivery to instance %s: %w (queued for %v)",
			o.inst, ErrTimeout, bp.cfg.DeliveryTimeout)}
		return true
	})
}

// batchLen is how many of the deliveries at the head of q the next batch
// takes: maxBatch at most, and no more payload than the bucket's largest
// value (which is less than NATS's max_payload), one at least.
func (bp *Backplane) batchLen(q []*delivery) int {
	n, size := 0, 0
	for n < len(q) && n < maxBatch {
		size += len(q[n].payload) + 2*binary.MaxVarintLen64
		if n > 0 && size > bp.maxValue() {
			break
		}
		n++
	}
	return n
}

// encodeBatch appends the request of batch to b.
func encodeBatch(b []byte, batch []*delivery) []byte {
	for _, d := range batch {
		b = binary.AppendUvarint(b, d.sink)
		b = binary.AppendUvarint(b, uint64(len(d.payload)))
		b = append(b, d.payload...)
	}
	return b
}

// nextInBatch decodes the first message of a batch request b (see
// encodeBatch): its sink, its payload (a slice of b) and the rest of b;
// ok is false when b does not start with a whole message.
func nextInBatch(b []byte) (sink uint64, payload, rest []byte, ok bool) {
	sink, k := binary.Uvarint(b)
	if k <= 0 {
		return 0, nil, nil, false
	}
	b = b[k:]
	size, k := binary.Uvarint(b)
	if k <= 0 || size > uint64(len(b)-k) {
		return 0, nil, nil, false
	}
	return sink, b[k : k+int(size)], b[k+int(size):], true
}

// errBadReply is a batch reply that does not answer every message.
var errBadReply = errors.New("natsbackplane: batch reply does not answer every message")

// sendBatch sends one batch of n messages to o's instance and returns its
// n answers. An instance that is gone (no subscriber) answers no to all.
func (bp *Backplane) sendBatch(o *outbound, req []byte, n int) ([]byte, error) {
	reply, err := bp.nc.Request(o.subj, req, bp.cfg.DeliveryTimeout)
	bp.stats.batches.Add(1)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		no := make([]byte, n)
		for i := range no {
			no[i] = replyNo
		}
		return no, nil
	case err != nil:
		return nil, failed(context.Background(), "delivery to instance "+o.inst, err)
	case len(reply.Data) != n:
		return nil, fmt.Errorf("natsbackplane: delivery to instance %s: %w: %w", o.inst, ErrUnavailable, errBadReply)
	}
	return reply.Data, nil
}

// serveBatch delivers the messages of a batch request to this instance's
// sinks and answers for each. A malformed tail is left unanswered: the
// requester fails those messages.
func (bp *Backplane) serveBatch(m *nats.Msg) {
	b := m.Data
	reply := make([]byte, 0, 64)
	for len(b) > 0 {
		sink, payload, rest, ok := nextInBatch(b)
		if !ok {
			break
		}
		b = rest
		ans := byte(replyNo)
		if bp.serveLocal(sink, opDeliver, payload, true) {
			ans = replyYes
		}
		reply = append(reply, ans)
	}
	_ = m.Respond(reply) // a requester that gave up needs no answer
}
