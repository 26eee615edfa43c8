package natsbackplane

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/streamwire/streamwire/signaling/apprtc"
)

// AppRTCStore is an apprtc.Store shared by every instance on the same NATS
// system: rooms are KV entries changed by compare-and-set, each
// participant's seat lives as long as its lease entry, and messages reach
// a WebSocket on another instance through that instance's subject. Make
// one with Backplane.AppRTC and pass it as apprtc.Config.Store.
type AppRTCStore struct {
	bp              *Backplane
	b               *bucket
	registerTimeout time.Duration
	grace           time.Duration
	maxMsgs         int
	maxBytes        int
	log             *slog.Logger

	closed atomic.Bool
}

var _ apprtc.Store = (*AppRTCStore)(nil)

// AppRTC returns the AppRTC store of the instance, on the bucket
// PREFIX_apprtc (made if needed), with cfg's RegisterTimeout,
// ReconnectGrace, MaxQueuedMessages, MaxQueuedBytes and Logger (zero
// fields take apprtc's defaults); the other fields are the Server's. The
// time-outs are TTLs of KV entries, in whole seconds. It fails when NATS
// does not answer (ErrUnavailable).
func (bp *Backplane) AppRTC(ctx context.Context, cfg apprtc.Config) (*AppRTCStore, error) {
	b, err := bp.openBucket(ctx, "apprtc", roomKey(""))
	if err != nil {
		return nil, err
	}
	s := &AppRTCStore{bp: bp, b: b,
		registerTimeout: wholeSeconds(orDefault(cfg.RegisterTimeout, apprtc.DefaultRegisterTimeout)),
		grace:           wholeSeconds(orDefault(cfg.ReconnectGrace, apprtc.DefaultReconnectGrace)),
		maxMsgs:         orDefault(cfg.MaxQueuedMessages, apprtc.DefaultMaxQueuedMessages),
		maxBytes:        orDefault(cfg.MaxQueuedBytes, apprtc.DefaultMaxQueuedBytes),
		log:             cfg.Logger}
	if s.log == nil {
		s.log = bp.cfg.Logger
	}
	if err := bp.addStore(s); err != nil {
		b.close()
		return nil, err
	}
	return s, nil
}

// roomKey and leaseKey are the KV keys of a room and of a participant's
// lease. Ids reach a Store checked by apprtc.ValidID: [a-zA-Z0-9_-], valid
// in a key.
func roomKey(room string) string          { return "room." + room }
func leaseKey(room, client string) string { return "lease." + room + "." + client }

// check fails after Close or for ids that are not apprtc ids.
func (s *AppRTCStore) check(ids ...string) error {
	if s.closed.Load() {
		return apprtc.ErrClosed
	}
	for _, id := range ids {
		if !apprtc.ValidID(id) {
			return fmt.Errorf("natsbackplane: invalid apprtc id %q", id)
		}
	}
	return nil
}

// encode is d's value, or apprtc.ErrQueueFull when its queues make it
// larger than the bucket takes. An empty room is removed.
func (s *AppRTCStore) encode(d *roomDoc) ([]byte, time.Duration, change, error) {
	if len(d.Members) == 0 {
		return nil, 0, remove, nil
	}
	val, err := json.Marshal(d)
	if err != nil {
		return nil, 0, keep, err
	}
	if len(val) > s.bp.maxValue() {
		return nil, 0, keep, apprtc.ErrQueueFull
	}
	return val, 0, write, nil
}

// ensureLease makes client's lease, unregistered with RegisterTimeout,
// unless it has one; it reports whether it made it. A participant gets its
// lease before it appears in the room, which would otherwise drop it as
// expired.
func (s *AppRTCStore) ensureLease(ctx context.Context, room, client string) (created bool, err error) {
	_, err = s.b.update(ctx, leaseKey(room, client), func(e entry) ([]byte, time.Duration, change, error) {
		created = !e.live
		if e.live {
			return nil, 0, keep, nil
		}
		return []byte{}, s.registerTimeout, write, nil
	})
	return created, err
}

// dropLease removes client's lease after its participant left the room,
// or was never added to it.
func (s *AppRTCStore) dropLease(ctx context.Context, room, client string) {
	if err := s.b.purge(ctx, leaseKey(room, client), 0); err != nil {
		s.log.Debug("natsbackplane: dropping a lease", "room", room, "client", client, "err", err)
	}
}

// prune removes from d the participants other than except whose lease has
// expired: their instance died, or their register time-out or grace ran
// out. It reports whether it removed any.
func (s *AppRTCStore) prune(ctx context.Context, room string, d *roomDoc, except string) (bool, error) {
	removed := false
	for _, m := range append([]*member(nil), d.Members...) {
		if m.ID == except {
			continue
		}
		e, err := s.b.get(ctx, leaseKey(room, m.ID))
		if err != nil {
			return false, err
		}
		if !e.live {
			d.remove(m.ID)
			removed = true
			s.log.Info("natsbackplane: apprtc seat freed", "room", room, "client", m.ID, "why", "lease expired")
		}
	}
	return removed, nil
}

// Join implements apprtc.Store. The seat is taken by a compare-and-set on
// the room's revision: of two joins racing for the last seat on two
// instances, the one whose write lands second reads the room again and
// gets apprtc.ErrFull.
func (s *AppRTCStore) Join(ctx context.Context, room, client string) (apprtc.Joined, error) {
	if err := s.check(room, client); err != nil {
		return apprtc.Joined{}, err
	}
	created, err := s.ensureLease(ctx, room, client)
	if err != nil {
		return apprtc.Joined{}, err
	}
	var j apprtc.Joined
	_, err = s.b.update(ctx, roomKey(room), func(e entry) ([]byte, time.Duration, change, error) {
		d, err := decodeRoom(e)
		if err == nil {
			_, err = s.prune(ctx, room, d, client)
		}
		if err != nil {
			return nil, 0, keep, err
		}
		m := d.find(client)
		switch {
		case m != nil && m.Seat:
			return nil, 0, keep, apprtc.ErrDuplicateClient
		case d.seats() >= maxSeats:
			return nil, 0, keep, apprtc.ErrFull
		}
		j = apprtc.Joined{Initiator: d.seats() == 0, Messages: []string{}}
		for _, o := range d.Members {
			if o.Seat {
				j.Messages = append(j.Messages, o.Saved...)
				o.Saved = nil
			}
		}
		d.add(client).Seat = true
		return s.encode(d)
	})
	if err != nil && created {
		s.dropLease(ctx, room, client)
	}
	return j, err
}

// Save implements apprtc.Store.
func (s *AppRTCStore) Save(ctx context.Context, room, client, msg string) (bool, error) {
	if err := s.check(room, client); err != nil {
		return false, err
	}
	saved := false
	_, err := s.b.update(ctx, roomKey(room), func(e entry) ([]byte, time.Duration, change, error) {
		saved = false
		d, m, err := seated(e, client)
		if err != nil {
			return nil, 0, keep, err
		}
		if d.seats() > 1 {
			if _, err := s.prune(ctx, room, d, client); err != nil || d.seats() > 1 {
				return nil, 0, keep, err
			}
		}
		if m.Saved, err = push(m.Saved, msg, s.maxMsgs, s.maxBytes); err != nil {
			return nil, 0, keep, err
		}
		saved = true
		return s.encode(d)
	})
	return saved && err == nil, err
}

// Leave implements apprtc.Store.
func (s *AppRTCStore) Leave(ctx context.Context, room, client string) error {
	if err := s.check(room, client); err != nil {
		return err
	}
	gone := false
	_, err := s.b.update(ctx, roomKey(room), func(e entry) ([]byte, time.Duration, change, error) {
		d, m, err := seated(e, client)
		if err != nil {
			return nil, 0, keep, err
		}
		m.Seat, m.Saved = false, nil
		if gone = !m.Client; gone {
			d.remove(client)
		}
		return s.encode(d)
	})
	if err == nil && gone {
		s.dropLease(ctx, room, client)
	}
	return err
}

// Occupancy implements apprtc.Store: the seats whose lease is live.
func (s *AppRTCStore) Occupancy(ctx context.Context, room string) (int, error) {
	if err := s.check(room); err != nil {
		return 0, err
	}
	e, err := s.b.get(ctx, roomKey(room))
	if err != nil {
		return 0, err
	}
	d, err := decodeRoom(e)
	if err == nil {
		_, err = s.prune(ctx, room, d, "")
	}
	if err != nil {
		return 0, err
	}
	return d.seats(), nil
}

// Register implements apprtc.Store. A registration the room names on
// another instance is a duplicate only if that instance still holds it;
// an instance that died answers nothing, and the new registration takes
// the client over.
func (s *AppRTCStore) Register(ctx context.Context, room, client string, sink apprtc.Sink) error {
	if err := s.check(room, client); err != nil {
		return err
	}
	l := s.bp.bind(sink, apprtcEndpoint{sink}, s.b, room, client, leaseKey(room, client))
	here := s.bp.here(l)
	created, err := s.ensureLease(ctx, room, client)
	var out []taken
	if err == nil {
		_, err = s.b.update(ctx, roomKey(room), func(e entry) ([]byte, time.Duration, change, error) {
			out = nil
			d, err := decodeRoom(e)
			if err != nil {
				return nil, 0, keep, err
			}
			m, err := s.admitClient(ctx, room, d, client)
			if err == nil && m.At != nil {
				err = s.checkDuplicate(ctx, *m.At)
			}
			if err != nil {
				return nil, 0, keep, err
			}
			m.At = &here
			for _, o := range d.Members {
				if o.ID != client && len(o.Queue) > 0 {
					out = append(out, taken{o.ID, o.Queue})
					o.Queue = nil
				}
			}
			return s.encode(d)
		})
	}
	if err == nil {
		err = s.lease(ctx, l, here)
	}
	if err != nil {
		s.bp.unbind(sink)
		if created {
			s.dropLease(ctx, room, client)
		}
		return err
	}
	s.deliverTaken(ctx, room, sink, out)
	return nil
}

// admitClient returns client's member in d as a Collider client, adding
// it when the room has space (apprtc.ErrRoomCapacity).
func (s *AppRTCStore) admitClient(ctx context.Context, room string, d *roomDoc, client string) (*member, error) {
	if m := d.find(client); m != nil && m.Client {
		return m, nil
	}
	if d.clients() >= maxSeats {
		if _, err := s.prune(ctx, room, d, client); err != nil {
			return nil, err
		}
		if d.clients() >= maxSeats {
			return nil, apprtc.ErrRoomCapacity
		}
	}
	m := d.add(client)
	m.Client = true
	return m, nil
}

// checkDuplicate fails with apprtc.ErrDuplicatedRegistration when the
// WebSocket at is still registered on its instance.
func (s *AppRTCStore) checkDuplicate(ctx context.Context, at loc) error {
	held, err := s.bp.request(ctx, at, opProbe, nil)
	if err != nil {
		return err
	}
	if held {
		return apprtc.ErrDuplicatedRegistration
	}
	return nil
}

// lease writes l's lease, owned by this instance, and hands it to the
// refresher.
func (s *AppRTCStore) lease(ctx context.Context, l *local, here loc) error {
	rev, err := s.b.update(ctx, l.leaseKey, func(entry) ([]byte, time.Duration, change, error) {
		return []byte(here.String()), s.bp.cfg.LeaseTTL, write, nil
	})
	if err == nil {
		s.bp.leaseWritten(l, rev)
	}
	return err
}

// deliverTaken delivers to sink, in order, the messages taken from the
// other members' queues; from the first it refuses on, they go back to
// their queues (collider client.sendQueued lost them).
func (s *AppRTCStore) deliverTaken(ctx context.Context, room string, sink apprtc.Sink, out []taken) {
	for i, t := range out {
		for j, m := range t.msgs {
			if sink.Deliver(m) != nil {
				rest := append([]taken{{t.from, t.msgs[j:]}}, out[i+1:]...)
				s.requeue(ctx, room, rest)
				return
			}
			s.bp.stats.localDeliveries.Add(1)
		}
	}
}

// requeue puts messages back at the head of their senders' queues.
func (s *AppRTCStore) requeue(ctx context.Context, room string, back []taken) {
	_, err := s.b.update(ctx, roomKey(room), func(e entry) ([]byte, time.Duration, change, error) {
		d, err := decodeRoom(e)
		if err != nil {
			return nil, 0, keep, err
		}
		for _, t := range back {
			if m := d.find(t.from); m != nil {
				m.Queue = append(append([]string(nil), t.msgs...), m.Queue...)
			}
		}
		return s.encode(d)
	})
	if err != nil {
		s.log.Warn("natsbackplane: requeueing refused messages", "room", room, "err", err)
	}
}

// Send implements apprtc.Store: msg goes to the other client's WebSocket,
// through NATS when another instance holds it. The room is read from this
// instance's cache: a message costs no KV read while the room does not
// change. When the other client has no WebSocket, or its Sink refuses
// msg, msg is queued on client by a compare-and-set on the revision that
// showed no usable WebSocket, so that a registration landing meanwhile
// either takes msg with the queue or is seen on the next attempt.
func (s *AppRTCStore) Send(ctx context.Context, room, client, msg string) error {
	if err := s.check(room, client); err != nil {
		return err
	}
	key := roomKey(room)
	d, err := peek(ctx, s.b, key, decodeRoom)
	if err != nil {
		return err
	}
	var tried *loc
	if src := d.find(client); src != nil && src.Client {
		if to := d.registeredPeer(client); to != nil {
			ok, err := s.bp.request(ctx, *to, opDeliver, []byte(msg))
			if err != nil || ok {
				return err
			}
			tried = to
		}
	}
	for range s.bp.cfg.MaxRetries {
		unknown := false
		_, err := s.b.update(ctx, key, func(e entry) ([]byte, time.Duration, change, error) {
			d, err := decodeRoom(e)
			if err != nil {
				return nil, 0, keep, err
			}
			src := d.find(client)
			if unknown = src == nil || !src.Client; unknown {
				return nil, 0, keep, nil
			}
			if to := d.registeredPeer(client); to != nil && (tried == nil || *to != *tried) {
				ok, err := s.bp.request(ctx, *to, opDeliver, []byte(msg))
				if err != nil || ok {
					return nil, 0, done, err
				}
				tried = to
			}
			if src.Queue, err = push(src.Queue, msg, s.maxMsgs, s.maxBytes); err != nil {
				return nil, 0, keep, err
			}
			return s.encode(d)
		})
		if err != nil || !unknown {
			return err
		}
		if err := s.addClient(ctx, room, client); err != nil {
			return err
		}
	}
	return ErrContention
}

// registeredPeer is the WebSocket of a Collider client other than client,
// or nil.
func (d *roomDoc) registeredPeer(client string) *loc {
	for _, m := range d.Members {
		if m.ID != client && m.Client && m.At != nil {
			return m.At
		}
	}
	return nil
}

// addClient makes client a Collider client of room, unregistered (as
// Collider's POST for an unknown client).
func (s *AppRTCStore) addClient(ctx context.Context, room, client string) error {
	created, err := s.ensureLease(ctx, room, client)
	if err != nil {
		return err
	}
	_, err = s.b.update(ctx, roomKey(room), func(e entry) ([]byte, time.Duration, change, error) {
		d, err := decodeRoom(e)
		if err == nil {
			_, err = s.admitClient(ctx, room, d, client)
		}
		if err != nil {
			return nil, 0, keep, err
		}
		return s.encode(d)
	})
	if err != nil && created {
		s.dropLease(ctx, room, client)
	}
	return err
}

// Deregister implements apprtc.Store: the client keeps its seat and its
// queue until its lease, rewritten with the ReconnectGrace as TTL, runs
// out.
func (s *AppRTCStore) Deregister(ctx context.Context, room, client string, sink apprtc.Sink) error {
	if err := s.check(room, client); err != nil {
		return err
	}
	l := s.bp.unbind(sink)
	if l == nil {
		return nil
	}
	return s.deregister(ctx, room, client, l)
}

// deregister unbinds l from client in the room and its lease.
func (s *AppRTCStore) deregister(ctx context.Context, room, client string, l *local) error {
	s.bp.releaseLease(l)
	here := s.bp.here(l)
	_, err := s.b.update(ctx, roomKey(room), func(e entry) ([]byte, time.Duration, change, error) {
		d, err := decodeRoom(e)
		if err != nil {
			return nil, 0, keep, err
		}
		m := d.find(client)
		if m == nil || m.At == nil || *m.At != here {
			return nil, 0, keep, nil
		}
		m.At = nil
		return s.encode(d)
	})
	if err != nil {
		return err
	}
	_, err = s.b.update(ctx, l.leaseKey, func(e entry) ([]byte, time.Duration, change, error) {
		if !e.live || string(e.val) != here.String() {
			return nil, 0, keep, nil
		}
		return []byte{}, s.grace, write, nil
	})
	return err
}

// Remove implements apprtc.Store: the participant leaves the room and its
// WebSocket, wherever it is, is closed.
func (s *AppRTCStore) Remove(ctx context.Context, room, client string) error {
	if err := s.check(room, client); err != nil {
		return err
	}
	var at *loc
	found := false
	_, err := s.b.update(ctx, roomKey(room), func(e entry) ([]byte, time.Duration, change, error) {
		d, err := decodeRoom(e)
		if err != nil {
			return nil, 0, keep, err
		}
		m := d.find(client)
		if found = m != nil; !found {
			return nil, 0, keep, nil
		}
		at = m.At
		d.remove(client)
		return s.encode(d)
	})
	if err != nil || !found {
		return err
	}
	s.dropLease(ctx, room, client)
	if at != nil {
		if _, err := s.bp.request(ctx, *at, opClose, nil); err != nil {
			s.log.Debug("natsbackplane: closing a removed client's WebSocket", "room", room, "client", client, "err", err)
		}
	}
	return nil
}

// Close implements apprtc.Store: every WebSocket this store bound is
// deregistered (its client keeps its seat for ReconnectGrace, to register
// again on any instance) and closed. The rooms stay in NATS.
func (s *AppRTCStore) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	return s.bp.closeStore(s.b, func(ctx context.Context, l *local) error {
		return s.deregister(ctx, l.scope, l.client, l)
	})
}

// apprtcEndpoint drives an apprtc.Sink.
type apprtcEndpoint struct{ sink apprtc.Sink }

func (e apprtcEndpoint) deliver(b []byte) bool { return e.sink.Deliver(string(b)) == nil }
func (e apprtcEndpoint) close()                { e.sink.Close() }
