package main

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"time"
)

// Protocols of publishers and subscribers, as /api/streams and the metrics
// name them.
const (
	protoRTMP = "rtmp" // RTMP (and RTMPS) publishers and players
	protoWHIP = "whip" // WebRTC publishers
	protoWHEP = "whep" // WebRTC viewers
)

// counters are what one publisher or subscriber moved: media bytes and
// packets (RTMP messages, RTP packets), and for WebRTC the repair traffic.
type counters struct {
	bytesIn, packetsIn, bytesOut, packetsOut uint64
	nacksReceived, nacksSent                 uint64 // NACKed packets: asked of us, asked by us
	retransmits                              uint64 // packets resent after a NACK
	plisReceived, plisSent                   uint64 // key frame requests (PLI, FIR)
	drops                                    uint64 // frames dropped by the relay's slow-consumer policy
}

func (c *counters) add(o counters) {
	c.bytesIn += o.bytesIn
	c.packetsIn += o.packetsIn
	c.bytesOut += o.bytesOut
	c.packetsOut += o.packetsOut
	c.nacksReceived += o.nacksReceived
	c.nacksSent += o.nacksSent
	c.retransmits += o.retransmits
	c.plisReceived += o.plisReceived
	c.plisSent += o.plisSent
	c.drops += o.drops
}

// meter is a live publisher or subscriber whose counters grow. counters
// is called at every scrape, for every meter, while media flows: it takes
// no lock of the media path (see session.counters). final is called once,
// when the meter has ended, and may.
type meter interface {
	counters() counters
	final() counters
}

// refresher is a meter whose counters behind the media path's locks are
// copied where counters reads them, by the registry's refresh loop.
type refresher interface {
	refresh()
}

// refreshEvery is how often the registry refreshes its live meters.
const refreshEvery = time.Second

// refresh calls refresh on every live refresher, every interval, until
// ctx ends: one goroutine for all WHEP sessions, rather than a wake-up
// per session, or a copy on the send path of thousands of viewers.
func (r *registry) refresh(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	var live []refresher
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.mu.Lock()
		for m := range r.live {
			if f, ok := m.(refresher); ok {
				live = append(live, f)
			}
		}
		r.mu.Unlock()
		for _, f := range live {
			f.refresh()
		}
		clear(live)
		live = live[:0]
	}
}

// entry is what the registry knows of a meter.
type entry struct {
	proto     string
	stream    string // "app/name"
	publisher bool
	since     time.Time
}

func entryOf(proto, stream string, publisher bool) entry {
	return entry{proto: proto, stream: stream, publisher: publisher, since: time.Now()}
}

// registry holds the live publishers and subscribers of every protocol,
// for /api/streams and the metrics, and the counters of those that ended,
// so that the metrics' counters never go back.
type registry struct {
	mu    sync.Mutex
	live  map[meter]entry
	ended map[string]*counters // by protocol
}

func newRegistry() *registry {
	return &registry{live: map[meter]entry{}, ended: map[string]*counters{}}
}

func (r *registry) add(m meter, e entry) {
	r.mu.Lock()
	r.live[m] = e
	r.mu.Unlock()
}

// remove forgets m and keeps its last counters in the protocol's total.
func (r *registry) remove(m meter) {
	c := m.final()
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.live[m]
	if !ok {
		return
	}
	delete(r.live, m)
	t := r.ended[e.proto]
	if t == nil {
		t = &counters{}
		r.ended[e.proto] = t
	}
	t.add(c)
}

// snapshot is the registry at one moment.
type snapshot struct {
	streams     []streamInfo
	publishers  map[string]int      // by protocol
	subscribers map[string]int      // by protocol
	totals      map[string]counters // by protocol, ended and live
}

// streamInfo is one published stream with its viewers.
type streamInfo struct {
	Path      string         `json:"path"` // "app/name"
	App       string         `json:"app"`
	Name      string         `json:"name"`
	Publisher string         `json:"publisher"` // protocol: "rtmp" or "whip"
	Since     time.Time      `json:"since"`
	Viewers   map[string]int `json:"viewers"` // by protocol: "rtmp", "whep"
}

// liveMeter is a meter with its entry, as snapshot copies them.
type liveMeter struct {
	m meter
	entry
}

// snapshot reads every live meter's counters outside the lock, so that
// add and remove never wait for a scrape.
func (r *registry) snapshot() snapshot {
	r.mu.Lock()
	live := make([]liveMeter, 0, len(r.live))
	for m, e := range r.live {
		live = append(live, liveMeter{m, e})
	}
	s := snapshot{publishers: map[string]int{}, subscribers: map[string]int{}, totals: map[string]counters{}}
	for p, c := range r.ended {
		s.totals[p] = *c
	}
	r.mu.Unlock()

	byName := map[string]*streamInfo{}
	viewers := map[string]map[string]int{}
	for _, l := range live {
		e := &l.entry
		t := s.totals[e.proto]
		t.add(l.m.counters())
		s.totals[e.proto] = t
		if !e.publisher {
			s.subscribers[e.proto]++
			if viewers[e.stream] == nil {
				viewers[e.stream] = map[string]int{}
			}
			viewers[e.stream][e.proto]++
			continue
		}
		s.publishers[e.proto]++
		app, name, _ := strings.Cut(e.stream, "/")
		byName[e.stream] = &streamInfo{Path: e.stream, App: app, Name: name, Publisher: e.proto, Since: e.since.UTC()}
	}
	for name, st := range byName {
		st.Viewers = map[string]int{protoRTMP: 0, protoWHEP: 0}
		for p, n := range viewers[name] {
			st.Viewers[p] = n
		}
		s.streams = append(s.streams, *st)
	}
	slices.SortFunc(s.streams, func(a, b streamInfo) int { return cmp.Compare(a.Path, b.Path) })
	return s
}
