package natsbackplane

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/streamwire/streamwire/signaling/kvs"
)

// KVSStore is a kvs.Store shared by every instance on the same NATS
// system: each channel, with its connections and kept messages, is one KV
// entry changed by compare-and-set; each connection has a lease entry that
// only its instance refreshes; messages reach a WebSocket on another
// instance through that instance's subject. Make one with Backplane.KVS
// and pass it as kvs.Config.Store.
type KVSStore struct {
	bp                    *Backplane
	b                     *bucket
	maxChannels, maxViews int
	maxMsgs, maxBytes     int
	clock                 kvs.Clock
	log                   *slog.Logger

	closed atomic.Bool
}

var _ kvs.Store = (*KVSStore)(nil)

// KVS returns the KVS store of the instance, on the bucket PREFIX_kvs
// (made if needed), with cfg's MaxChannels, MaxViewers,
// MaxQueuedMessages, MaxQueuedBytes, Clock and Logger (zero fields take
// kvs's defaults); the other fields are the Server's. Kept messages expire
// by the Clock, which every instance should agree on to a second. It fails
// when NATS does not answer (ErrUnavailable).
func (bp *Backplane) KVS(ctx context.Context, cfg kvs.Config) (*KVSStore, error) {
	b, err := bp.openBucket(ctx, "kvs", "ch.")
	if err != nil {
		return nil, err
	}
	s := &KVSStore{bp: bp, b: b,
		maxChannels: orDefault(cfg.MaxChannels, kvs.DefaultMaxChannels),
		maxViews:    orDefault(cfg.MaxViewers, kvs.DefaultMaxViewers),
		maxMsgs:     orDefault(cfg.MaxQueuedMessages, kvs.DefaultMaxQueuedMessages),
		maxBytes:    orDefault(cfg.MaxQueuedBytes, kvs.DefaultMaxQueuedBytes),
		clock:       cfg.Clock, log: cfg.Logger}
	if s.clock == nil {
		s.clock = systemClock{}
	}
	if s.log == nil {
		s.log = bp.cfg.Logger
	}
	if err := bp.addStore(s); err != nil {
		b.close()
		return nil, err
	}
	return s, nil
}

// systemClock is the kvs.Clock of the time package.
type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }
func (systemClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// errUnavailable is what the KVS API answers when NATS fails: 503
// ServiceUnavailableException.
var errUnavailable = kvs.Errorf(kvs.ErrServiceUnavailable, "The signaling backplane is unavailable.")

// apiError returns err as the Server should answer it: an *kvs.APIError
// as it is, any other failure as errUnavailable wrapping err.
func apiError(err error) error {
	var e *kvs.APIError
	if err == nil || errors.As(err, &e) {
		return err
	}
	return fmt.Errorf("%w: %w", errUnavailable, err)
}

// check fails after Close.
func (s *KVSStore) check() error {
	if s.closed.Load() {
		return kvs.ErrClosed
	}
	return nil
}

// notFound is the error for a channel that does not exist.
func notFound(name string) error {
	return kvs.Errorf(kvs.ErrResourceNotFound, "The requested channel %s is not found or not active.", name)
}

// encode is d's value, or ClientLimitExceeded when its kept messages make
// it larger than the bucket takes.
func (s *KVSStore) encode(d *channelDoc) ([]byte, time.Duration, change, error) {
	val, err := json.Marshal(d)
	if err != nil {
		return nil, 0, keep, err
	}
	if len(val) > s.bp.maxValue() {
		return nil, 0, keep, kvs.Errorf(kvs.ErrClientLimitExceeded, "Too many messages are kept for clients of channel %s.", d.Name)
	}
	return val, 0, write, nil
}

// CreateChannel implements kvs.Store. MaxChannels is checked against the
// channels listed just before the create, so creates racing on several
// instances may pass it by as many as race.
func (s *KVSStore) CreateChannel(ctx context.Context, ch kvs.Channel) error {
	if err := s.check(); err != nil {
		return err
	}
	names, err := s.names(ctx)
	if err != nil {
		return apiError(err)
	}
	if len(names) >= s.maxChannels {
		return kvs.Errorf(kvs.ErrAccountChannelLimitExceeded, "The account already has %d signaling channels.", s.maxChannels)
	}
	_, err = s.b.update(ctx, channelKey(ch.Name), func(e entry) ([]byte, time.Duration, change, error) {
		if e.live {
			return nil, 0, keep, kvs.Errorf(kvs.ErrResourceInUse, "The signaling channel %s already exists.", ch.Name)
		}
		return s.encode(newChannelDoc(ch))
	})
	return apiError(err)
}

// names lists the names of the channels.
func (s *KVSStore) names(ctx context.Context) ([]string, error) {
	rctx, cancel := context.WithTimeout(ctx, s.bp.cfg.Timeout)
	defer cancel()
	lister, err := s.b.kv.ListKeysFiltered(rctx, "ch.*")
	if err != nil {
		return nil, failed(ctx, "list channels", err)
	}
	defer func() { _ = lister.Stop() }()
	var names []string
	for key := range lister.Keys() {
		if name, ok := nameOfKey(key); ok {
			names = append(names, name)
		}
	}
	if err := rctx.Err(); err != nil {
		return nil, failed(ctx, "list channels", err)
	}
	return names, nil
}

// doc reads the channel called name.
func (s *KVSStore) doc(ctx context.Context, name string) (*channelDoc, entry, error) {
	e, err := s.b.get(ctx, channelKey(name))
	switch {
	case err != nil:
		return nil, e, err
	case !e.live:
		return nil, e, notFound(name)
	}
	d, err := decodeChannel(e)
	return d, e, err
}

// Channel implements kvs.Store.
func (s *KVSStore) Channel(ctx context.Context, name string) (kvs.Channel, error) {
	if err := s.check(); err != nil {
		return kvs.Channel{}, err
	}
	d, _, err := s.doc(ctx, name)
	if err != nil {
		return kvs.Channel{}, apiError(err)
	}
	return d.channel(), nil
}

// ListChannels implements kvs.Store.
func (s *KVSStore) ListChannels(ctx context.Context, prefix, after string, max int) ([]kvs.Channel, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	names, err := s.names(ctx)
	if err != nil {
		return nil, apiError(err)
	}
	names = slices.DeleteFunc(names, func(n string) bool { return !strings.HasPrefix(n, prefix) || n <= after })
	slices.Sort(names)
	var out []kvs.Channel
	for _, n := range names {
		if len(out) >= max {
			break
		}
		d, _, err := s.doc(ctx, n)
		if errors.Is(err, kvs.ErrResourceNotFound) {
			continue // deleted since the listing
		}
		if err != nil {
			return nil, apiError(err)
		}
		out = append(out, d.channel())
	}
	return out, nil
}

// DeleteChannel implements kvs.Store: the channel's WebSockets, on every
// instance, are closed.
func (s *KVSStore) DeleteChannel(ctx context.Context, name, version string) error {
	if err := s.check(); err != nil {
		return err
	}
	var conns map[string]loc
	_, err := s.b.update(ctx, channelKey(name), func(e entry) ([]byte, time.Duration, change, error) {
		if !e.live {
			return nil, 0, keep, notFound(name)
		}
		d, err := decodeChannel(e)
		if err != nil {
			return nil, 0, keep, err
		}
		if version != "" && version != d.Version {
			return nil, 0, keep, kvs.Errorf(kvs.ErrVersionMismatch, "The channel's version is not %s.", version)
		}
		conns = d.conns()
		return nil, 0, remove, nil
	})
	if err != nil {
		return apiError(err)
	}
	for client, at := range conns {
		if err := s.b.purge(ctx, connKey(name, client), 0); err != nil {
			s.log.Debug("natsbackplane: dropping a lease", "channel", name, "err", err)
		}
		if _, err := s.bp.request(ctx, at, opClose, nil); err != nil {
			s.log.Debug("natsbackplane: closing a WebSocket of a deleted channel", "channel", name, "err", err)
		}
	}
	return nil
}

// Connect implements kvs.Store. The connection's lease is written first;
// a connection of the same client elsewhere is replaced and closed, on
// whichever instance holds it. Viewers whose lease expired (their
// instance died) do not count against MaxViewers.
func (s *KVSStore) Connect(ctx context.Context, name, client string, sink kvs.Sink) error {
	if err := s.check(); err != nil {
		return err
	}
	l := s.bp.bind(sink, kvsEndpoint{sink}, s.b, name, client, connKey(name, client))
	here := s.bp.here(l)
	var old *loc
	var out []keptMsg
	err := s.lease(ctx, l, here)
	if err == nil {
		_, err = s.b.update(ctx, channelKey(name), func(e entry) ([]byte, time.Duration, change, error) {
			old, out = nil, nil
			if !e.live {
				return nil, 0, keep, notFound(name)
			}
			d, err := decodeChannel(e)
			if err == nil {
				old, err = s.admit(ctx, d, client)
			}
			if err != nil {
				return nil, 0, keep, err
			}
			d.setConn(client, &here)
			d.expire(s.clock.Now().UnixNano())
			out = d.take(client)
			return s.encode(d)
		})
	}
	if err != nil {
		s.bp.unbind(sink)
		s.dropLease(ctx, l, here)
		return apiError(err)
	}
	if old != nil && *old != here {
		if _, err := s.bp.request(ctx, *old, opClose, nil); err != nil {
			s.log.Debug("natsbackplane: closing a replaced connection", "channel", name, "err", err)
		}
	}
	s.deliverKept(ctx, name, sink, out)
	return nil
}

// admit returns the connection client holds on d (nil: none), or
// ClientLimitExceeded when a new viewer finds MaxViewers viewers with a
// live lease.
func (s *KVSStore) admit(ctx context.Context, d *channelDoc, client string) (*loc, error) {
	old := d.conn(client)
	if client == "" || old != nil || len(d.Viewers) < s.maxViews {
		return old, nil
	}
	for v := range d.Viewers {
		e, err := s.b.get(ctx, connKey(d.Name, v))
		if err != nil {
			return nil, err
		}
		if !e.live {
			delete(d.Viewers, v)
		}
	}
	if len(d.Viewers) >= s.maxViews {
		return nil, kvs.Errorf(kvs.ErrClientLimitExceeded, "The channel already has %d viewers.", s.maxViews)
	}
	return nil, nil
}

// lease writes l's lease, owned by this instance, and hands it to the
// refresher.
func (s *KVSStore) lease(ctx context.Context, l *local, here loc) error {
	rev, err := s.b.update(ctx, l.leaseKey, func(entry) ([]byte, time.Duration, change, error) {
		return []byte(here.String()), s.bp.cfg.LeaseTTL, write, nil
	})
	if err == nil {
		s.bp.leaseWritten(l, rev)
	}
	return err
}

// dropLease removes l's lease if it is still here's.
func (s *KVSStore) dropLease(ctx context.Context, l *local, here loc) {
	s.bp.releaseLease(l)
	_, err := s.b.update(ctx, l.leaseKey, func(e entry) ([]byte, time.Duration, change, error) {
		if !e.live || string(e.val) != here.String() {
			return nil, 0, keep, nil
		}
		return nil, 0, remove, nil
	})
	if err != nil {
		s.log.Debug("natsbackplane: dropping a lease", "key", l.leaseKey, "err", err)
	}
}

// deliverKept delivers kept messages to sink in order; from the first it
// refuses on, they are kept again.
func (s *KVSStore) deliverKept(ctx context.Context, name string, sink kvs.Sink, out []keptMsg) {
	for i, k := range out {
		if sink.Deliver(kvs.Message{Type: k.Type, Sender: k.Sender, Payload: k.Payload}) != nil {
			s.rekeep(ctx, name, out[i:])
			return
		}
		s.bp.stats.localDeliveries.Add(1)
	}
}

// rekeep puts refused messages back, ahead of the others.
func (s *KVSStore) rekeep(ctx context.Context, name string, back []keptMsg) {
	_, err := s.b.update(ctx, channelKey(name), func(e entry) ([]byte, time.Duration, change, error) {
		if !e.live {
			return nil, 0, keep, nil
		}
		d, err := decodeChannel(e)
		if err != nil {
			return nil, 0, keep, err
		}
		d.Kept = append(append([]keptMsg(nil), back...), d.Kept...)
		return s.encode(d)
	})
	if err != nil {
		s.log.Warn("natsbackplane: keeping refused messages", "channel", name, "err", err)
	}
}

// Disconnect implements kvs.Store.
func (s *KVSStore) Disconnect(ctx context.Context, name, client string, sink kvs.Sink) error {
	if err := s.check(); err != nil {
		return err
	}
	l := s.bp.unbind(sink)
	if l == nil {
		return nil
	}
	return apiError(s.disconnect(ctx, l))
}

// disconnect removes l's connection from its channel, and its lease.
func (s *KVSStore) disconnect(ctx context.Context, l *local) error {
	here := s.bp.here(l)
	s.dropLease(ctx, l, here)
	_, err := s.b.update(ctx, channelKey(l.scope), func(e entry) ([]byte, time.Duration, change, error) {
		if !e.live {
			return nil, 0, keep, nil // deleted meanwhile
		}
		d, err := decodeChannel(e)
		if err != nil {
			return nil, 0, keep, err
		}
		if at := d.conn(l.client); at == nil || *at != here {
			return nil, 0, keep, nil
		}
		d.setConn(l.client, nil)
		return s.encode(d)
	})
	return err
}

// Send implements kvs.Store: m goes to to's WebSocket, through NATS when
// another instance holds it. The channel is read from this instance's
// cache: a message costs no KV read while the channel does not change.
// When to is not connected, or its Sink refuses m, m is kept by a
// compare-and-set on the revision that showed no usable connection, so
// that a connection landing meanwhile either takes m or is seen on the
// next attempt.
func (s *KVSStore) Send(ctx context.Context, name, to string, m kvs.Message) error {
	if err := s.check(); err != nil {
		return err
	}
	return apiError(s.send(ctx, name, to, m))
}

func (s *KVSStore) send(ctx context.Context, name, to string, m kvs.Message) error {
	key := channelKey(name)
	d, err := peek(ctx, s.b, key, decodeChannelEntry)
	if err != nil {
		return err
	}
	var tried *loc
	if d != nil {
		if at := d.conn(to); at != nil {
			ok, err := s.bp.request(ctx, *at, opDeliver, encodeMessage(m))
			if err != nil || ok {
				return err
			}
			tried = at
		}
	}
	_, err = s.b.update(ctx, key, func(e entry) ([]byte, time.Duration, change, error) {
		d, err := decodeChannelEntry(e)
		if err != nil || d == nil {
			return nil, 0, keep, cmp.Or(err, notFound(name))
		}
		if at := d.conn(to); at != nil && (tried == nil || *at != *tried) {
			ok, err := s.bp.request(ctx, *at, opDeliver, encodeMessage(m))
			if err != nil || ok {
				return nil, 0, done, err
			}
			tried = at
		}
		if err := s.keep(d, to, m); err != nil {
			return nil, 0, keep, err
		}
		return s.encode(d)
	})
	return err
}

// keep adds m for to to d's kept messages, after dropping the expired ones
// and an undelivered offer m replaces.
func (s *KVSStore) keep(d *channelDoc, to string, m kvs.Message) error {
	now := s.clock.Now()
	d.expire(now.UnixNano())
	if m.Type == kvs.MessageSDPOffer {
		d.dropOffer(to, m.Sender)
	}
	if len(d.Kept) >= s.maxMsgs || d.keptBytes()+len(m.Payload) > s.maxBytes {
		return kvs.Errorf(kvs.ErrClientLimitExceeded, "Too many messages are kept for clients of channel %s.", d.Name)
	}
	d.Kept = append(d.Kept, keptMsg{To: to, Type: m.Type, Sender: m.Sender, Payload: m.Payload,
		Expires: now.Add(d.TTL).UnixNano()})
	return nil
}

// Close implements kvs.Store: every WebSocket this store bound is
// disconnected and closed. The channels stay in NATS.
func (s *KVSStore) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	return s.bp.closeStore(s.b, s.disconnect)
}

// kvsEndpoint drives a kvs.Sink.
type kvsEndpoint struct{ sink kvs.Sink }

func (e kvsEndpoint) deliver(b []byte) bool {
	m, ok := decodeMessage(b)
	return ok && e.sink.Deliver(m) == nil
}

func (e kvsEndpoint) close() { e.sink.Close() }
