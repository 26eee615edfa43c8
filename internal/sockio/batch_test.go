package sockio

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"
)

// impl builds a BatchConn on c one way: natively where the platform has
// it, or through the portable implementation, which every platform can
// run and which is tested explicitly here, on Linux too.
type impl struct {
	name string
	new  func(t testing.TB, c net.PacketConn, cfg BatchConfig) *BatchConn
}

var impls = []impl{
	{"native", func(t testing.TB, c net.PacketConn, cfg BatchConfig) *BatchConn {
		b, err := NewBatchConn(c, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}},
	{"portable", func(_ testing.TB, c net.PacketConn, _ BatchConfig) *BatchConn {
		return &BatchConn{io: newPortable(c)}
	}},
}

// listenUDP binds a UDP socket on loopback and closes it at the end.
func listenUDP(t testing.TB, network, addr string) *net.UDPConn {
	t.Helper()
	c, err := listenPacket(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.UDPConn)
}

func addrPort(c net.PacketConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }

// readAll reads until want datagrams came, or fails after 5 s.
func readAll(t testing.TB, c net.PacketConn, b *BatchConn, ms []Message, want int) []Message {
	t.Helper()
	var got []Message
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	for len(got) < want {
		n, err := b.ReadBatch(ms)
		if err != nil {
			t.Fatalf("after %d of %d datagrams: %v", len(got), want, err)
		}
		for _, m := range ms[:n] {
			m.Buf = bytes.Clone(m.Buf[:m.N])
			got = append(got, m)
		}
	}
	return got
}

func TestBatchRoundTrip(t *testing.T) {
	for _, im := range impls {
		for _, network := range []string{"udp4", "udp6"} {
			t.Run(im.name+"/"+network, func(t *testing.T) {
				host := "127.0.0.1:0"
				if network == "udp6" {
					host = "[::1]:0"
				}
				srv := listenUDP(t, network, host)
				cl := listenUDP(t, network, host)
				b := im.new(t, srv, BatchConfig{Size: 4}) // fewer than the datagrams: several calls
				const k = 10
				out := make([]Message, k)
				for i := range out {
					out[i] = Message{Buf: fmt.Appendf(nil, "datagram %d", i), Addr: addrPort(srv)}
				}
				cb := im.new(t, cl, BatchConfig{Size: 4})
				if n, err := cb.WriteBatch(out); n != k || err != nil {
					t.Fatalf("WriteBatch = %d, %v", n, err)
				}
				for i, m := range out {
					if m.N != len(m.Buf) {
						t.Errorf("out[%d].N = %d, want %d", i, m.N, len(m.Buf))
					}
				}
				got := readAll(t, srv, b, NewMessages(k, 64), k)
				for i, m := range got {
					if string(m.Buf) != fmt.Sprintf("datagram %d", i) || m.Addr != addrPort(cl) || m.Truncated || m.Local.IsValid() {
						t.Errorf("datagram %d: %q from %v, truncated %v, local %v", i, m.Buf, m.Addr, m.Truncated, m.Local)
					}
				}
				// Answer every datagram at its source.
				for i := range got {
					got[i].Buf = append(got[i].Buf, " answered"...)
				}
				if n, err := b.WriteBatch(got); n != k || err != nil {
					t.Fatalf("answer: %d, %v", n, err)
				}
				for i, m := range readAll(t, cl, cb, NewMessages(3, 64), k) {
					if want := fmt.Sprintf("datagram %d answered", i); string(m.Buf) != want || m.Addr != addrPort(srv) {
						t.Errorf("answer %d: %q from %v", i, m.Buf, m.Addr)
					}
				}
			})
		}
	}
}

// TestBatchDualStack: an IPv4 peer of a dual-stack socket is reported as
// IPv4, and answered at that address.
func TestBatchDualStack(t *testing.T) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			srv := listenUDP(t, "udp", "[::]:0")
			cl := listenUDP(t, "udp4", "127.0.0.1:0")
			b := im.new(t, srv, BatchConfig{})
			to := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), addrPort(srv).Port())
			if _, err := cl.WriteToUDPAddrPort([]byte("v4"), to); err != nil {
				t.Fatal(err)
			}
			got := readAll(t, srv, b, NewMessages(2, 16), 1)
			if got[0].Addr != addrPort(cl) {
				t.Fatalf("source %v, want %v", got[0].Addr, addrPort(cl))
			}
			if _, err := b.WriteBatch(got); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 16)
			cl.SetReadDeadline(time.Now().Add(5 * time.Second))
			if n, from, err := cl.ReadFromUDPAddrPort(buf); err != nil || string(buf[:n]) != "v4" || from != to {
				t.Fatalf("answer %q from %v, %v", buf[:n], from, err)
			}
		})
	}
}

func TestBatchTruncated(t *testing.T) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			srv := listenUDP(t, "udp4", "127.0.0.1:0")
			cl := listenUDP(t, "udp4", "127.0.0.1:0")
			b := im.new(t, srv, BatchConfig{})
			for _, d := range []string{"0123456789abcdef", "short"} {
				if _, err := cl.WriteToUDPAddrPort([]byte(d), addrPort(srv)); err != nil {
					t.Fatal(err)
				}
			}
			got := readAll(t, srv, b, NewMessages(4, 8), 2)
			if !got[0].Truncated || got[0].N != 8 || string(got[0].Buf) != "01234567" {
				t.Errorf("long datagram: %q truncated %v", got[0].Buf, got[0].Truncated)
			}
			if got[1].Truncated || string(got[1].Buf) != "short" {
				t.Errorf("short datagram: %q truncated %v", got[1].Buf, got[1].Truncated)
			}
		})
	}
}

// TestBatchWaits: a read with nothing queued waits in the poller (the
// system call said EAGAIN) and returns once a datagram comes; past the
// deadline it fails with a timeout.
func TestBatchWaits(t *testing.T) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			srv := listenUDP(t, "udp4", "127.0.0.1:0")
			cl := listenUDP(t, "udp4", "127.0.0.1:0")
			b := im.new(t, srv, BatchConfig{})
			ms := NewMessages(4, 16)

			srv.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
			start := time.Now()
			n, err := b.ReadBatch(ms)
			var ne net.Error
			if n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
				t.Fatalf("read past deadline: %d, %v", n, err)
			}
			if d := time.Since(start); d < 25*time.Millisecond {
				t.Fatalf("deadline read returned after %v", d)
			}

			srv.SetReadDeadline(time.Now().Add(5 * time.Second))
			timer := time.AfterFunc(50*time.Millisecond, func() { cl.WriteToUDPAddrPort([]byte("late"), addrPort(srv)) })
			defer timer.Stop()
			n, err = b.ReadBatch(ms)
			if n != 1 || err != nil || string(ms[0].Buf[:ms[0].N]) != "late" {
				t.Fatalf("waiting read: %d, %v", n, err)
			}
		})
	}
}

func TestBatchClosed(t *testing.T) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			srv := listenUDP(t, "udp4", "127.0.0.1:0")
			b := im.new(t, srv, BatchConfig{})
			ms := NewMessages(2, 16)
			done := make(chan error, 1)
			go func() {
				_, err := b.ReadBatch(ms)
				done <- err
			}()
			time.Sleep(20 * time.Millisecond)
			srv.Close()
			select {
			case err := <-done:
				if !errors.Is(err, net.ErrClosed) {
					t.Errorf("read on closed socket: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Close did not end a blocked ReadBatch")
			}
			out := []Message{{Buf: []byte("x"), Addr: netip.MustParseAddrPort("127.0.0.1:9")}}
			n, err := b.WriteBatch(out)
			if n != 0 || !errors.Is(err, net.ErrClosed) || Refused(err) {
				t.Errorf("write on closed socket: %d, %v (refused %v)", n, err, Refused(err))
			}
		})
	}
}

// TestBatchRefused: a datagram that cannot go (an IPv6 destination on an
// IPv4 socket) stops WriteBatch at its index with a refusal; the ones
// before it went, and the caller can go on after it.
func TestBatchRefused(t *testing.T) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			srv := listenUDP(t, "udp4", "127.0.0.1:0")
			cl := listenUDP(t, "udp4", "127.0.0.1:0")
			b := im.new(t, cl, BatchConfig{})
			to := addrPort(srv)
			out := []Message{
				{Buf: []byte("one"), Addr: to},
				{Buf: []byte("bad"), Addr: netip.MustParseAddrPort("[2001:db8::1]:9")},
				{Buf: []byte("two"), Addr: to},
				{Buf: []byte("zero"), Addr: netip.AddrPort{}},
			}
			n, err := b.WriteBatch(out)
			if n != 1 || !Refused(err) {
				t.Fatalf("WriteBatch = %d, %v; want 1 and a refusal", n, err)
			}
			if n, err = b.WriteBatch(out[2:]); n != 1 || !Refused(err) {
				t.Fatalf("rest: %d, %v; want 1 and a refusal", n, err)
			}
			got := readAll(t, srv, im.new(t, srv, BatchConfig{}), NewMessages(4, 16), 2)
			if string(got[0].Buf) != "one" || string(got[1].Buf) != "two" {
				t.Fatalf("received %q, %q", got[0].Buf, got[1].Buf)
			}
		})
	}
}

// TestBatchReadWhileWrite: one goroutine reads a BatchConn while another
// writes on it, as documented (run with -race).
func TestBatchReadWhileWrite(t *testing.T) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			srv := listenUDP(t, "udp4", "127.0.0.1:0")
			cl := listenUDP(t, "udp4", "127.0.0.1:0")
			b := im.new(t, srv, BatchConfig{Size: 4})
			const k = 200
			done := make(chan int, 1)
			go func() {
				got := 0
				defer func() { done <- got }()
				ms := NewMessages(4, 16)
				srv.SetReadDeadline(time.Now().Add(5 * time.Second))
				for got < k {
					n, err := b.ReadBatch(ms)
					if err != nil {
						t.Error(err) // not Fatal: this is not the test's goroutine
						return
					}
					got += n
				}
			}()
			out := []Message{{Buf: []byte("ping"), Addr: addrPort(cl)}}
			go func() {
				for range k {
					if _, err := b.WriteBatch(out); err != nil {
						t.Error(err)
						return
					}
				}
			}()
			cb := im.new(t, cl, BatchConfig{Size: 4})
			echo := readAll(t, cl, cb, NewMessages(4, 16), k) // b's writes
			for i := range echo {
				echo[i].Addr = addrPort(srv)
			}
			if _, err := cb.WriteBatch(echo); err != nil { // b's reads
				t.Fatal(err)
			}
			if n := <-done; n != k {
				t.Fatalf("read %d datagrams, want %d", n, k)
			}
		})
	}
}

// TestBatchConfig: what NewBatchConn accepts and what it picks.
func TestBatchConfig(t *testing.T) {
	if _, err := NewBatchConn(nil, BatchConfig{}); err == nil {
		t.Error("nil connection accepted")
	}
	// A PacketConn that is not a socket takes the portable path, and
	// cannot report packet information.
	srv := listenUDP(t, "udp4", "127.0.0.1:0")
	wrapped := struct{ net.PacketConn }{srv}
	b, err := NewBatchConn(wrapped, BatchConfig{})
	if err != nil || b.Batched() {
		t.Fatalf("wrapped conn: batched %v, %v", b != nil && b.Batched(), err)
	}
	if _, err := NewBatchConn(wrapped, BatchConfig{PacketInfo: true}); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("packet info on a wrapped conn: %v, want ErrUnsupported", err)
	}
	// It still moves datagrams (ReadFrom/WriteTo).
	cl := listenUDP(t, "udp4", "127.0.0.1:0")
	if _, err := b.WriteBatch([]Message{{Buf: []byte("hi"), Addr: addrPort(cl)}}); err != nil {
		t.Fatal(err)
	}
	cb, _ := NewBatchConn(cl, BatchConfig{})
	if got := readAll(t, cl, cb, NewMessages(1, 8), 1); string(got[0].Buf) != "hi" || got[0].Addr != addrPort(srv) {
		t.Errorf("got %q from %v", got[0].Buf, got[0].Addr)
	}
	// The portable path refuses to pick a source address rather than
	// sending from another one.
	p := &BatchConn{io: newPortable(srv)}
	_, err = p.WriteBatch([]Message{{Buf: []byte("x"), Addr: addrPort(cl), Local: netip.MustParseAddr("127.0.0.1")}})
	if !errors.Is(err, errors.ErrUnsupported) || !Refused(err) {
		t.Errorf("portable write with a source address: %v", err)
	}
}

func TestNewMessages(t *testing.T) {
	ms := NewMessages(3, 5)
	for i, m := range ms {
		if len(m.Buf) != 5 || cap(m.Buf) != 5 {
			t.Fatalf("ms[%d].Buf len %d cap %d", i, len(m.Buf), cap(m.Buf))
		}
	}
	ms[0].Buf = append(ms[0].Buf, 'x') // must not run into ms[1]
	if &ms[0].Buf[0] == &ms[1].Buf[0] || ms[1].Buf[0] != 0 {
		t.Fatal("buffers overlap")
	}
}

// TestBatchAllocs: a cycle of k datagrams read and answered in batches,
// with the peer's side in the same goroutine, allocates nothing.
func TestBatchAllocs(t *testing.T) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			srv := listenUDP(t, "udp4", "127.0.0.1:0")
			cl := listenUDP(t, "udp4", "127.0.0.1:0")
			b := im.new(t, srv, BatchConfig{Size: 8})
			cb := im.new(t, cl, BatchConfig{Size: 8})
			const k = 8
			cycle := batchCycle(t, b, cb, NewMessages(k, 256), NewMessages(k, 256), addrPort(srv))
			cycle()
			if a := testing.AllocsPerRun(100, cycle); a != 0 {
				t.Errorf("%v allocations per %d-datagram cycle, want 0", a, k)
			}
		})
	}
}

// batchCycle returns a function that sends len(out) datagrams from cb to
// dst, reads them with b, echoes them back with b and reads the echoes
// with cb.
func batchCycle(t testing.TB, b, cb *BatchConn, in, out []Message, dst netip.AddrPort) func() {
	for i := range out {
		out[i].Addr = dst
	}
	echo := make([]Message, len(in))
	return func() {
		if _, err := cb.WriteBatch(out); err != nil {
			t.Fatal(err)
		}
		for got := 0; got < len(out); {
			n, err := b.ReadBatch(in)
			if err != nil {
				t.Fatal(err)
			}
			for i := range n {
				echo[i] = Message{Buf: in[i].Buf[:in[i].N], Addr: in[i].Addr, Local: in[i].Local, IfIndex: in[i].IfIndex}
			}
			if _, err := b.WriteBatch(echo[:n]); err != nil {
				t.Fatal(err)
			}
			got += n
		}
		for got := 0; got < len(out); {
			n, err := cb.ReadBatch(in)
			if err != nil {
				t.Fatal(err)
			}
			got += n
		}
	}
}
