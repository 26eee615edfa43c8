package kvs

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/streamwire/streamwire/internal/wsconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestNoLeakWhenClientsVanish: clients that drop their TCP connection in
// every state (right after the upgrade, with messages in flight to a
// client that does not read, in the middle of a frame) leave no goroutine
// behind once the server is shut down, and a client still connected at
// shutdown gets GO_AWAY and then 1001.
func TestNoLeakWhenClientsVanish(t *testing.T) {
	before := goleak.IgnoreCurrent()
	h := newHarness(t, Config{MaxQueuedMessages: 8, GoAwayGrace: 100 * time.Millisecond})
	arn := h.create("leak", 0)
	h.viewer(arn, "gone").c.CloseNow()

	m := h.master(arn) // never reads: its outbox fills and it is dropped
	v := h.viewer(arn, "v")
	for range 50 {
		h.sendFrame(v, frame("ICE_CANDIDATE", "", candidate, ""))
	}
	v.c.CloseNow()
	m.c.CloseNow()

	raw, err := net.Dial("tcp4", h.addr)
	require.NoError(t, err)
	_, err = raw.Write([]byte("GET /kvs/ws?X-Amz-ChannelARN=" + strings.ReplaceAll(arn, "/", "%2F") + " HTTP/1.1\r\nHost: host\r\n" +
		"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n" +
		"\x81\xfe\x10\x00\x00\x00\x00\x00" + strings.Repeat("x", 100)))
	require.NoError(t, err)
	raw.Close()

	stay := h.viewer(arn, "stay")
	h.waitOpen(1)
	h.stop()
	code, frames := stay.closedByServer(5 * time.Second)
	assert.Equal(t, []string{`{"messageType":"GO_AWAY"}`}, frames)
	assert.Equal(t, websocket.StatusGoingAway, code)
	stay.c.CloseNow()
	<-stay.ended
	goleak.VerifyNone(t, before)
}

// TestFrameEncodingAllocs: writing a message or event frame into a buffer
// with room does not allocate (the write loop reuses its buffer). A
// STATUS_RESPONSE, an error path, JSON-encodes its description.
func TestFrameEncodingAllocs(t *testing.T) {
	buf := make([]byte, 0, 4096)
	m := Message{Type: MessageSDPOffer, Sender: "viewer-1", Payload: offer}
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		it := outItem{m: m}
		buf = it.appendFrame(buf[:0])
		ev := outItem{m: Message{Type: MessageGoAway}, event: true}
		buf = ev.appendFrame(buf[:0])
	}))
}

// BenchmarkDeliver measures a message's way from a Store to a WebSocket's
// outbox and into its frame.
func BenchmarkDeliver(b *testing.B) {
	st := NewMemoryStore(Config{Logger: discard()})
	defer st.Close()
	srv := &Server{cfg: Config{}.withDefaults()}
	cn := newWSConn(srv, "c", "")
	defer cn.CloseWith(wsconn.Abort, "")
	if err := st.CreateChannel(b.Context(), Channel{Name: "c", MessageTTL: time.Minute}); err != nil {
		b.Fatal(err)
	}
	if err := st.Connect(b.Context(), "c", "", cn); err != nil {
		b.Fatal(err)
	}
	m := Message{Type: MessageICECandidate, Sender: "v1", Payload: candidate}
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		if err := st.Send(b.Context(), "c", "", m); err != nil {
			b.Fatal(err)
		}
		it := outItem{m: m}
		buf = it.appendFrame(buf[:0])
		cn.DiscardQueued()
	}
}
