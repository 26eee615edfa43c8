package natsbackplane

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// Backplane is one server instance's link to the NATS system that several
// instances share: the JetStream KV buckets that hold rooms, channels and
// leases, and the subject on which other instances deliver messages to
// the WebSockets this instance holds. Make one with New or Connect, then
// the stores with AppRTC and KVS; Close it after the servers that use the
// stores.
type Backplane struct {
	cfg    Config
	nc     *nats.Conn
	ownsNC bool
	js     jetstream.JetStream
	id     string // this instance, a subject token
	subPre string // PREFIX.i.ID., followed by a sink id
	sub    *nats.Subscription
	stats  counters

	mu       sync.Mutex
	nextID   uint64
	locals   map[uint64]*local
	bySink   map[any]*local
	stores   []interface{ Close() error }
	outs     map[string]*outbound // deliveries to other instances, by instance
	closed   bool
	stop     chan struct{}
	stopped  chan struct{}
	flushers sync.WaitGroup // the goroutines sending outbound batches
}

// local is a Sink on this instance, as the other instances reach it: its
// id in the subject PREFIX.i.INSTANCE.ID, and the lease key this instance
// refreshes while the sink is bound.
type local struct {
	id       uint64
	sink     any // the apprtc.Sink or kvs.Sink, for lookups by identity
	ep       endpoint
	b        *bucket
	scope    string // the room or channel name
	client   string // the client id in it
	leaseKey string
	leaseRev uint64 // 0 until the lease is written; bp.mu guards it
	leased   bool   // refreshed by the refresher
}

// endpoint is a Sink as the backplane drives it.
type endpoint interface {
	// deliver decodes a message sent by encode and delivers it; it
	// reports whether the Sink took it.
	deliver(data []byte) bool
	// close closes the Sink's WebSocket.
	close()
}

// loc is where a client's WebSocket is: an instance and a sink id on it.
type loc struct {
	Inst string `json:"i"`
	Sink uint64 `json:"k"`
}

// String is the lease value of l: "INSTANCE.SINK".
func (l loc) String() string { return l.Inst + "." + strconv.FormatUint(l.Sink, 10) }

// Request operations on PREFIX.i.INSTANCE.SINK: the first byte of the
// request; the reply is one byte, replyYes or replyNo.
const (
	opDeliver = 'D' // deliver the message that follows; yes: taken (sent in batches, see deliverRemote)
	opProbe   = 'P' // is the sink bound here? yes: it is
	opClose   = 'C' // close the sink's WebSocket; yes: it was here
	replyYes  = '1'
	replyNo   = '0'
)

// answerYes and answerNo are the replies, shared: Respond copies them.
var answerYes, answerNo = []byte{replyYes}, []byte{replyNo}

// counters are the Backplane's statistics.
type counters struct {
	forwarded, received, localDeliveries, refused atomic.Uint64
	kvReads, kvWrites, conflicts, leasesLost      atomic.Uint64
	cacheHits, batches                            atomic.Uint64
}

// Stats are a Backplane's counters since New.
type Stats struct {
	// Forwarded counts the messages this instance delivered to a
	// WebSocket on another instance through NATS, and Received those it
	// took from other instances for its own WebSockets: the messages that
	// crossed NATS.
	Forwarded, Received uint64
	// Local counts the messages delivered to a WebSocket on this
	// instance without crossing NATS.
	Local uint64
	// Refused counts deliveries the recipient's Sink refused (closing,
	// outbox full) or that found no Sink; those messages were queued.
	Refused uint64
	// KVReads and KVWrites count the JetStream KV requests; Conflicts the
	// compare-and-sets that lost to another writer and were retried.
	KVReads, KVWrites, Conflicts uint64
	// CacheHits counts the room and channel documents read from this
	// instance's cache instead of the bucket.
	CacheHits uint64
	// Batches counts the requests that carried Forwarded (and the refused
	// remote deliveries): under load, one carries many messages.
	Batches uint64
	// LeasesLost counts the WebSockets closed because their lease had
	// expired or was taken (the instance was cut off from NATS for longer
	// than LeaseTTL, or the client connected elsewhere).
	LeasesLost uint64
	// Bound is the number of Sinks bound on this instance.
	Bound int
}

// New returns the Backplane of one instance on nc, which stays the
// caller's: Close does not close it. It fails when JetStream is not
// enabled on the NATS server or does not answer within Config.Timeout
// (ErrUnavailable, ErrTimeout).
func New(ctx context.Context, nc *nats.Conn, cfg Config) (*Backplane, error) {
	cfg = cfg.withDefaults()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("natsbackplane: %w: %w", ErrUnavailable, err)
	}
	bp := &Backplane{cfg: cfg, nc: nc, js: js, id: nuid.Next(),
		locals: map[uint64]*local{}, bySink: map[any]*local{}, outs: map[string]*outbound{}, stop: make(chan struct{}), stopped: make(chan struct{})}
	bp.subPre = cfg.Prefix + ".i." + bp.id + "."
	rctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	if _, err := js.AccountInfo(rctx); err != nil {
		return nil, failed(ctx, "JetStream account info", err)
	}
	bp.sub, err = nc.Subscribe(bp.subPre+"*", bp.serve)
	if err != nil {
		return nil, failed(ctx, "subscribe", err)
	}
	go bp.refreshLoop()
	return bp, nil
}

// Connect dials the NATS server at url (nats://host:4222, or several
// separated by commas) and returns a Backplane that owns the connection:
// Close closes it. The connection reconnects without end; while it is
// down, every operation fails after Config.Timeout with ErrTimeout.
func Connect(ctx context.Context, url string, cfg Config, opts ...nats.Option) (*Backplane, error) {
	cfg = cfg.withDefaults()
	opts = append([]nats.Option{nats.Name("streamwire"), nats.Timeout(cfg.Timeout), nats.MaxReconnects(-1)}, opts...)
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("natsbackplane: %w: %w", ErrUnavailable, err)
	}
	bp, err := New(ctx, nc, cfg)
	if err != nil {
		nc.Close()
		return nil, err
	}
	bp.ownsNC = true
	return bp, nil
}

// ID is this instance's id, random for each Backplane: the token of its
// subject PREFIX.i.ID.* and the owner named in its leases.
func (bp *Backplane) ID() string { return bp.id }

// Stats returns the Backplane's counters.
func (bp *Backplane) Stats() Stats {
	bp.mu.Lock()
	bound := len(bp.locals)
	bp.mu.Unlock()
	s := &bp.stats
	return Stats{Forwarded: s.forwarded.Load(), Received: s.received.Load(), Local: s.localDeliveries.Load(),
		Refused: s.refused.Load(), KVReads: s.kvReads.Load(), KVWrites: s.kvWrites.Load(),
		Conflicts: s.conflicts.Load(), CacheHits: s.cacheHits.Load(), Batches: s.batches.Load(), LeasesLost: s.leasesLost.Load(), Bound: bound}
}

// Close closes the stores made from the Backplane (see AppRTCStore.Close
// and KVSStore.Close), stops refreshing leases, unsubscribes, and closes
// the NATS connection when Connect made it. Close the servers first: their
// WebSockets then deregister with the Collider's grace.
func (bp *Backplane) Close() error {
	bp.mu.Lock()
	if bp.closed {
		bp.mu.Unlock()
		<-bp.stopped
		return nil
	}
	bp.closed = true
	stores := bp.stores
	bp.mu.Unlock()
	var errs []error
	for _, s := range stores {
		errs = append(errs, s.Close())
	}
	close(bp.stop)
	<-bp.stopped
	bp.flushers.Wait()
	if err := bp.sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		errs = append(errs, fmt.Errorf("natsbackplane: unsubscribe: %w", err))
	}
	if bp.ownsNC {
		bp.nc.Close()
	}
	return errors.Join(errs...)
}

// addStore records a store for Close; it fails after Close.
func (bp *Backplane) addStore(s interface{ Close() error }) error {
	bp.mu.Lock()
	defer bp.mu.Unlock()
	if bp.closed {
		return ErrClosed
	}
	bp.stores = append(bp.stores, s)
	return nil
}

// maxValue is the largest value the buckets take: the server's
// max_payload less room for the headers.
func (bp *Backplane) maxValue() int { return int(bp.nc.MaxPayload()) - 4096 }

// bind adds sink (driven through ep), bound to client in scope (a room or
// a channel), to the instance's sinks, with its lease at leaseKey in b;
// the refresher takes it up once leaseWritten is called.
func (bp *Backplane) bind(sink any, ep endpoint, b *bucket, scope, client, leaseKey string) *local {
	bp.mu.Lock()
	defer bp.mu.Unlock()
	bp.nextID++
	l := &local{id: bp.nextID, sink: sink, ep: ep, b: b, scope: scope, client: client, leaseKey: leaseKey}
	bp.locals[l.id] = l
	bp.bySink[sink] = l
	return l
}

// unbind removes sink from the instance's sinks and returns it (nil when
// it was not bound).
func (bp *Backplane) unbind(sink any) *local {
	bp.mu.Lock()
	defer bp.mu.Unlock()
	l := bp.bySink[sink]
	if l != nil {
		delete(bp.bySink, sink)
		delete(bp.locals, l.id)
	}
	return l
}

// bound returns the locals of bucket b (all when nil).
func (bp *Backplane) bound(b *bucket) []*local {
	bp.mu.Lock()
	defer bp.mu.Unlock()
	var ls []*local
	for _, l := range bp.locals {
		if b == nil || l.b == b {
			ls = append(ls, l)
		}
	}
	return ls
}

// closeStore unbinds every sink of b, undoes its binding with undo (all
// under one deadline: with NATS down, closing takes 2*Timeout, not that
// for each WebSocket), closes its WebSocket, and stops b's watch. It
// returns the first failure.
func (bp *Backplane) closeStore(b *bucket, undo func(context.Context, *local) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*bp.cfg.Timeout)
	defer cancel()
	var first error
	for _, l := range bp.bound(b) {
		bp.unbind(l.sink)
		if err := undo(ctx, l); err != nil && first == nil {
			first = err
		}
		l.ep.close()
	}
	b.close()
	return first
}

// lookup returns the local with id, or nil.
func (bp *Backplane) lookup(id uint64) *local {
	bp.mu.Lock()
	defer bp.mu.Unlock()
	return bp.locals[id]
}

// here is the location of l.
func (bp *Backplane) here(l *local) loc { return loc{Inst: bp.id, Sink: l.id} }

// request sends op (opDeliver with payload, opProbe, opClose) to the sink
// at to and reports whether the answer was yes. A sink on this instance is
// served without NATS, a delivery to another goes in a batch (see
// deliverRemote); an instance that is gone (no subscriber) answers no.
func (bp *Backplane) request(ctx context.Context, to loc, op byte, payload []byte) (bool, error) {
	switch {
	case to.Inst == bp.id:
		return bp.serveLocal(to.Sink, op, payload, false), nil
	case op == opDeliver:
		return bp.deliverRemote(ctx, to, payload)
	}
	rctx, cancel := context.WithTimeout(ctx, bp.cfg.Timeout)
	defer cancel()
	subj := bp.cfg.Prefix + ".i." + to.Inst + "." + strconv.FormatUint(to.Sink, 10)
	reply, err := bp.nc.RequestWithContext(rctx, subj, []byte{op})
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return false, nil
	case err != nil:
		return false, failed(ctx, "request to instance "+to.Inst, err)
	}
	return len(reply.Data) == 1 && reply.Data[0] == replyYes, nil
}

// serve answers a request from another instance to one of this
// instance's sinks.
func (bp *Backplane) serve(m *nats.Msg) {
	tok := strings.TrimPrefix(m.Subject, bp.subPre)
	if tok == batchToken {
		bp.serveBatch(m)
		return
	}
	id, err := strconv.ParseUint(tok, 10, 64)
	yes := false
	if err == nil && len(m.Data) > 0 {
		yes = bp.serveLocal(id, m.Data[0], m.Data[1:], true)
	}
	reply := answerNo
	if yes {
		reply = answerYes
	}
	_ = m.Respond(reply) // a requester that gave up needs no answer
}

// serveLocal carries out op on the local sink id.
func (bp *Backplane) serveLocal(id uint64, op byte, payload []byte, remote bool) bool {
	l := bp.lookup(id)
	if l == nil {
		if op == opDeliver && !remote {
			bp.stats.refused.Add(1)
		}
		return false
	}
	switch op {
	case opDeliver:
		ok := l.ep.deliver(payload)
		switch {
		case !ok && !remote:
			bp.stats.refused.Add(1)
		case ok && remote:
			bp.stats.received.Add(1)
		case ok:
			bp.stats.localDeliveries.Add(1)
		}
		return ok
	case opClose:
		l.ep.close()
	}
	return true
}

// leaseWritten records that l's lease was written at rev, and starts
// refreshing it.
func (bp *Backplane) leaseWritten(l *local, rev uint64) {
	bp.mu.Lock()
	defer bp.mu.Unlock()
	l.leaseRev, l.leased = rev, true
}

// leaseRev returns the revision of l's lease and stops refreshing it.
func (bp *Backplane) releaseLease(l *local) uint64 {
	bp.mu.Lock()
	defer bp.mu.Unlock()
	l.leased = false
	return l.leaseRev
}

// refreshLoop rewrites the lease of every bound sink every LeaseTTL/3
// until Close.
func (bp *Backplane) refreshLoop() {
	defer close(bp.stopped)
	t := time.NewTicker(bp.cfg.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-bp.stop:
			return
		case <-t.C:
			bp.refreshAll()
		}
	}
}

// refreshBatch is how many lease refreshes are in flight at once: one
// round trip refreshes that many leases, so 5,000 WebSockets cost some
// twenty round trips every LeaseTTL/3 instead of 5,000.
const refreshBatch = 256

// refreshAll refreshes the leases of the bound sinks once, refreshBatch
// at a time, the batches spread over the first half of the refresh
// interval (LeaseTTL/3): a burst of thousands of KV writes would hold up,
// behind it on the same NATS connection, the deliveries of messages.
func (bp *Backplane) refreshAll() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-bp.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	ls := bp.bound(nil)
	batches := (len(ls) + refreshBatch - 1) / refreshBatch
	gap := bp.cfg.LeaseTTL / 6 / time.Duration(max(batches, 1))
	for len(ls) > 0 && ctx.Err() == nil {
		n := min(len(ls), refreshBatch)
		start := time.Now()
		bp.refreshSome(ctx, ls[:n])
		ls = ls[n:]
		if wait := gap - time.Since(start); len(ls) > 0 && wait > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
	}
}

// refreshSome rewrites the leases of ls with a new TTL, publishing them
// all before waiting for the acknowledgements; a lease whose
// compare-and-set lost, or whose publish failed, is refreshed alone.
func (bp *Backplane) refreshSome(ctx context.Context, ls []*local) {
	type pending struct {
		l   *local
		rev uint64
		f   jetstream.PubAckFuture
	}
	var ps []pending
	for _, l := range ls {
		bp.mu.Lock()
		rev, leased := l.leaseRev, l.leased
		bp.mu.Unlock()
		if !leased {
			continue
		}
		m := &nats.Msg{Subject: l.b.pre + l.leaseKey, Data: []byte(bp.here(l).String())}
		f, err := bp.js.PublishMsgAsync(m, jetstream.WithExpectLastSequencePerSubject(rev), jetstream.WithMsgTTL(bp.cfg.LeaseTTL))
		bp.stats.kvWrites.Add(1)
		if err != nil {
			bp.refresh(ctx, l)
			continue
		}
		ps = append(ps, pending{l, rev, f})
	}
	t := time.NewTimer(bp.cfg.Timeout)
	defer t.Stop()
	for _, p := range ps {
		select {
		case ack := <-p.f.Ok():
			bp.refreshed(p.l, p.rev, ack.Sequence)
		case <-p.f.Err():
			bp.refresh(ctx, p.l)
		case <-t.C:
			bp.cfg.Logger.Warn("natsbackplane: lease refresh timed out", "key", p.l.leaseKey)
			return
		case <-ctx.Done():
			return
		}
	}
}

// refresh rewrites l's lease with a new TTL. A lease that expired or that
// names another sink means the client lost its seat: its WebSocket is
// closed, so that the client registers again.
func (bp *Backplane) refresh(ctx context.Context, l *local) {
	bp.mu.Lock()
	rev, leased := l.leaseRev, l.leased
	bp.mu.Unlock()
	if !leased {
		return
	}
	val := []byte(bp.here(l).String())
	newRev, err := l.b.put(ctx, l.leaseKey, val, rev, bp.cfg.LeaseTTL)
	if errors.Is(err, errConflict) {
		var e entry
		if e, err = l.b.get(ctx, l.leaseKey); err == nil {
			if !e.live || string(e.val) != string(val) {
				bp.loseLease(l)
				return
			}
			newRev, err = l.b.put(ctx, l.leaseKey, val, e.rev, bp.cfg.LeaseTTL)
		}
	}
	if err != nil {
		bp.cfg.Logger.Warn("natsbackplane: lease refresh failed", "key", l.leaseKey, "err", err)
		return
	}
	bp.refreshed(l, rev, newRev)
}

// refreshed records that l's lease, at rev, was rewritten at newRev.
func (bp *Backplane) refreshed(l *local, rev, newRev uint64) {
	bp.mu.Lock()
	defer bp.mu.Unlock()
	if l.leased && l.leaseRev == rev {
		l.leaseRev = newRev
	}
}

// loseLease closes l's WebSocket after its lease was lost.
func (bp *Backplane) loseLease(l *local) {
	bp.mu.Lock()
	was := l.leased
	l.leased = false
	bp.mu.Unlock()
	if was {
		bp.stats.leasesLost.Add(1)
		bp.cfg.Logger.Warn("natsbackplane: lease lost, closing the WebSocket", "key", l.leaseKey)
		l.ep.close()
	}
}
