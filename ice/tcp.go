package ice

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streamwire/streamwire/internal/connlimit"
)

// ICE-TCP defaults, named by the MuxConfig fields they fill.
const (
	// DefaultTCPCheckTimeout is how long an accepted TCP connection may go
	// without a successful check before it is closed, when
	// MuxConfig.TCPCheckTimeout is zero. A peer checks at once after it
	// connects (RFC 6544 §7.1), and retransmits within a few seconds.
	DefaultTCPCheckTimeout = 10 * time.Second
	// DefaultTCPWriteTimeout bounds each write on a TCP connection when
	// MuxConfig.TCPWriteTimeout is zero.
	DefaultTCPWriteTimeout = 5 * time.Second
	// DefaultMaxTCPConns caps the open TCP connections of a Mux when
	// MuxConfig.MaxTCPConns is zero. ICE-TCP is the fallback of the peers
	// whose UDP is blocked, each with one to three connections (one per
	// local interface); at 14-22 KiB each (see Mux.ServeTCP) the cap
	// bounds them to about 90 MiB.
	DefaultMaxTCPConns = 4096
	// DefaultMaxTCPConnsPerIP caps the open TCP connections from one IP
	// address when MuxConfig.MaxTCPConnsPerIP is zero: as
	// internal/httpserver's, since the networks that block UDP are often
	// offices behind one address.
	DefaultMaxTCPConnsPerIP = 256
)

// tcpMux is the ICE-TCP state of a Mux: its settings, the connection
// caps shared by every ServeTCP, the servers running, and counters.
type tcpMux struct {
	checkTimeout time.Duration
	writeTimeout time.Duration
	limit        connlimit.Limiter

	mu      sync.Mutex
	servers map[*tcpServer]struct{}
	stopped bool // the Mux closed: no more servers

	accepted, refused, closed atomic.Uint64
}

func (t *tcpMux) init(cfg MuxConfig) {
	t.checkTimeout = durationOr(cfg.TCPCheckTimeout, DefaultTCPCheckTimeout)
	t.writeTimeout = durationOr(cfg.TCPWriteTimeout, DefaultTCPWriteTimeout)
	t.limit.MaxConns = capOr(cfg.MaxTCPConns, DefaultMaxTCPConns)
	t.limit.MaxConnsPerIP = capOr(cfg.MaxTCPConnsPerIP, DefaultMaxTCPConnsPerIP)
	t.servers = make(map[*tcpServer]struct{})
}

func durationOr(v, def time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return def
}

// capOr maps a cap's zero to def; a negative cap stays negative, which
// connlimit reads as none.
func capOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// addServer registers srv, or reports false once the Mux has closed.
func (t *tcpMux) addServer(srv *tcpServer) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	t.servers[srv] = struct{}{}
	return true
}

func (t *tcpMux) removeServer(srv *tcpServer) {
	t.mu.Lock()
	delete(t.servers, srv)
	t.mu.Unlock()
}

// stopServers stops every ServeTCP, now and to come.
func (t *tcpMux) stopServers() {
	t.mu.Lock()
	t.stopped = true
	servers := make([]*tcpServer, 0, len(t.servers))
	for srv := range t.servers {
		servers = append(servers, srv)
	}
	t.mu.Unlock()
	for _, srv := range servers {
		srv.stop()
	}
}

// ServeTCP serves ICE-TCP on ln: the passive TCP candidates of RFC 6544
// §4.5 (tcptype passive), which peers whose UDP is blocked connect to. It
// accepts connections until ctx is done, Mux.Close is called or Accept
// fails, then closes ln and every connection it accepted, waits for their
// goroutines, and returns ErrServerClosed (at once, closing ln, if either
// happened before), or the Accept error wrapped. A temporary accept error
// (out of descriptors or buffers, an aborted connection, a time-out) does
// not stop it: as net/http's Server.Serve, it waits 5 ms, doubling up to
// 1 s while the errors go on, and accepts again. Several ServeTCP may run
// on one Mux (an IPv4 and an IPv6 listener, say), with or without Serve;
// the end of one ServeTCP closes only its own connections, and the
// sessions stay open.
//
// Every frame on a connection is RFC 4571 framing (§2): a 16-bit
// big-endian length, then one datagram, demultiplexed as the UDP ones are
// (RFC 7983 §7). A STUN check is routed by its USERNAME, authenticated and
// answered (framed, on the same connection) exactly as over UDP; its
// success binds the connection to the session (RFC 6544 §7.2: the
// connection is what the check validates) and USE-CANDIDATE nominates it,
// so a session may hold UDP and TCP paths and the latest nomination wins.
// DTLS, RTP and RTCP frames on a bound connection go to the session's
// Read. When a bound connection closes, the session loses that path and,
// if it was the selected one, falls back to another (see Session); it is
// not closed, consent freshness still decides that. Closing a session
// closes its connections.
//
// Limits. Connections over MaxTCPConns (in all ServeTCP of the Mux) or
// MaxTCPConnsPerIP are closed at accept. A connection without a successful
// check within TCPCheckTimeout is closed, and so is one whose first frames
// are not STUN, DTLS, RTP or RTCP, or longer than MaxPacketSize: nothing a
// peer sends before its check is that long. On a bound connection a frame
// longer than MaxPacketSize is read and discarded (as the UDP side drops a
// datagram that long) and other garbage is dropped and counted, and the
// connection is closed once it has been idle (no frame at all) for
// ConsentTimeout (up to a quarter more), on the real clock; never when
// consent is disabled.
// Unauthenticated requests get no larger answer than they carried, as over
// UDP. Each connection costs one goroutine, its reader, and bounded
// buffers: a 4 KiB read buffer, one MaxPacketSize packet and an answer
// buffer, about 14 KiB with the goroutine's stack (measured with 1500-byte
// packets), and 8 KiB more, a framing buffer, once the session writes to
// it. Routing a frame, answering a check and a Session's TCP Write and
// WriteBatch allocate nothing.
func (m *Mux) ServeTCP(ctx context.Context, ln net.Listener) error {
	if ln == nil {
		return ErrNilListener
	}
	srv := &tcpServer{m: m, ln: ln, done: make(chan struct{}), conns: make(map[*tcpConn]struct{})}
	if ctx.Err() != nil || !m.tcp.addServer(srv) {
		_ = ln.Close()
		return ErrServerClosed
	}
	defer m.tcp.removeServer(srv)
	stop := context.AfterFunc(ctx, srv.stop)
	defer stop()
	m.log.Info("ice: serving ICE-TCP", "addr", ln.Addr())
	err := srv.acceptLoop()
	srv.stop()
	srv.closeConns()
	if err != nil {
		m.log.Error("ice: ICE-TCP failed", "addr", ln.Addr(), "err", err)
		return fmt.Errorf("ice: serve tcp: %w", err)
	}
	m.log.Info("ice: ICE-TCP stopped", "addr", ln.Addr())
	return ErrServerClosed
}

// tcpServer is one ServeTCP: its listener and the connections it serves.
type tcpServer struct {
	m        *Mux
	ln       net.Listener
	done     chan struct{} // closed by stop
	stopOnce sync.Once
	wg       sync.WaitGroup // one per connection goroutine

	mu      sync.Mutex
	conns   map[*tcpConn]struct{}
	closing bool
}

// stop closes the listener, which ends acceptLoop.
func (srv *tcpServer) stop() {
	srv.stopOnce.Do(func() {
		close(srv.done)
		_ = srv.ln.Close()
	})
}

// acceptLoop serves accepted connections until the server is stopped (nil)
// or Accept fails for good (its error).
func (srv *tcpServer) acceptLoop() error {
	var delay time.Duration
	for {
		c, err := srv.ln.Accept()
		if err != nil {
			select {
			case <-srv.done:
				return nil
			default:
			}
			if !connlimit.RetryAccept(err) {
				return err
			}
			delay = connlimit.NextAcceptDelay(delay)
			srv.m.log.Warn("ice: ICE-TCP accept failed; retrying", "err", err, "retry_in", delay)
			if !srv.sleep(delay) {
				return nil
			}
			continue
		}
		delay = 0
		srv.serve(c)
	}
}

// sleep waits d, or reports false if the server stops first.
func (srv *tcpServer) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-srv.done:
		return false
	}
}

// serve admits c under the caps and runs its reader on a goroutine, or
// closes it.
func (srv *tcpServer) serve(c net.Conn) {
	t := &srv.m.tcp
	ip := connlimit.RemoteIP(c)
	if err := t.limit.Acquire(ip); err != nil {
		_ = c.Close()
		t.refused.Add(1)
		srv.m.log.Debug("ice: ICE-TCP connection refused", "remote", ip, "reason", err.Error())
		return
	}
	tc := newTCPConn(srv.m, c)
	if !srv.track(tc) {
		t.limit.Release(ip)
		_ = c.Close()
		srv.m.pool.put(tc.held)
		t.refused.Add(1)
		return
	}
	t.accepted.Add(1)
	srv.wg.Add(1)
	go func() {
		defer srv.wg.Done()
		err := tc.serve()
		srv.untrack(tc)
		t.limit.Release(ip)
		t.closed.Add(1)
		srv.m.log.Debug("ice: ICE-TCP connection closed", "remote", tc.remote, "reason", err)
	}()
}

func (srv *tcpServer) track(tc *tcpConn) bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.closing {
		return false
	}
	srv.conns[tc] = struct{}{}
	return true
}

func (srv *tcpServer) untrack(tc *tcpConn) {
	srv.mu.Lock()
	delete(srv.conns, tc)
	srv.mu.Unlock()
}

// closeConns closes every connection of the server and waits for their
// goroutines.
func (srv *tcpServer) closeConns() {
	srv.mu.Lock()
	srv.closing = true
	conns := make([]*tcpConn, 0, len(srv.conns))
	for tc := range srv.conns {
		conns = append(conns, tc)
	}
	srv.mu.Unlock()
	for _, tc := range conns {
		tc.close()
	}
	srv.wg.Wait()
}

// bindTCP makes tc, which carried a successful check of s, a valid path of
// s (RFC 6544 §7.2), moving it from another session if need be and keeping
// at most MaxValidAddrs connections per session, and selects it as setPath
// says. Under mu, so that a connection that closes meanwhile (tcpConn.close)
// is never left selected.
func (m *Mux) bindTCP(s *Session, tc *tcpConn, nominate bool) {
	if tc.session.Load() == s {
		if cur := s.selected.Load(); cur != nil && cur.tcp == tc && (cur.nominated || !nominate) {
			return // the steady state: no lock, no allocation
		}
	}
	var evicted *tcpConn
	m.mu.Lock()
	if tc.dead || m.sessions[s.creds.Load().local.Ufrag] != s {
		m.mu.Unlock()
		return // closed meanwhile
	}
	if old := tc.session.Load(); old != s {
		if old != nil {
			old.dropTCP(tc)
		}
		tc.session.Store(s)
		s.tcp = append(s.tcp, tc)
		if len(s.tcp) > MaxValidAddrs {
			evicted = s.evictTCP(tc)
		}
	}
	s.setPath(path{remote: tc.remote, tcp: tc}, nominate)
	m.mu.Unlock()
	if evicted != nil {
		evicted.close()
	}
}

// unbindTCP forgets tc, which is closing, in its session, if any. After
// it, bindTCP refuses tc.
func (m *Mux) unbindTCP(tc *tcpConn) {
	m.mu.Lock()
	defer m.mu.Unlock()
	tc.dead = true
	if s := tc.session.Load(); s != nil {
		s.dropTCP(tc)
	}
}

// dropTCP removes tc from the paths of s and, if it was the selected one,
// selects the fallback path. The caller holds the Mux's mu.
func (s *Session) dropTCP(tc *tcpConn) {
	tc.session.Store(nil)
	for i, v := range s.tcp {
		if v == tc {
			s.tcp = append(s.tcp[:i], s.tcp[i+1:]...)
			break
		}
	}
	if cur := s.selected.Load(); cur != nil && cur.tcp == tc {
		s.selected.CompareAndSwap(cur, s.fallbackPath())
	}
}

// fallbackPath returns the path a session falls back to when its selected
// TCP connection closes: its newest other connection, which is known to
// be open, else its newest validated UDP address, else nil. It is not
// nominated, so the peer's next check, nominating or not, replaces it. The
// caller holds the Mux's mu.
func (s *Session) fallbackPath() *path {
	if n := len(s.tcp); n > 0 {
		tc := s.tcp[n-1]
		return &path{remote: tc.remote, tcp: tc}
	}
	if n := len(s.valid); n > 0 {
		p := s.valid[n-1]
		return &p
	}
	return nil
}

// evictTCP unbinds the oldest connection of s that is neither keep nor
// selected, and returns it for the caller to close once it has released
// the Mux's mu.
func (s *Session) evictTCP(keep *tcpConn) *tcpConn {
	sel := s.selected.Load()
	for _, tc := range s.tcp {
		if tc != keep && (sel == nil || sel.tcp != tc) {
			s.dropTCP(tc)
			return tc
		}
	}
	return nil
}

// errors that end a TCP connection, for the log.
var (
	errNotICE       = errors.New("ice: tcp: frame before the first check is not STUN, DTLS, RTP or RTCP")
	errFrameTooLong = errors.New("ice: tcp: frame before the first check longer than MaxPacketSize")
)
