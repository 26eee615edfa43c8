package turnrest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamwire/streamwire/internal/httpserver"
)

// serveHTTP serves h through internal/httpserver, as examples/server does,
// on a free loopback port until the test ends.
func serveHTTP(t *testing.T, h http.Handler, readTimeout time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	s := httpserver.New(httpserver.Config{Handler: h, ReadHeaderTimeout: readTimeout, ReadTimeout: readTimeout})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		assert.ErrorIs(t, <-done, httpserver.ErrServerClosed)
	})
	return ln.Addr().String()
}

// rawPost sends a form POST's header on a new connection, then body at
// one byte per interval (all at once when interval is 0), and reads the
// response, bounded to 10 s.
func rawPost(t *testing.T, addr string, length int, body string, interval time.Duration) (*http.Response, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp4", addr, 2*time.Second)
	require.NoError(t, err)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = fmt.Fprintf(c, "POST /turn HTTP/1.1\r\nHost: test\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n", length)
	require.NoError(t, err)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		if interval == 0 {
			_, _ = io.WriteString(c, body)
			return
		}
		for i := 0; i < len(body); i++ {
			select {
			case <-stop:
				return
			case <-time.After(interval):
			}
			if _, err := c.Write([]byte{body[i]}); err != nil {
				return
			}
		}
	}()
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b)
}

// TestHandlerBodyErrorsBehindHTTPServer: a body over the server's 1 MiB cap
// (with a Content-Length), over the handler's 4 KiB, or trickled past the
// read time-out is answered in JSON with 413, 413 and 408, and the answer
// names no socket address.
func TestHandlerBodyErrorsBehindHTTPServer(t *testing.T) {
	h, err := NewHandler(testConfig(io.Discard), FormatREST)
	require.NoError(t, err)
	addr := serveHTTP(t, h, time.Second)
	for _, tc := range []struct {
		name     string
		length   int
		body     string
		interval time.Duration
		status   int
		reason   string
	}{
		{"over the server's cap", httpserver.DefaultMaxBodyBytes + 1, "", 0, 413, "request body over 1048576 bytes"},
		{"over the handler's cap", maxBody + 1, "username=" + strings.Repeat("x", maxBody-8), 0, 413, "request body over 4096 bytes"},
		{"trickled at 1 byte/s", 100, strings.Repeat("x", 100), 300 * time.Millisecond, 408, "request body too slow"},
		{"bad escape", 11, "username=%z", 0, 400, `bad form parameters: invalid URL escape "%z"`},
	} {
		res, body := rawPost(t, addr, tc.length, tc.body, tc.interval)
		assert.Equal(t, tc.status, res.StatusCode, "%s: %s", tc.name, body)
		assert.Equal(t, "application/json", res.Header.Get("Content-Type"), tc.name)
		var e struct{ Error string }
		require.NoError(t, json.Unmarshal([]byte(body), &e), "%s: %q", tc.name, body)
		assert.Equal(t, tc.reason, e.Error, tc.name)
		assert.NotContains(t, body, "127.0.0.1", tc.name)
	}
}

// TestNewHandlerUnknownFormat: a Format that is neither FormatREST nor
// FormatICE is refused by NewHandler, and a Handler made with one by
// Minter.Handler answers 500 rather than serving the REST shape.
func TestNewHandlerUnknownFormat(t *testing.T) {
	h, err := NewHandler(testConfig(io.Discard), Format(99))
	assert.Nil(t, h)
	assert.True(t, errors.Is(err, ErrBadConfig), "%v", err)
	for _, f := range []Format{FormatREST, FormatICE} {
		_, err := NewHandler(testConfig(io.Discard), f)
		assert.NoError(t, err, "format %d", f)
	}
	m, err := New(testConfig(io.Discard))
	require.NoError(t, err)
	res, body := serve(t, m.Handler(Format(-1)), httptest.NewRequest(http.MethodGet, "/turn", nil))
	assert.Equal(t, http.StatusInternalServerError, res.StatusCode)
	assert.JSONEq(t, `{"error":"turnrest: unknown Format"}`, string(body))
}
