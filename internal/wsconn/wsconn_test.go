package wsconn

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestMain fails the run if a write loop, ping or reader outlives its
// test.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// appendText is the frames of string items: the string itself.
func appendText(b []byte, s string) []byte { return append(b, s...) }

// pair serves one WebSocket with a Conn made from cfg; serve runs on it
// (after Serve) on the handler's goroutine, and the Conn is finished when
// serve returns. It returns the client's end.
func pair(t *testing.T, cfg Config[string], serve func(cn *Conn[string])) *websocket.Conn {
	t.Helper()
	cfg.AppendFrame = appendText
	handled := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(handled)
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		cn := New(cfg)
		cn.Serve(c)
		serve(cn)
		cn.Finish()
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	if res != nil && res.Body != nil {
		_ = res.Body.Close()
	}
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = c.CloseNow()
		<-handled
		hs.Close()
	})
	return c
}

// read reads one frame within 5 s.
func read(c *websocket.Conn) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	return string(b), err
}

// TestOutboxOrderAndClose: queued items are written in order, and the
// first close decides the status and reason of the close frame.
func TestOutboxOrderAndClose(t *testing.T) {
	c := pair(t, Config[string]{}, func(cn *Conn[string]) {
		for i := range 100 {
			require.NoError(t, cn.Enqueue("m"+strconv.Itoa(i), 2))
		}
		cn.CloseWith(websocket.StatusGoingAway, "bye")
		cn.CloseWith(websocket.StatusInternalError, "not this")
		assert.ErrorIs(t, cn.Enqueue("late", 4), ErrClosed)
	})
	n := 0
	for {
		m, err := read(c)
		if err != nil {
			assert.Equal(t, websocket.StatusGoingAway, websocket.CloseStatus(err), "%v", err)
			var ce websocket.CloseError
			if assert.ErrorAs(t, err, &ce) {
				assert.Equal(t, "bye", ce.Reason)
			}
			break
		}
		assert.Equal(t, "m"+strconv.Itoa(n), m)
		n++
	}
	// Items queued before the close may be dropped with it, never
	// reordered.
	assert.LessOrEqual(t, n, 100)
}

// TestFlushBeforeClose: items the write loop took are written before the
// close frame.
func TestFlushBeforeClose(t *testing.T) {
	c := pair(t, Config[string]{}, func(cn *Conn[string]) {
		require.NoError(t, cn.Enqueue("one", 3))
		require.NoError(t, cn.Enqueue("two", 3))
		require.Eventually(t, func() bool {
			cn.mu.Lock()
			defer cn.mu.Unlock()
			return len(cn.out) == 0
		}, 5*time.Second, time.Millisecond)
		time.Sleep(50 * time.Millisecond) // the write loop writes what it took
	})
	for _, want := range []string{"one", "two"} {
		m, err := read(c)
		require.NoError(t, err)
		assert.Equal(t, want, m)
	}
	_, err := read(c)
	assert.Equal(t, websocket.StatusNormalClosure, websocket.CloseStatus(err), "%v", err)
}

// TestOutboxFull: an outbox at its bounds refuses the item and drops the
// connection without a close handshake.
func TestOutboxFull(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     Config[string]
		size    int
		refused int // the call refused
	}{
		{"items", Config[string]{MaxQueued: 3}, 1, 4},
		{"bytes", Config[string]{MaxQueuedBytes: 10}, 4, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.AppendFrame = appendText
			cn := New(tc.cfg)
			var err error
			n := 0
			for ; err == nil && n < 100; n++ {
				err = cn.Enqueue("x", tc.size)
			}
			assert.ErrorIs(t, err, ErrOutboxFull)
			assert.Equal(t, tc.refused, n, "refused at the wrong item")
			assert.Error(t, cn.Context().Err(), "not dropped")
			assert.True(t, cn.Closing())
			assert.ErrorIs(t, cn.Enqueue("x", 1), ErrClosed)
			cn.Finish() // never served: only closes
		})
	}
}

// TestNoPong: a peer that does not answer pings (it does not read) is
// dropped after two ping intervals, which ends the server's read.
func TestNoPong(t *testing.T) {
	type result struct {
		after   time.Duration
		closing bool
	}
	done := make(chan result, 1)
	pair(t, Config[string]{PingInterval: 100 * time.Millisecond}, func(cn *Conn[string]) {
		start := time.Now()
		_, _, err := cn.ReadFrame(5 * time.Second) // pongs arrive through reads
		assert.Error(t, err)
		done <- result{time.Since(start), cn.Closing()}
	})
	r := <-done
	assert.True(t, r.closing, "the read ended, not the connection")
	assert.GreaterOrEqual(t, r.after, 200*time.Millisecond)
	assert.Less(t, r.after, 4*time.Second, "a peer that answers no ping was not dropped")
}

// TestPongKeeps: a peer that reads (and so answers pings) is kept: five
// ping intervals later its frame is read on an open connection.
func TestPongKeeps(t *testing.T) {
	done := make(chan bool, 1)
	// Intervals long enough for a pong on a loaded machine.
	c := pair(t, Config[string]{PingInterval: 250 * time.Millisecond}, func(cn *Conn[string]) {
		frame, buf, err := cn.ReadFrame(5 * time.Second)
		if assert.NoError(t, err) {
			assert.Equal(t, "still here", string(frame))
			Release(buf)
		}
		done <- cn.Closing()
	})
	go func() { _, _ = read(c) }() // answers pings
	time.Sleep(1250 * time.Millisecond)
	require.NoError(t, c.Write(context.Background(), websocket.MessageText, []byte("still here")))
	assert.False(t, <-done, "a peer that answers pings was dropped")
}

// TestAbort: Abort drops the connection without a close frame.
func TestAbort(t *testing.T) {
	c := pair(t, Config[string]{}, func(cn *Conn[string]) { cn.CloseWith(Abort, "gone") })
	_, err := read(c)
	require.Error(t, err)
	assert.Equal(t, websocket.StatusCode(-1), websocket.CloseStatus(err), "a close frame came: %v", err)
}

// TestReadFrame: frames up to ReadLimit are read, a larger one is
// ErrFrameTooLarge, and a read waits at most its limit.
func TestReadFrame(t *testing.T) {
	got := make(chan error, 3)
	c := pair(t, Config[string]{ReadLimit: 8}, func(cn *Conn[string]) {
		frame, buf, err := cn.ReadFrame(5 * time.Second)
		if err == nil {
			assert.Equal(t, "12345678", string(frame))
			Release(buf)
		}
		got <- err
		_, _, err = cn.ReadFrame(5 * time.Second)
		got <- err
	})
	ctx := context.Background()
	require.NoError(t, c.Write(ctx, websocket.MessageText, []byte("12345678")))
	require.NoError(t, <-got)
	_ = c.Write(ctx, websocket.MessageText, []byte("123456789"))
	assert.ErrorIs(t, <-got, ErrFrameTooLarge)

	start := time.Now()
	pair(t, Config[string]{}, func(cn *Conn[string]) {
		_, _, err := cn.ReadFrame(100 * time.Millisecond)
		got <- err
	})
	err := <-got
	assert.Error(t, err)
	assert.Less(t, time.Since(start), 3*time.Second)
}

// TestAtClose: what AtClose armed is stopped at close; after it, AtClose
// arms nothing.
func TestAtClose(t *testing.T) {
	cn := New(Config[string]{AppendFrame: appendText})
	stopped := 0
	require.True(t, cn.AtClose(func() func() bool { return func() bool { stopped++; return true } }))
	cn.CloseWith(websocket.StatusNormalClosure, "")
	assert.Equal(t, 1, stopped)
	assert.False(t, cn.AtClose(func() func() bool { t.Error("armed after close"); return nil }))
	assert.ErrorIs(t, cn.WriteNow([]byte("x")), ErrClosed, "WriteNow before Serve")
}

// TestEnqueueAllocs: queueing does not allocate once the outbox's two
// buffers have grown.
func TestEnqueueAllocs(t *testing.T) {
	cn := New(Config[string]{AppendFrame: appendText})
	defer cn.CloseWith(Abort, "")
	step := func() {
		for range 8 {
			_ = cn.Enqueue("candidate", 9)
		}
		cn.DiscardQueued()
	}
	step()
	step()
	assert.Zero(t, testing.AllocsPerRun(1000, step))
}

// TestRateLimit: a burst at once, then the rate.
func TestRateLimit(t *testing.T) {
	now := time.Unix(1000, 0)
	b := NewRateLimit(10, 3)
	for range 3 {
		assert.True(t, b.Allow(now))
	}
	assert.False(t, b.Allow(now), "over the burst")
	assert.True(t, b.Allow(now.Add(100*time.Millisecond)), "one token after 1/rate")
	assert.False(t, b.Allow(now.Add(100*time.Millisecond)))
	assert.True(t, b.Allow(now.Add(time.Hour)))
	n := 1
	for b.Allow(now.Add(time.Hour)) {
		n++
	}
	assert.Equal(t, 3, n, "refilled past the burst")
	var zero RateLimit
	assert.False(t, zero.Allow(now), "the zero value allows")
}

// TestDefaults: zero fields take the defaults.
func TestDefaults(t *testing.T) {
	cn := New(Config[string]{AppendFrame: appendText})
	defer cn.CloseWith(Abort, "")
	assert.Equal(t, Config[string]{WriteTimeout: DefaultWriteTimeout, PingInterval: DefaultPingInterval,
		MaxQueued: DefaultMaxQueued, MaxQueuedBytes: DefaultMaxQueuedBytes, ReadLimit: DefaultReadLimit},
		Config[string]{WriteTimeout: cn.cfg.WriteTimeout, PingInterval: cn.cfg.PingInterval,
			MaxQueued: cn.cfg.MaxQueued, MaxQueuedBytes: cn.cfg.MaxQueuedBytes, ReadLimit: cn.cfg.ReadLimit})
	assert.NoError(t, cn.Enqueue("x", 1))
}

// TestSet: Close refuses Adds, visits every connection once, and Wait
// returns once every handler removed its connection.
func TestSet(t *testing.T) {
	var s Set[int]
	require.True(t, s.Add(1))
	require.True(t, s.Add(2))
	assert.Equal(t, 2, s.Len())
	assert.False(t, s.Closed())
	select {
	case <-s.Closing():
		t.Fatal("closing before Close")
	default:
	}
	seen := 0
	require.True(t, s.Close(func(int) { seen++ }))
	assert.Equal(t, 2, seen)
	assert.False(t, s.Close(func(int) { t.Error("visited twice") }))
	assert.False(t, s.Add(3))
	assert.True(t, s.Closed())
	<-s.Closing()

	waited := make(chan struct{})
	go func() { s.Wait(); close(waited) }()
	s.Remove(1)
	select {
	case <-waited:
		t.Fatal("Wait returned with a connection left")
	case <-time.After(20 * time.Millisecond):
	}
	s.Remove(2)
	<-waited
	assert.Zero(t, s.Len())
}

// TestAbortCutsWrite: an Abort ends a write blocked on a peer that does
// not read at once, not after WriteTimeout.
func TestAbortCutsWrite(t *testing.T) {
	finished := make(chan time.Duration, 1)
	big := strings.Repeat("x", 64<<10)
	pair(t, Config[string]{MaxQueued: 1000, MaxQueuedBytes: 1 << 30, WriteTimeout: time.Minute}, func(cn *Conn[string]) {
		for range 500 { // 32 MiB, more than loopback's socket buffers
			require.NoError(t, cn.Enqueue(big, len(big)))
		}
		time.Sleep(300 * time.Millisecond) // the write loop blocks
		start := time.Now()
		cn.CloseWith(Abort, "peer does not read")
		cn.Finish()
		finished <- time.Since(start)
	})
	select {
	case d := <-finished:
		assert.Less(t, d, 5*time.Second)
	case <-time.After(20 * time.Second):
		t.Fatal("the blocked write was not cut")
	}
}
