package wstest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"
)

// Wait is how long Send, Recv and Dial wait.
const Wait = 5 * time.Second

// ErrNoFrame is what Read returns when no frame came in time.
var ErrNoFrame = errors.New("wstest: no frame in time")

// Conn is a test's WebSocket.
type Conn struct {
	T      testing.TB
	C      *websocket.Conn
	start  sync.Once // starts the reader
	frames chan string
	done   chan struct{} // closed when the reader stopped; err is then set
	err    error
}

// Dial opens a WebSocket at url (ws://host/path?query); it is closed at
// the end of the test.
func Dial(t testing.TB, url string) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	c, res, err := websocket.Dial(ctx, url, nil)
	if res != nil && res.Body != nil {
		_ = res.Body.Close()
	}
	require.NoError(t, err)
	return Wrap(t, c)
}

// Wrap returns c as a Conn; it is closed at the end of the test.
func Wrap(t testing.TB, c *websocket.Conn) *Conn {
	c.SetReadLimit(-1)
	w := &Conn{T: t, C: c, frames: make(chan string, 4096), done: make(chan struct{})}
	t.Cleanup(func() {
		_ = c.CloseNow()
		w.start.Do(func() { close(w.done) }) // never read: no reader to wait for
		<-w.done
	})
	return w
}

// reading starts the reader, once.
func (w *Conn) reading() { w.start.Do(func() { go w.readLoop() }) }

func (w *Conn) readLoop() {
	defer close(w.done)
	for {
		_, b, err := w.C.Read(context.Background())
		if err != nil {
			w.err = err
			return
		}
		w.frames <- string(b)
	}
}

// Send writes one text frame within Wait.
func (w *Conn) Send(frame string) {
	w.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	require.NoError(w.T, w.C.Write(ctx, websocket.MessageText, []byte(frame)))
}

// Read returns the next frame within d: ErrNoFrame when none came, the
// read error once the socket closed.
func (w *Conn) Read(d time.Duration) (string, error) {
	w.reading()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case f := <-w.frames:
		return f, nil
	case <-w.done:
		select {
		case f := <-w.frames:
			return f, nil
		default:
			return "", w.err
		}
	case <-timer.C:
		return "", ErrNoFrame
	}
}

// Recv reads one frame, exact bytes, within Wait.
func (w *Conn) Recv() string {
	w.T.Helper()
	f, err := w.Read(Wait)
	require.NoError(w.T, err)
	return f
}

// Silent checks that no frame comes within d.
func (w *Conn) Silent(d time.Duration) {
	w.T.Helper()
	f, err := w.Read(d)
	require.ErrorIs(w.T, err, ErrNoFrame, "unexpected frame %q", f)
}

// Closed waits up to d for the socket to close.
func (w *Conn) Closed(d time.Duration) bool {
	w.reading()
	select {
	case <-w.done:
		return true
	case <-time.After(d):
		return false
	}
}

// ClosedByServer waits up to d for the server to close the socket, with
// no frame before, and returns the close status (-1 when the TCP
// connection just ended).
func (w *Conn) ClosedByServer(d time.Duration) websocket.StatusCode {
	w.T.Helper()
	require.True(w.T, w.Closed(d), "socket still open after %v", d)
	for len(w.frames) > 0 {
		w.T.Errorf("unexpected frame before close: %q", <-w.frames)
	}
	return websocket.CloseStatus(w.err)
}

// Register sends a Collider register frame.
func (w *Conn) Register(room, client string) {
	w.T.Helper()
	w.Send(`{"cmd":"register","roomid":"` + room + `","clientid":"` + client + `"}`)
}

// SendMsg sends msg in a Collider send frame.
func (w *Conn) SendMsg(msg string) {
	w.T.Helper()
	b, _ := json.Marshal(map[string]string{"cmd": "send", "msg": msg})
	w.Send(string(b))
}

// RecvMsg reads a Collider frame and returns its msg, checking that it is
// not an error frame.
func (w *Conn) RecvMsg() string {
	w.T.Helper()
	f := w.Recv()
	var m struct{ Msg, Error string }
	require.NoError(w.T, json.Unmarshal([]byte(f), &m), f)
	require.Empty(w.T, m.Error, f)
	return m.Msg
}

// Do sends an HTTP request with body to url through c, with the Host
// header host ("": url's), within 10 s, and returns the status and the
// body: the REST side of the same tests.
func Do(t testing.TB, c *http.Client, method, url, host, body string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	require.NoError(t, err)
	if host != "" {
		req.Host = host
	}
	res, err := c.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(b)
}
