package httpserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// start serves cfg on a free loopback port until the test ends, and checks
// that Serve then returns ErrServerClosed.
func start(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.ErrorIs(t, err, ErrServerClosed)
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return 10 s after cancel")
		}
	})
	return s, ln.Addr().String()
}

// dial opens a raw client connection that the test closes at its end.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp4", addr, 2*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// get sends one keep-alive GET on c and returns the response's status and body.
func get(c net.Conn, br *bufio.Reader, path string) (int, string, error) {
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: test\r\n\r\n", path); err != nil {
		return 0, "", err
	}
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}

// waitClosed reads c until the server closes it, for at most limit, and
// returns how long that took. A read that times out fails the test.
func waitClosed(t *testing.T, c net.Conn, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(limit))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %v", limit)
	}
	return time.Since(start)
}

func ok(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }

func TestZeroConfigDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	assert.Equal(t, DefaultReadHeaderTimeout, c.ReadHeaderTimeout)
	assert.Equal(t, DefaultReadTimeout, c.ReadTimeout)
	assert.Equal(t, DefaultWriteTimeout, c.WriteTimeout)
	assert.Equal(t, DefaultIdleTimeout, c.IdleTimeout)
	assert.Equal(t, DefaultMaxHeaderBytes, c.MaxHeaderBytes)
	assert.Equal(t, int64(DefaultMaxBodyBytes), c.MaxBodyBytes)
	assert.Equal(t, DefaultMaxConnsPerIP, c.MaxConnsPerIP)
	assert.Equal(t, DefaultMaxConns, c.MaxConns)
	assert.Equal(t, DefaultShutdownTimeout, c.ShutdownTimeout)
	assert.NotNil(t, c.Handler)
	assert.NotNil(t, c.Logger)
	c = Config{MaxBodyBytes: -1, MaxConnsPerIP: -1, MaxConns: -1}.withDefaults()
	assert.Equal(t, int64(-1), c.MaxBodyBytes, "negative means no cap")
	assert.Equal(t, -1, c.MaxConnsPerIP)
	assert.Equal(t, -1, c.MaxConns)

	// The zero Config serves: a nil Handler answers 404.
	_, addr := start(t, Config{})
	c1 := dial(t, addr)
	code, _, err := get(c1, bufio.NewReader(c1), "/")
	require.NoError(t, err)
	assert.Equal(t, http.StatusNotFound, code)
}

// A POST body trickled at 1 byte/s is cut at ReadTimeout: the handler's read
// fails with a time-out and the connection is closed.
func TestSlowBodyCutAtReadTimeout(t *testing.T) {
	const readTimeout = time.Second
	readErr := make(chan error, 1)
	_, addr := start(t, Config{ReadHeaderTimeout: readTimeout, ReadTimeout: readTimeout,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, err := io.ReadAll(r.Body)
			readErr <- err
			BodyError(w, err)
		})})
	c := dial(t, addr)
	begin := time.Now()
	_, err := io.WriteString(c, "POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\n")
	require.NoError(t, err)
	stop := make(chan struct{})
	defer close(stop)
	go func() { // 1 byte/s until the server hangs up or the test ends
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for i := 0; i < 100; i++ {
			if _, err := c.Write([]byte{'x'}); err != nil {
				return
			}
			select {
			case <-tick.C:
			case <-stop:
				return
			}
		}
	}()
	select {
	case err := <-readErr:
		var ne net.Error
		require.True(t, errors.As(err, &ne) && ne.Timeout(), "handler's read error %v is not a time-out", err)
	case <-time.After(readTimeout + 3*time.Second):
		t.Fatal("the trickled body was not cut")
	}
	waitClosed(t, c, 3*time.Second)
	elapsed := time.Since(begin)
	assert.Less(t, elapsed, readTimeout+2*time.Second, "cut late")
	assert.GreaterOrEqual(t, elapsed, readTimeout-100*time.Millisecond, "cut before ReadTimeout")
}

// A keep-alive connection with no next request is closed after IdleTimeout.
func TestIdleKeepAliveClosed(t *testing.T) {
	const idle = 300 * time.Millisecond
	_, addr := start(t, Config{IdleTimeout: idle, Handler: http.HandlerFunc(ok)})
	c := dial(t, addr)
	code, body, err := get(c, bufio.NewReader(c), "/")
	require.NoError(t, err)
	require.Equal(t, "ok", body)
	require.Equal(t, http.StatusOK, code)
	elapsed := waitClosed(t, c, idle+2*time.Second)
	assert.GreaterOrEqual(t, elapsed, idle-50*time.Millisecond, "closed before IdleTimeout")
}

// A header trickled byte by byte is cut at ReadHeaderTimeout, well before
// ReadTimeout.
func TestSlowHeaderCut(t *testing.T) {
	const headerTimeout = 300 * time.Millisecond
	_, addr := start(t, Config{ReadHeaderTimeout: headerTimeout, ReadTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(ok)})
	c := dial(t, addr)
	begin := time.Now()
	go func() {
		for _, b := range []byte("GET / HTTP/1.1\r\nHost: test\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") {
			if _, err := c.Write([]byte{b}); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	waitClosed(t, c, 3*time.Second)
	elapsed := time.Since(begin)
	assert.Less(t, elapsed, headerTimeout+time.Second, "slow header not cut at ReadHeaderTimeout")
	assert.GreaterOrEqual(t, elapsed, headerTimeout-50*time.Millisecond)
}

// The per-IP cap closes the N+1th connection at accept and admits again once
// one of the N is closed.
func TestPerIPCap(t *testing.T) {
	const limit = 3
	s, addr := start(t, Config{MaxConnsPerIP: limit, Handler: http.HandlerFunc(ok)})
	conns := make([]net.Conn, limit)
	for i := range conns {
		conns[i] = dial(t, addr)
		code, _, err := get(conns[i], bufio.NewReader(conns[i]), "/")
		require.NoError(t, err, "connection %d of %d", i+1, limit)
		require.Equal(t, http.StatusOK, code)
	}
	over := dial(t, addr)
	_, _, err := get(over, bufio.NewReader(over), "/")
	require.Error(t, err, "connection %d was served", limit+1)
	waitClosed(t, over, 2*time.Second)
	assert.Equal(t, Stats{Open: limit, RefusedPerIP: 1}, s.Stats())

	conns[0].Close()
	deadline := time.Now().Add(3 * time.Second)
	for {
		c := dial(t, addr)
		code, _, err := get(c, bufio.NewReader(c), "/")
		if err == nil {
			require.Equal(t, http.StatusOK, code)
			break
		}
		c.Close()
		require.True(t, time.Now().Before(deadline), "no connection admitted 3 s after one closed")
		time.Sleep(20 * time.Millisecond)
	}
	assert.Equal(t, limit, s.Stats().Open)
}

// The server-wide cap refuses like the per-IP cap.
func TestMaxConns(t *testing.T) {
	s, addr := start(t, Config{MaxConns: 1, MaxConnsPerIP: -1, Handler: http.HandlerFunc(ok)})
	c := dial(t, addr)
	_, _, err := get(c, bufio.NewReader(c), "/")
	require.NoError(t, err)
	over := dial(t, addr)
	waitClosed(t, over, 2*time.Second)
	assert.Equal(t, Stats{Open: 1, RefusedTotal: 1}, s.Stats())
}

// A body over MaxBodyBytes gets 413, announced (Content-Length) or chunked.
func TestBodyOverCap(t *testing.T) {
	const max = 1024
	called := make(chan struct{}, 4)
	_, addr := start(t, Config{MaxBodyBytes: max, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		called <- struct{}{}
		b, err := io.ReadAll(r.Body)
		if err != nil {
			BodyError(w, err)
			return
		}
		fmt.Fprint(w, len(b))
	})})
	url := "http://" + addr + "/"
	hc := &http.Client{Timeout: 5 * time.Second}
	post := func(body io.Reader) (int, string) {
		res, err := hc.Post(url, "application/octet-stream", body)
		require.NoError(t, err)
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}

	code, body := post(strings.NewReader(strings.Repeat("x", max)))
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, fmt.Sprint(max), body)
	<-called

	code, body = post(strings.NewReader(strings.Repeat("x", max+1)))
	assert.Equal(t, http.StatusRequestEntityTooLarge, code, "announced length over the cap")
	assert.Equal(t, "request body over 1024 bytes\n", body, "the handler's answer (BodyError)")
	<-called

	chunked := io.MultiReader(strings.NewReader(strings.Repeat("x", 2*max))) // no length: chunked
	code, _ = post(chunked)
	assert.Equal(t, http.StatusRequestEntityTooLarge, code, "chunked body over the cap")
	<-called
}

// A body announced over the cap reaches the handler, whose first read fails
// with *http.MaxBytesError before a byte is read, so that a JSON API answers
// 413 in JSON; the server closes the connection after the answer. The client
// sends only the header: the answer comes without waiting for the body.
func TestBodyOverCapHandlerAnswers(t *testing.T) {
	const max = 1024
	_, addr := start(t, Config{MaxBodyBytes: max, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := r.Body.Read(make([]byte, 10))
		status, reason := BodyStatus(err)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":%q,"read":%d}`, reason, n)
	})})
	c := dial(t, addr)
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, err := io.WriteString(c, "POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 2000000\r\n\r\n")
	require.NoError(t, err)
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode)
	assert.Equal(t, "application/json", res.Header.Get("Content-Type"))
	assert.Equal(t, `{"error":"request body over 1024 bytes","read":0}`, string(body))
	assert.True(t, res.Close, "the connection is closed, as its body stays unread")
}

// BodyStatus answers 413, 408 or 400 with a reason that holds none of the
// error's text (which names socket addresses).
func TestBodyStatus(t *testing.T) {
	timeout := &net.OpError{Op: "read", Net: "tcp", Source: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 28080},
		Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, Err: os.ErrDeadlineExceeded}
	for _, tc := range []struct {
		err    error
		status int
		reason string
	}{
		{&http.MaxBytesError{Limit: 4096}, 413, "request body over 4096 bytes"},
		{fmt.Errorf("form: %w", &http.MaxBytesError{Limit: 1 << 20}), 413, "request body over 1048576 bytes"},
		{timeout, 408, "request body too slow"},
		{io.ErrUnexpectedEOF, 400, "bad request body"},
		{&net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}, 400, "bad request body"},
	} {
		status, reason := BodyStatus(tc.err)
		assert.Equal(t, tc.status, status, "%v", tc.err)
		assert.Equal(t, tc.reason, reason, "%v", tc.err)
	}
}

// longPoll answers after wait, having extended its deadlines when asked.
func longPoll(wait time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("extend") {
			if err := Extend(w, wait+5*time.Second); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		select {
		case <-time.After(wait):
			io.WriteString(w, "message")
		case <-r.Context().Done():
		}
	}
}

// A long poll that waits past WriteTimeout and ReadTimeout completes when it
// extends its deadlines with Extend, and is lost when it does not.
func TestLongPollPastWriteTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	const wait = 4 * timeout
	_, addr := start(t, Config{ReadTimeout: timeout, WriteTimeout: timeout, Handler: longPoll(wait)})
	hc := &http.Client{Timeout: 5 * time.Second}

	begin := time.Now()
	res, err := hc.Get("http://" + addr + "/poll?extend")
	require.NoError(t, err)
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "message", string(b))
	assert.GreaterOrEqual(t, time.Since(begin), wait)

	res, err = hc.Get("http://" + addr + "/poll")
	if err == nil {
		b, err = io.ReadAll(res.Body)
		res.Body.Close()
	}
	assert.Error(t, err, "a long poll without Extend got %q past WriteTimeout", b)
}

// The shutdown lets a request in flight finish, closes a hijacked
// connection that does not end by ShutdownTimeout, and returns
// ErrServerClosed after Close.
func TestCloseShutsDownGracefully(t *testing.T) {
	const grace = 500 * time.Millisecond
	hijacked := make(chan struct{})
	inFlight := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		close(inFlight)
		time.Sleep(200 * time.Millisecond)
		io.WriteString(w, "finished")
	})
	mux.HandleFunc("/hijack", func(w http.ResponseWriter, r *http.Request) {
		c, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			close(hijacked)
			_, _ = io.Copy(io.Discard, c) // never ends by itself
			c.Close()
		}
	})
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	s := New(Config{ShutdownTimeout: grace, Handler: mux, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	served := make(chan error, 1)
	go func() { served <- s.Serve(context.Background(), ln) }()
	addr := ln.Addr().String()

	hj := dial(t, addr)
	_, err = io.WriteString(hj, "GET /hijack HTTP/1.1\r\nHost: test\r\n\r\n")
	require.NoError(t, err)
	<-hijacked
	slow := make(chan string, 1)
	go func() {
		res, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/slow")
		if err != nil {
			slow <- err.Error()
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		slow <- string(b)
	}()
	<-inFlight
	begin := time.Now()
	require.NoError(t, s.Close())
	assert.Equal(t, "finished", <-slow, "the request in flight was cut")
	select {
	case err := <-served:
		assert.ErrorIs(t, err, ErrServerClosed)
	case <-time.After(grace + 3*time.Second):
		t.Fatal("Serve did not return after Close")
	}
	assert.GreaterOrEqual(t, time.Since(begin), grace-50*time.Millisecond, "hijacked connection not given its grace")
	waitClosed(t, hj, time.Second)
	assert.Zero(t, s.Stats().Open)

	// Serve after Close returns at once.
	ln2, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	assert.ErrorIs(t, s.Serve(context.Background(), ln2), ErrServerClosed)
}

// 500 parked keep-alive connections are all closed after IdleTimeout, and
// the server's goroutines go with them.
func TestParkedKeepAlivesReclaimed(t *testing.T) {
	const n = 500
	const idle = 2 * time.Second
	s, addr := start(t, Config{IdleTimeout: idle, MaxConnsPerIP: -1, Handler: http.HandlerFunc(ok)})
	base := runtime.NumGoroutine()
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = dial(t, addr)
	}
	begin := time.Now()
	errs := make(chan error, n)
	for w := range 20 { // 20 clients park the 500 connections at once
		go func() {
			for i := w; i < n; i += 20 {
				_, _, err := get(conns[i], bufio.NewReader(conns[i]), "/")
				errs <- err
			}
		}()
	}
	for range n {
		require.NoError(t, <-errs)
	}
	parked, open := runtime.NumGoroutine(), s.Stats().Open
	setup := time.Since(begin)
	if setup < idle/2 { // else the first ones may have gone already
		assert.Equal(t, n, open)
	} else {
		t.Logf("parking took %v: not counting the parked connections", setup)
	}
	for _, c := range conns {
		waitClosed(t, c, idle+3*time.Second)
	}
	assert.GreaterOrEqual(t, time.Since(begin), idle-100*time.Millisecond, "closed before IdleTimeout")
	deadline := time.Now().Add(3 * time.Second)
	for s.Stats().Open > 0 || runtime.NumGoroutine() > base+2 {
		if time.Now().After(deadline) {
			t.Fatalf("3 s after the idle time-out: %d connections open, %d goroutines (baseline %d)",
				s.Stats().Open, runtime.NumGoroutine(), base)
		}
		time.Sleep(20 * time.Millisecond)
	}
	after := runtime.NumGoroutine()
	if setup < idle/2 {
		// The idle count is the smaller of the two taken around the test: one
		// taken at the start may include a goroutine of start's that is
		// about to end.
		assert.GreaterOrEqual(t, parked, min(base, after)+n, "one server goroutine per parked connection")
	}
	t.Logf("goroutines: baseline %d, %d with %d parked, back to %d", base, parked, open, after)
}
