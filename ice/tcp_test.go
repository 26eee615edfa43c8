package ice

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/streamwire/streamwire/stun"
)

// TestTCPCheckFraming: a check over ICE-TCP is answered framed on its
// connection, however the peer's writes cut the frames (a header split
// across writes, a frame in pieces, several frames and a DTLS record in
// one write); its success binds the connection and USE-CANDIDATE
// nominates it.
func TestTCPCheckFraming(t *testing.T) {
	m, _, addr := startTCPMux(t, MuxConfig{})
	s := newTestSession(t, m)
	c := dialTCP(t, addr, netip.Addr{})
	req := frame(check{}.build(t))
	for i, piece := range [][]byte{req[:1], req[1:2], req[2:17], req[17:]} {
		writeAll(t, c, piece)
		if i < 3 {
			time.Sleep(20 * time.Millisecond) // separate segments
		}
	}
	mustSucceed(t, readTCPSTUN(t, c), tcpAddrOf(c))
	assertPath(t, s, tcpAddrOf(c), "tcp", false)

	writeAll(t, c, frame(check{}.build(t), check{useCand: true}.build(t), dtlsRecord))
	for range 2 {
		mustSucceed(t, readTCPSTUN(t, c), tcpAddrOf(c))
	}
	select {
	case <-s.Connected():
	case <-time.After(wait):
		t.Fatal("not connected after USE-CANDIDATE over TCP")
	}
	assertPath(t, s, tcpAddrOf(c), "tcp", true)
	if got, from := readSession(t, s); !bytes.Equal(got, dtlsRecord) || from != tcpAddrOf(c) {
		t.Fatalf("Read = %x from %v", got, from)
	}
	if la := s.LocalAddr(); la.Network() != "tcp" || la.String() != addr.String() {
		t.Fatalf("LocalAddr = %v, want tcp %v", la, addr)
	}
	if st := m.Stats(); st.Checks != 3 || st.Routed != 1 || st.TCPAccepted != 1 || st.Datagrams != 4 {
		t.Fatalf("Stats = %+v", st)
	}
}

// TestTCPRoutesMedia: media frames before the check are dropped (the
// connection stays, the check may still come); after it, DTLS, RTP and
// RTCP frames reach the session's Read, and a stranger's connection gets
// nothing routed.
func TestTCPRoutesMedia(t *testing.T) {
	m, _, addr := startTCPMux(t, MuxConfig{})
	s := newTestSession(t, m)
	c, stranger := dialTCP(t, addr, netip.Addr{}), dialTCP(t, addr, netip.Addr{})
	writeAll(t, c, frame(dtlsRecord))
	waitFor(t, "the early frame to be dropped", func() bool { return m.Stats().UnknownAddr == 1 })
	mustSucceed(t, checkTCP(t, c, check{useCand: true}), tcpAddrOf(c))
	for _, d := range [][]byte{dtlsRecord, rtpPacket, {0x90, 200, 0, 1}} {
		writeAll(t, stranger, frame(d))
		writeAll(t, c, frame(d))
		if got, from := readSession(t, s); !bytes.Equal(got, d) || from != tcpAddrOf(c) {
			t.Fatalf("Read = %x from %v; want %x", got, from, d)
		}
	}
	waitFor(t, "the stranger's frames to be dropped", func() bool { return m.Stats().UnknownAddr == 4 })
}

// TestTCPSessionWrite: Write and WriteBatch on a TCP path reach the peer
// as RFC 4571 frames, in order, including a datagram longer than the
// framing buffer; a datagram no frame can carry is refused and skipped.
func TestTCPSessionWrite(t *testing.T) {
	m, _, addr := startTCPMux(t, MuxConfig{})
	s := newTestSession(t, m)
	c := dialTCP(t, addr, netip.Addr{})
	mustSucceed(t, checkTCP(t, c, check{useCand: true}), tcpAddrOf(c))

	if n, err := s.Write(rtpPacket); err != nil || n != len(rtpPacket) {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if got := mustReadFrame(t, c); !bytes.Equal(got, rtpPacket) {
		t.Fatalf("peer got %x", got)
	}
	big := bytes.Repeat([]byte{0x80}, tcpWriteBufSize+100)
	var batch [][]byte
	for i := range 40 {
		p := bytes.Repeat([]byte{0x80, byte(i)}, 600) // 1200 bytes: 6 fill the framing buffer
		batch = append(batch, p)
	}
	batch = append(batch, big, make([]byte, maxFrameLen+1), dtlsRecord)
	n, err := s.WriteBatch(batch)
	if n != len(batch)-1 || !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("WriteBatch = %d, %v; want %d sent and ErrFrameTooLarge", n, err, len(batch)-1)
	}
	for i, want := range append(batch[:41:41], dtlsRecord) {
		if got := mustReadFrame(t, c); !bytes.Equal(got, want) {
			t.Fatalf("frame %d: got %d bytes, want %d", i, len(got), len(want))
		}
	}
	if _, err := s.Write(make([]byte, maxFrameLen+1)); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("Write of %d bytes: %v", maxFrameLen+1, err)
	}
}

// TestTCPNominationSwitch: one session with a UDP and a TCP path follows
// the peer's nominations both ways; a plain check on the other transport
// leaves the nominated path selected; media from both is delivered.
func TestTCPNominationSwitch(t *testing.T) {
	m, udpAddr, tcpAddr := startTCPMux(t, MuxConfig{})
	s := newTestSession(t, m)
	udp := newPeer(t)
	c := dialTCP(t, tcpAddr, netip.Addr{})

	mustSucceed(t, exchange(t, udp, udpAddr, check{useCand: true}.build(t), wait), addrOf(udp))
	mustSucceed(t, checkTCP(t, c, check{}), tcpAddrOf(c))
	assertPath(t, s, addrOf(udp), "udp", true)

	mustSucceed(t, checkTCP(t, c, check{useCand: true}), tcpAddrOf(c))
	assertPath(t, s, tcpAddrOf(c), "tcp", true)
	if _, err := s.Write(rtpPacket); err != nil {
		t.Fatal(err)
	}
	if got := mustReadFrame(t, c); !bytes.Equal(got, rtpPacket) {
		t.Fatalf("TCP peer got %x", got)
	}
	mustSucceed(t, exchange(t, udp, udpAddr, check{}.build(t), wait), addrOf(udp))
	assertPath(t, s, tcpAddrOf(c), "tcp", true)

	mustSucceed(t, exchange(t, udp, udpAddr, check{useCand: true}.build(t), wait), addrOf(udp))
	assertPath(t, s, addrOf(udp), "udp", true)
	if _, err := s.Write(dtlsRecord); err != nil {
		t.Fatal(err)
	}
	if got := readRaw(t, udp); !bytes.Equal(got, dtlsRecord) {
		t.Fatalf("UDP peer got %x", got)
	}
	writeAll(t, c, frame(rtpPacket))
	if _, err := udp.WriteToUDPAddrPort(dtlsRecord, udpAddr); err != nil {
		t.Fatal(err)
	}
	got := map[netip.AddrPort][]byte{}
	for range 2 {
		d, from := readSession(t, s)
		got[from] = d
	}
	if !bytes.Equal(got[tcpAddrOf(c)], rtpPacket) || !bytes.Equal(got[addrOf(udp)], dtlsRecord) {
		t.Fatalf("delivered %x", got)
	}
}

// TestTCPCloseRemovesPath: when the selected TCP connection closes, the
// session falls back to its other TCP connection, then to its validated
// UDP address (unnominated, until the peer checks again), and with neither
// it has no path but stays open.
func TestTCPCloseRemovesPath(t *testing.T) {
	m, udpAddr, tcpAddr := startTCPMux(t, MuxConfig{})
	s := newTestSession(t, m)
	udp := newPeer(t)
	c1, c2 := dialTCP(t, tcpAddr, netip.Addr{}), dialTCP(t, tcpAddr, netip.Addr{})
	mustSucceed(t, exchange(t, udp, udpAddr, check{}.build(t), wait), addrOf(udp))
	mustSucceed(t, checkTCP(t, c1, check{}), tcpAddrOf(c1))
	mustSucceed(t, checkTCP(t, c2, check{useCand: true}), tcpAddrOf(c2))
	assertPath(t, s, tcpAddrOf(c2), "tcp", true)

	c2.Close()
	waitFor(t, "the fallback to the other TCP connection", func() bool {
		a, _, ok := s.Selected()
		return ok && a == tcpAddrOf(c1)
	})
	assertPath(t, s, tcpAddrOf(c1), "tcp", false)
	if _, err := s.Write(rtpPacket); err != nil {
		t.Fatal(err)
	}
	if got := mustReadFrame(t, c1); !bytes.Equal(got, rtpPacket) {
		t.Fatalf("c1 got %x", got)
	}

	c1.Close()
	waitFor(t, "the fallback to UDP", func() bool {
		a, _, ok := s.Selected()
		return ok && a == addrOf(udp)
	})
	assertPath(t, s, addrOf(udp), "udp", false)
	if _, err := s.Write(rtpPacket); err != nil {
		t.Fatal(err)
	}
	if got := readRaw(t, udp); !bytes.Equal(got, rtpPacket) {
		t.Fatalf("UDP peer got %x", got)
	}
	waitFor(t, "both connections counted closed", func() bool { return m.Stats().TCPClosed == 2 })

	// A session whose only path was a TCP connection has none after it.
	s2, err := m.NewSession(Credentials{Ufrag: "srvT", Pwd: testLocal.Pwd}, Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	c3 := dialTCP(t, tcpAddr, netip.Addr{})
	mustSucceed(t, checkTCP(t, c3, check{username: "srvT:peerA", useCand: true}), tcpAddrOf(c3))
	c3.Close()
	waitFor(t, "the path to go", func() bool { _, _, ok := s2.Selected(); return !ok })
	if _, err := s2.Write(rtpPacket); !errors.Is(err, ErrNoPath) {
		t.Fatalf("Write without a path: %v", err)
	}
	if s2.Err() != nil || s2.RemoteAddr() != nil {
		t.Fatalf("session without a path: Err %v, RemoteAddr %v", s2.Err(), s2.RemoteAddr())
	}
}

// TestTCPWriteFailureClosesPath: a peer that stops reading stalls the
// session's writes for TCPWriteTimeout at most; the write then fails with
// ErrPathClosed, which does not read as the end of the session
// (net.ErrClosed), the connection is closed (a frame may have been cut)
// and the session is left without that path.
func TestTCPWriteFailureClosesPath(t *testing.T) {
	const limit = 100 * time.Millisecond
	m, _, addr := startTCPMux(t, MuxConfig{TCPWriteTimeout: limit})
	s := newTestSession(t, m)
	c := dialTCP(t, addr, netip.Addr{})
	_ = c.SetReadBuffer(4096)
	mustSucceed(t, checkTCP(t, c, check{useCand: true}), tcpAddrOf(c))
	big := make([]byte, 60000)
	big[0] = 0x80
	var err error
	var stalled time.Duration
	for i := 0; i < 5000 && err == nil; i++ {
		start := time.Now()
		_, err = s.Write(big)
		stalled = time.Since(start)
	}
	if !errors.Is(err, ErrPathClosed) || errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write to a peer that does not read: %v", err)
	}
	if stalled < limit-20*time.Millisecond || stalled > limit+wait {
		t.Fatalf("the failed Write took %v, want about %v", stalled, limit)
	}
	if _, _, ok := s.Selected(); ok || s.Err() != nil {
		t.Fatalf("after the failed write: selected %v, Err %v", ok, s.Err())
	}
	if _, err := s.Write(rtpPacket); !errors.Is(err, ErrNoPath) {
		t.Fatalf("next Write: %v", err)
	}
	waitFor(t, "the connection counted closed", func() bool { return m.Stats().TCPClosed == 1 })
}

// TestTCPSessionCloseClosesConns: closing a session closes its TCP
// connections; closing the Mux closes the others and stops ServeTCP.
func TestTCPSessionCloseClosesConns(t *testing.T) {
	m, _, addr := startTCPMux(t, MuxConfig{})
	s := newTestSession(t, m)
	c := dialTCP(t, addr, netip.Addr{})
	idle := dialTCP(t, addr, netip.Addr{})
	mustSucceed(t, checkTCP(t, c, check{useCand: true}), tcpAddrOf(c))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	mustClose(t, c, wait)
	mustStayOpen(t, idle, 50*time.Millisecond)
	_ = m.Close()
	mustClose(t, idle, wait)
	waitFor(t, "both counted closed", func() bool { return m.Stats().TCPClosed == 2 })
}

// TestTCPCheckTimeout: a connection that sends nothing, and one that sends
// only checks that fail (401), are closed once TCPCheckTimeout has passed
// since they were accepted; a checked one stays.
func TestTCPCheckTimeout(t *testing.T) {
	const limit = 300 * time.Millisecond
	m, _, addr := startTCPMux(t, MuxConfig{TCPCheckTimeout: limit})
	newTestSession(t, m)
	silent, wrong, good := dialTCP(t, addr, netip.Addr{}), dialTCP(t, addr, netip.Addr{}), dialTCP(t, addr, netip.Addr{})
	start := time.Now()
	mustSucceed(t, checkTCP(t, good, check{}), tcpAddrOf(good))
	if code := errorCode(t, checkTCP(t, wrong, check{pwd: "notTheServerPassword1234"})); code != stun.CodeUnauthorized {
		t.Fatalf("wrong password: %d", code)
	}
	mustClose(t, silent, wait)
	mustClose(t, wrong, wait)
	if d := time.Since(start); d < limit-50*time.Millisecond {
		t.Fatalf("closed after %v, before the %v limit", d, limit)
	}
	mustStayOpen(t, good, limit)
	if st := m.Stats(); st.TCPClosed != 2 || st.TCPAccepted != 3 {
		t.Fatalf("Stats = %+v", st)
	}
}

// TestTCPIdleTimeout: a bound connection that goes quiet for the consent
// timeout is closed (and the session, whose consent expired too), counted
// from its last frame, however soon after the previous one it came.
func TestTCPIdleTimeout(t *testing.T) {
	const consent = 300 * time.Millisecond
	m, _, addr := startTCPMux(t, MuxConfig{ConsentTimeout: consent})
	s := newTestSession(t, m)
	c := dialTCP(t, addr, netip.Addr{})
	mustSucceed(t, checkTCP(t, c, check{useCand: true}), tcpAddrOf(c))
	time.Sleep(consent / 3)
	mustSucceed(t, checkTCP(t, c, check{}), tcpAddrOf(c))
	last := time.Now()
	mustClose(t, c, wait)
	if d := time.Since(last); d < consent-50*time.Millisecond {
		t.Fatalf("closed after %v, before %v of silence", d, consent)
	}
	<-s.Done()
	if !errors.Is(s.Err(), ErrConsentExpired) {
		t.Fatalf("session Err %v", s.Err())
	}
}

// TestTCPConnCaps: connections over MaxTCPConns, or over MaxTCPConnsPerIP
// from one address, are closed at accept and counted; one from another
// address still gets in, and a slot freed by a close is reused.
func TestTCPConnCaps(t *testing.T) {
	m, _, addr := startTCPMux(t, MuxConfig{MaxTCPConns: 3, MaxTCPConnsPerIP: 2})
	newTestSession(t, m)
	a1 := dialTCP(t, addr, netip.Addr{})
	a2 := dialTCP(t, addr, netip.Addr{})
	waitFor(t, "two accepted", func() bool { return m.Stats().TCPAccepted == 2 })
	a3 := dialTCP(t, addr, netip.Addr{})
	mustClose(t, a3, wait)
	other := netip.MustParseAddr("127.0.0.2")
	b1 := dialTCP(t, addr, other)
	mustSucceed(t, checkTCP(t, b1, check{}), tcpAddrOf(b1))
	b2 := dialTCP(t, addr, other)
	mustClose(t, b2, wait)
	if st := m.Stats(); st.TCPAccepted != 3 || st.TCPRefused != 2 {
		t.Fatalf("Stats = %+v", st)
	}
	a1.Close()
	waitFor(t, "the slot to free", func() bool { return m.Stats().TCPClosed == 1 })
	a4 := dialTCP(t, addr, netip.Addr{})
	mustSucceed(t, checkTCP(t, a4, check{}), tcpAddrOf(a4))
	mustSucceed(t, checkTCP(t, a2, check{}), tcpAddrOf(a2))
}

// TestTCPGarbage: before its first check a connection that sends anything
// but STUN, DTLS, RTP or RTCP, or a frame longer than MaxPacketSize, is
// closed; a bound one has such frames dropped (a long one read through and
// discarded) and keeps working. A request smaller than its error response
// gets no answer, as over UDP.
func TestTCPGarbage(t *testing.T) {
	m, _, addr := startTCPMux(t, MuxConfig{MaxPacketSize: 1200})
	s := newTestSession(t, m)
	for name, b := range map[string][]byte{
		"outside RFC 7983":      frame([]byte{70, 1, 2, 3}),
		"STUN range, not STUN":  frame([]byte{0, 1, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}),
		"longer than the limit": frame(make([]byte, 1201)),
		"HTTP":                  []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		"TLS ClientHello":       {22, 3, 1, 0, 200, 1, 0, 0, 196, 3, 3}, // 0x1603 = 5635 bytes: too long
	} {
		t.Run(name, func(t *testing.T) {
			c := dialTCP(t, addr, netip.Addr{})
			writeAll(t, c, b)
			mustClose(t, c, wait)
		})
	}
	// A 400 (USERNAME without MESSAGE-INTEGRITY) would be longer than
	// this request: no answer.
	forged := dialTCP(t, addr, netip.Addr{})
	var b stun.Builder
	b.Start(nil, stun.BindingRequest, testTxn)
	b.AddUsername("ab:c")
	tiny, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, forged, frame(tiny))
	mustStayOpen(t, forged, 100*time.Millisecond)

	c := dialTCP(t, addr, netip.Addr{})
	mustSucceed(t, checkTCP(t, c, check{useCand: true}), tcpAddrOf(c))
	dropped := m.Stats().Dropped
	writeAll(t, c, frame(make([]byte, 5000), []byte{70, 1}, nil, dtlsRecord))
	if got, _ := readSession(t, s); !bytes.Equal(got, dtlsRecord) {
		t.Fatalf("Read = %x after the garbage", got)
	}
	if d := m.Stats().Dropped - dropped; d != 3 {
		t.Fatalf("%d frames dropped, want 3", d)
	}
	mustSucceed(t, checkTCP(t, c, check{}), tcpAddrOf(c))
	// A frame cut short by the peer's close ends the connection cleanly.
	writeAll(t, c, frame(rtpPacket)[:5])
	c.CloseWrite()
	mustClose(t, c, wait)
}

// TestServeTCPStops: ServeTCP returns ErrServerClosed, having closed its
// listener and connections, when its context ends (the sessions stay) and
// when the Mux closes; after Close it returns at once; a nil listener and
// a failing one are errors, and temporary accept errors are waited out.
func TestServeTCPStops(t *testing.T) {
	m, _ := startMux(t, MuxConfig{})
	s := newTestSession(t, m)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.ServeTCP(ctx, ln) }()
	c := dialTCP(t, ln.Addr().(*net.TCPAddr).AddrPort(), netip.Addr{})
	mustSucceed(t, checkTCP(t, c, check{useCand: true}), tcpAddrOf(c))
	cancel()
	if err := waitErr(t, done); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("ServeTCP after cancel: %v", err)
	}
	mustClose(t, c, wait)
	if _, err := net.Dial("tcp4", ln.Addr().String()); err == nil {
		t.Fatal("listener still open")
	}
	if s.Err() != nil {
		t.Fatalf("session closed with ServeTCP: %v", s.Err())
	}
	if _, _, ok := s.Selected(); ok {
		t.Fatal("session kept the path of a closed connection")
	}

	ln2 := &flakyListener{Listener: mustListen(t), errs: []error{
		acceptOpErr(syscall.EMFILE), acceptOpErr(syscall.ECONNABORTED), &net.OpError{Op: "accept", Err: os.ErrDeadlineExceeded},
	}}
	go func() { done <- m.ServeTCP(context.Background(), ln2) }()
	c2 := dialTCP(t, ln2.Addr().(*net.TCPAddr).AddrPort(), netip.Addr{})
	mustSucceed(t, checkTCP(t, c2, check{}), tcpAddrOf(c2))
	_ = m.Close()
	if err := waitErr(t, done); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("ServeTCP after Mux.Close: %v", err)
	}
	mustClose(t, c2, wait)
	ln3 := mustListen(t)
	if err := m.ServeTCP(context.Background(), ln3); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("ServeTCP after Close: %v", err)
	}
	if _, err := ln3.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("listener left open: %v", err)
	}
	if err := m.ServeTCP(context.Background(), nil); !errors.Is(err, ErrNilListener) {
		t.Fatalf("nil listener: %v", err)
	}

	m2, _ := startMux(t, MuxConfig{})
	bad := &flakyListener{Listener: mustListen(t), errs: []error{acceptOpErr(syscall.EINVAL)}}
	if err := m2.ServeTCP(context.Background(), bad); !errors.Is(err, syscall.EINVAL) || errors.Is(err, ErrServerClosed) {
		t.Fatalf("ServeTCP on a failing listener: %v", err)
	}
}

func waitErr(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(wait):
		t.Fatal("ServeTCP did not return")
		return nil
	}
}

func mustListen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func acceptOpErr(errno syscall.Errno) error {
	return &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", errno)}
}

// flakyListener fails its first Accepts with errs, then accepts.
type flakyListener struct {
	net.Listener
	errs []error
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if len(l.errs) > 0 {
		err := l.errs[0]
		l.errs = l.errs[1:]
		return nil, err
	}
	return l.Listener.Accept()
}

// TestTCPSessionConnCap: a session keeps at most MaxValidAddrs TCP
// connections; a newer one bound by a check closes the oldest that is not
// selected, and the nominated one stays.
func TestTCPSessionConnCap(t *testing.T) {
	m, _, addr := startTCPMux(t, MuxConfig{})
	s := newTestSession(t, m)
	first := dialTCP(t, addr, netip.Addr{})
	mustSucceed(t, checkTCP(t, first, check{useCand: true}), tcpAddrOf(first))
	var conns []*net.TCPConn
	for range MaxValidAddrs {
		c := dialTCP(t, addr, netip.Addr{})
		mustSucceed(t, checkTCP(t, c, check{}), tcpAddrOf(c))
		conns = append(conns, c)
	}
	mustClose(t, conns[0], wait)
	for _, c := range append(conns[1:], first) {
		mustStayOpen(t, c, 10*time.Millisecond)
	}
	assertPath(t, s, tcpAddrOf(first), "tcp", true)
	m.mu.RLock()
	n := len(s.tcp)
	m.mu.RUnlock()
	if n != MaxValidAddrs {
		t.Fatalf("session holds %d connections, want %d", n, MaxValidAddrs)
	}
}
