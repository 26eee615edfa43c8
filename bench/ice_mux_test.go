//go:build linux

package bench

// Side-by-side benchmarks of ice.Mux with 1,000 sessions on one UDP socket:
// against pion/ice v4.4.9's UDPMuxDefault for media routing and for what a
// session costs, and against stun.Server for answering checks.
//
//	cd bench && go test -run '^$' -bench 'ICE' -benchmem .
//	make bench-compare ONLY="ice-route ice-sessions ice-check ice-check-plain"
//
// Every benchmark runs in one process: the server under test and the load,
// which comes from udpflood's 1,000 loopback peers (4 sender sockets, each
// peer with its own source address, sendmmsg batches of 64 going
// round-robin over the peers, at most 2,048 datagrams in flight). The
// sending goroutine is locked to its thread, whose CPU clock is taken out
// of the process's: cpu-ns/pkt and cpu-ns/resp are the server's CPU time
// (its receive and send system calls, its goroutines, its garbage
// collection) per datagram delivered or answered. On loopback the kernel
// delivers into the server's socket inside the sender's sendmmsg, so that
// part (about 1 µs per datagram, anchors §3) is the sender's, reported as
// sender-ns/pkt. The server socket asks for a 4 MiB SO_RCVBUF (8 MiB
// granted) in every case.

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pice "github.com/pion/ice/v4"

	"github.com/streamwire/streamwire/bench/internal/loadgen"
	"github.com/streamwire/streamwire/bench/internal/udpflood"
	"github.com/streamwire/streamwire/ice"
	"github.com/streamwire/streamwire/stun"
)

const (
	// iceSessions is the number of sessions on the one socket.
	iceSessions = 1000
	// rtpSize is the size of the media datagrams: 1,200 bytes, libwebrtc's
	// kVideoMtu and pion/webrtc's outbound RTP MTU, the size of every
	// packet of a video frame but its last, and so of most of what a
	// media server carries (anchors §3 uses the same size). The routing
	// cost hardly depends on it: the Mux reads no further than the first
	// byte, and each side copies the datagram once or twice.
	rtpSize = 1200
	// iceServerBuffer is the SO_RCVBUF asked for the server socket of
	// every implementation; Linux doubles it, up to net.core.rmem_max.
	iceServerBuffer = 4 << 20
)

// iceSession is one session's credentials and the controlling peer's view
// of them: key signs its checks and checks our answers (a stun.Integrity
// is not shared between goroutines).
type iceSession struct {
	local, remote ice.Credentials
	key           *stun.Integrity
}

func newICESessions(tb testing.TB) []iceSession {
	tb.Helper()
	sess := make([]iceSession, iceSessions)
	for j := range sess {
		local, err1 := ice.NewCredentials(rand.Reader)
		remote, err2 := ice.NewCredentials(rand.Reader)
		if err := errors.Join(err1, err2); err != nil {
			tb.Fatal(err)
		}
		sess[j] = iceSession{local: local, remote: remote, key: stun.NewShortTermIntegrity(local.Pwd)}
	}
	return sess
}

func newICEPeers(tb testing.TB) *udpflood.Peers {
	tb.Helper()
	p, err := udpflood.NewPeers(iceSessions, 0)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Close() })
	return p
}

// iceCheck returns a connectivity check of s as Chromium sends it (RFC 8445
// §7.2.2; USERNAME, GOOG-NETWORK-INFO, ICE-CONTROLLING, USE-CANDIDATE when
// nominate, PRIORITY, MESSAGE-INTEGRITY, FINGERPRINT).
func iceCheck(tb testing.TB, s iceSession, id stun.TransactionID, nominate bool) []byte {
	tb.Helper()
	var b stun.Builder
	b.Start(nil, stun.BindingRequest, id)
	b.AddUsername(s.local.Ufrag + ":" + s.remote.Ufrag)
	b.AddGoogNetworkInfo(1, 10)
	b.AddICEControlling(0x932ff9b151263b36)
	if nominate {
		b.AddUseCandidate()
	}
	b.AddPriority(ice.Priority(ice.TypePrflx.Preference(), ice.DefaultLocalPreference, 1))
	b.AddMessageIntegrity(s.key)
	b.AddFingerprint()
	out, err := b.Finish()
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// rtpDatagram returns session j's media datagram: RTP version 2 (first
// byte 0x80, RFC 7983 §7), SSRC j, padded to rtpSize.
func rtpDatagram(j int) []byte {
	b := make([]byte, rtpSize)
	b[0], b[1] = 0x80, 96
	binary.BigEndian.PutUint32(b[8:], uint32(j))
	return b
}

func newTxnID(tb testing.TB) stun.TransactionID {
	var id stun.TransactionID
	if _, err := rand.Read(id[:]); err != nil {
		tb.Fatal(err)
	}
	return id
}

// listenServer opens the server socket of a benchmark.
func listenServer(tb testing.TB) *net.UDPConn {
	tb.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	if err := conn.SetReadBuffer(iceServerBuffer); err != nil {
		tb.Fatal(err)
	}
	return conn
}

// iceRig is a mux under test on a loopback socket with iceSessions
// sessions, each validated by a check from its peer's address and drained
// by its own reader goroutine, which counts the media datagrams it gets.
type iceRig struct {
	addr      netip.AddrPort
	delivered atomic.Int64 // media datagrams read by the session readers
	misrouted atomic.Int64 // media datagrams read by the wrong session
	checks    func() int64 // checks answered
	plain     func() int64 // plain Binding requests answered (ice.Mux only)
	readers   sync.WaitGroup
	stopOnce  sync.Once
	shutdown  func() error // closes the mux and its socket
}

// iceImpl starts one implementation's rig.
type iceImpl struct {
	name  string
	start func(testing.TB, *udpflood.Peers, []iceSession) *iceRig
}

var iceImpls = []iceImpl{{"streamwire", startStreamwireRig}, {"pion", startPionRig}}

// receive counts a media datagram that session j's reader got from from.
func (r *iceRig) receive(peers *udpflood.Peers, j int, b []byte, from netip.AddrPort) {
	if len(b) != rtpSize || binary.BigEndian.Uint32(b[8:]) != uint32(j) || from != peers.Addr(j) {
		r.misrouted.Add(1)
	}
	r.delivered.Add(1)
}

// stop closes the mux and waits for every reader.
func (r *iceRig) stop(tb testing.TB) {
	r.stopOnce.Do(func() {
		if err := r.shutdown(); err != nil {
			tb.Error(err)
		}
		r.readers.Wait()
	})
}

// startStreamwireRig serves an ice.Mux (zero MuxConfig) with a session and
// a ReadPacket loop per peer.
func startStreamwireRig(tb testing.TB, peers *udpflood.Peers, sess []iceSession) *iceRig {
	tb.Helper()
	conn := listenServer(tb)
	mux := ice.NewMux(conn, ice.MuxConfig{})
	served := make(chan error, 1)
	go func() { served <- mux.Serve(context.Background()) }()
	r := &iceRig{addr: conn.LocalAddr().(*net.UDPAddr).AddrPort(),
		checks: func() int64 { return int64(mux.Stats().Checks) },
		plain:  func() int64 { return int64(mux.Stats().PlainSTUN) }}
	r.shutdown = func() error {
		_ = mux.Close()
		defer conn.Close()
		select {
		case err := <-served:
			if !errors.Is(err, ice.ErrServerClosed) {
				return err
			}
			return nil
		case <-time.After(5 * time.Second):
			return errors.New("ice.Mux.Serve did not return after Close")
		}
	}
	tb.Cleanup(func() { r.stop(tb) })
	for j, s := range sess {
		ss, err := mux.NewSession(s.local, s.remote)
		if err != nil {
			tb.Fatal(err)
		}
		r.readers.Add(1)
		go func() {
			defer r.readers.Done()
			buf := make([]byte, 1500)
			for {
				n, from, err := ss.ReadPacket(buf)
				if err != nil {
					return
				}
				r.receive(peers, j, buf[:n], from)
			}
		}()
	}
	validateSessions(tb, peers, r.addr, sess)
	return r
}

// startPionRig serves pion's UDPMuxDefault with a muxed conn (GetConn) per
// session, each read by its own goroutine. pion's mux hands a check from
// an unknown address to the conn that its USERNAME names, and learns the
// address when the agent answers through that conn; so the readers pass
// checks to one goroutine that answers them as a lite agent would
// (MESSAGE-INTEGRITY verified; success with XOR-MAPPED-ADDRESS,
// MESSAGE-INTEGRITY and FINGERPRINT), keeping the readers as small as the
// Mux's.
func startPionRig(tb testing.TB, peers *udpflood.Peers, sess []iceSession) *iceRig {
	tb.Helper()
	conn := listenServer(tb)
	mux := pice.NewUDPMuxDefault(pice.UDPMuxParams{UDPConn: conn})
	agent := newPionAgent(sess)
	r := &iceRig{addr: conn.LocalAddr().(*net.UDPAddr).AddrPort(), checks: agent.answered.Load}
	r.shutdown = func() error {
		err := mux.Close() // which closes conn
		r.readers.Wait()   // before the agent's channel closes under them
		close(agent.in)
		<-agent.done
		return err
	}
	tb.Cleanup(func() { r.stop(tb) })
	for j, s := range sess {
		c, err := mux.GetConn(s.local.Ufrag, conn.LocalAddr())
		if err != nil {
			tb.Fatal(err)
		}
		apc, ok := c.(pice.AddrPortReaderWriter)
		if !ok {
			tb.Fatalf("pion's muxed conn %T has no ReadFromAddrPort", c)
		}
		agent.conns[j] = apc
		r.readers.Add(1)
		go func() {
			defer r.readers.Done()
			buf := make([]byte, 1500)
			for {
				n, from, err := apc.ReadFromAddrPort(buf)
				if err != nil {
					return
				}
				if buf[0] < 4 { // STUN (RFC 7983 §7)
					agent.in <- pionCheck{j: j, from: from, req: append([]byte(nil), buf[:n]...)}
					continue
				}
				r.receive(peers, j, buf[:n], from)
			}
		}()
	}
	go agent.run()
	validateSessions(tb, peers, r.addr, sess)
	return r
}

// pionCheck is a check that session j's muxed conn read.
type pionCheck struct {
	j    int
	from netip.AddrPort
	req  []byte
}

// pionAgent answers the checks of every session on their pion muxed conns.
type pionAgent struct {
	keys     []*stun.Integrity
	conns    []pice.AddrPortReaderWriter
	in       chan pionCheck
	done     chan struct{}
	answered atomic.Int64
}

func newPionAgent(sess []iceSession) *pionAgent {
	a := &pionAgent{keys: make([]*stun.Integrity, len(sess)), conns: make([]pice.AddrPortReaderWriter, len(sess)),
		in: make(chan pionCheck, 64), done: make(chan struct{})}
	for j, s := range sess {
		a.keys[j] = stun.NewShortTermIntegrity(s.local.Pwd)
	}
	return a
}

// run answers checks until in is closed.
func (a *pionAgent) run() {
	defer close(a.done)
	var m stun.Message
	for c := range a.in {
		key := a.keys[c.j]
		if m.Decode(c.req) != nil || m.Type() != stun.BindingRequest || key.Verify(&m) != nil {
			continue
		}
		var b stun.Builder
		b.Start(nil, stun.BindingSuccess, m.TransactionID())
		b.AddXORMappedAddress(c.from)
		b.AddMessageIntegrity(key)
		b.AddFingerprint()
		resp, err := b.Finish()
		if err != nil {
			continue
		}
		if _, err := a.conns[c.j].WriteToAddrPort(resp, c.from); err == nil {
			a.answered.Add(1)
		}
	}
}

// validateSessions sends each session a nominating check from its peer's
// address and waits for an authenticated success response on the peer's
// sink (XOR-MAPPED-ADDRESS = the peer's address), retrying a few times.
func validateSessions(tb testing.TB, peers *udpflood.Peers, server netip.AddrPort, sess []iceSession) {
	tb.Helper()
	if err := peers.DrainSinks(); err != nil {
		tb.Fatal(err)
	}
	buf := make([]byte, 1500)
	for j, s := range sess {
		id := newTxnID(tb)
		req := iceCheck(tb, s, id, true)
		var err error
		for range 5 {
			if err = peers.WriteFrom(j, req, server); err != nil {
				tb.Fatal(err)
			}
			if err = awaitResponse(peers, j, buf, id, s.key, 500*time.Millisecond); err == nil {
				break
			}
		}
		if err != nil {
			tb.Fatalf("session %d (peer %v): %v", j, peers.Addr(j), err)
		}
	}
}

// awaitResponse reads peer j's sink until a Binding success for id arrives
// that maps the peer's address (and is signed with key, unless nil).
func awaitResponse(peers *udpflood.Peers, j int, buf []byte, id stun.TransactionID, key *stun.Integrity, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		n, err := peers.ReadSink(j, buf, deadline)
		if err != nil {
			return err
		}
		var m stun.Message
		if m.Decode(buf[:n]) != nil || m.TransactionID() != id {
			continue // a response to an earlier request
		}
		if m.Type() != stun.BindingSuccess {
			return errors.New("response is " + m.Type().String())
		}
		if a, err := m.XORMappedAddress(); err != nil || a != peers.Addr(j) {
			return errors.New("XOR-MAPPED-ADDRESS " + a.String())
		}
		if key != nil {
			if err := key.Verify(&m); err != nil {
				return err
			}
		}
		return nil
	}
}

// floodResult is what one flood of a benchmark measured.
type floodResult struct {
	sent, done int64
	stalls     int
	use        udpflood.Usage
}

// runFlood sends b.N datagrams from the peers to target, round-robin,
// datagram(j) from peer j, within udpflood's window on done, and
// measures the server's share of the CPU time. A warm-up of floodWarmUp
// datagrams goes first, unmeasured, so that buffer pools and queues have
// grown to the load (both sides keep theirs) and allocs/pkt is the steady
// state's.
func runFlood(b *testing.B, peers *udpflood.Peers, target netip.AddrPort, datagram func(int) []byte, done func() int64) floodResult {
	b.Helper()
	f, err := udpflood.New(peers, udpflood.Config{Target: target, Datagram: datagram, Done: done})
	if err != nil {
		b.Fatal(err)
	}
	for range floodWarmUp {
		if err := f.Send(); err != nil {
			b.Fatal(err)
		}
	}
	done0, err := f.Settle()
	if err != nil {
		b.Fatal(err)
	}
	sent0, stalls0 := f.Sent(), f.Stalls()
	m := udpflood.StartMeter()
	for b.Loop() {
		if err = f.Send(); err != nil {
			break
		}
	}
	d, serr := f.Settle()
	r := floodResult{sent: f.Sent() - sent0, done: d - done0, stalls: f.Stalls() - stalls0, use: m.Stop()}
	if err := errors.Join(err, serr); err != nil {
		b.Fatal(err)
	}
	if r.done == 0 {
		b.Fatal("nothing got through")
	}
	return r
}

// floodWarmUp is the number of datagrams runFlood sends before it
// measures: four windows.
const floodWarmUp = 4 * udpflood.DefaultWindow

// report reports r per completed datagram ("pkt" or "resp").
func (r floodResult) report(b *testing.B, per string) {
	done := float64(r.done)
	b.ReportMetric(done/r.use.Wall.Seconds(), per+"s/s")
	b.ReportMetric(float64(r.use.Server().Nanoseconds())/done, "cpu-ns/"+per)
	b.ReportMetric(float64(r.use.Mallocs)/done, "allocs/"+per)
	b.ReportMetric(float64(r.use.Sender.Nanoseconds())/float64(r.sent), "sender-ns/"+per)
	b.ReportMetric(100*float64(r.sent-r.done)/float64(r.sent), "drop-%")
	if r.stalls > 0 {
		b.Logf("%d stalls: the server stopped completing datagrams for %v", r.stalls, udpflood.DefaultStall)
	}
}

// BenchmarkICEMuxRoute: media datagrams (1,200-byte RTP) from 1,000 peers,
// round-robin, each routed by its source address to its session on one
// socket and read there by the session's own goroutine: ice.Mux (one
// reader goroutine, recvmmsg batches of 32, a channel per session) against
// pion/ice v4.4.9's UDPMuxDefault (one reader goroutine, one recvfrom per
// datagram, a locked list per conn). One op is one datagram sent.
//
//   - pkts/s: datagrams read by the session goroutines per second of wall
//     time; both the sender and the server run on the machine's 2 cores;
//   - cpu-ns/pkt: the server's CPU time per datagram read, receive system
//     calls included (see the file comment);
//   - allocs/pkt: heap allocations of the whole process per datagram read
//     (the sender makes none);
//   - drop-%: datagrams sent and never read by their session.
//
// A datagram read by the wrong session, or carrying another peer's
// address, fails the benchmark.
func BenchmarkICEMuxRoute(b *testing.B) {
	peers := newICEPeers(b)
	sess := newICESessions(b)
	for _, impl := range iceImpls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			rig := impl.start(b, peers, sess)
			r := runFlood(b, peers, rig.addr, rtpDatagram, rig.delivered.Load)
			rig.stop(b)
			if n := rig.misrouted.Load(); n > 0 {
				b.Fatalf("%d datagrams reached the wrong session", n)
			}
			r.report(b, "pkt")
		})
	}
}

// runtimeState is what a session-cost measurement compares.
type runtimeState struct {
	heap, stack uint64 // live heap and goroutine stacks in use, bytes
	goroutines  int
}

// settledState collects garbage twice (so that sync.Pool's victim cache
// is emptied too) and reads the heap, stack and goroutine counts.
func settledState() runtimeState {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return runtimeState{heap: ms.HeapAlloc, stack: ms.StackInuse, goroutines: runtime.NumGoroutine()}
}

// waitGoroutines waits until no more than n goroutines run: those of a
// closed mux end asynchronously.
func waitGoroutines(tb testing.TB, n int) {
	tb.Helper()
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > n; {
		if time.Now().After(deadline) {
			tb.Fatalf("%d goroutines still running, want %d", runtime.NumGoroutine(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkICEMuxSessions: what 1,000 sessions cost once they are set up
// (registered, validated by a check from their own address, a reader
// goroutine blocked in each), for ice.Mux and pion's UDPMuxDefault. One op
// sets up 1,000 sessions on a new mux and tears them down.
//
//   - heap-B/session: live heap after garbage collection, mux included;
//   - stack-B/session: goroutine stacks, the readers' included;
//   - goroutines/session: goroutines the mux runs, not counting the one
//     reader per session that both need (pion starts one per muxed conn
//     to watch for its closing; the Mux's two goroutines, reader and
//     consent sweeper, count 0.002 here).
func BenchmarkICEMuxSessions(b *testing.B) {
	peers := newICEPeers(b)
	sess := newICESessions(b)
	for _, impl := range iceImpls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			var heap, stack, goroutines float64
			ops := 0
			for b.Loop() {
				b.StopTimer()
				before := settledState()
				b.StartTimer()
				rig := impl.start(b, peers, sess)
				b.StopTimer()
				after := settledState()
				rig.stop(b)
				waitGoroutines(b, before.goroutines)
				b.StartTimer()
				heap += float64(int64(after.heap - before.heap))
				stack += float64(int64(after.stack - before.stack))
				goroutines += float64(after.goroutines - before.goroutines - iceSessions)
				ops++
			}
			n := float64(ops * iceSessions)
			b.ReportMetric(heap/n, "heap-B/session")
			b.ReportMetric(stack/n, "stack-B/session")
			b.ReportMetric(goroutines/n, "goroutines/session")
		})
	}
}

// BenchmarkICECheck: Binding requests from 1,000 peers, round-robin,
// answered on one socket through the same batched socket code
// (internal/sockio, recvmmsg and sendmmsg, batches of 32, one reading
// goroutine):
//
//   - mux-check: ice.Mux with 1,000 sessions answering their connectivity
//     checks (100 bytes: USERNAME, GOOG-NETWORK-INFO, ICE-CONTROLLING,
//     PRIORITY, MESSAGE-INTEGRITY, FINGERPRINT; consent checks, so no
//     USE-CANDIDATE), each from the session's validated address: route
//     by ufrag, verify the HMAC and the CRC, answer with
//     XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY and FINGERPRINT;
//   - mux-plain: the same Mux answering plain Binding requests (28 bytes,
//     FINGERPRINT only, as browsers send to a STUN server), as
//     stun.Server answers them;
//   - stun-server: stun.Server with Workers 1, the plain requests.
//
// resps/s counts the responses the server sent (its own counters; the
// peers' sinks drop them), cpu-ns/resp is the server's CPU time per
// response. The last responses of a few peers are checked after the run.
func BenchmarkICECheck(b *testing.B) {
	peers := newICEPeers(b)
	sess := newICESessions(b)
	plain := func(j int) []byte { return loadgen.Request(uint32(j), 0) }
	b.Run("impl=mux-check", func(b *testing.B) {
		rig := startStreamwireRig(b, peers, sess)
		ids := make([]stun.TransactionID, len(sess))
		checks := make([][]byte, len(sess))
		for j, s := range sess {
			ids[j] = newTxnID(b)
			checks[j] = iceCheck(b, s, ids[j], false)
		}
		runChecks(b, peers, rig.addr, func(j int) []byte { return checks[j] }, rig.checks)
		for j := range 8 {
			if err := lastResponse(peers, j, ids[j], sess[j].key); err != nil {
				b.Fatalf("peer %d: %v", j, err)
			}
		}
		rig.stop(b)
	})
	b.Run("impl=mux-plain", func(b *testing.B) {
		rig := startStreamwireRig(b, peers, sess)
		runChecks(b, peers, rig.addr, plain, rig.plain)
		for j := range 8 {
			if err := lastResponse(peers, j, loadgenID(j), nil); err != nil {
				b.Fatalf("peer %d: %v", j, err)
			}
		}
		rig.stop(b)
	})
	b.Run("impl=stun-server", func(b *testing.B) {
		conn := listenServer(b)
		defer conn.Close()
		srv := &stun.Server{Workers: 1}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(context.Background(), conn) }()
		runChecks(b, peers, conn.LocalAddr().(*net.UDPAddr).AddrPort(), plain, func() int64 { return int64(srv.Stats().Responses) })
		for j := range 8 {
			if err := lastResponse(peers, j, loadgenID(j), nil); err != nil {
				b.Fatalf("peer %d: %v", j, err)
			}
		}
		_ = srv.Close()
		if err := <-served; !errors.Is(err, stun.ErrServerClosed) {
			b.Fatal(err)
		}
	})
}

// runChecks floods target with request(j) from peer j and reports the
// answers, which answered counts.
func runChecks(b *testing.B, peers *udpflood.Peers, target netip.AddrPort, request func(int) []byte, answered func() int64) {
	b.Helper()
	if err := peers.DrainSinks(); err != nil {
		b.Fatal(err)
	}
	base := answered()
	r := runFlood(b, peers, target, request, func() int64 { return answered() - base })
	r.report(b, "resp")
}

// loadgenID is the transaction ID of loadgen.Request(j, 0).
func loadgenID(j int) stun.TransactionID {
	var id stun.TransactionID
	binary.BigEndian.PutUint32(id[:], uint32(j))
	return id
}

// lastResponse checks that peer j's sink holds a valid answer to its
// request id; the sink keeps the first few responses of the flood.
func lastResponse(peers *udpflood.Peers, j int, id stun.TransactionID, key *stun.Integrity) error {
	err := awaitResponse(peers, j, make([]byte, 1500), id, key, time.Second)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return errors.New("no response")
	}
	return err
}
