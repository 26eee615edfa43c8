package stun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock runs the Client's timers on demand: After registers a timer,
// Advance fires the earliest one and moves the clock to it.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Duration
	timers  []fakeTimer
	changed chan struct{}
}

type fakeTimer struct {
	at time.Duration
	ch chan time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{changed: make(chan struct{}, 100)} }

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.timers = append(c.timers, fakeTimer{c.now + d, ch})
	c.changed <- struct{}{}
	return ch
}

func (c *fakeClock) Now() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// fire moves the clock to the earliest pending timer and fires it.
func (c *fakeClock) fire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	first := 0
	for i, tm := range c.timers {
		if tm.at < c.timers[first].at {
			first = i
		}
	}
	tm := c.timers[first]
	c.timers = append(c.timers[:first], c.timers[first+1:]...)
	c.now = tm.at
	tm.ch <- time.Unix(0, 0).Add(tm.at)
}

// recordingConn records, on the fake clock, when each datagram was sent.
type recordingConn struct {
	net.PacketConn
	clock *fakeClock
	mu    sync.Mutex
	sent  []time.Duration
	reqs  [][]byte
}

func (r *recordingConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	r.mu.Lock()
	r.sent = append(r.sent, r.clock.Now())
	r.reqs = append(r.reqs, bytes.Clone(b))
	r.mu.Unlock()
	return r.PacketConn.WriteTo(b, addr)
}

// TestClientRetransmissionSchedule proves RFC 8489 §6.2.1 with the default
// RTO, Rc and Rm: requests at 0, 500, 1500, 3500, 7500, 15500 and 31500 ms,
// then ErrTimeout at 39500 ms.
func TestClientRetransmissionSchedule(t *testing.T) {
	clock := newFakeClock()
	silent := listenUDP(t, "udp4", "127.0.0.1:0") // a server that never answers
	conn := &recordingConn{PacketConn: listenUDP(t, "udp4", "127.0.0.1:0"), clock: clock}
	c := &Client{After: clock.After}
	done := make(chan error, 1)
	go func() {
		_, err := c.Binding(context.Background(), conn, silent.LocalAddr())
		done <- err
	}()
	var gaveUp time.Duration
	var err error
loop:
	for {
		// Each timer the client sets signals changed; fire it, and so on
		// until Binding returns.
		select {
		case err = <-done:
			gaveUp = clock.Now()
			break loop
		case <-clock.changed:
			clock.fire()
		case <-time.After(5 * time.Second):
			t.Fatal("client stuck")
		}
	}
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	want := []time.Duration{0, 500, 1500, 3500, 7500, 15500, 31500}
	for i := range want {
		want[i] *= time.Millisecond
	}
	conn.mu.Lock()
	defer conn.mu.Unlock()
	if len(conn.sent) != len(want) {
		t.Fatalf("sent at %v, want %v", conn.sent, want)
	}
	for i := range want {
		if conn.sent[i] != want[i] {
			t.Errorf("request %d sent at %v, want %v", i+1, conn.sent[i], want[i])
		}
		if !bytes.Equal(conn.reqs[i], conn.reqs[0]) {
			t.Errorf("retransmission %d differs from the first request", i)
		}
	}
	if gaveUp != 39500*time.Millisecond {
		t.Errorf("gave up at %v, want 39.5s", gaveUp)
	}
	// The request is a Binding request with FINGERPRINT.
	var m Message
	if err := m.Decode(conn.reqs[0]); err != nil || m.Type() != BindingRequest || m.VerifyFingerprint() != nil {
		t.Errorf("request %x: %v", conn.reqs[0], err)
	}
}

// TestClientCustomSchedule checks that RTO, Rc and Rm are honoured.
func TestClientCustomSchedule(t *testing.T) {
	c := &Client{RTO: 100 * time.Millisecond, Rc: 3, Rm: 4}
	if got := c.schedule(); got != 100*time.Millisecond+200*time.Millisecond+400*time.Millisecond {
		t.Errorf("schedule %v", got)
	}
	silent := listenUDP(t, "udp4", "127.0.0.1:0")
	conn := listenUDP(t, "udp4", "127.0.0.1:0")
	c = &Client{RTO: 10 * time.Millisecond, Rc: 3, Rm: 2}
	start := time.Now()
	_, err := c.Binding(context.Background(), conn, silent.LocalAddr())
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err %v", err)
	}
	if d := time.Since(start); d < 50*time.Millisecond || d > 2*time.Second {
		t.Errorf("gave up after %v, want about 50ms", d)
	}
	buf := make([]byte, 100)
	for i := range 3 {
		_ = silent.SetReadDeadline(time.Now().Add(time.Second))
		if _, _, err := silent.ReadFrom(buf); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	_ = silent.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, _, err := silent.ReadFrom(buf); err == nil {
		t.Error("more than Rc requests")
	}
}

func TestClientAgainstServerUDP(t *testing.T) {
	for _, network := range []string{"udp4", "udp6"} {
		t.Run(network, func(t *testing.T) {
			host := "127.0.0.1:0"
			if network == "udp6" {
				host = "[::1]:0"
			}
			srv := listenUDP(t, network, host)
			startServer(t, &Server{}, srv)
			conn := listenUDP(t, network, host)
			var c Client
			for range 3 { // the same socket serves several transactions
				got, err := c.Binding(context.Background(), conn, srv.LocalAddr())
				if err != nil {
					t.Fatal(err)
				}
				if want := conn.LocalAddr().(*net.UDPAddr).AddrPort(); got != want {
					t.Errorf("mapped %v, want %v", got, want)
				}
			}
		})
	}
}

func TestClientConnectedUDP(t *testing.T) {
	srv := listenUDP(t, "udp4", "127.0.0.1:0")
	startServer(t, &Server{}, srv)
	conn, err := net.DialUDP("udp4", nil, srv.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	got, err := (&Client{}).Binding(context.Background(), conn, nil)
	if err != nil || got != conn.LocalAddr().(*net.UDPAddr).AddrPort() {
		t.Errorf("mapped %v %v, want %v", got, err, conn.LocalAddr())
	}
}

// TestClientRetransmitsUntilAnswered drops the first two requests.
func TestClientRetransmitsUntilAnswered(t *testing.T) {
	srv := listenUDP(t, "udp4", "127.0.0.1:0")
	conn := listenUDP(t, "udp4", "127.0.0.1:0")
	var s Server
	go func() {
		buf := make([]byte, 1500)
		for i := 0; ; i++ {
			n, from, err := srv.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			if i < 2 {
				continue
			}
			out, _ := s.AppendResponse(nil, buf[:n], from)
			_, _ = srv.WriteToUDPAddrPort(out, from)
		}
	}()
	c := &Client{RTO: 20 * time.Millisecond}
	got, err := c.Binding(context.Background(), conn, srv.LocalAddr())
	if err != nil {
		t.Fatal(err)
	}
	if got != conn.LocalAddr().(*net.UDPAddr).AddrPort() {
		t.Errorf("mapped %v", got)
	}
}

// scriptedServer answers every request read from pc with answer(request).
func scriptedServer(t *testing.T, answer func(req *Message) [][]byte) net.Addr {
	t.Helper()
	pc := listenUDP(t, "udp4", "127.0.0.1:0")
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var m Message
			if m.Decode(buf[:n]) != nil {
				continue
			}
			for _, out := range answer(&m) {
				_, _ = pc.WriteTo(out, from)
			}
		}
	}()
	return pc.LocalAddr()
}

func build(t testing.TB, typ MessageType, id TransactionID, add func(b *Builder)) []byte {
	t.Helper()
	var b Builder
	b.Start(nil, typ, id)
	add(&b)
	out, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestClientValidatesResponses(t *testing.T) {
	mapped := netip.MustParseAddrPort("198.51.100.7:4242")
	other := netip.MustParseAddrPort("203.0.113.9:1")
	cases := []struct {
		name    string
		answer  func(t *testing.T, id TransactionID) [][]byte
		want    netip.AddrPort
		wantErr error
	}{
		{"xor-mapped", func(t *testing.T, id TransactionID) [][]byte {
			return [][]byte{build(t, BindingSuccess, id, func(b *Builder) { b.AddXORMappedAddress(mapped); b.AddFingerprint() })}
		}, mapped, nil},
		{"mapped-address fallback", func(t *testing.T, id TransactionID) [][]byte {
			return [][]byte{build(t, BindingSuccess, id, func(b *Builder) { b.AddMappedAddress(mapped) })}
		}, mapped, nil},
		{"xor preferred over mapped", func(t *testing.T, id TransactionID) [][]byte {
			return [][]byte{build(t, BindingSuccess, id, func(b *Builder) { b.AddMappedAddress(other); b.AddXORMappedAddress(mapped) })}
		}, mapped, nil},
		{"wrong id, bad fingerprint and junk ignored", func(t *testing.T, id TransactionID) [][]byte {
			wrong := id
			wrong[0] ^= 0xff
			badFP := build(t, BindingSuccess, id, func(b *Builder) { b.AddXORMappedAddress(other); b.AddFingerprint() })
			badFP[len(badFP)-1] ^= 1
			return [][]byte{
				build(t, BindingSuccess, wrong, func(b *Builder) { b.AddXORMappedAddress(other) }),
				badFP,
				[]byte("junk"),
				build(t, BindingRequest, id, func(b *Builder) {}),
				build(t, BindingSuccess, id, func(b *Builder) { b.AddXORMappedAddress(mapped) }),
			}
		}, mapped, nil},
		{"no address", func(t *testing.T, id TransactionID) [][]byte {
			return [][]byte{build(t, BindingSuccess, id, func(b *Builder) { b.AddSoftware("x") })}
		}, netip.AddrPort{}, ErrNoMappedAddress},
		{"error response", func(t *testing.T, id TransactionID) [][]byte {
			return [][]byte{build(t, BindingError, id, func(b *Builder) { b.AddErrorCode(CodeUnknownAttribute, "") })}
		}, netip.AddrPort{}, ErrErrorResponse},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr := scriptedServer(t, func(req *Message) [][]byte { return tc.answer(t, req.TransactionID()) })
			conn := listenUDP(t, "udp4", "127.0.0.1:0")
			c := &Client{RTO: 50 * time.Millisecond, Rc: 2, Rm: 4}
			got, err := c.Binding(context.Background(), conn, addr)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("mapped %v, want %v", got, tc.want)
			}
		})
	}
}

func TestClientContext(t *testing.T) {
	silent := listenUDP(t, "udp4", "127.0.0.1:0")
	conn := listenUDP(t, "udp4", "127.0.0.1:0")
	var c Client
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Binding(ctx, conn, silent.LocalAddr())
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("deadline: %v, want ErrTimeout and DeadlineExceeded", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err = c.Binding(ctx, conn, silent.LocalAddr())
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
		t.Errorf("cancel: %v, want context.Canceled only", err)
	}
	// The socket's deadline was cleared.
	srv := listenUDP(t, "udp4", "127.0.0.1:0")
	startServer(t, &Server{}, srv)
	if _, err := c.Binding(context.Background(), conn, srv.LocalAddr()); err != nil {
		t.Errorf("after cancel: %v", err)
	}
}

func TestClientDropsOversizedDatagram(t *testing.T) {
	mapped := netip.MustParseAddrPort("198.51.100.7:4242")
	addr := scriptedServer(t, func(req *Message) [][]byte {
		big := build(t, BindingSuccess, req.TransactionID(), func(b *Builder) {
			b.AddXORMappedAddress(netip.MustParseAddrPort("203.0.113.9:1"))
			b.Add(0xc0ff, make([]byte, 200))
		})
		return [][]byte{big, build(t, BindingSuccess, req.TransactionID(), func(b *Builder) { b.AddXORMappedAddress(mapped) })}
	})
	conn := listenUDP(t, "udp4", "127.0.0.1:0")
	c := &Client{MaxMessageSize: 100, RTO: 50 * time.Millisecond}
	got, err := c.Binding(context.Background(), conn, addr)
	if err != nil || got != mapped {
		t.Errorf("%v %v, want %v", got, err, mapped)
	}
}

// serveStream answers STUN over one accepted TCP connection with s, framing
// by the header length, until the connection closes.
func serveStream(t *testing.T, s *Server, handle func(c net.Conn, s *Server)) net.Addr {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c, s)
			}()
		}
	}()
	return l.Addr()
}

func answerStream(c net.Conn, s *Server) {
	buf := make([]byte, 2048)
	for {
		msg, err := readFrame(c, buf)
		if err != nil {
			return
		}
		from := c.RemoteAddr().(*net.TCPAddr).AddrPort()
		out, ok := s.AppendResponse(nil, msg, from)
		if !ok {
			continue
		}
		// An unrelated indication first, written in two pieces, to test
		// skipping and framing.
		ind := make([]byte, 0, 64)
		var b Builder
		b.Start(ind, BindingIndication, TransactionID{9})
		ind, _ = b.Finish()
		both := append(ind, out...)
		_, _ = c.Write(both[:7])
		time.Sleep(5 * time.Millisecond)
		_, _ = c.Write(both[7:])
	}
}

func TestClientBindingStream(t *testing.T) {
	addr := serveStream(t, &Server{}, answerStream)
	conn, err := net.Dial("tcp4", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var c Client
	for range 2 {
		got, err := c.BindingStream(context.Background(), conn)
		if err != nil {
			t.Fatal(err)
		}
		if want := conn.LocalAddr().(*net.TCPAddr).AddrPort(); got != want {
			t.Errorf("mapped %v, want %v", got, want)
		}
	}
}

func TestClientBindingStreamErrors(t *testing.T) {
	silent := serveStream(t, nil, func(c net.Conn, _ *Server) { _, _ = io.Copy(io.Discard, c) })
	dial := func() net.Conn {
		conn, err := net.Dial("tcp4", silent.String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	// No retransmission over a stream: StreamTimeout ends the transaction.
	c := &Client{StreamTimeout: 50 * time.Millisecond}
	if _, err := c.BindingStream(context.Background(), dial()); !errors.Is(err, ErrTimeout) {
		t.Errorf("timeout: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, err := (&Client{}).BindingStream(ctx, dial()); !errors.Is(err, context.Canceled) {
		t.Errorf("cancel: %v", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := (&Client{}).BindingStream(ctx, dial()); !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ctx deadline: %v", err)
	}

	// A frame longer than the read limit, and a closed stream.
	big := serveStream(t, nil, func(c net.Conn, _ *Server) {
		hdr := []byte{0x01, 0x01, 0x10, 0x00, 0x21, 0x12, 0xa4, 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
		_, _ = c.Write(hdr)
		time.Sleep(100 * time.Millisecond)
	})
	conn, err := net.Dial("tcp4", big.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := (&Client{MaxMessageSize: 1024}).BindingStream(context.Background(), conn); !errors.Is(err, ErrMessageTooLarge) {
		t.Errorf("big frame: %v", err)
	}
	closing := serveStream(t, nil, func(c net.Conn, _ *Server) {
		_, _ = readFrame(c, make([]byte, 2048)) // read the request, then close without answering
	})
	conn2, err := net.Dial("tcp4", closing.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	if _, err := (&Client{}).BindingStream(context.Background(), conn2); !errors.Is(err, io.EOF) {
		t.Errorf("closed stream: %v", err)
	}
}

func TestReadFrame(t *testing.T) {
	msg := build(t, BindingRequest, testID, func(b *Builder) { b.AddSoftware("abc"); b.AddFingerprint() })
	stream := bytes.NewReader(append(append([]byte{}, msg...), msg...))
	buf := make([]byte, 256)
	for range 2 {
		got, err := readFrame(stream, buf)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("%x %v", got, err)
		}
	}
	if _, err := readFrame(stream, buf); !errors.Is(err, io.EOF) {
		t.Errorf("end: %v", err)
	}
	if _, err := readFrame(bytes.NewReader(msg[:30]), buf); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cut: %v", err)
	}
	if _, err := readFrame(bytes.NewReader(bytes.Repeat([]byte{0xff}, 40)), buf); !errors.Is(err, ErrBadHeader) {
		t.Errorf("not STUN: %v", err)
	}
}

// BindingStream asks over TCP, where the request is sent once and the
// response is framed by its header length.
func ExampleClient_BindingStream() {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Close()
	go func() { // a one-connection STUN-over-TCP server
		conn, err := l.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		buf := make([]byte, 2048)
		msg, err := readFrame(conn, buf)
		if err != nil {
			return
		}
		var s Server
		resp, _ := s.AppendResponse(nil, msg, conn.RemoteAddr().(*net.TCPAddr).AddrPort())
		_, _ = conn.Write(resp)
	}()

	conn, err := net.Dial("tcp4", l.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	c := Client{StreamTimeout: 5 * time.Second}
	mapped, err := c.BindingStream(context.Background(), conn)
	fmt.Println(mapped.String() == conn.LocalAddr().String(), err)
	// Output: true <nil>
}

// TestClientClosedPortConnected: ICMP port unreachable on a connected
// socket does not end the transaction early; the schedule runs out.
func TestClientClosedPortConnected(t *testing.T) {
	gone := listenUDP(t, "udp4", "127.0.0.1:0")
	addr := gone.LocalAddr().(*net.UDPAddr)
	gone.Close()
	conn, err := net.DialUDP("udp4", nil, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := &Client{RTO: 5 * time.Millisecond, Rc: 4, Rm: 2}
	if _, err := c.Binding(context.Background(), conn, nil); !errors.Is(err, ErrTimeout) {
		t.Errorf("err %v, want ErrTimeout", err)
	}
}

// TestClientNilConn passes a nil conn to Binding and BindingStream: a clear
// error, as Server.Serve(nil) gives, and no panic.
func TestClientNilConn(t *testing.T) {
	c := &Client{}
	for name, call := range map[string]func() (netip.AddrPort, error){
		"Binding": func() (netip.AddrPort, error) {
			return c.Binding(context.Background(), nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 3478})
		},
		"BindingStream": func() (netip.AddrPort, error) { return c.BindingStream(context.Background(), nil) },
	} {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s(nil conn) panicked: %v", name, r)
				}
			}()
			addr, err := call()
			if err == nil || err.Error() != "stun: binding: nil conn" || addr.IsValid() {
				t.Errorf("%s(nil conn) = %v, %v; want the error \"stun: binding: nil conn\"", name, addr, err)
			}
		}()
	}
	if err := (&Server{}).Serve(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "nil conn") {
		t.Errorf("Server.Serve(nil) = %v: the client's error no longer matches the server's", err)
	}
}
