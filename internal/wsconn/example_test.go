package wsconn_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/streamwire/streamwire/internal/wsconn"
)

// A server that echoes each frame it reads, upper-cased, through the
// outbox, and closes with 1000 when the client's frames end.
func Example() {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		cn := wsconn.New(wsconn.Config[string]{
			AppendFrame: func(b []byte, s string) []byte { return append(b, s...) },
		})
		cn.Serve(c)
		defer cn.Finish()
		for {
			frame, buf, err := cn.ReadFrame(time.Minute)
			if err != nil {
				return
			}
			s := strings.ToUpper(string(frame))
			wsconn.Release(buf)
			if cn.Enqueue(s, len(s)) != nil {
				return
			}
		}
	}))
	defer hs.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	_ = c.Write(ctx, websocket.MessageText, []byte("hello"))
	_, b, err := c.Read(ctx)
	fmt.Println(string(b), err)
	_ = c.Close(websocket.StatusNormalClosure, "")
	// Output: HELLO <nil>
}
