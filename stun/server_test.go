package stun

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// testID is a fixed transaction ID for hand-built messages.
var testID = TransactionID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}

// request builds a Binding request (or another type) with the given extra
// attributes and, if fp, a FINGERPRINT.
func request(t testing.TB, typ MessageType, id TransactionID, fp bool, attrs ...Attribute) []byte {
	t.Helper()
	var b Builder
	b.Start(nil, typ, id)
	for _, a := range attrs {
		b.Add(a.Type, a.Value)
	}
	if fp {
		b.AddFingerprint()
	}
	out, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// startServer serves conn with s until the test ends and returns a function
// that stops it and returns Serve's error.
func startServer(t testing.TB, s *Server, conn net.PacketConn) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, conn) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				err = errors.New("Serve did not return within 5s of cancel")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func listenUDP(t testing.TB, network, addr string) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
	if err != nil {
		t.Fatalf("listen %s %s: %v", network, addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// exchange sends req from client to server and returns the next datagram
// client receives within wait, or nil.
func exchange(t testing.TB, client *net.UDPConn, server net.Addr, req []byte, wait time.Duration) []byte {
	t.Helper()
	if req != nil {
		if _, err := client.WriteTo(req, server); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 2048)
	_ = client.SetReadDeadline(time.Now().Add(wait))
	n, _, err := client.ReadFrom(buf)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil
		}
		t.Fatal(err)
	}
	return buf[:n]
}

func decode(t testing.TB, b []byte) *Message {
	t.Helper()
	var m Message
	if err := m.Decode(b); err != nil {
		t.Fatalf("decode response %x: %v", b, err)
	}
	return &m
}

func TestServerBindingLoopback(t *testing.T) {
	for _, tc := range []struct{ network, server, client string }{
		{"udp4", "127.0.0.1:0", "127.0.0.1:0"},
		{"udp6", "[::1]:0", "[::1]:0"},
	} {
		t.Run(tc.network, func(t *testing.T) {
			srv := listenUDP(t, tc.network, tc.server)
			s := &Server{Software: "streamwire test"}
			startServer(t, s, srv)
			cl := listenUDP(t, tc.network, tc.client)
			for _, fp := range []bool{false, true} {
				req := request(t, BindingRequest, testID, fp)
				resp := exchange(t, cl, srv.LocalAddr(), req, 2*time.Second)
				if resp == nil {
					t.Fatalf("fingerprint=%v: no response", fp)
				}
				m := decode(t, resp)
				if m.Type() != BindingSuccess || m.TransactionID() != testID {
					t.Fatalf("got %s", m)
				}
				got, err := m.XORMappedAddress()
				if err != nil {
					t.Fatal(err)
				}
				if want := cl.LocalAddr().(*net.UDPAddr).AddrPort(); got != want {
					t.Errorf("XOR-MAPPED-ADDRESS %v, want %v", got, want)
				}
				if m.Has(AttrMappedAddress) {
					t.Error("MAPPED-ADDRESS sent")
				}
				if sw, err := m.Software(); err != nil || string(sw) != "streamwire test" {
					t.Errorf("SOFTWARE %q, %v", sw, err)
				}
				if err := m.VerifyFingerprint(); fp && err != nil || !fp && !errors.Is(err, ErrAttributeNotFound) {
					t.Errorf("request fingerprint=%v, response fingerprint check: %v", fp, err)
				}
			}
			if st := s.Stats(); st.Requests != 2 || st.Responses != 2 || st.Dropped != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// dropped are datagrams the server must not answer.
func dropped(t testing.TB) map[string][]byte {
	ok := request(t, BindingRequest, testID, true)
	badFP := bytes.Clone(ok)
	badFP[len(badFP)-1] ^= 1
	rfc3489 := bytes.Clone(ok[:20])
	copy(rfc3489[4:8], []byte{9, 9, 9, 9})
	binary.BigEndian.PutUint16(rfc3489[2:], 0)
	badLen := bytes.Clone(ok)
	binary.BigEndian.PutUint16(badLen[2:], 12)
	overrun := request(t, BindingRequest, testID, false, Attribute{Type: AttrSoftware, Value: []byte("abcd")})
	binary.BigEndian.PutUint16(overrun[22:], 200)
	huge := request(t, BindingRequest, testID, false, Attribute{Type: AttrSoftware + 0x40, Value: make([]byte, MaxRequestSize)})
	return map[string][]byte{
		"empty":              {},
		"short header":       ok[:19],
		"rtp":                {0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8},
		"rfc3489 no cookie":  rfc3489,
		"length mismatch":    badLen,
		"attribute overrun":  overrun,
		"bad fingerprint":    badFP,
		"success response":   request(t, BindingSuccess, testID, true),
		"error response":     request(t, BindingError, testID, false),
		"binding indication": request(t, BindingIndication, testID, true),
		"other method":       request(t, NewType(0x003, ClassRequest), testID, true),
		"goog-ping":          request(t, GoogPingRequest, testID, false),
		"oversized":          huge,
	}
}

func TestServerDropsWithoutAnswer(t *testing.T) {
	var s Server
	for name, b := range dropped(t) {
		if out, ok := s.AppendResponse(nil, b, netip.MustParseAddrPort("192.0.2.1:5000")); ok || out != nil {
			t.Errorf("%s: answered %x", name, out)
		}
	}
	// A valid request from port 0 or no address cannot be answered either.
	req := request(t, BindingRequest, testID, true)
	for _, from := range []netip.AddrPort{{}, netip.MustParseAddrPort("192.0.2.1:0")} {
		if _, ok := s.AppendResponse(nil, req, from); ok {
			t.Errorf("answered a request from %v", from)
		}
	}

	// Over a socket: every bad datagram is dropped and the server goes on.
	srv := listenUDP(t, "udp4", "127.0.0.1:0")
	startServer(t, &s, srv)
	cl := listenUDP(t, "udp4", "127.0.0.1:0")
	inputs := dropped(t)
	for _, b := range inputs {
		if _, err := cl.WriteTo(b, srv.LocalAddr()); err != nil && len(b) < MaxRequestSize {
			t.Fatal(err)
		}
	}
	id := TransactionID{0xaa}
	resp := exchange(t, cl, srv.LocalAddr(), request(t, BindingRequest, id, false), 2*time.Second)
	if resp == nil || decode(t, resp).TransactionID() != id {
		t.Fatalf("expected only the answer to the valid request, got %x", resp)
	}
	if extra := exchange(t, cl, nil, nil, 100*time.Millisecond); extra != nil {
		t.Fatalf("unexpected datagram %x", extra)
	}
	st := s.Stats()
	if st.Responses != 1 || st.Dropped != uint64(len(inputs)) || st.Requests != st.Dropped+1 {
		t.Errorf("stats %+v, want %d dropped and 1 response", st, len(inputs))
	}
}

func TestServerUnknownAttribute420(t *testing.T) {
	var s Server
	from := netip.MustParseAddrPort("192.0.2.1:5000")
	for _, fp := range []bool{false, true} {
		req := request(t, BindingRequest, testID, fp,
			Attribute{Type: 0x7f01, Value: []byte{1, 2, 3}},
			Attribute{Type: 0xc0ff, Value: []byte{1}}, // optional: ignored
			Attribute{Type: 0x0003, Value: []byte{0, 0, 0, 6}},
			Attribute{Type: 0x7f01, Value: nil}, // listed once
			Attribute{Type: AttrUsername, Value: []byte("known")},
		)
		out, ok := s.AppendResponse(nil, req, from)
		if !ok {
			t.Fatal("420 expected, got nothing")
		}
		m := decode(t, out)
		if m.Type() != BindingError || m.TransactionID() != testID {
			t.Fatalf("got %s", m)
		}
		code, reason, err := m.ErrorCode()
		if err != nil || code != CodeUnknownAttribute || string(reason) != "Unknown Attribute" {
			t.Errorf("ERROR-CODE %d %q %v", code, reason, err)
		}
		unk, err := m.UnknownAttributes(nil)
		if err != nil || fmt.Sprint(unk) != fmt.Sprint([]AttrType{0x7f01, 0x0003}) {
			t.Errorf("UNKNOWN-ATTRIBUTES %v %v", unk, err)
		}
		if m.Has(AttrXORMappedAddress) {
			t.Error("error response carries XOR-MAPPED-ADDRESS")
		}
		if err := m.VerifyFingerprint(); fp && err != nil || !fp && err == nil {
			t.Errorf("fingerprint=%v: %v", fp, err)
		}
	}
}

// TestServerAmplificationBound checks MaxResponseGrowth on the smallest
// requests, many unknown attributes, IPv6 sources and a long SOFTWARE.
func TestServerAmplificationBound(t *testing.T) {
	long := strings.Repeat("s", 120)
	servers := []*Server{{}, {Software: "streamwire"}, {Software: long}}
	sources := []netip.AddrPort{
		netip.MustParseAddrPort("192.0.2.1:5000"),
		netip.MustParseAddrPort("[2001:db8::1]:5000"),
	}
	var unknown []Attribute
	for i := range MaxAttributes - 1 {
		unknown = append(unknown, Attribute{Type: AttrType(0x7000 + i)})
	}
	requests := [][]byte{
		request(t, BindingRequest, testID, false),
		request(t, BindingRequest, testID, true),
		request(t, BindingRequest, testID, false, unknown[:1]...),
		request(t, BindingRequest, testID, true, unknown[:1]...),
		request(t, BindingRequest, testID, true, unknown...),
		request(t, BindingRequest, testID, false, Attribute{Type: 0xc001, Value: make([]byte, 200)}),
	}
	for _, s := range servers {
		for _, from := range sources {
			for _, req := range requests {
				out, ok := s.AppendResponse(nil, req, from)
				if !ok {
					t.Fatalf("no answer to %x", req)
				}
				if growth := len(out) - len(req); growth > MaxResponseGrowth {
					t.Errorf("software %d bytes, from %v: %d-byte request, %d-byte response", len(s.Software), from, len(req), len(out))
				}
			}
		}
	}
	// SOFTWARE is dropped rather than breaking the bound, and sent when the
	// request is large enough.
	s := &Server{Software: long}
	out, _ := s.AppendResponse(nil, requests[0], sources[1])
	if decode(t, out).Has(AttrSoftware) {
		t.Error("120-byte SOFTWARE sent to a 20-byte request")
	}
	out, _ = s.AppendResponse(nil, requests[5], sources[1])
	if sw, err := decode(t, out).Software(); err != nil || string(sw) != long {
		t.Errorf("SOFTWARE not sent to a 224-byte request: %q %v", sw, err)
	}
}

func TestServerAppendResponseAppends(t *testing.T) {
	var s Server
	dst := []byte("prefix")
	out, ok := s.AppendResponse(dst, request(t, BindingRequest, testID, true), netip.MustParseAddrPort("192.0.2.1:5000"))
	if !ok || !bytes.HasPrefix(out, []byte("prefix")) {
		t.Fatalf("%q %v", out, ok)
	}
	if a, err := decode(t, out[len(dst):]).XORMappedAddress(); err != nil || a.String() != "192.0.2.1:5000" {
		t.Errorf("%v %v", a, err)
	}
	out, ok = s.AppendResponse(dst, []byte("junk"), netip.MustParseAddrPort("192.0.2.1:5000"))
	if ok || string(out) != "prefix" {
		t.Errorf("drop returned %q %v", out, ok)
	}
}

func TestServerConcurrentClients(t *testing.T) {
	srv := listenUDP(t, "udp4", "127.0.0.1:0")
	s := &Server{Workers: 4, BatchSize: 8}
	startServer(t, s, srv)
	const clients, each = 8, 200
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				errs <- err
				return
			}
			defer cl.Close()
			want := cl.LocalAddr().(*net.UDPAddr).AddrPort()
			buf := make([]byte, 1500)
			for i := range each {
				id := TransactionID{byte(c), byte(i), byte(i >> 8)}
				var b Builder
				b.Start(nil, BindingRequest, id)
				b.AddFingerprint()
				req, _ := b.Finish()
				if _, err := cl.WriteTo(req, srv.LocalAddr()); err != nil {
					errs <- err
					return
				}
				_ = cl.SetReadDeadline(time.Now().Add(2 * time.Second))
				n, _, err := cl.ReadFrom(buf)
				if err != nil {
					errs <- fmt.Errorf("client %d request %d: %w", c, i, err)
					return
				}
				var m Message
				if err := m.Decode(buf[:n]); err != nil {
					errs <- err
					return
				}
				got, err := m.XORMappedAddress()
				if m.TransactionID() != id || err != nil || got != want {
					errs <- fmt.Errorf("client %d: response %s, mapped %v (%v)", c, &m, got, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := s.Stats(); st.Responses != clients*each {
		t.Errorf("stats %+v", st)
	}
}

func TestServeStopsOnContext(t *testing.T) {
	srv := listenUDP(t, "udp4", "127.0.0.1:0")
	s := &Server{}
	stop := startServer(t, s, srv)
	cl := listenUDP(t, "udp4", "127.0.0.1:0")
	if exchange(t, cl, srv.LocalAddr(), request(t, BindingRequest, testID, false), 2*time.Second) == nil {
		t.Fatal("no answer")
	}
	start := time.Now()
	if err := stop(); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve returned %v, want ErrServerClosed", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Serve took %v to stop", d)
	}
	if exchange(t, cl, srv.LocalAddr(), request(t, BindingRequest, testID, false), 100*time.Millisecond) != nil {
		t.Error("answered after Serve returned")
	}
	// The deadline was cleared: the same socket serves again.
	_ = exchange(t, cl, nil, nil, 10*time.Millisecond) // nothing pending
	startServer(t, s, srv)
	if exchange(t, cl, srv.LocalAddr(), request(t, BindingRequest, testID, false), 2*time.Second) == nil {
		t.Fatal("no answer after restart")
	}

	// A context already done returns at once.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Serve(ctx, srv); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve with a done context: %v", err)
	}
}

func TestServeReturnsWhenConnClosed(t *testing.T) {
	srv, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- (&Server{}).Serve(context.Background(), srv) }()
	time.Sleep(20 * time.Millisecond)
	srv.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("Serve returned %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after Close")
	}
}

// plainPacketConn hides *net.UDPConn so that Serve takes the generic path.
type plainPacketConn struct{ net.PacketConn }

func TestServerGenericPacketConn(t *testing.T) {
	srv := listenUDP(t, "udp4", "127.0.0.1:0")
	startServer(t, &Server{Workers: 2}, plainPacketConn{srv})
	cl := listenUDP(t, "udp4", "127.0.0.1:0")
	resp := exchange(t, cl, srv.LocalAddr(), request(t, BindingRequest, testID, true), 2*time.Second)
	if resp == nil {
		t.Fatal("no answer")
	}
	if got, err := decode(t, resp).XORMappedAddress(); err != nil || got != cl.LocalAddr().(*net.UDPAddr).AddrPort() {
		t.Errorf("mapped %v %v", got, err)
	}
}

// TestServerUnbatchedUDP runs the ReadFromUDPAddrPort loop that platforms
// without recvmmsg use.
func TestServerUnbatchedUDP(t *testing.T) {
	srv, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{}
	done := make(chan error, 1)
	go func() { done <- s.serveUDP(srv) }()
	cl := listenUDP(t, "udp6", "[::1]:0")
	resp := exchange(t, cl, srv.LocalAddr(), request(t, BindingRequest, testID, true), 2*time.Second)
	if exchange(t, cl, srv.LocalAddr(), []byte("junk"), 50*time.Millisecond) != nil {
		t.Error("junk answered")
	}
	// Request and answer, measured over both goroutines: nothing allocates.
	dialed, err := net.DialUDP("udp6", nil, srv.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer dialed.Close()
	req := request(t, BindingRequest, testID, true)
	buf := make([]byte, 1500)
	roundTrip := func() {
		if _, err := dialed.Write(req); err != nil {
			t.Fatal(err)
		}
		if _, err := dialed.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
	roundTrip()
	if allocs := testing.AllocsPerRun(100, roundTrip); allocs != 0 {
		t.Errorf("%v allocations per request, want 0", allocs)
	}
	srv.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Errorf("serveUDP returned %v", err)
	}
	if resp == nil {
		t.Fatal("no answer")
	}
	if got, err := decode(t, resp).XORMappedAddress(); err != nil || got != cl.LocalAddr().(*net.UDPAddr).AddrPort() {
		t.Errorf("mapped %v %v", got, err)
	}
	if st := s.Stats(); st.Responses != 103 || st.Dropped != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestServerRespondAllocs(t *testing.T) {
	r := responder{s: &Server{Software: "streamwire"}}
	out := make([]byte, 0, 1600)
	from4 := netip.MustParseAddrPort("192.0.2.1:5000")
	from6 := netip.MustParseAddrPort("[2001:db8::1]:5000")
	ok := request(t, BindingRequest, testID, true)
	unknown := request(t, BindingRequest, testID, true, Attribute{Type: 0x7f01})
	junk := []byte("not a stun message at all")
	allocs := testing.AllocsPerRun(1000, func() {
		r.respond(out, ok, from4)
		r.respond(out, ok, from6)
		r.respond(out, unknown, from4)
		r.respond(out, junk, from4)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per run, want 0", allocs)
	}
}

// TestServerBatchAllocs drives one worker's batch cycle (recvmmsg, answer,
// sendmmsg) over a real socket and checks it allocates nothing.
func TestServerBatchAllocs(t *testing.T) {
	srv := listenUDP(t, "udp4", "127.0.0.1:0")
	bc, ok := newBatchConn(srv, 8, MaxRequestSize+MaxResponseGrowth)
	if !ok {
		t.Fatal("recvmmsg batching unavailable on this platform")
	}
	cl, err := net.DialUDP("udp4", nil, srv.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	r := responder{s: &Server{}}
	req := request(t, BindingRequest, testID, true)
	buf := make([]byte, 1500)
	const k = 4
	cycle := func() {
		for range k {
			_, _ = cl.Write(req)
		}
		got := 0
		for got < k {
			n, err := bc.ReadBatch()
			if err != nil {
				t.Fatal(err)
			}
			for i := range n {
				b, from, _ := bc.Datagram(i)
				if resp, _ := r.respond(bc.ResponseBuffer(), b, from); resp != nil {
					bc.QueueResponse(i, resp)
				}
			}
			if err := bc.Flush(); err != nil {
				t.Fatal(err)
			}
			got += n
		}
		for range k {
			if _, err := cl.Read(buf); err != nil {
				t.Fatal(err)
			}
		}
	}
	cycle() // warm up
	if allocs := testing.AllocsPerRun(200, cycle); allocs != 0 {
		t.Errorf("%v allocations per %d-datagram cycle, want 0", allocs, k)
	}
}

func BenchmarkServerRespond(b *testing.B) {
	r := responder{s: &Server{Software: "streamwire"}}
	out := make([]byte, 0, 1600)
	from := netip.MustParseAddrPort("192.0.2.1:5000")
	req := request(b, BindingRequest, testID, true)
	b.ReportAllocs()
	b.SetBytes(int64(len(req)))
	for b.Loop() {
		r.respond(out, req, from)
	}
}

// FuzzServerRespond answers arbitrary datagrams from an IPv4 and an IPv6
// source. Nothing may panic; an answer must stay within MaxResponseGrowth,
// decode, carry the request's transaction ID, be a Binding success with the
// source as XOR-MAPPED-ADDRESS or a 420, and carry a valid FINGERPRINT
// exactly when the request did. The seed corpus holds RFC 5769 and Chromium
// requests, turnutils_stunclient's requests (plain and RFC 5780), the
// bench generator's request, and messages that must be dropped.
func FuzzServerRespond(f *testing.F) {
	f.Add(request(f, BindingRequest, testID, true))
	sources := []netip.AddrPort{
		netip.MustParseAddrPort("203.0.113.5:40000"),
		netip.MustParseAddrPort("[2001:db8::5]:40000"),
	}
	r := responder{s: &Server{Software: "streamwire fuzz"}}
	f.Fuzz(func(t *testing.T, data []byte) {
		var req Message
		reqErr := req.Decode(data)
		for _, from := range sources {
			out, isErr := r.respond(nil, data, from)
			if out == nil {
				continue
			}
			if reqErr != nil {
				t.Fatalf("answered a message that does not decode: %v", reqErr)
			}
			if len(out)-len(data) > MaxResponseGrowth {
				t.Fatalf("%d-byte answer to a %d-byte request", len(out), len(data))
			}
			var m Message
			if err := m.Decode(out); err != nil {
				t.Fatalf("answer does not decode: %v", err)
			}
			if m.TransactionID() != req.TransactionID() {
				t.Fatal("transaction ID changed")
			}
			switch m.Type() {
			case BindingSuccess:
				if a, err := m.XORMappedAddress(); err != nil || a != from || isErr {
					t.Fatalf("XOR-MAPPED-ADDRESS %v %v", a, err)
				}
			case BindingError:
				if code, _, err := m.ErrorCode(); err != nil || code != CodeUnknownAttribute || !isErr {
					t.Fatalf("error %d %v", code, err)
				}
			default:
				t.Fatalf("answer of type %s", m.Type())
			}
			if (req.VerifyFingerprint() == nil) != (m.VerifyFingerprint() == nil) {
				t.Fatal("FINGERPRINT not mirrored")
			}
		}
	})
}

// A Server answers Binding requests on a UDP socket until its context is
// done; a Client asks it for the address it sees.
func ExampleServer() {
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	client, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	srv := &Server{Software: "example"}
	go func() { done <- srv.Serve(ctx, conn) }()

	var c Client
	mapped, err := c.Binding(context.Background(), client, conn.LocalAddr())
	fmt.Println(mapped.String() == client.LocalAddr().String(), err)

	stop()
	fmt.Println(<-done)
	fmt.Printf("%+v\n", srv.Stats())
	// Output:
	// true <nil>
	// stun: server closed
	// {Requests:1 Responses:1 Errors:0 Dropped:0}
}

// A program that reads the socket itself, for example to share one port
// between STUN and media (RFC 7983), answers each STUN datagram with
// AppendResponse.
func ExampleServer_AppendResponse() {
	var s Server
	var b Builder
	b.Start(nil, BindingRequest, TransactionID{1, 2, 3})
	b.AddFingerprint()
	req, _ := b.Finish()

	from := netip.MustParseAddrPort("203.0.113.7:40000")
	resp, ok := s.AppendResponse(make([]byte, 0, 128), req, from)
	var m Message
	_ = m.Decode(resp)
	mapped, _ := m.XORMappedAddress()
	fmt.Println(ok, m.Type(), mapped, len(resp)-len(req) <= MaxResponseGrowth)
	// Output:
	// true Binding success response 203.0.113.7:40000 true
}
