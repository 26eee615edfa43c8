package relay

import (
	"context"
	"io"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streamwire/streamwire/ice"
	"github.com/streamwire/streamwire/peer"
)

// DefaultWebRTCGroupSize is WebRTCSubscriberConfig.GroupSize's default.
const DefaultWebRTCGroupSize = 256

// webrtcGroup sends a stream to the WebRTC viewers that have caught up
// with its live edge, from one goroutine and one hub queue. Each frame
// goes to every member in turn, through the member's own sender (its
// SSRCs, sequence numbers, timestamp offsets, codec and B-frame policy),
// and the packets of all of them leave through one peer.Batch: a few
// sendmmsg(2) calls per frame for hundreds of viewers. On a goroutine of
// its own a viewer costs a wake-up per frame and a system call per
// packet, which made the system calls half of the server's CPU.
//
// Members join from their own goroutine (WebRTCSubscriber.Run) once they
// have sent their share of the cached GOP; see stream.joinGroup.
type webrtcGroup struct {
	s    *stream
	mux  *ice.Mux    // of every member's peer: one Batch writes them all
	max  int         // members at most
	sub  *Subscriber // the group's queue, one of s.subs
	ctx  context.Context
	stop context.CancelFunc // ends run once the last member has left

	mu      sync.Mutex
	members []*groupMember
	ended   bool // takes no member any more

	// run's own.
	batch  peer.Batch
	cur    []*groupMember // members as of the last read
	unsent []*groupMember // members with packets in batch
}

// groupMember is a viewer sent to by a group.
type groupMember struct {
	snd  *sender
	from uint64     // the viewer sent the frames up to this one itself (Frame.seq)
	done chan error // capacity 1: why the group stopped sending to the viewer
	gone atomic.Bool
}

// joinGroup hands snd, the sender of sub's viewer, to the group of the
// stream's viewers on mux with the fewest members (see smallestGroup),
// or to a new one when that has max members, and takes sub out of the
// stream. It does so
// only when the viewer is at the live edge: sub's queue is empty and not
// skipping to a keyframe, so that every frame up to the stream's last
// one has reached the viewer, and the group sends it what comes after.
// It returns nil when the viewer cannot join now.
func (s *stream) joinGroup(sub *Subscriber, snd *sender, mux *ice.Mux, max int) (*webrtcGroup, *groupMember) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || !sub.atLiveEdge() {
		return nil, nil
	}
	m := &groupMember{snd: snd, from: s.seq, done: make(chan error, 1)}
	g := s.smallestGroup(mux)
	if g == nil || !g.add(m) {
		g = s.newGroup(mux, max, m)
		go g.run()
	}
	if snd.opus == opusOn {
		s.shareTranscoder(g.sub, Opus)
	}
	snd.group, snd.batch = g, &g.batch
	s.removeSub(sub)
	return g, m
}

// smallestGroup returns the group on mux with the fewest members, or nil
// while the stream has fewer groups on mux than the Go scheduler has Ps
// (GOMAXPROCS): a stream's viewers spread over as many groups as can run
// at once, so that on several cores a frame reaches them in parallel.
// s.mu is held.
func (s *stream) smallestGroup(mux *ice.Mux) *webrtcGroup {
	var best *webrtcGroup
	bestSize, n := 0, 0
	for _, g := range s.groups {
		if g.mux != mux {
			continue
		}
		n++
		if size := g.size(); best == nil || size < bestSize {
			best, bestSize = g, size
		}
	}
	if n < runtime.GOMAXPROCS(0) {
		return nil
	}
	return best
}

// atLiveEdge reports whether the subscriber has no frame queued, skips
// none and goes on.
func (sub *Subscriber) atLiveEdge() bool {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return sub.n == 0 && !sub.skipping && sub.err == nil
}

// newGroup makes a group whose first member is m, its queue joining the
// stream at its live edge. s.mu is held.
func (s *stream) newGroup(mux *ice.Mux, max int, m *groupMember) *webrtcGroup {
	ctx, stop := context.WithCancel(context.Background())
	g := &webrtcGroup{
		s: s, mux: mux, max: max, ctx: ctx, stop: stop,
		members: []*groupMember{m},
		sub:     s.newSubscriber(),
	}
	s.subs = append(s.subs, g.sub)
	s.groups = append(s.groups, g)
	return g
}

// shareTranscoder makes sub one more user of the stream's running
// transcoder to codec to, if it is not one already. s.mu is held.
func (s *stream) shareTranscoder(sub *Subscriber, to Codec) {
	if o := *s.slot(to); o != nil && sub.takes != to {
		o.users++
		sub.takes = to
	}
}

// add makes m a member unless the group is full or ending.
func (g *webrtcGroup) add(m *groupMember) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ended || len(g.members) >= g.max {
		return false
	}
	g.members = append(g.members, m)
	return true
}

// size is how many members the group has.
func (g *webrtcGroup) size() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.members)
}

// remove ends m's membership with err (nil: the stream ended), and the
// group with its last member. The group may still be sending m the
// frame in hand; m's sender is not used after that.
func (g *webrtcGroup) remove(m *groupMember, err error) {
	if m.gone.Swap(true) {
		return
	}
	g.mu.Lock()
	if i := slices.Index(g.members, m); i >= 0 {
		g.members = slices.Delete(g.members, i, i+1)
	}
	if len(g.members) == 0 {
		g.ended = true
		g.stop()
	}
	g.mu.Unlock()
	m.done <- err
}

// wait returns why the group stopped sending to m, or ctx.Err() after
// taking m out of the group when ctx ends first.
func (g *webrtcGroup) wait(ctx context.Context, m *groupMember) error {
	select {
	case err := <-m.done:
		return err
	case <-ctx.Done():
		g.remove(m, ctx.Err())
		return ctx.Err()
	}
}

// run sends the group's queue to its members until the stream ends or
// the last member leaves, then ends every membership.
func (g *webrtcGroup) run() {
	frames := make([]*Frame, 0, DefaultWebRTCBatch)
	var err error
	for err == nil {
		frames, err = g.sub.ReadBatch(g.ctx, frames[:0], DefaultWebRTCBatch)
		g.mu.Lock()
		g.cur = append(g.cur[:0], g.members...)
		g.mu.Unlock()
		clear(g.cur[len(g.cur):cap(g.cur)]) // pin no member that left
		for _, f := range frames {
			g.send(f)
		}
		clear(frames)
	}
	g.end(err)
}

// send sends f to every member that did not have it. The batch is
// written whenever it holds flushAt packets, and the members whose
// packets went out report their latency then (Latency), so that a
// member's latency is the work done for the members before it, not for
// the whole group.
func (g *webrtcGroup) send(f *Frame) {
	for _, m := range g.cur {
		if f.seq <= m.from || m.gone.Load() {
			continue
		}
		if err := m.snd.send(f); err != nil {
			g.remove(m, err)
			continue
		}
		g.unsent = append(g.unsent, m)
		if g.batch.Queued() >= flushAt {
			g.flush()
		}
	}
	g.flush()
}

// flushAt is how many queued packets make the group write its batch:
// close to a full sendmmsg (ice.MuxWriteBatchSize), which a member's
// packets may fill on their own.
const flushAt = 48

// flush writes the batch and reports the latency of the members whose
// packets it held: in one call for each run of members that sent the
// same frame and share an observer (the server's one histogram).
func (g *webrtcGroup) flush() {
	// A datagram of a session that closed or lost its path is skipped:
	// its viewer's next write fails at its track, which ends it.
	_, _ = g.batch.Flush()
	r := latencyRun{now: time.Now()}
	for _, m := range g.unsent {
		r.add(m.snd)
	}
	r.report()
	clear(g.unsent)
	g.unsent = g.unsent[:0]
}

// latencyRun gathers the latency reports of consecutive senders that
// share an observer and sent the same frame, written at one instant.
type latencyRun struct {
	now time.Time
	o   LatencyObserver
	typ Type
	at  time.Time // the frame's arrival
	n   int
}

// add takes s's unreported frame into the run, reporting the run first
// if s's frame or observer differs.
func (r *latencyRun) add(s *sender) {
	o, at := s.v.cfg.Latency, s.unsentAt
	s.unsentAt = time.Time{}
	if o == nil || at.IsZero() {
		return
	}
	if r.n > 0 && (o != r.o || s.unsentType != r.typ || !at.Equal(r.at)) {
		r.report()
	}
	r.o, r.typ, r.at = o, s.unsentType, at
	r.n++
}

// report reports the run gathered, if any.
func (r *latencyRun) report() {
	if r.n > 0 {
		r.o.ObserveLatency(r.typ, r.now.Sub(r.at), r.n)
		r.n = 0
	}
}

// latencyBox makes an observer that cannot be compared comparable.
type latencyBox struct{ LatencyObserver }

// end takes the group out of the stream and ends the memberships left:
// nil for the stream's end, the queue's error (ErrSlowConsumer) else.
func (g *webrtcGroup) end(err error) {
	g.mu.Lock()
	g.ended = true
	left := slices.Clone(g.members)
	g.mu.Unlock()
	if err == io.EOF || g.ctx.Err() != nil {
		err = nil
	}
	for _, m := range left {
		g.remove(m, err)
	}
	g.stop()
	s := g.s
	s.mu.Lock()
	if i := slices.Index(s.groups, g); i >= 0 {
		s.groups = slices.Delete(s.groups, i, i+1)
	}
	s.mu.Unlock()
	g.sub.releaseTranscoder()
	g.sub.Close()
	clear(g.cur)
}

// groupMux returns the Mux of the peer whose tracks video and audio are
// (nil ones aside), when the viewer may join a group: both are
// *peer.LocalTrack of one peer whose ICE path is UDP. It returns nil for
// other tracks, and for a viewer on ICE-TCP, whose writes wait for its
// TCP window and would hold up every member.
func groupMux(video, audio LocalTrack) *ice.Mux {
	var p *peer.Peer
	for _, w := range [...]LocalTrack{video, audio} {
		if w == nil {
			continue
		}
		lt, ok := w.(*peer.LocalTrack)
		if !ok || (p != nil && lt.Peer() != p) {
			return nil
		}
		p = lt.Peer()
	}
	if p == nil || p.ICE().OverTCP() {
		return nil
	}
	return p.Mux()
}
