package rtmp

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// TryReadMedia completes memSource (server_test.go) as a MediaSource: it
// never waits, so it is ReadMedia.
func (s *memSource) TryReadMedia(dst []Media) ([]Media, error) {
	return s.ReadMedia(context.Background(), dst)
}

// readAsync runs c.ReadMessage(ctx) and returns its error on a channel.
func readAsync(c *Conn, ctx context.Context) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := c.ReadMessage(ctx)
		done <- err
	}()
	return done
}

func waitErr(t *testing.T, done <-chan error, within time.Duration) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(within):
		t.Fatalf("ReadMessage still blocked after %v", within)
		return nil
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Cancelling the context interrupts a read blocked in the middle of a
// message, and is reported as the context's error, not as a timeout.
func TestConnReadCancelMidRead(t *testing.T) {
	a, b := tcpPair(t)
	c := NewConn(b, ConnConfig{ReadTimeout: -1})
	// The header of a 1000-byte message and 10 of its bytes.
	if _, err := a.Write(append([]byte{0x06, 0, 0, 0, 0, 0x03, 0xE8, 9, 1, 0, 0, 0}, make([]byte, 10)...)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := readAsync(c, ctx)
	time.Sleep(50 * time.Millisecond) // let it block on the missing bytes
	start := time.Now()
	cancel()
	err := waitErr(t, done, 5*time.Second)
	if !errors.Is(err, context.Canceled) || isTimeout(err) {
		t.Fatalf("err = %v (timeout %v), want context.Canceled and no timeout", err, isTimeout(err))
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("cancellation took %v", d)
	}
}

// A read deadline (ReadTimeout) is a net.Error timeout; a context deadline
// is context.DeadlineExceeded.
func TestConnReadDeadlines(t *testing.T) {
	_, b := tcpPair(t)
	c := NewConn(b, ConnConfig{ReadTimeout: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := waitErr(t, readAsync(c, ctx), 5*time.Second)
	if !isTimeout(err) || errors.Is(err, context.Canceled) {
		t.Errorf("ReadTimeout: err = %v, want a net.Error timeout", err)
	}

	_, b = tcpPair(t)
	c = NewConn(b, ConnConfig{ReadTimeout: -1})
	dctx, dcancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer dcancel()
	err = waitErr(t, readAsync(c, dctx), 5*time.Second)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("context deadline: err = %v, want context.DeadlineExceeded", err)
	}
}

// The cancellation of a context that an earlier read used does not
// interrupt a later read with another context.
func TestConnReadCancelOnlyItsOwnRead(t *testing.T) {
	a, b := tcpPair(t)
	sender, c := NewConn(a, ConnConfig{}), NewConn(b, ConnConfig{ReadTimeout: -1})
	bg := context.Background()
	send := func() {
		if err := sender.WriteMessage(bg, Message{ChunkStreamID: CSIDAudio, Type: TypeAudio, StreamID: 1, Payload: []byte{0xAF, 1, 2}}); err != nil {
			t.Error(err)
		}
	}
	ctx1, cancel1 := context.WithCancel(bg)
	send()
	if _, err := c.ReadMessage(ctx1); err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithCancel(bg)
	defer cancel2()
	done := readAsync(c, ctx2)
	time.Sleep(20 * time.Millisecond)
	cancel1()
	time.Sleep(50 * time.Millisecond)
	send()
	if err := waitErr(t, done, 5*time.Second); err != nil {
		t.Fatalf("read with ctx2 after ctx1 was cancelled: %v", err)
	}
}

// Close interrupts a blocked read, frees the reassembly buffers, and later
// reads fail with net.ErrClosed.
func TestConnCloseReleasesBuffers(t *testing.T) {
	a, b := tcpPair(t)
	c := NewConn(b, ConnConfig{ReadTimeout: -1})
	// Half of a 100 kB message: the reader holds a partial buffer.
	if _, err := a.Write(append([]byte{0x06, 0, 0, 0, 0x01, 0x86, 0xA0, 9, 1, 0, 0, 0}, make([]byte, 128)...)); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadMessage(context.Background()); !errors.Is(err, net.ErrClosed) {
		t.Errorf("read after Close: %v", err)
	}

	// A shared budget shows, from this goroutine, what the reader holds.
	shared := &sharedBudget{limit: 1 << 20}
	a, b = tcpPair(t)
	c = NewConn(b, ConnConfig{ReadTimeout: -1, Reader: ReaderConfig{shared: shared}})
	if _, err := a.Write(append([]byte{0x06, 0, 0, 0, 0x01, 0x86, 0xA0, 9, 1, 0, 0, 0}, make([]byte, 128)...)); err != nil {
		t.Fatal(err)
	}
	done := readAsync(c, context.Background())
	deadline := time.Now().Add(5 * time.Second)
	for shared.used.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if shared.used.Load() == 0 {
		t.Fatal("the partial message was not buffered")
	}
	c.Close()
	if err := waitErr(t, done, 5*time.Second); !errors.Is(err, net.ErrClosed) {
		t.Errorf("read interrupted by Close: %v", err)
	}
	if n := c.Reader().BufferedBytes(); n != 0 || shared.used.Load() != 0 {
		t.Errorf("%d bytes (shared %d) still buffered after Close", n, shared.used.Load())
	}
}

// Close drops the registration on a long-lived context: the Conn is not
// kept alive by the context until it ends.
func TestConnCloseStopsWatching(t *testing.T) {
	a, b := tcpPair(t)
	sender, c := NewConn(a, ConnConfig{}), NewConn(b, ConnConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := sender.WriteMessage(ctx, Message{ChunkStreamID: CSIDAudio, Type: TypeAudio, Payload: []byte{1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadMessage(ctx); err != nil {
		t.Fatal(err)
	}
	if c.unwatch == nil {
		t.Fatal("no registration on a cancellable context")
	}
	c.Close()
	if c.unwatch != nil {
		t.Error("registration kept after Close")
	}
}

// With a cancellable context, as the server reads, steady-state reads do
// not allocate: the cancellation is registered once per context.
func TestConnReadAllocsCancellable(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if allocs := connReadAllocs(t, ctx); allocs != 0 {
		t.Errorf("%v allocs per message with a cancellable context", allocs)
	}
}

// A write that the context's deadline ends is context.DeadlineExceeded; one
// that WriteTimeout ends is a net.Error timeout.
func TestConnWriteDeadlines(t *testing.T) {
	fill := func(c *Conn, ctx context.Context) error {
		p := make([]byte, 1<<20)
		for i := 0; i < 1000; i++ { // the peer never reads: the socket fills
			if err := c.WriteMessage(ctx, Message{ChunkStreamID: CSIDVideo, Type: TypeVideo, StreamID: 1, Payload: p}); err != nil {
				return err
			}
		}
		return nil
	}
	a, _ := tcpPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := fill(NewConn(a, ConnConfig{}), ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("context deadline: %v", err)
	}
	a, _ = tcpPair(t)
	if err := fill(NewConn(a, ConnConfig{WriteTimeout: 100 * time.Millisecond}), context.Background()); !isTimeout(err) || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WriteTimeout: %v", err)
	}
}
