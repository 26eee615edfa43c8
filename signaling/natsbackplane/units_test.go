package natsbackplane

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamwire/streamwire/signaling/apprtc"
	"github.com/streamwire/streamwire/signaling/kvs"
)

// TestConfigDefaults: the zero Config takes the defaults, and TTLs are
// whole seconds, 1 s at least.
func TestConfigDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	assert.Equal(t, DefaultPrefix, c.Prefix)
	assert.Equal(t, DefaultTimeout, c.Timeout)
	assert.Equal(t, DefaultLeaseTTL, c.LeaseTTL)
	assert.Equal(t, DefaultMarkerTTL, c.MarkerTTL)
	assert.Equal(t, DefaultMaxRetries, c.MaxRetries)
	assert.Equal(t, DefaultDeliveryTimeout, c.DeliveryTimeout)
	assert.Equal(t, DefaultCacheEntries, c.CacheEntries)
	assert.Equal(t, 1, c.Replicas)
	assert.NotNil(t, c.Logger)
	for in, want := range map[time.Duration]time.Duration{
		-time.Second: time.Second, 0: time.Second, 200 * time.Millisecond: time.Second,
		time.Second: time.Second, 1500 * time.Millisecond: 2 * time.Second, 10 * time.Second: 10 * time.Second,
	} {
		assert.Equal(t, want, wholeSeconds(in), "wholeSeconds(%v)", in)
	}
}

// TestErrors: a request that ran out of time is ErrTimeout, a net.Error
// with Timeout() true that also matches ErrUnavailable; a cancelled
// caller's context is reported as itself; other failures are
// ErrUnavailable; all wrap the NATS error.
func TestErrors(t *testing.T) {
	err := failed(context.Background(), "get", context.DeadlineExceeded)
	assert.ErrorIs(t, err, ErrTimeout)
	assert.ErrorIs(t, err, ErrUnavailable)
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	assert.True(t, ne.Timeout())

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = failed(ctx, "get", context.Canceled)
	assert.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, ErrTimeout)

	err = failed(context.Background(), "get", nats.ErrConnectionClosed)
	assert.ErrorIs(t, err, ErrUnavailable)
	assert.ErrorIs(t, err, nats.ErrConnectionClosed)
	assert.NotErrorIs(t, err, ErrTimeout)

	// The KVS store answers NATS failures as 503, keeping the cause.
	err = apiError(err)
	var api *kvs.APIError
	require.ErrorAs(t, err, &api)
	assert.Equal(t, 503, api.Status)
	assert.ErrorIs(t, err, nats.ErrConnectionClosed)
	notFound := notFound("x")
	assert.Same(t, notFound, apiError(notFound))
}

// TestMessageEncoding: a KVS message survives the delivery request's
// encoding; truncated encodings are refused.
func TestMessageEncoding(t *testing.T) {
	for _, m := range []kvs.Message{
		{Type: kvs.MessageSDPOffer, Sender: "viewer.1", Payload: "eyJ0eXBlIjoib2ZmZXIifQ=="},
		{Type: kvs.MessageSDPAnswer, Payload: ""},
		{},
	} {
		b := encodeMessage(m)
		got, ok := decodeMessage(b)
		require.True(t, ok)
		assert.Equal(t, m, got)
		for i := range min(len(b), 2+len(m.Type)+len(m.Sender)) {
			_, ok := decodeMessage(b[:i])
			assert.False(t, ok, "prefix of %d bytes of %q", i, b)
		}
	}
}

// TestChannelDocKept: kept messages expire, are taken in order for their
// recipient, and a newer offer drops the older one from the same sender
// and the candidates that followed it, as kvs.MemoryStore.
func TestChannelDocKept(t *testing.T) {
	k := func(to, typ, sender, p string, exp int64) keptMsg {
		return keptMsg{To: to, Type: typ, Sender: sender, Payload: p, Expires: exp}
	}
	d := &channelDoc{Kept: []keptMsg{
		k("", kvs.MessageICECandidate, "v1", "early", 100),
		k("", kvs.MessageSDPOffer, "v1", "o1", 100),
		k("", kvs.MessageICECandidate, "v1", "c1", 100),
		k("", kvs.MessageSDPOffer, "v2", "other", 100),
		k("v1", kvs.MessageSDPAnswer, "", "a", 100),
		k("", kvs.MessageICECandidate, "v3", "old", 10),
	}}
	d.dropOffer("", "v1")
	d.expire(50)
	var payloads []string
	for _, m := range d.Kept {
		payloads = append(payloads, m.Payload)
	}
	assert.Equal(t, []string{"early", "other", "a"}, payloads)
	assert.Equal(t, []keptMsg{k("v1", kvs.MessageSDPAnswer, "", "a", 100)}, d.take("v1"))
	assert.Len(t, d.Kept, 2)
	assert.Equal(t, len("early")+len("other"), d.keptBytes())
}

// TestDecodeCorruptValues: values that are not the backplane's JSON are
// errors, not panics; null members are dropped.
func TestDecodeCorruptValues(t *testing.T) {
	_, err := decodeRoom(entry{val: []byte("{"), live: true})
	assert.Error(t, err)
	d, err := decodeRoom(entry{val: []byte(`{"m":[null,{"id":"a","s":true}]}`), live: true})
	require.NoError(t, err)
	assert.Equal(t, 1, d.seats())
	_, err = decodeChannel(entry{val: []byte("[]"), live: true})
	assert.Error(t, err)
}

// FuzzDecodeMessage: any bytes decode without panic, and what decodes
// re-encodes to a message that decodes the same.
func FuzzDecodeMessage(f *testing.F) {
	f.Add(encodeMessage(kvs.Message{Type: kvs.MessageSDPOffer, Sender: "v", Payload: "cA=="}))
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, ok := decodeMessage(b)
		if !ok {
			return
		}
		again, ok := decodeMessage(encodeMessage(m))
		if !ok || again != m {
			t.Fatalf("%q: %+v, then %+v", b, m, again)
		}
	})
}

// FuzzDecodeRoom: any value decodes to a room or an error, and a room's
// methods do not panic on it.
func FuzzDecodeRoom(f *testing.F) {
	f.Add([]byte(`{"m":[{"id":"a","s":true,"c":true,"at":{"i":"X","k":1},"sq":["x"],"cq":["y"]}]}`))
	f.Add([]byte(`{"m":[null]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := decodeRoom(entry{val: b, live: true})
		if err != nil {
			return
		}
		_ = d.seats() + d.clients()
		_ = d.registeredPeer("a")
		d.add("b").Seat = true
		d.remove("a")
	})
}

// FuzzDecodeChannel: any value decodes to a channel or an error, and a
// channel's methods do not panic on it.
func FuzzDecodeChannel(f *testing.F) {
	f.Add([]byte(`{"name":"c","viewers":{"v":{"i":"X","k":1}},"master":{"i":"Y","k":2},"kept":[{"t":"SDP_OFFER","s":"v","p":"cA==","x":1}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := decodeChannel(entry{val: b, live: true})
		if err != nil {
			return
		}
		_ = d.channel()
		_ = d.conns()
		d.dropOffer("", "v")
		d.expire(0)
		_ = d.take("v")
		d.setConn("v", nil)
		d.setConn("w", &loc{Inst: "Z", Sink: 3})
	})
}

// TestClosedBackplane: stores refuse work after Close, and a Backplane
// refuses new stores.
func TestClosedBackplane(t *testing.T) {
	ns := startNATS(t)
	bp, err := Connect(t.Context(), ns.ClientURL(), testConfig())
	require.NoError(t, err)
	rooms, err := bp.AppRTC(t.Context(), apprtc.Config{})
	require.NoError(t, err)
	channels, err := bp.KVS(t.Context(), kvs.Config{})
	require.NoError(t, err)
	require.NoError(t, bp.Close())
	require.NoError(t, bp.Close())
	_, err = rooms.Join(t.Context(), "r", "a")
	assert.ErrorIs(t, err, apprtc.ErrClosed)
	_, err = channels.Channel(t.Context(), "c")
	assert.ErrorIs(t, err, kvs.ErrClosed)
	_, err = bp.KVS(t.Context(), kvs.Config{})
	assert.ErrorIs(t, err, ErrUnavailable, "the connection Connect made is closed")
}
