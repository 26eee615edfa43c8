package wstest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// echo serves WebSockets that answer each frame with a Collider frame of
// it, and close with 1001 on "bye".
func echo(t *testing.T) string {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/rest" {
			_, _ = w.Write([]byte(r.Host + " " + r.Method))
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			_, b, err := c.Read(context.Background())
			if err != nil {
				return
			}
			if string(b) == "bye" {
				_ = c.Close(websocket.StatusGoingAway, "")
				return
			}
			_ = c.Write(context.Background(), websocket.MessageText, []byte(`{"msg":`+strconvQuote(string(b))+`,"error":""}`+"\n"))
		}
	}))
	t.Cleanup(hs.Close)
	return hs.URL
}

func strconvQuote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// TestConn: frames in order, a timed-out read leaves the connection open,
// the Collider helpers, the close status.
func TestConn(t *testing.T) {
	url := echo(t)
	w := Dial(t, "ws"+strings.TrimPrefix(url, "http"))
	_, err := w.Read(50 * time.Millisecond)
	assert.ErrorIs(t, err, ErrNoFrame)
	w.SendMsg("hello")
	got := w.RecvMsg()
	assert.Contains(t, got, `"msg":"hello"`)
	w.Send("x")
	assert.Equal(t, `{"msg":"x","error":""}`+"\n", w.Recv())
	w.Silent(50 * time.Millisecond)
	w.Send("bye")
	assert.Equal(t, websocket.StatusGoingAway, w.ClosedByServer(5*time.Second))

	status, body := Do(t, http.DefaultClient, http.MethodPost, url+"/rest", "example", "")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "example POST", body)
}

// TestNeverRead: a Conn never read has no reader, and closes cleanly.
func TestNeverRead(t *testing.T) {
	w := Dial(t, "ws"+strings.TrimPrefix(echo(t), "http"))
	require.NotNil(t, w.C)
}
