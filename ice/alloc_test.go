package ice

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streamwire/streamwire/stun"
)

// testReader is a Mux's reader driven by hand: datagrams are put into its
// batch as if the socket had delivered them, and responses really go out
// on a loopback socket.
type testReader struct {
	m *Mux
	r *reader
	s *Session
}

func newTestReader(tb testing.TB) *testReader {
	tb.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	m := NewMux(conn, MuxConfig{})
	bc, err := newReadConn(conn, m.batch)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := m.NewSession(testLocal, testRemote)
	if err != nil {
		tb.Fatal(err)
	}
	return &testReader{m: m, r: m.newReader(bc), s: s}
}

// feed handles d as datagram 0 of a batch from from, and writes the
// response if there is one. It reports whether a response was queued.
func (tr *testReader) feed(tb testing.TB, d []byte, from netip.AddrPort) bool {
	in := &tr.r.in[0]
	in.N = copy(in.Buf, d)
	in.Addr, in.Local, in.IfIndex, in.Truncated = from, netip.Addr{}, 0, len(d) > len(in.Buf)
	tr.r.handleBatch(1)
	answered := tr.r.nout > 0
	if err := tr.r.flush(); err != nil {
		tb.Fatal(err)
	}
	return answered
}

func TestMuxDispatchAllocs(t *testing.T) {
	tr := newTestReader(t)
	sink := newPeer(t) // responses go here and are never read
	from := addrOf(sink)
	req := check{useCand: true}.build(t)
	if !tr.feed(t, req, from) {
		t.Fatal("check not answered")
	}
	forged := check{pwd: "notTheServerPassword1234"}.build(t)
	var b stun.Builder
	b.Start(nil, stun.GoogPingRequest, testTxn)
	b.AddGoogMessageIntegrity32(stun.NewShortTermIntegrity(testLocal.Pwd))
	ping, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if !tr.feed(t, ping, from) {
		t.Fatal("GOOG-PING not answered")
	}
	buf := make([]byte, 1500)
	for name, f := range map[string]func(){
		"check": func() { tr.feed(t, req, from) },
		"route DTLS and Read": func() {
			tr.feed(t, dtlsRecord, from)
			if n, _ := tr.s.Read(buf); n != len(dtlsRecord) {
				t.Fatal("not routed")
			}
		},
		"unknown address": func() { tr.feed(t, rtpPacket, netip.MustParseAddrPort("127.0.0.2:9")) },
		"GOOG-PING":       func() { tr.feed(t, ping, from) },
		"session Write": func() {
			if _, err := tr.s.Write(rtpPacket); err != nil {
				t.Fatal(err)
			}
		},
		"wrong integrity": func() { tr.feed(t, forged, from) },
	} {
		if got := testing.AllocsPerRun(1000, f); got != 0 {
			t.Errorf("%s: %v allocations per datagram, want 0", name, got)
		}
	}
}

func BenchmarkMuxRoute(b *testing.B) {
	tr := newTestReader(b)
	sink := newPeer(b)
	from := addrOf(sink)
	tr.feed(b, check{useCand: true}.build(b), from)
	buf := make([]byte, 1500)
	pkt := make([]byte, 1200)
	pkt[0] = 0x80
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	cpu := startCPU()
	for b.Loop() {
		tr.r.in[0].N = copy(tr.r.in[0].Buf, pkt)
		tr.r.in[0].Addr = from
		tr.r.handle(0)
		if _, err := tr.s.Read(buf); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b)
}

func BenchmarkMuxCheck(b *testing.B) {
	tr := newTestReader(b)
	sink := newPeer(b)
	from := addrOf(sink)
	req := check{useCand: true}.build(b)
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		tr.feed(b, req, from)
	}
	cpu.report(b)
}

// BenchmarkMuxCheckNoSend is the Mux's own cost of a check: decode, route
// by ufrag, HMAC verify, fingerprint, build the response; the send is left
// out.
func BenchmarkMuxCheckNoSend(b *testing.B) {
	tr := newTestReader(b)
	from := addrOf(newPeer(b))
	req := check{useCand: true}.build(b)
	in := &tr.r.in[0]
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		in.N = copy(in.Buf, req)
		in.Addr = from
		tr.r.handleBatch(1)
		tr.r.nout = 0
	}
	cpu.report(b)
}

// BenchmarkMuxPlainNoSend is BenchmarkMuxCheckNoSend for a plain Binding
// request (no USERNAME, FINGERPRINT only, as browsers send to a STUN
// server), answered as stun.Server answers it: the floor that a check adds
// its two HMACs and its session lookup to.
func BenchmarkMuxPlainNoSend(b *testing.B) {
	tr := newTestReader(b)
	from := addrOf(newPeer(b))
	var bld stun.Builder
	bld.Start(nil, stun.BindingRequest, testTxn)
	bld.AddFingerprint()
	req, err := bld.Finish()
	if err != nil {
		b.Fatal(err)
	}
	in := &tr.r.in[0]
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		in.N = copy(in.Buf, req)
		in.Addr = from
		tr.r.handleBatch(1)
		if tr.r.nout != 1 {
			b.Fatal("not answered")
		}
		tr.r.nout = 0
	}
	cpu.report(b)
}

// TestTCPAllocs: over a real loopback connection, routing a media frame to
// the session's Read, answering a check, and the session's framed Write
// and WriteBatch allocate nothing, the Mux's reader goroutine included
// (AllocsPerRun counts every goroutine's allocations).
func TestTCPAllocs(t *testing.T) {
	m, _, addr := startTCPMux(t, MuxConfig{})
	s := newTestSession(t, m)
	c := dialTCP(t, addr, netip.Addr{})
	mustSucceed(t, checkTCP(t, c, check{useCand: true}), tcpAddrOf(c))
	req := frame(check{useCand: true}.build(t))
	media := frame(rtpPacket)
	batch := [][]byte{rtpPacket, dtlsRecord, rtpPacket}
	buf := make([]byte, 1500)
	in := make([]byte, 1500)
	// readFrame reads one frame of c into in without allocating.
	readFrame := func() []byte {
		if _, err := io.ReadFull(c, in[:2]); err != nil {
			t.Fatal(err)
		}
		n := int(binary.BigEndian.Uint16(in[:2]))
		if _, err := io.ReadFull(c, in[:n]); err != nil {
			t.Fatal(err)
		}
		return in[:n]
	}
	_ = c.SetReadDeadline(time.Now().Add(time.Minute))
	_ = s.SetReadDeadline(time.Now().Add(time.Minute))
	for name, f := range map[string]func(){
		"route and Read": func() {
			writeAll(t, c, media)
			if n, _ := s.Read(buf); n != len(rtpPacket) {
				t.Fatal("not routed")
			}
		},
		"check": func() {
			writeAll(t, c, req)
			if b := readFrame(); b[0] != 1 || b[1] != 1 {
				t.Fatalf("answer %x", b)
			}
		},
		"session Write": func() {
			if _, err := s.Write(rtpPacket); err != nil {
				t.Fatal(err)
			}
			if b := readFrame(); len(b) != len(rtpPacket) {
				t.Fatalf("peer got %x", b)
			}
		},
		"session WriteBatch": func() {
			if n, err := s.WriteBatch(batch); n != len(batch) || err != nil {
				t.Fatal(n, err)
			}
			for range batch {
				readFrame()
			}
		},
	} {
		f() // the first write makes the framing buffer
		if got := testing.AllocsPerRun(1000, f); got != 0 {
			t.Errorf("%s: %v allocations per frame, want 0", name, got)
		}
	}
}

// benchTCPSession returns a session nominated over a loopback ICE-TCP
// connection, and that connection (the peer's end).
func benchTCPSession(b *testing.B) (*Session, *net.TCPConn) {
	conn := newPeer(b) // the Mux's UDP socket, not served: sessions need one
	m := NewMux(conn, MuxConfig{})
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = m.ServeTCP(context.Background(), ln); close(done) }()
	b.Cleanup(func() { _ = m.Close(); <-done })
	s, err := m.NewSession(testLocal, testRemote)
	if err != nil {
		b.Fatal(err)
	}
	c := dialTCP(b, ln.Addr().(*net.TCPAddr).AddrPort(), netip.Addr{})
	mustSucceed(b, checkTCP(b, c, check{useCand: true}), tcpAddrOf(c))
	_ = c.SetReadDeadline(time.Time{})
	return s, c
}

// BenchmarkTCPRoute: 1,200-byte RFC 4571 frames written by the peer on
// loopback, 32 per write, read by the connection's reader, routed, and
// read from the session: the whole ICE-TCP receive path, system calls
// included. At most 64 frames are in flight, so the session's queue never
// overflows.
func BenchmarkTCPRoute(b *testing.B) {
	s, c := benchTCPSession(b)
	pkt := make([]byte, 1200)
	pkt[0] = 0x80
	const chunk = 32
	var frames []byte
	for range chunk {
		frames = appendFrame(frames, pkt)
	}
	window := make(chan struct{}, 2*chunk)
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	b.ResetTimer()
	go func() {
		for sent := 0; sent < b.N; sent += chunk {
			n := min(chunk, b.N-sent)
			for range n {
				window <- struct{}{}
			}
			if _, err := c.Write(frames[:n*(2+len(pkt))]); err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 1500)
	for range b.N {
		if _, err := s.Read(buf); err != nil {
			b.Fatal(err)
		}
		<-window
	}
}

// BenchmarkTCPWrite: Session.Write of a 1,200-byte packet on an ICE-TCP
// path (framing, write deadline, one write system call), the peer
// draining on another goroutine.
func BenchmarkTCPWrite(b *testing.B) {
	s, c := benchTCPSession(b)
	go func() { _, _ = io.Copy(io.Discard, c) }()
	pkt := make([]byte, 1200)
	pkt[0] = 0x80
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		if _, err := s.Write(pkt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTCPWriteBatch: Session.WriteBatch of 16 packets of 1,200 bytes
// on an ICE-TCP path, coalesced into writes of the 8 KiB framing buffer.
func BenchmarkTCPWriteBatch(b *testing.B) {
	s, c := benchTCPSession(b)
	go func() { _, _ = io.Copy(io.Discard, c) }()
	batch := make([][]byte, 16)
	for i := range batch {
		batch[i] = make([]byte, 1200)
		batch[i][0] = 0x80
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(batch) * 1200))
	for b.Loop() {
		if _, err := s.WriteBatch(batch); err != nil {
			b.Fatal(err)
		}
	}
}

// benchSessions registers n sessions on tr's Mux, each validated and
// nominated by a check from its own address (10.x.y.z, never sent to:
// the benchmarks using it do not write), and returns each session's
// address and consent check (no USE-CANDIDATE, as a browser sends once
// connected).
func benchSessions(b *testing.B, tr *testReader, n int) (addrs []netip.AddrPort, checks [][]byte, sessions []*Session) {
	b.Helper()
	var id stun.TransactionID
	for j := range n {
		local, err1 := NewCredentials(nil)
		remote, err2 := NewCredentials(nil)
		if err1 != nil || err2 != nil {
			b.Fatal(err1, err2)
		}
		s, err := tr.m.NewSession(local, remote)
		if err != nil {
			b.Fatal(err)
		}
		from := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(j >> 16), byte(j >> 8), byte(j)}), 40000)
		key := stun.NewShortTermIntegrity(local.Pwd)
		build := func(nominate bool) []byte {
			var bld stun.Builder
			binary.BigEndian.PutUint32(id[:], uint32(j))
			bld.Start(nil, stun.BindingRequest, id)
			bld.AddUsername(local.Ufrag + ":" + remote.Ufrag)
			bld.AddGoogNetworkInfo(1, 10)
			bld.AddICEControlling(0x932ff9b151263b36)
			if nominate {
				bld.AddUseCandidate()
			}
			bld.AddPriority(Priority(TypePrflx.Preference(), DefaultLocalPreference, 1))
			bld.AddMessageIntegrity(key)
			bld.AddFingerprint()
			out, err := bld.Finish()
			if err != nil {
				b.Fatal(err)
			}
			return out
		}
		in := &tr.r.in[0]
		in.N, in.Addr = copy(in.Buf, build(true)), from
		tr.r.handle(0)
		if tr.r.nout != 1 {
			b.Fatalf("session %d: check not answered", j)
		}
		tr.r.nout = 0
		addrs = append(addrs, from)
		checks = append(checks, build(false))
		sessions = append(sessions, s)
	}
	return addrs, checks, sessions
}

// BenchmarkMuxCheckSessions is BenchmarkMuxCheckNoSend with n sessions
// answering their checks round-robin, each from its own address, in
// batches as the reader reads them: with many sessions, each check finds
// its session's state (its keyed HMAC above all) cold in the cache, as a
// busy server does.
func BenchmarkMuxCheckSessions(b *testing.B) {
	for _, n := range []int{1, 1000, 10000} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			tr := newTestReader(b)
			addrs, checks, _ := benchSessions(b, tr, n)
			batch := len(tr.r.in)
			before := tr.m.Stats().Checks
			b.ReportAllocs()
			cpu := startCPU()
			j, k := 0, 0
			for b.Loop() {
				in := &tr.r.in[k]
				in.N, in.Addr = copy(in.Buf, checks[j]), addrs[j]
				if j++; j == n {
					j = 0
				}
				if k++; k == batch {
					tr.r.handleBatch(k)
					tr.r.nout, k = 0, 0
				}
			}
			tr.r.handleBatch(k)
			tr.r.nout = 0
			cpu.report(b)
			if got := tr.m.Stats().Checks - before; got != uint64(b.N) {
				b.Fatalf("%d of %d checks answered", got, b.N)
			}
		})
	}
}

// BenchmarkMuxRouteSessions: media datagrams handed round-robin, in
// batches as the reader reads them, to n sessions, each read by its own
// goroutine blocked in ReadPacket, as a media server's are: the cost of
// routing, queueing and waking the session's reader, per datagram, the
// socket left out. At most 2,048 datagrams are in flight, as
// bench/internal/udpflood keeps, and at most 16 per session (64 for one
// session, half its queue), so no queue overflows.
func BenchmarkMuxRouteSessions(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			tr := newTestReader(b)
			addrs, _, sessions := benchSessions(b, tr, n)
			var delivered atomic.Int64
			var wg sync.WaitGroup
			for _, s := range sessions {
				wg.Add(1)
				go func() {
					defer wg.Done()
					buf := make([]byte, 1500)
					for {
						if _, _, err := s.ReadPacket(buf); err != nil {
							return
						}
						delivered.Add(1)
					}
				}()
			}
			b.Cleanup(func() {
				_ = tr.m.Close()
				wg.Wait()
			})
			pkt := make([]byte, 1200)
			pkt[0] = 0x80
			window := int64(min(max(16*n, 64), 2048))
			batch := len(tr.r.in)
			b.ReportAllocs()
			b.SetBytes(int64(len(pkt)))
			sent, j := int64(0), 0
			cpu := startCPU()
			for b.Loop() {
				in := &tr.r.in[sent%int64(batch)]
				in.N, in.Addr = copy(in.Buf, pkt), addrs[j]
				if j++; j == n {
					j = 0
				}
				if sent++; sent%int64(batch) == 0 {
					tr.r.handleBatch(batch)
					for sent-delivered.Load() > window {
						time.Sleep(20 * time.Microsecond) // no spinning: cpu-ns/op is the work's
					}
				}
			}
			tr.r.handleBatch(int(sent % int64(batch)))
			for delivered.Load() < sent {
				time.Sleep(20 * time.Microsecond)
			}
			cpu.report(b)
			if st := tr.m.Stats(); st.QueueFull != 0 || st.UnknownAddr != 0 {
				b.Fatalf("%d datagrams dropped (queue full), %d misrouted", st.QueueFull, st.UnknownAddr)
			}
		})
	}
}
