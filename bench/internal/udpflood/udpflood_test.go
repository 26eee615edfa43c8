//go:build linux

package udpflood

import (
	"encoding/binary"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// server reads every datagram of a loopback socket and hands it to got,
// until the test ends.
func server(t *testing.T, got func(b []byte, from netip.AddrPort, conn *net.UDPConn)) netip.AddrPort {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadBuffer(4 << 20)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			got(buf[:n], from, conn)
		}
	}()
	t.Cleanup(func() { conn.Close(); wg.Wait() })
	return conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

func newPeers(t *testing.T, n, senders int) *Peers {
	t.Helper()
	p, err := NewPeers(n, senders)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// numbered returns a datagram carrying j.
func numbered(j int) []byte { return binary.BigEndian.AppendUint32(make([]byte, 0, 100), uint32(j)) }

// TestFloodRoundRobin: every endpoint sends from its own address, in turn,
// and the window and Settle account for every datagram.
func TestFloodRoundRobin(t *testing.T) {
	const n, rounds = 50, 10
	p := newPeers(t, n, 3)
	var mu sync.Mutex
	counts := make(map[netip.AddrPort]int)
	var received atomic.Int64
	var order []int
	target := server(t, func(b []byte, from netip.AddrPort, _ *net.UDPConn) {
		j := int(binary.BigEndian.Uint32(b))
		mu.Lock()
		if j < n && p.Addr(j) == from {
			counts[from]++
		}
		order = append(order, j)
		mu.Unlock()
		received.Add(1)
	})
	f, err := New(p, Config{Target: target, Datagram: numbered, Done: received.Load, Window: 64, Batch: 8})
	if err != nil {
		t.Fatal(err)
	}
	for range n * rounds {
		if err := f.Send(); err != nil {
			t.Fatal(err)
		}
	}
	done, err := f.Settle()
	if err != nil {
		t.Fatal(err)
	}
	if f.Sent() != n*rounds || done != n*rounds || f.Stalls() != 0 {
		t.Fatalf("sent %d, done %d, stalls %d; want %d, %d, 0", f.Sent(), done, f.Stalls(), n*rounds, n*rounds)
	}
	mu.Lock()
	defer mu.Unlock()
	for j := range n {
		if counts[p.Addr(j)] != rounds {
			t.Errorf("endpoint %d (%v): %d datagrams from its address, want %d", j, p.Addr(j), counts[p.Addr(j)], rounds)
		}
	}
	// Each sender socket's batch holds endpoints s, s+3, s+6, ...
	for i := 1; i < 8; i++ {
		if order[i] != order[i-1]+3 && order[i-1]+3 < n {
			t.Fatalf("batch order %v, want steps of 3", order[:8])
		}
	}
}

// TestFloodStallCountsLost: when nothing completes, a full window waits
// Stall, then counts its datagrams lost and goes on.
func TestFloodStallCountsLost(t *testing.T) {
	p := newPeers(t, 4, 1)
	target := server(t, func([]byte, netip.AddrPort, *net.UDPConn) {})
	f, err := New(p, Config{Target: target, Datagram: numbered, Done: func() int64 { return 0 },
		Window: 16, Batch: 4, Stall: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for range 64 {
		if err := f.Send(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.Settle(); err != nil {
		t.Fatal(err)
	}
	if f.Sent() != 64 || f.Stalls() != 3 {
		t.Errorf("sent %d, stalls %d; want 64 and 3 (each stall frees the 16-datagram window)", f.Sent(), f.Stalls())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

// TestSinkReceivesReplies: what the server sends to an endpoint's address
// arrives on its sink, and DrainSinks empties them.
func TestSinkReceivesReplies(t *testing.T) {
	p := newPeers(t, 6, 2)
	target := server(t, func(b []byte, from netip.AddrPort, c *net.UDPConn) {
		_, _ = c.WriteToUDPAddrPort(b, from)
	})
	buf := make([]byte, 100)
	for j := range p.Len() {
		if err := p.WriteFrom(j, numbered(j), target); err != nil {
			t.Fatal(err)
		}
		n, err := p.ReadSink(j, buf, time.Now().Add(2*time.Second))
		if err != nil || n != 4 || binary.BigEndian.Uint32(buf) != uint32(j) {
			t.Fatalf("sink %d: %d bytes %x, %v", j, n, buf[:n], err)
		}
	}
	for range 2 {
		if err := p.WriteFrom(1, numbered(1), target); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond)
	if err := p.DrainSinks(); err != nil {
		t.Fatal(err)
	}
	if n, err := p.ReadSink(1, buf, time.Now().Add(50*time.Millisecond)); err == nil {
		t.Errorf("sink 1 still held %d bytes after DrainSinks", n)
	}
}

// TestSendAllocs: the sender allocates nothing, so that allocations
// counted during a benchmark are the server's.
func TestSendAllocs(t *testing.T) {
	p := newPeers(t, 10, 2)
	var received atomic.Int64
	target := server(t, func([]byte, netip.AddrPort, *net.UDPConn) { received.Add(1) })
	f, err := New(p, Config{Target: target, Datagram: numbered, Done: received.Load, Window: 64, Batch: 4})
	if err != nil {
		t.Fatal(err)
	}
	if a := testing.AllocsPerRun(2000, func() {
		if err := f.Send(); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("%v allocations per Send", a)
	}
}

var sink []byte

// TestMeterSplitsCPU: the metering goroutine's CPU is the sender's, any
// other goroutine's is the server's.
func TestMeterSplitsCPU(t *testing.T) {
	const burn = 20 * time.Millisecond
	m := StartMeter()
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		spin(burn)
		close(done)
	}()
	spin(burn)
	<-done
	for range 100 {
		sink = make([]byte, 64)
	}
	u := m.Stop()
	if u.Sender < burn || u.Server() < burn || u.Wall <= 0 || u.Mallocs < 100 {
		t.Errorf("%+v, server %v; want sender and server CPU >= %v, >= 100 mallocs", u, u.Server(), burn)
	}
}

// spin burns d of the calling thread's CPU time.
func spin(d time.Duration) {
	start := cpuClock(unix.CLOCK_THREAD_CPUTIME_ID)
	for cpuClock(unix.CLOCK_THREAD_CPUTIME_ID)-start < d {
	}
}

func TestNewPeersRejectsBadSizes(t *testing.T) {
	for _, n := range []int{0, -1, 1 << 20} {
		if p, err := NewPeers(n, 1); err == nil {
			p.Close()
			t.Errorf("NewPeers(%d, 1) succeeded", n)
		}
	}
	if _, err := New(newPeers(t, 1, 1), Config{}); err == nil {
		t.Error("New with an empty Config succeeded")
	}
}
