//go:build linux

package udpflood

import (
	"errors"
	"net/netip"
	"time"

	"github.com/streamwire/streamwire/internal/sockio"
)

// Flood defaults, named by the Config fields they fill.
const (
	// DefaultWindow is how many datagrams may be in flight (sent and not
	// yet done) when Config.Window is zero: 2,048 datagrams of 1,200 bytes
	// take about 5 MB of socket buffer (skb overhead included), within
	// the 8 MiB that a 4 MiB SO_RCVBUF request gives.
	DefaultWindow = 2048
	// DefaultBatch is how many datagrams one sendmmsg(2) moves when
	// Config.Batch is zero.
	DefaultBatch = 64
	// MaxBatch caps Config.Batch.
	MaxBatch = 256
	// DefaultStall is how long Done may make no progress, while the window
	// is full, before the datagrams in flight are counted lost.
	DefaultStall = 200 * time.Millisecond
	// pollInterval is how long the sender sleeps between looks at Done
	// while the window is full.
	pollInterval = 20 * time.Microsecond
)

// Config shapes a Flood. Target, Datagram and Done are required.
type Config struct {
	// Target is the server's address.
	Target netip.AddrPort
	// Datagram returns the datagram that endpoint j sends. New calls it
	// once per endpoint and sends the returned buffer in every round, so
	// it must not change while the Flood runs.
	Datagram func(j int) []byte
	// Done returns how many of the datagrams sent so far have completed:
	// delivered to the application, answered, whatever the benchmark
	// counts. Flood calls it between batches while the window is full; it
	// must be cheap and safe to call while the server runs.
	Done func() int64
	// Window is the most datagrams in flight. Zero means DefaultWindow.
	Window int
	// Batch is the number of datagrams per sendmmsg(2) on each sender
	// socket. Zero means DefaultBatch; values above MaxBatch are capped.
	Batch int
	// Stall is how long Done may make no progress while the window is
	// full before the datagrams in flight are counted lost and sending
	// goes on. Zero means DefaultStall.
	Stall time.Duration
}

// Flood sends datagrams from the endpoints of a Peers to one server,
// endpoint by endpoint in turn (0, 1, ..., n-1, 0, ...), each sender
// socket's share in batches, at most Window datagrams ahead of Done. Not
// safe for concurrent use; Send allocates nothing.
type Flood struct {
	p       *Peers
	cfg     Config
	dgrams  [][]byte
	pending [][]sockio.Message // per sender socket, up to cfg.Batch
	next    int                // the endpoint that sends next
	sent    int64
	lost    int64 // counted lost after stalls
	stalls  int
}

// New returns a Flood from p to cfg.Target.
func New(p *Peers, cfg Config) (*Flood, error) {
	if !cfg.Target.IsValid() || cfg.Datagram == nil || cfg.Done == nil {
		return nil, errors.New("udpflood: Config needs Target, Datagram and Done")
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	cfg.Batch = min(cfg.Batch, MaxBatch, cfg.Window)
	if cfg.Stall <= 0 {
		cfg.Stall = DefaultStall
	}
	f := &Flood{p: p, cfg: cfg, dgrams: make([][]byte, p.Len()), pending: make([][]sockio.Message, p.Senders())}
	for j := range f.dgrams {
		f.dgrams[j] = cfg.Datagram(j)
	}
	for s := range f.pending {
		f.pending[s] = make([]sockio.Message, 0, cfg.Batch)
	}
	return f, nil
}

// Send queues the next endpoint's datagram; when its sender socket's batch
// is full, it waits for room in the window and sends the batch.
func (f *Flood) Send() error {
	j := f.next
	if f.next++; f.next == len(f.dgrams) {
		f.next = 0
	}
	s := j % len(f.pending)
	f.pending[s] = append(f.pending[s], sockio.Message{Buf: f.dgrams[j], Addr: f.cfg.Target, Local: f.p.addrs[j].Addr()})
	if len(f.pending[s]) < f.cfg.Batch {
		return nil
	}
	return f.flush(s)
}

// flush sends sender socket s's batch once the window has room for it.
func (f *Flood) flush(s int) error {
	ms := f.pending[s]
	if len(ms) == 0 {
		return nil
	}
	f.waitRoom(len(ms))
	n, err := f.p.writers[s].WriteBatch(ms)
	f.sent += int64(n)
	clear(ms)
	f.pending[s] = ms[:0]
	return err
}

// waitRoom waits until k more datagrams fit in the window, or until Done
// stalls, which counts everything in flight as lost.
func (f *Flood) waitRoom(k int) {
	limit := int64(f.cfg.Window - k)
	done := f.cfg.Done()
	if f.sent-f.lost-done <= limit {
		return
	}
	progress := time.Now()
	for {
		time.Sleep(pollInterval)
		d := f.cfg.Done()
		if f.sent-f.lost-d <= limit {
			return
		}
		if d != done {
			done, progress = d, time.Now()
		} else if time.Since(progress) > f.cfg.Stall {
			f.lost = f.sent - d
			f.stalls++
			return
		}
	}
}

// Settle sends the partial batches and waits until every datagram sent is
// done, or Done makes no progress for Stall; it returns Done.
func (f *Flood) Settle() (int64, error) {
	var errs []error
	for s := range f.pending {
		errs = append(errs, f.flush(s))
	}
	done := f.cfg.Done()
	progress := time.Now()
	for done < f.sent && time.Since(progress) < f.cfg.Stall {
		time.Sleep(pollInterval)
		if d := f.cfg.Done(); d != done {
			done, progress = d, time.Now()
		}
	}
	return done, errors.Join(errs...)
}

// Sent returns how many datagrams went out.
func (f *Flood) Sent() int64 { return f.sent }

// Stalls returns how many times Done made no progress for Stall while the
// window was full.
func (f *Flood) Stalls() int { return f.stalls }
