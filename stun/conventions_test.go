package stun

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// isTimeout reports whether err is a net.Error whose Timeout is true.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestClientResponseError checks that an error response reaches the caller
// as a *ResponseError carrying the code, reason and unknown attributes, and
// still matches ErrErrorResponse.
func TestClientResponseError(t *testing.T) {
	longReason := strings.Repeat("é", MaxTextChars) // 254 bytes: within the RFC, longer than a log bound
	addr := scriptedServer(t, func(req *Message) [][]byte {
		if req.Type() != BindingRequest {
			return nil
		}
		return [][]byte{build(t, BindingError, req.TransactionID(), func(b *Builder) {
			b.AddErrorCode(CodeUnknownAttribute, longReason)
			b.AddUnknownAttributes([]AttrType{0x0003, 0x7000})
		})}
	})
	conn := listenUDP(t, "udp4", "127.0.0.1:0")
	c := &Client{RTO: 50 * time.Millisecond, Rc: 2, Rm: 4}
	_, err := c.Binding(context.Background(), conn, addr)
	var re *ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("err %v (%T), want a *ResponseError", err, err)
	}
	if re.Code != CodeUnknownAttribute || re.Reason != longReason {
		t.Errorf("code %d reason %q", re.Code, re.Reason)
	}
	if len(re.Unknown) != 2 || re.Unknown[0] != 0x0003 || re.Unknown[1] != 0x7000 {
		t.Errorf("unknown %v", re.Unknown)
	}
	if !errors.Is(err, ErrErrorResponse) || !errors.Is(err, &ResponseError{Code: 420}) || errors.Is(err, &ResponseError{Code: 401}) {
		t.Errorf("errors.Is does not match as documented: %v", err)
	}
	if isTimeout(err) {
		t.Error("an error response reports Timeout")
	}
	if n := len(err.Error()); n > 200 {
		t.Errorf("Error() is %d bytes; the reason is not bounded", n)
	}
}

// TestClientTimeoutsAreNetErrors checks every way a Client transaction times
// out, and that cancellation is not one of them.
func TestClientTimeoutsAreNetErrors(t *testing.T) {
	silent := listenUDP(t, "udp4", "127.0.0.1:0")
	conn := listenUDP(t, "udp4", "127.0.0.1:0")

	// The retransmission schedule runs out.
	c := &Client{RTO: 10 * time.Millisecond, Rc: 2, Rm: 2}
	if _, err := c.Binding(context.Background(), conn, silent.LocalAddr()); !errors.Is(err, ErrTimeout) || !isTimeout(err) {
		t.Errorf("schedule: %v, want ErrTimeout with Timeout() true", err)
	}
	// The context's deadline passes.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := (&Client{}).Binding(ctx, conn, silent.LocalAddr()); !errors.Is(err, ErrTimeout) || !isTimeout(err) {
		t.Errorf("deadline: %v, want ErrTimeout with Timeout() true", err)
	}
	// The context is cancelled: context.Canceled, not a timeout.
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err := (&Client{}).Binding(ctx, conn, silent.LocalAddr())
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) || isTimeout(err) {
		t.Errorf("cancel: %v, want context.Canceled and no timeout", err)
	}

	// Over a stream, StreamTimeout passes.
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			defer c.Close()
			_, _ = c.Read(make([]byte, 64))
			time.Sleep(time.Second)
		}
	}()
	sc, err := net.Dial("tcp4", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if _, err := (&Client{StreamTimeout: 30 * time.Millisecond}).BindingStream(context.Background(), sc); !errors.Is(err, ErrTimeout) || !isTimeout(err) {
		t.Errorf("stream: %v, want ErrTimeout with Timeout() true", err)
	}
}

// TestServerClose checks the net/http convention: Close and a cancelled
// context both end Serve with ErrServerClosed, and Serve after Close
// returns at once.
func TestServerClose(t *testing.T) {
	srv := listenUDP(t, "udp4", "127.0.0.1:0")
	s := &Server{}
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background(), srv) }()
	cl := listenUDP(t, "udp4", "127.0.0.1:0")
	if exchange(t, cl, srv.LocalAddr(), request(t, BindingRequest, testID, false), 2*time.Second) == nil {
		t.Fatal("no answer")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrServerClosed) {
			t.Fatalf("Serve after Close: %v, want ErrServerClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after Close")
	}
	if err := s.Serve(context.Background(), srv); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve on a closed Server: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// The conn is the caller's: still open, deadline cleared, servable again.
	stop := startServer(t, &Server{}, srv)
	if exchange(t, cl, srv.LocalAddr(), request(t, BindingRequest, testID, false), 2*time.Second) == nil {
		t.Fatal("conn not reusable after Close")
	}
	if err := stop(); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after cancel: %v, want ErrServerClosed", err)
	}
}

// TestZeroValues checks that the zero value of each exported type works or
// fails with a clear error, never a nil dereference.
func TestZeroValues(t *testing.T) {
	if err := (&Server{}).Serve(context.Background(), nil); err == nil || errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve(nil conn): %v", err)
	}
	if err := (&Server{}).Close(); err != nil {
		t.Errorf("zero Server Close: %v", err)
	}
	_ = (&Server{}).Stats()

	var zero Integrity
	msg := build(t, BindingRequest, testID, func(b *Builder) { b.AddMessageIntegrity(NewShortTermIntegrity("pwd")) })
	var m Message
	if err := m.Decode(msg); err != nil {
		t.Fatal(err)
	}
	if err := zero.Verify(&m); !errors.Is(err, ErrZeroIntegrity) {
		t.Errorf("zero Integrity Verify: %v", err)
	}
	if err := zero.Clone().Verify(&m); !errors.Is(err, ErrZeroIntegrity) {
		t.Errorf("clone of zero Integrity Verify: %v", err)
	}
	var b Builder
	b.Start(nil, BindingRequest, testID)
	b.AddMessageIntegrity(&zero)
	if _, err := b.Finish(); !errors.Is(err, ErrZeroIntegrity) {
		t.Errorf("zero Integrity in Builder: %v", err)
	}
	var zb Builder
	zb.AddUsername("x")
	if _, err := zb.Finish(); err == nil {
		t.Error("zero Builder finished without Start")
	}
	if got := (&ResponseError{}).Error(); got == "" {
		t.Error("zero ResponseError has no text")
	}
}

// TestUsernameLongestICE decodes the USERNAME of an ICE check between two
// agents using 256-character ufrags, the longest RFC 8839 §5.4 allows:
// "remote:local" is 513 bytes.
func TestUsernameLongestICE(t *testing.T) {
	name := strings.Repeat("R", 256) + ":" + strings.Repeat("L", 256)
	var b Builder
	b.Start(nil, BindingRequest, testID)
	b.Add(AttrUsername, []byte(name)) // AddUsername keeps RFC 8489's 508-byte limit for what we send
	msg, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	var m Message
	if err := m.Decode(msg); err != nil {
		t.Fatal(err)
	}
	got, err := m.Username()
	if err != nil || string(got) != name {
		t.Fatalf("Username: %d bytes, %v", len(got), err)
	}
	b.Start(nil, BindingRequest, testID)
	b.Add(AttrUsername, []byte(name+"x"))
	msg, _ = b.Finish()
	_ = m.Decode(msg)
	if _, err := m.Username(); !errors.Is(err, ErrAttributeTooLong) {
		t.Errorf("514-byte USERNAME: %v", err)
	}
}

// TestServerAnswersUnknownOptional checks that comprehension-optional
// attributes the Server does not know (0x8000-0xFFFF), and non-zero padding
// bytes (RFC 8489 §14: padding may be any value), do not stop an answer.
func TestServerAnswersUnknownOptional(t *testing.T) {
	var b Builder
	b.Start(nil, BindingRequest, testID)
	b.SetPadding(0xAA)
	b.Add(0x8050, []byte{1, 2, 3})
	b.Add(0xC0FF, []byte("x"))
	b.AddFingerprint()
	req, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	var s Server
	resp, ok := s.AppendResponse(nil, req, netip.MustParseAddrPort("192.0.2.1:5000"))
	var m Message
	if !ok || m.Decode(resp) != nil || m.Type() != BindingSuccess {
		t.Fatalf("answer %x ok=%v", resp, ok)
	}
}
