package httpserver

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// echoWS is a WebSocket handler written to the package's convention: once
// the connection is taken over, every read and write carries its own
// deadline, since the server's are cleared by the hijack.
func echoWS(idle time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			ctx, cancel := context.WithTimeout(r.Context(), idle)
			typ, msg, err := c.Read(ctx)
			if err == nil {
				err = c.Write(ctx, typ, msg)
			}
			cancel()
			if err != nil {
				return
			}
		}
	}
}

// A WebSocket exchanges messages after the server's ReadTimeout and
// WriteTimeout have passed, and one whose client goes quiet is dropped by the
// handler's own deadline.
func TestWebSocketPastTimeouts(t *testing.T) {
	const timeout = 300 * time.Millisecond
	const idle = 2 * time.Second
	s, addr := start(t, Config{ReadTimeout: timeout, WriteTimeout: timeout, IdleTimeout: timeout,
		Handler: echoWS(idle)})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws", nil)
	require.NoError(t, err)
	defer c.CloseNow()

	exchange := func(text string) {
		t.Helper()
		require.NoError(t, c.Write(ctx, websocket.MessageText, []byte(text)))
		_, got, err := c.Read(ctx)
		require.NoError(t, err, "no echo of %q", text)
		assert.Equal(t, text, string(got))
	}
	exchange("before")
	for i := range 3 { // past every server time-out, several times over
		time.Sleep(2 * timeout)
		exchange("after " + time.Duration(int64(i+1)*int64(2*timeout)).String())
	}
	require.NoError(t, c.Close(websocket.StatusNormalClosure, ""))

	// A client that goes quiet is dropped after the handler's idle deadline.
	quiet, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws", nil)
	require.NoError(t, err)
	defer quiet.CloseNow()
	begin := time.Now()
	_, _, err = quiet.Read(ctx)
	require.Error(t, err)
	assert.Less(t, time.Since(begin), idle+2*time.Second)
	assert.GreaterOrEqual(t, time.Since(begin), idle-100*time.Millisecond)
	require.Eventually(t, func() bool { return s.Stats().Open == 0 }, 2*time.Second, 10*time.Millisecond)
}
