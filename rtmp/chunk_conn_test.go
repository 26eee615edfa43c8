package rtmp

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"
)

func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		ch <- c
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-ch
	if b == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// The reading side acknowledges every window of bytes (§5.4.3) by itself,
// and concurrent writers do not interleave chunks.
func TestConnAutoAckAndConcurrentWrites(t *testing.T) {
	a, b := tcpPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sender := NewConn(a, ConnConfig{})
	receiver := NewConn(b, ConnConfig{})
	if err := sender.WithWriter(ctx, func(w *ChunkWriter) error {
		if err := w.WriteWindowAckSize(5000); err != nil {
			return err
		}
		return w.WriteSetChunkSize(1000)
	}); err != nil {
		t.Fatal(err)
	}
	const writers, perWriter = 4, 25
	var wg sync.WaitGroup
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			payload := make([]byte, 3000)
			for i := range payload {
				payload[i] = byte(g)
			}
			for i := 0; i < perWriter; i++ {
				m := Message{ChunkStreamID: uint32(4 + g), Type: TypeVideo, StreamID: 1, Timestamp: uint32(i * 40), Payload: payload}
				if err := sender.WriteMessage(ctx, m); err != nil {
					t.Error(err)
					return
				}
			}
		}(g)
	}
	acks := make(chan uint32, 100)
	go func() {
		for {
			m, err := sender.ReadMessage(ctx)
			if err != nil {
				close(acks)
				return
			}
			if m.Type == TypeAck {
				seq, _ := ParseAck(m.Payload)
				acks <- seq
			}
		}
	}()
	media := 0
	for media < writers*perWriter {
		m, err := receiver.ReadMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m.Type != TypeVideo {
			continue
		}
		media++
		for _, c := range m.Payload {
			if c != m.Payload[0] || uint32(c)+4 != m.ChunkStreamID {
				t.Fatalf("message on chunk stream %d holds bytes of writer %d", m.ChunkStreamID, c)
			}
		}
	}
	wg.Wait()
	var last uint32
	n := 0
	for n < 10 {
		seq, ok := <-acks
		if !ok {
			t.Fatal("sender stopped reading")
		}
		if seq <= last {
			t.Errorf("ack sequence %d after %d", seq, last)
		}
		last = seq
		n++
	}
	if want := receiver.Reader().BytesRead(); uint64(last) > want {
		t.Errorf("acknowledged %d of %d bytes", last, want)
	}
}

func TestConnReadTimeoutAndContext(t *testing.T) {
	a, _ := tcpPair(t)
	c := NewConn(a, ConnConfig{ReadTimeout: 50 * time.Millisecond})
	start := time.Now()
	_, err := c.ReadMessage(context.Background())
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || time.Since(start) > 5*time.Second {
		t.Errorf("read timeout: %v after %v", err, time.Since(start))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.ReadMessage(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if err := c.WriteMessage(ctx, Message{ChunkStreamID: 3}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled write: %v", err)
	}
}

// Conn.ReadMessage on a TCP connection (deadline per read) does not
// allocate in steady state either.
func TestConnReadAllocs(t *testing.T) {
	if allocs := connReadAllocs(t, context.Background()); allocs != 0 {
		t.Errorf("%v allocs per message (reader and writer together)", allocs)
	}
}

// connReadAllocs measures the allocations of Conn.ReadMessage(ctx) on a TCP
// connection, in steady state, while another Conn writes video messages.
func connReadAllocs(t *testing.T, ctx context.Context) float64 {
	a, b := tcpPair(t)
	sender, receiver := NewConn(a, ConnConfig{}), NewConn(b, ConnConfig{})
	payload := make([]byte, 1500)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ts := uint32(0); ; ts += 33 {
			select {
			case <-stop:
				return
			default:
			}
			if err := sender.WriteMessage(context.Background(), Message{ChunkStreamID: CSIDVideo, Type: TypeVideo, StreamID: 1, Timestamp: ts, Payload: payload}); err != nil {
				return
			}
		}
	}()
	for i := 0; i < 100; i++ {
		if _, err := receiver.ReadMessage(ctx); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(2000, func() {
		if _, err := receiver.ReadMessage(ctx); err != nil {
			t.Fatal(err)
		}
	})
	close(stop)
	a.Close()
	<-done
	return allocs
}
