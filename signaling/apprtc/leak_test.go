package apprtc

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestNoLeakWhenClientsVanish: clients that drop their TCP connection in
// every state (before register, registered with messages in flight to a
// client that does not read, in the middle of a large frame) leave no
// goroutine behind once the server is shut down, and a client still
// connected at shutdown gets the close status 1001 (going away).
func TestNoLeakWhenClientsVanish(t *testing.T) {
	before := goleak.IgnoreCurrent()
	h := newHarness(t, Config{PingInterval: short / 2, ReconnectGrace: short, MaxQueuedMessages: 16}, nil)

	h.dial().C.CloseNow() // before register

	a, b := h.join("r"), h.join("r")
	wa, wb := h.dial(), h.dial()
	wa.Register("r", a.Params.ClientID)
	wb.Register("r", b.Params.ClientID)
	for range 100 { // b never reads
		wa.SendMsg(`{"type":"candidate"}`)
	}
	wb.C.CloseNow()
	wa.C.CloseNow()

	// Half a frame, then the TCP connection goes.
	raw, err := net.Dial("tcp4", h.addr)
	require.NoError(t, err)
	_, err = raw.Write([]byte("GET " + ColliderPrefix + "/ws HTTP/1.1\r\nHost: host\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n" +
		"\x81\xfe\x10\x00\x00\x00\x00\x00" + strings.Repeat("x", 100)))
	require.NoError(t, err)
	raw.Close()

	stay := h.dial()
	stay.Register("q", "A")
	h.waitRegistered(1)
	closed := make(chan websocket.StatusCode, 1)
	go func() {
		_, err := stay.Read(10 * time.Second)
		closed <- websocket.CloseStatus(err)
	}()
	h.stop()
	assert.Equal(t, websocket.StatusGoingAway, <-closed)
	stay.C.CloseNow()
	goleak.VerifyNone(t, before)
}

// TestClosedServer: after Close, a WebSocket is refused with 503 and the
// room API answers ERROR.
func TestClosedServer(t *testing.T) {
	h := newHarness(t, Config{}, nil)
	require.NoError(t, h.srv.Close())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, res, err := websocket.Dial(ctx, "ws://"+h.addr+ColliderPrefix+"/ws", nil)
	require.Error(t, err)
	assert.Equal(t, 503, res.StatusCode)
	assert.Equal(t, ResultError, h.join("r").Result)
}
