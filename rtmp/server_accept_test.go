package rtmp

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/streamwire/streamwire/internal/syncbuf"
)

// chanListener is a net.Listener whose Accept returns what the test
// pushes: connections it accepted itself (with the remote address it
// chooses) and errors such as EMFILE.
type chanListener struct {
	addr net.Addr
	ch   chan acceptResult
	once sync.Once
	done chan struct{}
}

type acceptResult struct {
	c   net.Conn
	err error
}

func newChanListener() *chanListener {
	return &chanListener{addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, ch: make(chan acceptResult, 64), done: make(chan struct{})}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case r := <-l.ch:
		return r.c, r.err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.addr }

// remoteConn is a net.Conn with the remote address a test gives it.
type remoteConn struct {
	net.Conn
	remote net.Addr
}

func (c remoteConn) RemoteAddr() net.Addr { return c.remote }

// acceptErr is an accept error as the net package returns it, e.g.
// "accept tcp 127.0.0.1:1935: accept4: too many open files".
func acceptErr(errno syscall.Errno) error {
	return &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", errno)}
}

// temporaryAcceptErrors are the errors after which Serve must go on.
func temporaryAcceptErrors() []error {
	return []error{
		acceptErr(syscall.EMFILE), acceptErr(syscall.ENFILE), acceptErr(syscall.ENOBUFS),
		acceptErr(syscall.ENOMEM), acceptErr(syscall.ECONNABORTED),
		&net.OpError{Op: "accept", Net: "tcp", Err: os.ErrDeadlineExceeded},
	}
}

// pushConn dials real, accepts the connection there and pushes it to l
// with remote as its peer address (nil keeps the real one). It returns the
// client end, closed at the end of the test.
func pushConn(t *testing.T, real net.Listener, l *chanListener, remote net.Addr) net.Conn {
	t.Helper()
	client, err := net.Dial("tcp", real.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err := real.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if remote != nil {
		server = remoteConn{server, remote}
	}
	l.ch <- acceptResult{c: server}
	return client
}

// serving is a Serve call in progress: done is closed when it returns
// err.
type serving struct {
	done chan struct{}
	err  error
}

// serveOn runs srv.Serve on l until the test ends; the cleanup cancels it
// and waits for it.
func serveOn(t *testing.T, srv *Server, l net.Listener) (context.CancelFunc, *serving) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &serving{done: make(chan struct{})}
	go func() {
		s.err = srv.Serve(ctx, l)
		close(s.done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return 10 s after cancel")
		}
	})
	return cancel, s
}

func loopbackListener(t *testing.T) net.Listener {
	t.Helper()
	real, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { real.Close() })
	return real
}

// TestServeRetriesTemporaryAcceptErrors: EMFILE, ENFILE, ENOBUFS, ENOMEM,
// ECONNABORTED and time-outs from Accept neither end Serve nor the
// sessions it serves (they ended both before); a connection accepted after
// them is served, and Stats counts them.
func TestServeRetriesTemporaryAcceptErrors(t *testing.T) {
	h := &memHandler{}
	srv := NewServer(ServerConfig{Handler: h})
	real, l := loopbackListener(t), newChanListener()
	_, serve := serveOn(t, srv, l)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()

	live := publishOver(ctx, t, pushConn(t, real, l, nil), "live/before")
	errs := temporaryAcceptErrors()
	for _, err := range errs {
		l.ch <- acceptResult{err: err}
	}
	after := publishOver(ctx, t, pushConn(t, real, l, nil), "live/after")
	select {
	case <-serve.done:
		t.Fatalf("Serve returned after temporary accept errors: %v", serve.err)
	default:
	}
	for _, cl := range []*Client{live, after} {
		if err := cl.WriteMedia(ctx, Media{Type: TypeAudio, Payload: []byte{0xaf, 1, 7}}); err != nil {
			t.Fatal(err)
		}
	}
	waitPublished(t, h, "live/before")
	waitPublished(t, h, "live/after")
	if got := srv.Stats().AcceptRetries; got != uint64(len(errs)) {
		t.Errorf("Stats().AcceptRetries = %d, want %d", got, len(errs))
	}
}

// publishOver runs an RTMP client on the connected socket nc and
// publishes path ("app/name").
func publishOver(ctx context.Context, t *testing.T, nc net.Conn, path string) *Client {
	t.Helper()
	app, name, _ := strings.Cut(path, "/")
	cl, err := newClient(ctx, nc, app, name, "rtmp://test/"+app, ClientConfig{
		Handshake: HandshakeConfig{Timeout: DefaultHandshakeTimeout}, ChunkSize: DefaultAnnouncedChunkSize,
		FlashVer: DefaultFlashVer, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("connect for %s: %v", path, err)
	}
	if err := cl.Publish(ctx); err != nil {
		t.Fatalf("publish %s: %v", path, err)
	}
	return cl
}

// waitPublished waits until h has received media on path.
func waitPublished(t *testing.T, h *memHandler, path string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		h.mu.Lock()
		n := len(h.published[path])
		h.mu.Unlock()
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no media reached the handler on %s", path)
		}
	}
}

// TestServeReturnsPermanentAcceptError: an error that is not temporary
// (here the listener's own failure) ends Serve, wrapped.
func TestServeReturnsPermanentAcceptError(t *testing.T) {
	l := newChanListener()
	broken := errors.New("listener broke")
	l.ch <- acceptResult{err: broken}
	var srv Server
	_, serve := serveOn(t, &srv, l)
	select {
	case <-serve.done:
		if !errors.Is(serve.err, broken) || errors.Is(serve.err, ErrServerClosed) {
			t.Fatalf("Serve returned %v, want it wrapping %v", serve.err, broken)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return on a permanent accept error")
	}
	if got := srv.Stats().AcceptRetries; got != 0 {
		t.Errorf("AcceptRetries = %d for a permanent error", got)
	}
}

// TestServeStopsDuringAcceptBackoff: a cancel while Serve waits out
// endless EMFILE ends it at once with ErrServerClosed.
func TestServeStopsDuringAcceptBackoff(t *testing.T) {
	l := newChanListener()
	go func() {
		for {
			select {
			case l.ch <- acceptResult{err: acceptErr(syscall.EMFILE)}:
			case <-l.done:
				return
			}
		}
	}()
	srv := NewServer(ServerConfig{})
	cancel, serve := serveOn(t, srv, l)
	for deadline := time.Now().Add(5 * time.Second); srv.Stats().AcceptRetries < 8; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d retries in 5 s", srv.Stats().AcceptRetries)
		}
	}
	cancel()
	select {
	case <-serve.done:
		if !errors.Is(serve.err, ErrServerClosed) {
			t.Fatalf("Serve: %v", serve.err)
		}
	case <-time.After(time.Second):
		t.Fatal("Serve still waiting 1 s after cancel")
	}
}

// TestAcceptBackoff: 5 ms, doubling, at most 1 s, as net/http.
func TestAcceptBackoff(t *testing.T) {
	var got []time.Duration
	for d := time.Duration(0); len(got) < 10; {
		d = nextAcceptDelay(d)
		got = append(got, d)
	}
	want := []time.Duration{5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("delays %v, want %v ms", got, want)
		}
	}
	for _, err := range temporaryAcceptErrors() {
		if !acceptRetry(err) {
			t.Errorf("%v not retried", err)
		}
	}
	for _, err := range []error{net.ErrClosed, acceptErr(syscall.EINVAL), errors.New("x")} {
		if acceptRetry(err) {
			t.Errorf("%v retried", err)
		}
	}
}

// handshake runs a client handshake on c, bounded by 3 s.
func handshake(c net.Conn) error {
	_, err := ClientHandshake(context.Background(), c, HandshakeConfig{Simple: true, Timeout: 3 * time.Second})
	return err
}

// refusedAtAccept checks that the server closed c without a handshake.
func refusedAtAccept(t *testing.T, c net.Conn, what string) {
	t.Helper()
	err := handshake(c)
	var ne net.Error
	if err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s: handshake %v, want the connection closed at accept", what, err)
	}
}

// waitOpen waits until srv serves n connections.
func waitOpen(t *testing.T, srv *Server, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); srv.Stats().Open != n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections open, want %d", srv.Stats().Open, n)
		}
	}
}

// TestServerMaxConns: the connection over MaxConns is closed at accept,
// counted and logged at Debug; a slot freed by a close is taken again.
func TestServerMaxConns(t *testing.T) {
	var logs syncbuf.Buffer
	srv := NewServer(ServerConfig{Handler: &memHandler{}, MaxConns: 2,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	real := loopbackListener(t)
	serveOn(t, srv, real)
	dial := func() net.Conn {
		c, err := net.Dial("tcp", real.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	first := dial()
	for i, c := range []net.Conn{first, dial()} {
		if err := handshake(c); err != nil {
			t.Fatalf("connection %d: %v", i+1, err)
		}
	}
	refusedAtAccept(t, dial(), "third connection")
	if got, want := srv.Stats(), (ServerStats{Open: 2, RefusedTotal: 1}); got != want {
		t.Errorf("Stats %+v, want %+v", got, want)
	}
	if !strings.Contains(logs.String(), "connection refused") || !strings.Contains(logs.String(), "cap=2") {
		t.Errorf("refusal not logged:\n%s", logs.String())
	}
	first.Close()
	waitOpen(t, srv, 1)
	if err := handshake(dial()); err != nil {
		t.Fatalf("after a close: %v", err)
	}
}

// TestServerMaxConnsPerIP: the per-IP cap refuses the address that holds
// MaxConnsPerIP connections (IPv4-mapped IPv6 counted as IPv4) and admits
// other addresses.
func TestServerMaxConnsPerIP(t *testing.T) {
	srv := NewServer(ServerConfig{Handler: &memHandler{}, MaxConnsPerIP: 2})
	real, l := loopbackListener(t), newChanListener()
	serveOn(t, srv, l)
	a := &net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 5000}
	aMapped := &net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.1"), Port: 5001}
	b := &net.TCPAddr{IP: net.ParseIP("192.0.2.2"), Port: 5000}
	for i, remote := range []net.Addr{a, aMapped} {
		if err := handshake(pushConn(t, real, l, remote)); err != nil {
			t.Fatalf("connection %d from %v: %v", i+1, remote, err)
		}
	}
	refusedAtAccept(t, pushConn(t, real, l, a), "third connection from one address")
	if err := handshake(pushConn(t, real, l, b)); err != nil {
		t.Fatalf("connection from another address: %v", err)
	}
	if got, want := srv.Stats(), (ServerStats{Open: 3, RefusedPerIP: 1}); got != want {
		t.Errorf("Stats %+v, want %+v", got, want)
	}
}

// TestServerConnCapDefaults: zero MaxConns is DefaultMaxConns, negative
// is no cap; zero MaxConnsPerIP is no per-IP cap, so that one address (an
// edge, a load test) holds many connections.
func TestServerConnCapDefaults(t *testing.T) {
	var zero Server
	zero.init()
	if zero.limiter.MaxConns != DefaultMaxConns || zero.limiter.MaxConnsPerIP > 0 {
		t.Errorf("zero config caps: total %d, per IP %d", zero.limiter.MaxConns, zero.limiter.MaxConnsPerIP)
	}
	if s := NewServer(ServerConfig{MaxConns: -1}); s.limiter.MaxConns > 0 {
		t.Errorf("MaxConns -1 gives a cap of %d", s.limiter.MaxConns)
	}
	srv := NewServer(ServerConfig{Handler: &memHandler{}})
	real := loopbackListener(t)
	serveOn(t, srv, real)
	const n = 40 // from 127.0.0.1, well above any per-IP cap one would set
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", real.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := handshake(c); err != nil {
			t.Fatalf("connection %d from one address: %v", i+1, err)
		}
	}
	if st := srv.Stats(); st.Open != n || st.RefusedPerIP != 0 || st.RefusedTotal != 0 {
		t.Errorf("Stats %+v", st)
	}
}

// TestNilArguments: nil listener and connection give errors, not a panic
// (Serve's panicked in a goroutine of its own and killed the process).
func TestNilArguments(t *testing.T) {
	var srv Server
	if err := srv.Serve(context.Background(), nil); !errors.Is(err, ErrNilListener) {
		t.Errorf("Serve(nil) = %v", err)
	}
	if err := srv.ServeConn(context.Background(), nil); !errors.Is(err, ErrNilConn) {
		t.Errorf("ServeConn(nil) = %v", err)
	}
	time.Sleep(20 * time.Millisecond) // a goroutine started on nil would panic by now
	if st := srv.Stats(); st.Open != 0 {
		t.Errorf("Stats %+v", st)
	}
}
