package rtmp

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/streamwire/streamwire/rtmp/amf0"
)

// TestZeroServer: a zero Server serves (connect works) and rejects publish
// for want of a Handler, with a clear status; Close stops its Serve.
func TestZeroServer(t *testing.T) {
	var srv Server
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), l) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := Dial(ctx, "rtmp://"+l.Addr().String()+"/live/x", ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	err = cl.Publish(ctx)
	var se *StatusError
	if !errors.As(err, &se) || se.Code != CodePublishUnauthorized || !errors.Is(err, ErrUnauthorized) {
		t.Errorf("publish to a zero Server: %v", err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after Close")
	}
}

// TestServerClose: Close ends Serve and every connection, and Serve and
// ServeConn afterwards return ErrServerClosed at once.
func TestServerClose(t *testing.T) {
	srv := NewServer(ServerConfig{Handler: &memHandler{}})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), l) }()
	cl, err := Dial(context.Background(), "rtmp://"+l.Addr().String()+"/live/a", ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	srv.Close()
	if err := <-done; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve: %v", err)
	}
	for i := 0; ; i++ {
		if _, err := cl.Conn().ReadMessage(context.Background()); err != nil {
			break
		}
		if i == 10 {
			t.Fatal("connection open after Close")
		}
	}
	l2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(context.Background(), l2); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Close: %v", err)
	}
	if _, err := l2.Accept(); err == nil {
		t.Error("Serve after Close left its listener open")
	}
	a, b := net.Pipe()
	defer b.Close()
	if err := srv.ServeConn(context.Background(), a); !errors.Is(err, ErrServerClosed) {
		t.Errorf("ServeConn after Close: %v", err)
	}
}

// TestZeroClient: every method of a zero Client fails with
// ErrNotConnected instead of a nil dereference, except Close, which has
// nothing to close and returns nil (Close is idempotent by convention).
func TestZeroClient(t *testing.T) {
	var cl Client
	ctx := context.Background()
	if err := cl.Close(); err != nil {
		t.Errorf("Close on a zero Client: %v", err)
	}
	for name, err := range map[string]error{
		"Publish":    cl.Publish(ctx),
		"Play":       cl.Play(ctx),
		"WriteMedia": cl.WriteMedia(ctx, Media{Type: TypeAudio}),
	} {
		if !errors.Is(err, ErrNotConnected) {
			t.Errorf("%s on a zero Client: %v", name, err)
		}
	}
	if _, err := cl.ReadMedia(ctx); !errors.Is(err, ErrNotConnected) {
		t.Errorf("ReadMedia on a zero Client: %v", err)
	}
	if cl.Conn() != nil || cl.NetConn() != nil || cl.StreamID() != 0 {
		t.Error("accessors of a zero Client")
	}
}

// TestZeroValueTypes: the other exported types work at their zero value.
func TestZeroValueTypes(t *testing.T) {
	var it AggregateIter
	var sub Message
	if it.Next(&sub) || it.Err() != nil {
		t.Error("zero AggregateIter")
	}
	if _, err := (Command{}).Message(0); err != nil {
		t.Errorf("zero Command: %v", err)
	}
	if (&StatusError{}).Error() == "" || !errors.Is(&StatusError{}, ErrRejected) {
		t.Error("zero StatusError")
	}
	if (&StreamRequest{}).Path() != "/" {
		t.Error("zero StreamRequest")
	}
}

// TestServerByteSwappedStreamID: a publish and its media whose chunk
// headers carry the message stream id big-endian (00 00 00 01, as code on
// gortmplib's message package writes stream 1) reach the stream.
func TestServerByteSwappedStreamID(t *testing.T) {
	h := &memHandler{}
	base := startServer(t, ServerConfig{Handler: h}, nil)
	c := connectRaw(t, base)
	sendCmd(t, c, 0, Command{Name: "createStream", TransactionID: 2})
	const swapped = 0x01000000 // written little-endian: 00 00 00 01
	sendCmd(t, c, swapped, Command{Name: "publish", Args: []any{"cam", "live"}})
	got := readCommands(t, c, 2)
	if _, code, _ := statusCode(got[1]); code != CodePublishStart {
		t.Fatalf("publish on a byte-swapped stream id: %+v", got[1])
	}
	if err := c.WriteMessage(context.Background(), Message{ChunkStreamID: CSIDAudio, Type: TypeAudio, StreamID: swapped, Payload: []byte{0xaf, 1, 7}}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		h.mu.Lock()
		n := len(h.published["live/cam"])
		h.mu.Unlock()
		if n == 1 {
			return
		}
	}
	t.Error("media on the byte-swapped stream id did not reach the sink")
}

// TestServerEmptyNameWithPathApp: gortmplib's client connects with app
// "live/cam" and publishes the empty name; the request is live/cam.
func TestServerEmptyNameWithPathApp(t *testing.T) {
	h := &memHandler{}
	base := startServer(t, ServerConfig{Handler: h}, nil)
	c, _ := rawSession(t, base)
	sendCmd(t, c, 0, Command{Name: "connect", TransactionID: 1, Object: amf0.Object{{Key: "app", Value: "live/cam"}}})
	sendCmd(t, c, 0, Command{Name: "createStream", TransactionID: 2})
	sendCmd(t, c, 1, Command{Name: "publish", TransactionID: 3, Args: []any{"", "live"}})
	got := readCommands(t, c, 4)
	if _, code, _ := statusCode(got[3]); code != CodePublishStart {
		t.Fatalf("publish of an empty name under app live/cam: %+v", got[3])
	}
	h.mu.Lock()
	req := h.lastRequest
	h.mu.Unlock()
	if req.App != "live" || req.Name != "cam" || req.Path() != "live/cam" {
		t.Errorf("request %+v", req)
	}
}
