package apprtc

import (
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// short are the time-outs of these tests: long enough for a loaded machine
// to do the steps in between, short enough to wait out.
const short = 400 * time.Millisecond

// TestSeatFreedWithoutWebSocket: a client that joined over HTTP and never
// opened the WebSocket loses its seat after RegisterTimeout, so the room
// does not stay FULL (signaling.md §1.7, item 3); one that registers in
// time keeps it.
func TestSeatFreedWithoutWebSocket(t *testing.T) {
	h := newHarness(t, Config{RegisterTimeout: short}, nil)
	ghost := h.join("r")
	kept := h.join("r")
	wk := h.dial()
	wk.Register("r", kept.Params.ClientID)
	assert.Equal(t, ResultFull, h.join("r").Result, "both seats held right after the joins")

	require.Eventually(t, func() bool { return h.counts()[1] == 1 }, 10*short, 10*time.Millisecond)
	assert.Equal(t, ResultUnknownClient, h.message("r", ghost.Params.ClientID, "{}"))
	third := h.join("r")
	require.Equal(t, ResultSuccess, third.Result, "the ghost's seat is free again")
	assert.Equal(t, "false", third.Params.IsInitiator, "the registered client became the initiator")
	assert.Equal(t, [4]int{1, 2, 1, 1}, h.counts())
}

// TestColliderClientFreedWithoutRegister: a Collider client made by POST
// that never registers is removed after RegisterTimeout with its queue
// (collider room.client's timer).
func TestColliderClientFreedWithoutRegister(t *testing.T) {
	h := newHarness(t, Config{RegisterTimeout: short}, nil)
	status, _ := h.do(http.MethodPost, "/collider/r/A", "hello")
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, [4]int{1, 0, 1, 0}, h.counts())
	require.Eventually(t, func() bool { return h.counts() == [4]int{} }, 10*short, 10*time.Millisecond)
	wb := h.dial()
	wb.Register("r", "B")
	_, err := wb.Read(short)
	assert.Error(t, err, "the removed client's queue was delivered")
}

// TestReconnectGrace: a client whose WebSocket closes keeps its seat and
// gets what was queued for it if it registers again within
// ReconnectGrace; one that does not is removed, seat and all.
func TestReconnectGrace(t *testing.T) {
	h := newHarness(t, Config{ReconnectGrace: short}, nil)
	a, b := h.join("r"), h.join("r")
	wa, wb := h.dial(), h.dial()
	wa.Register("r", a.Params.ClientID)
	wb.Register("r", b.Params.ClientID)
	h.waitRegistered(2)

	wa.C.CloseNow() // A's network drops
	h.waitConns(1)
	wb.SendMsg("while-away-1")
	wb.SendMsg("while-away-2")
	wa = h.dial()
	wa.Register("r", a.Params.ClientID)
	assert.Equal(t, "while-away-1", wa.RecvMsg())
	assert.Equal(t, "while-away-2", wa.RecvMsg())
	time.Sleep(2 * short) // past the grace: A registered in time, so it stays
	assert.Equal(t, [4]int{1, 2, 2, 2}, h.counts())

	require.NoError(t, wa.C.Close(websocket.StatusNormalClosure, ""))
	h.waitConns(1)
	assert.Equal(t, [4]int{1, 2, 2, 1}, h.counts(), "A's seat is held during the grace")
	require.Eventually(t, func() bool { return h.counts() == [4]int{1, 1, 1, 1} }, 10*short, 10*time.Millisecond)
	c := h.join("r")
	require.Equal(t, ResultSuccess, c.Result)
	assert.Equal(t, "false", c.Params.IsInitiator)
}

// TestRegisterDeadline: a WebSocket that does not send its register
// within RegisterTimeout is closed; a registered one that stays quiet is
// kept, its liveness proven by pings.
func TestRegisterDeadline(t *testing.T) {
	h := newHarness(t, Config{RegisterTimeout: short, PingInterval: short / 2}, nil)
	quiet := h.dial()
	begin := time.Now()
	quiet.ClosedByServer(10 * short)
	assert.GreaterOrEqual(t, time.Since(begin), short-50*time.Millisecond)

	w := h.dial()
	w.Register("r", "A")
	read := make(chan error, 1)
	go func() { _, err := w.Read(20 * short); read <- err }() // reading answers pings
	time.Sleep(4 * short)
	assert.Equal(t, 1, h.counts()[3], "the quiet registered client was dropped")
	w.C.CloseNow()
	<-read
}

// TestPingDropsDeadClient: a client that stops answering pings (it never
// reads, so its pongs never go out) is dropped within about two ping
// intervals, and its seat follows after the grace.
func TestPingDropsDeadClient(t *testing.T) {
	h := newHarness(t, Config{PingInterval: short / 2, ReconnectGrace: short}, nil)
	a := h.join("r")
	w := h.dial()
	w.Register("r", a.Params.ClientID)
	h.waitRegistered(1)
	begin := time.Now()
	h.waitConns(0)
	assert.Less(t, time.Since(begin), 10*short)
	require.Eventually(t, func() bool { return h.counts() == [4]int{} }, 10*short, 10*time.Millisecond)
}

// waitRegistered waits until n Collider clients have a WebSocket.
func (h *harness) waitRegistered(n int) {
	h.t.Helper()
	require.Eventually(h.t, func() bool { return h.counts()[3] == n }, 10*time.Second, time.Millisecond)
}
