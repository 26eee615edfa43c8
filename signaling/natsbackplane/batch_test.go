package natsbackplane

import (
	"bytes"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamwire/streamwire/signaling/apprtc"
)

// TestBatchedDeliveries: messages sent at once from many rooms on A to
// their peers on B all arrive, in order for each room, in fewer requests
// than messages.
func TestBatchedDeliveries(t *testing.T) {
	ns := startNATS(t)
	a, b := newInstance(t, ns.ClientURL(), options{bp: testConfig()}), newInstance(t, ns.ClientURL(), options{bp: testConfig()})
	const rooms, msgs = 16, 50
	sinks := make([]*orderSink, rooms)
	for i := range sinks {
		room := "batch" + strconv.Itoa(i)
		sinks[i] = &orderSink{}
		require.NoError(t, a.as.Register(t.Context(), room, "a", &countSink{}))
		require.NoError(t, b.as.Register(t.Context(), room, "b", sinks[i]))
	}
	var wg sync.WaitGroup
	for i := range rooms {
		wg.Go(func() {
			for n := range msgs {
				assert.NoError(t, a.as.Send(t.Context(), "batch"+strconv.Itoa(i), "a", strconv.Itoa(n)))
			}
		})
	}
	wg.Wait()
	for i, s := range sinks {
		assert.Equal(t, msgs, s.len(), "room %d", i)
		assert.NoError(t, s.err(), "room %d", i)
	}
	st := a.bp.Stats()
	assert.Equal(t, uint64(rooms*msgs), st.Forwarded)
	assert.Less(t, st.Batches, st.Forwarded, "no batch carried two messages")
	t.Logf("%d messages in %d requests", st.Forwarded, st.Batches)
}

// orderSink is an apprtc.Sink that checks its messages are 0, 1, 2, ...
type orderSink struct {
	mu   sync.Mutex
	n    int
	bad  error
	gone bool
}

func (s *orderSink) Deliver(m string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m != strconv.Itoa(s.n) && s.bad == nil {
		s.bad = assert.AnError
	}
	s.n++
	return nil
}
func (s *orderSink) Close() { s.mu.Lock(); s.gone = true; s.mu.Unlock() }
func (s *orderSink) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}
func (s *orderSink) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bad
}

var _ apprtc.Sink = (*orderSink)(nil)

// TestMalformedBatch: a batch request whose tail does not parse is
// answered for the messages before it only (the requester fails the
// rest), and one for an unknown sink is answered no.
func TestMalformedBatch(t *testing.T) {
	ns := startNATS(t)
	a := newInstance(t, ns.ClientURL(), options{bp: testConfig()})
	nc, err := nats.Connect(ns.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	subj := a.bp.subPre + batchToken
	one := encodeBatch(nil, []*delivery{{sink: 999, payload: []byte("x")}})
	for _, tc := range []struct {
		name string
		req  []byte
		want string
	}{
		{"unknown sink", one, "0"},
		{"two unknown", append(append([]byte(nil), one...), one...), "00"},
		{"length past the end", append(append([]byte(nil), one...), 1, 200, 'y'), "0"},
		{"truncated varint", []byte{0xff}, ""},
		{"empty", nil, ""},
	} {
		reply, err := nc.Request(subj, tc.req, 2*time.Second)
		require.NoError(t, err, tc.name)
		assert.Equal(t, tc.want, string(reply.Data), tc.name)
	}
	_, err = a.bp.sendBatch(&outbound{inst: a.bp.id, subj: subj}, one, 2)
	assert.ErrorIs(t, err, errBadReply)
	assert.ErrorIs(t, err, ErrUnavailable)
}

// TestExpiredDeliveries: a delivery that waited in the queue for
// DeliveryTimeout (behind batches to a slow instance) fails with
// ErrTimeout without being sent; the others go.
func TestExpiredDeliveries(t *testing.T) {
	bp := &Backplane{cfg: Config{DeliveryTimeout: time.Second}.withDefaults()}
	old := &delivery{queued: time.Now().Add(-2 * time.Second), done: make(chan deliveryResult, 1)}
	fresh := &delivery{queued: time.Now(), done: make(chan deliveryResult, 1)}
	left := bp.dropExpired(&outbound{inst: "slow"}, []*delivery{old, fresh})
	assert.Equal(t, []*delivery{fresh}, left)
	r := <-old.done
	assert.ErrorIs(t, r.err, ErrTimeout)
	assert.Empty(t, fresh.done)
}

// FuzzBatch: any request decodes without panic, within its bytes, into
// messages that decode the same once encodeBatch has written them again
// (varints may come in longer forms than encodeBatch writes).
func FuzzBatch(f *testing.F) {
	f.Add(encodeBatch(nil, []*delivery{{sink: 1, payload: []byte(`{"msg":"hi"}`)}, {sink: 1 << 40, payload: nil}}))
	f.Add([]byte{0xff})
	f.Add([]byte{1, 200, 'y'})
	decode := func(b []byte) (ds []*delivery, rest []byte) {
		for len(b) > 0 {
			sink, payload, r, ok := nextInBatch(b)
			if !ok || len(r) >= len(b) {
				break
			}
			ds = append(ds, &delivery{sink: sink, payload: payload})
			b = r
		}
		return ds, b
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, _ := decode(b)
		again, rest := decode(encodeBatch(nil, got))
		if len(rest) != 0 || len(again) != len(got) {
			t.Fatalf("%x: %d messages, then %d (%d bytes left)", b, len(got), len(again), len(rest))
		}
		for i := range got {
			if again[i].sink != got[i].sink || !bytes.Equal(again[i].payload, got[i].payload) {
				t.Fatalf("%x: message %d changed", b, i)
			}
		}
	})
}
