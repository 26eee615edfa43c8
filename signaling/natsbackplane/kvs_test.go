package natsbackplane

import (
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamwire/streamwire/signaling/kvs"
)

// skewClock is a kvs.Clock that runs with the system clock plus an offset
// the test moves forward, shared by the instances as their clocks would
// agree.
type skewClock struct{ off atomic.Int64 }

func (c *skewClock) Now() time.Time { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *skewClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}
func (c *skewClock) Advance(d time.Duration) { c.off.Add(int64(d)) }

// TestKVSViewerOnAMasterOnB: a viewer connected to instance A reaches the
// master connected to instance B, and the master's answer and candidates
// reach the viewer back, all through NATS.
func TestKVSViewerOnAMasterOnB(t *testing.T) {
	ns := startNATS(t)
	a, b := newInstance(t, ns.ClientURL(), options{bp: testConfig()}), newInstance(t, ns.ClientURL(), options{bp: testConfig()})
	arn := a.createChannel("door.cam-1", 60)
	status, body := b.do(http.MethodPost, "/kvs/describeSignalingChannel", `{"ChannelARN":"`+arn+`"}`)
	require.Equal(t, http.StatusOK, status, body)

	master := b.kvsConn(arn, "")
	viewer := a.kvsConn(arn, "viewer.1")
	waitBound(t, a, 1)
	viewer.kvsSend(kvs.MessageSDPOffer, "", "offer from viewer")
	assert.Equal(t, kvsMsg{"viewer.1", kvs.MessageSDPOffer, "offer from viewer"}, master.kvsRecv())
	master.kvsSend(kvs.MessageSDPAnswer, "viewer.1", "answer from master")
	assert.Equal(t, kvsMsg{"", kvs.MessageSDPAnswer, "answer from master"}, viewer.kvsRecv())
	for i := range 5 {
		viewer.kvsSend(kvs.MessageICECandidate, "", "v"+strconv.Itoa(i))
		master.kvsSend(kvs.MessageICECandidate, "viewer.1", "m"+strconv.Itoa(i))
	}
	for i := range 5 {
		assert.Equal(t, kvsMsg{"viewer.1", kvs.MessageICECandidate, "v" + strconv.Itoa(i)}, master.kvsRecv())
		assert.Equal(t, kvsMsg{"", kvs.MessageICECandidate, "m" + strconv.Itoa(i)}, viewer.kvsRecv())
	}
	require.Eventually(t, func() bool {
		sa, sb := a.bp.Stats(), b.bp.Stats()
		return sa.Forwarded == 6 && sb.Received == 6 && sb.Forwarded == 6 && sa.Received == 6
	}, 5*time.Second, 10*time.Millisecond, "%+v %+v", a.bp.Stats(), b.bp.Stats())
}

// TestKVSKeptMessages: messages to a client that is not connected are kept
// for the channel's MessageTtlSeconds and delivered, in order, when it
// connects on another instance; a newer offer from the same viewer
// replaces the undelivered one and the candidates that followed it; a
// message older than the TTL is dropped.
func TestKVSKeptMessages(t *testing.T) {
	ns := startNATS(t)
	clk := &skewClock{}
	o := options{bp: testConfig(), kvs: kvs.Config{Clock: clk}}
	a, b := newInstance(t, ns.ClientURL(), o), newInstance(t, ns.ClientURL(), o)
	arn := a.createChannel("kept", 5)

	v1 := a.kvsConn(arn, "v1")
	v1.kvsSend(kvs.MessageSDPOffer, "", "offer 1")
	v1.kvsSend(kvs.MessageICECandidate, "", "cand 1")
	v1.kvsSend(kvs.MessageSDPOffer, "", "offer 2")
	v1.kvsSend(kvs.MessageICECandidate, "", "cand 2")
	waitKept(t, a, "kept", 2)
	require.NoError(t, v1.C.CloseNow())

	// v2's offer is kept past the TTL.
	v2 := a.kvsConn(arn, "v2")
	clk.Advance(-10 * time.Second)
	v2.kvsSend(kvs.MessageSDPOffer, "", "stale offer")
	waitKept(t, a, "kept", 3)
	clk.Advance(10 * time.Second)

	master := b.kvsConn(arn, "")
	assert.Equal(t, kvsMsg{"v1", kvs.MessageSDPOffer, "offer 2"}, master.kvsRecv())
	assert.Equal(t, kvsMsg{"v1", kvs.MessageICECandidate, "cand 2"}, master.kvsRecv())
	master.Silent(300 * time.Millisecond)

	// The master answers v1, now gone: kept, and delivered when v1
	// connects again on B.
	master.kvsSend(kvs.MessageSDPAnswer, "v1", "answer")
	waitKept(t, a, "kept", 1)
	v1b := b.kvsConn(arn, "v1")
	assert.Equal(t, kvsMsg{"", kvs.MessageSDPAnswer, "answer"}, v1b.kvsRecv())
	waitKept(t, a, "kept", 0)
}

// waitKept waits until the channel keeps n messages.
func waitKept(t *testing.T, in *instance, name string, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		d, _, err := in.ks.doc(t.Context(), name)
		return err == nil && len(d.Kept) == n
	}, 5*time.Second, 10*time.Millisecond, "the channel does not keep %d messages", n)
}

// TestKVSDeadInstance: a viewer seat held on an instance that dies is
// freed when its lease runs out; until then MaxViewers counts it. A
// master connecting on another instance replaces the master connected to
// A, whose WebSocket is closed.
func TestKVSDeadInstance(t *testing.T) {
	ns := startNATS(t)
	cfg := testConfig()
	o := options{bp: cfg, kvs: kvs.Config{MaxViewers: 1}}
	a, b := newInstance(t, ns.ClientURL(), o), newInstance(t, ns.ClientURL(), o)
	arn := a.createChannel("dead", 60)

	m1 := a.kvsConn(arn, "")
	m2 := b.kvsConn(arn, "")
	require.True(t, m1.Closed(5*time.Second), "the replaced master's WebSocket stays open")
	m2.kvsSend(kvs.MessageSDPAnswer, "v1", "kept for v1")

	v1 := a.kvsConn(arn, "v1")
	assert.Equal(t, kvsMsg{"", kvs.MessageSDPAnswer, "kept for v1"}, v1.kvsRecv())
	waitBound(t, a, 1)
	a.kill()
	killed := time.Now()
	_ = v1.C.CloseNow()

	q := url.Values{"X-Amz-ChannelARN": {arn}, "X-Amz-ClientId": {"v2"}}
	status, body := b.upgrade("/kvs/ws?" + q.Encode())
	assert.Equal(t, http.StatusBadRequest, status, body)
	assert.Contains(t, body, "ClientLimitExceededException")
	require.Eventually(t, func() bool {
		status, _ := b.upgrade("/kvs/ws?" + q.Encode())
		return status == http.StatusSwitchingProtocols
	}, 3*cfg.LeaseTTL, 100*time.Millisecond, "the dead viewer's seat was not freed")
	t.Logf("viewer seat freed %v after the instance died (LeaseTTL %v)", time.Since(killed).Round(time.Millisecond), cfg.LeaseTTL)
	assert.Less(t, time.Since(killed), cfg.LeaseTTL+2*time.Second)
}

// upgrade sends a WebSocket upgrade request and returns the status and
// body of the answer (a refused one is a REST error); an upgrade that
// succeeds is closed at once.
func (in *instance) upgrade(path string) (int, string) {
	in.t.Helper()
	req, err := http.NewRequest(http.MethodGet, in.hs.URL+path, nil)
	require.NoError(in.t, err)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	res, err := in.http.Do(req)
	require.NoError(in.t, err)
	defer res.Body.Close()
	if res.StatusCode == http.StatusSwitchingProtocols {
		return res.StatusCode, ""
	}
	var b [512]byte
	n, _ := res.Body.Read(b[:])
	return res.StatusCode, string(b[:n])
}

// TestKVSNATSDown: with the NATS server gone, the REST API and the
// WebSocket answer 503 ServiceUnavailableException within the request
// time-out.
func TestKVSNATSDown(t *testing.T) {
	ns := startNATS(t)
	cfg := testConfig()
	cfg.Timeout = 500 * time.Millisecond
	a := newInstance(t, ns.ClientURL(), options{bp: cfg})
	arn := a.createChannel("down", 60)
	ns.Shutdown()
	ns.WaitForShutdown()

	start := time.Now()
	status, body := a.do(http.MethodPost, "/kvs/createSignalingChannel", `{"ChannelName":"other"}`)
	assert.Equal(t, http.StatusServiceUnavailable, status)
	assert.Contains(t, body, `"__type":"ServiceUnavailableException"`)
	status, body = a.do(http.MethodPost, "/kvs/describeSignalingChannel", `{"ChannelARN":"`+arn+`"}`)
	assert.Equal(t, http.StatusServiceUnavailable, status, body)
	status, body = a.upgrade("/kvs/ws?" + url.Values{"X-Amz-ChannelARN": {arn}}.Encode())
	assert.Equal(t, http.StatusServiceUnavailable, status, body)
	elapsed := time.Since(start)
	t.Logf("three requests with NATS down answered in %v (Timeout %v)", elapsed.Round(time.Millisecond), cfg.Timeout)
	assert.Less(t, elapsed, 3*(5*cfg.Timeout+time.Second))
}

// TestKVSControlPlaneShared: a channel created on one instance is
// described, listed and deleted on the other; the deletion closes its
// WebSockets on both.
func TestKVSControlPlaneShared(t *testing.T) {
	ns := startNATS(t)
	o := options{bp: testConfig(), kvs: kvs.Config{MaxChannels: 3}}
	a, b := newInstance(t, ns.ClientURL(), o), newInstance(t, ns.ClientURL(), o)
	arn := a.createChannel("c1", 60)
	a.createChannel("c2", 60)
	status, body := b.do(http.MethodPost, "/kvs/createSignalingChannel", `{"ChannelName":"c1"}`)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "ResourceInUseException")
	b.createChannel("c3", 60)
	status, body = b.do(http.MethodPost, "/kvs/createSignalingChannel", `{"ChannelName":"c4"}`)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "AccountChannelLimitExceededException")

	status, body = b.do(http.MethodPost, "/kvs/listSignalingChannels", `{"MaxResults":2}`)
	require.Equal(t, http.StatusOK, status, body)
	assert.Contains(t, body, `"ChannelName":"c1"`)
	assert.Contains(t, body, `"ChannelName":"c2"`)
	assert.NotContains(t, body, `"ChannelName":"c3"`)

	master, viewer := a.kvsConn(arn, ""), b.kvsConn(arn, "v")
	waitBound(t, a, 1)
	waitBound(t, b, 1)
	status, body = b.do(http.MethodPost, "/kvs/deleteSignalingChannel", `{"ChannelARN":"`+arn+`"}`)
	require.Equal(t, http.StatusOK, status, body)
	for _, w := range []*ws{master, viewer} {
		assert.True(t, w.Closed(5*time.Second), "a WebSocket of the deleted channel stays open")
	}
	status, _ = a.do(http.MethodPost, "/kvs/describeSignalingChannel", `{"ChannelName":"c1"}`)
	assert.Equal(t, http.StatusNotFound, status)
}
