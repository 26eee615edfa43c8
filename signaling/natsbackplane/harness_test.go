package natsbackplane

// The tests' world: one embedded NATS server with JetStream on loopback,
// and "instances", each an apprtc.Server and a kvs.Server with their own
// NATS connection and Backplane, served by httptest on loopback.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamwire/streamwire/internal/wstest"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/streamwire/streamwire/signaling/apprtc"
	"github.com/streamwire/streamwire/signaling/kvs"
)

var quiet = slog.New(slog.DiscardHandler)

// startNATS starts an embedded NATS server with JetStream on a free
// loopback port, its store in a temporary directory, until the test ends.
func startNATS(t testing.TB) *server.Server {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true,
		StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	require.NoError(t, err)
	go ns.Start()
	require.True(t, ns.ReadyForConnections(10*time.Second), "NATS server not ready")
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns
}

// testConfig is the backplane configuration of the tests: short TTLs.
func testConfig() Config {
	return Config{LeaseTTL: 2 * time.Second, MarkerTTL: 2 * time.Second, Timeout: 2 * time.Second, Logger: quiet}
}

// instance is one server instance: its NATS connection, Backplane, stores,
// servers and HTTP listener.
type instance struct {
	t    testing.TB
	url  string // of the NATS server
	nc   *nats.Conn
	bp   *Backplane
	as   *AppRTCStore
	ks   *KVSStore
	rtc  *apprtc.Server
	kv   *kvs.Server
	hs   *httptest.Server
	http *http.Client
	once sync.Once
}

// options are what an instance is made with.
type options struct {
	bp     Config
	apprtc apprtc.Config
	kvs    kvs.Config
}

// newInstance starts an instance on the NATS server at url; it is stopped
// at the end of the test.
func newInstance(t testing.TB, url string, o options) *instance {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bp, err := New(ctx, nc, o.bp)
	require.NoError(t, err)
	in := &instance{t: t, url: url, nc: nc, bp: bp, http: &http.Client{Transport: &http.Transport{}}}
	in.as, err = bp.AppRTC(ctx, o.apprtc)
	require.NoError(t, err)
	in.ks, err = bp.KVS(ctx, o.kvs)
	require.NoError(t, err)
	o.apprtc.Store, o.kvs.Store = in.as, in.ks
	o.apprtc.Logger, o.kvs.Logger = quiet, quiet
	in.rtc, err = apprtc.New(o.apprtc)
	require.NoError(t, err)
	in.kv, err = kvs.New(o.kvs)
	require.NoError(t, err)
	mux := http.NewServeMux()
	for _, p := range apprtc.Paths() {
		mux.Handle(p, in.rtc)
	}
	mux.Handle(in.kv.Pattern(), in.kv)
	in.hs = httptest.NewServer(mux)
	t.Cleanup(in.stop)
	return in
}

// stop shuts the instance down as a server process does at exit: the
// servers close their WebSockets (which deregister), then the Backplane
// and the connection.
func (in *instance) stop() {
	in.once.Do(func() {
		_ = in.rtc.Close()
		_ = in.kv.Close()
		_ = in.bp.Close()
		in.nc.Close()
		in.hs.CloseClientConnections()
		in.hs.Close()
		in.http.CloseIdleConnections()
	})
}

// kill cuts the instance from NATS without any clean-up, as when its
// process dies; what is left of it stops at the end of the test. The test
// closes its clients' WebSockets to the instance, as a dead process's
// would be. It returns once the NATS server has dropped the instance's
// subscription, as it does at once when a process dies (its socket
// closes); until then a request to it would wait out its time-out.
func (in *instance) kill() {
	in.t.Helper()
	in.nc.Close()
	probe, err := nats.Connect(in.url)
	require.NoError(in.t, err)
	defer probe.Close()
	require.Eventually(in.t, func() bool {
		_, err := probe.Request(in.bp.subPre+"0", nil, time.Second)
		return errors.Is(err, nats.ErrNoResponders)
	}, 5*time.Second, 10*time.Millisecond, "the NATS server still routes to the killed instance")
}

// do sends one HTTP request and returns the status and body.
func (in *instance) do(method, path, body string) (int, string) {
	in.t.Helper()
	return wstest.Do(in.t, in.http, method, in.hs.URL+path, "", body)
}

// joinAnswer is the part of a /join answer the tests read.
type joinAnswer struct {
	Result string `json:"result"`
	Params struct {
		ClientID    string   `json:"client_id"`
		IsInitiator string   `json:"is_initiator"`
		Messages    []string `json:"messages"`
	} `json:"params"`
}

// join POSTs /join/room.
func (in *instance) join(room string) joinAnswer {
	in.t.Helper()
	status, body := in.do(http.MethodPost, "/join/"+room, "")
	require.Equal(in.t, http.StatusOK, status, body)
	var a joinAnswer
	require.NoError(in.t, json.Unmarshal([]byte(body), &a), body)
	return a
}

// ws is a test WebSocket client, with the KVS frames.
type ws struct{ *wstest.Conn }

// dial opens a WebSocket at path (with its query) on the instance.
func (in *instance) dial(path string) *ws {
	in.t.Helper()
	return &ws{wstest.Dial(in.t, "ws"+strings.TrimPrefix(in.hs.URL, "http")+path)}
}

// collider opens a Collider WebSocket and registers client in room.
func (in *instance) collider(room, client string) *ws {
	w := in.dial(apprtc.ColliderPrefix + "/ws")
	w.Register(room, client)
	return w
}

// createChannel creates a KVS channel with a MessageTtlSeconds and
// returns its ARN.
func (in *instance) createChannel(name string, ttlSeconds int) string {
	in.t.Helper()
	status, body := in.do(http.MethodPost, "/kvs/createSignalingChannel",
		`{"ChannelName":"`+name+`","SingleMasterConfiguration":{"MessageTtlSeconds":`+itoa(ttlSeconds)+`}}`)
	require.Equal(in.t, http.StatusOK, status, body)
	var out struct{ ChannelARN string }
	require.NoError(in.t, json.Unmarshal([]byte(body), &out))
	return out.ChannelARN
}

// kvsConn opens a KVS WebSocket: the master when client is "", else a
// viewer.
func (in *instance) kvsConn(arn, client string) *ws {
	q := url.Values{"X-Amz-ChannelARN": {arn}}
	if client != "" {
		q.Set("X-Amz-ClientId", client)
	}
	return in.dial("/kvs/ws?" + q.Encode())
}

// kvsSend sends a KVS message frame.
func (w *ws) kvsSend(action, recipient, payload string) {
	b, _ := json.Marshal(map[string]string{"action": action, "recipientClientId": recipient,
		"messagePayload": base64.StdEncoding.EncodeToString([]byte(payload))})
	w.Send(string(b))
}

// kvsMsg is a message frame as a KVS client receives it.
type kvsMsg struct {
	Sender, Type, Payload string
}

// kvsRecv reads a KVS message frame.
func (w *ws) kvsRecv() kvsMsg {
	w.T.Helper()
	f := w.Recv()
	var m struct {
		SenderClientID string `json:"senderClientId"`
		MessageType    string `json:"messageType"`
		MessagePayload string `json:"messagePayload"`
	}
	require.NoError(w.T, json.Unmarshal([]byte(f), &m), f)
	p, err := base64.StdEncoding.DecodeString(m.MessagePayload)
	require.NoError(w.T, err, f)
	return kvsMsg{m.SenderClientID, m.MessageType, string(p)}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
