package apprtc

import (
	"context"
	"testing"

	"github.com/streamwire/streamwire/internal/wsconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const benchCandidate = `{"type":"candidate","label":0,"id":"0","candidate":"candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host generation 0 ufrag EsAw network-id 1"}`

// TestAppendServerFrameAllocs: encoding a frame into a buffer with room
// does not allocate.
func TestAppendServerFrameAllocs(t *testing.T) {
	buf := make([]byte, 0, 1024)
	allocs := testing.AllocsPerRun(1000, func() { buf = appendServerFrame(buf[:0], benchCandidate, "") })
	assert.Zero(t, allocs)
}

// relayPair is a room of two registered clients in a MemoryStore, the
// callee's socket a wsConn without a network: what Send costs up to the
// socket's writer.
func relayPair(tb testing.TB) (*MemoryStore, *wsConn) {
	srv := &Server{cfg: Config{}.withDefaults()}
	st := NewMemoryStore(Config{})
	tb.Cleanup(func() { _ = st.Close() })
	cn := newWSConn(srv)
	tb.Cleanup(func() { cn.CloseWith(wsconn.Abort, "") })
	require.NoError(tb, st.Register(context.Background(), "r", "a", &recorder{}))
	require.NoError(tb, st.Register(context.Background(), "r", "b", cn))
	return st, cn
}

// TestSendAllocs: relaying a message to a registered WebSocket's outbox
// (Store.Send, Sink.Deliver, the writer taking the outbox) does not
// allocate once the outbox buffers have grown.
func TestSendAllocs(t *testing.T) {
	st, cn := relayPair(t)
	ctx := context.Background()
	step := func() {
		for range 4 {
			_ = st.Send(ctx, "r", "a", benchCandidate)
		}
		cn.DiscardQueued()
	}
	step()
	step()
	assert.Zero(t, testing.AllocsPerRun(1000, step))
}

// BenchmarkSend measures Store.Send to a registered socket's outbox.
func BenchmarkSend(b *testing.B) {
	st, cn := relayPair(b)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = st.Send(ctx, "r", "a", benchCandidate)
		if i%64 == 63 {
			cn.DiscardQueued()
		}
	}
}

// BenchmarkAppendServerFrame measures the encoding of one server frame.
func BenchmarkAppendServerFrame(b *testing.B) {
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchCandidate)))
	for b.Loop() {
		buf = appendServerFrame(buf[:0], benchCandidate, "")
	}
}
