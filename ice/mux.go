package ice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/streamwire/streamwire/internal/sockio"
	"github.com/streamwire/streamwire/stun"
)

// Mux defaults, named by the MuxConfig fields they fill.
const (
	// DefaultBatchSize is how many datagrams one read system call moves
	// (recvmmsg(2)) when MuxConfig.BatchSize is zero.
	DefaultBatchSize = sockio.DefaultBatchSize
	// DefaultQueueLen is how many datagrams wait for a Session's Read when
	// MuxConfig.QueueLen is zero; more are dropped, as a full socket
	// buffer drops them.
	DefaultQueueLen = 128
	// DefaultMaxPacketSize is the largest datagram the Mux reads when
	// MuxConfig.MaxPacketSize is zero: an Ethernet MTU. Longer datagrams
	// are dropped.
	DefaultMaxPacketSize = 1500
	// DefaultConsentTimeout is how long a session lives without a
	// successful check when MuxConfig.ConsentTimeout is zero: the 30 s
	// after which consent expires (RFC 7675 §5.1). Browsers check every
	// 5 s or less once connected (RFC 7675 §5.1: 4-6 s).
	DefaultConsentTimeout = 30 * time.Second
	// DefaultWriteBatchSize is how many datagrams one sendmmsg(2) of
	// Session.WriteBatch moves.
	DefaultWriteBatchSize = 16
	// MuxWriteBatchSize is how many datagrams one sendmmsg(2) of
	// Mux.WriteBatch moves: the Mux has one such writer, shared by its
	// sessions, so it can be large.
	MuxWriteBatchSize = 64
	// MaxValidAddrs is how many validated remote addresses a Session keeps
	// for routing, and how many TCP connections bound by checks; the
	// oldest one that is not selected is forgotten (a connection: closed)
	// first.
	MaxValidAddrs = 8
)

// MuxConfig configures a Mux. Its zero value works.
type MuxConfig struct {
	// Logger receives start, stop and socket error events, never one per
	// datagram (see Stats). Nil means no logging.
	Logger *slog.Logger
	// BatchSize is how many datagrams one read moves on Linux. Zero means
	// DefaultBatchSize (32); values above sockio.MaxBatchSize (1024) are
	// capped.
	BatchSize int
	// QueueLen is how many datagrams wait for each Session's Read. Zero
	// means DefaultQueueLen (128).
	QueueLen int
	// MaxPacketSize is the largest datagram read, in bytes. Zero means
	// DefaultMaxPacketSize (1500).
	MaxPacketSize int
	// ConsentTimeout closes a session (with ErrConsentExpired) when no
	// check of its peer succeeded for this long, counted from NewSession
	// and then from the last successful check (RFC 7675 §5.1). Zero means
	// DefaultConsentTimeout (30 s); negative disables it.
	ConsentTimeout time.Duration
	// Now is the clock of consent freshness. Nil means time.Now.
	Now func() time.Time
	// Software is the SOFTWARE attribute of answers to plain STUN Binding
	// requests (see stun.Server.Software). Empty means none.
	Software string

	// The ICE-TCP fields below apply to Mux.ServeTCP.

	// TCPCheckTimeout closes a TCP connection that has not carried a
	// successful check this long after it was accepted. Zero or negative
	// means DefaultTCPCheckTimeout (10 s).
	TCPCheckTimeout time.Duration
	// TCPWriteTimeout bounds each write on a TCP connection (a Session's
	// Write or WriteBatch, an answer to a check), so that a peer that
	// stops reading cannot block the writer for ever; the connection is
	// closed when it passes. Zero or negative means
	// DefaultTCPWriteTimeout (5 s).
	TCPWriteTimeout time.Duration
	// MaxTCPConns caps the TCP connections open at once, over every
	// ServeTCP of the Mux; connections over it are closed at accept. Zero
	// means DefaultMaxTCPConns (4096); negative means no cap.
	MaxTCPConns int
	// MaxTCPConnsPerIP caps the TCP connections open at once from one
	// remote IP address. Zero means DefaultMaxTCPConnsPerIP (256);
	// negative means no cap.
	MaxTCPConnsPerIP int
}

// MuxStats counts what a Mux did since it was created.
type MuxStats struct {
	Datagrams    uint64 // datagrams read
	Checks       uint64 // connectivity checks answered with success, GOOG-PING included
	GoogPings    uint64 // GOOG-PING requests answered with success
	Errors       uint64 // error responses sent (400, 401, 420, 487)
	PlainSTUN    uint64 // plain STUN Binding requests answered
	Routed       uint64 // non-STUN datagrams queued to a session
	UnknownAddr  uint64 // non-STUN datagrams from an address no session validated
	QueueFull    uint64 // non-STUN datagrams dropped because the session's queue was full
	Dropped      uint64 // other datagrams not answered (malformed, responses, indications, ...)
	Expired      uint64 // sessions closed because consent expired (RFC 7675)
	WriteRefused uint64 // responses the kernel refused to send

	// ICE-TCP (Mux.ServeTCP). Its RFC 4571 frames are counted above as
	// datagrams, with the same outcomes.
	TCPAccepted uint64 // TCP connections accepted and served
	TCPRefused  uint64 // TCP connections closed at accept: over a cap, or the Mux closing
	TCPClosed   uint64 // served TCP connections since closed, for any reason
}

// Mux serves many ICE-lite sessions (RFC 8445 §2.5), all controlled, on one
// net.PacketConn, with plain STUN on the same port, and, with ServeTCP, on
// TCP listeners too (ICE-TCP). One goroutine, Serve's, reads the socket;
// sessions cost no goroutine, TCP connections one each. Each datagram is
// demultiplexed by its first byte (RFC 7983 §7):
//   - STUN (0-3): a Binding request with USERNAME is a connectivity check,
//     routed by the local ufrag before ':' (RFC 8445 §7.2.2) to its Session,
//     authenticated with the session's keyed MESSAGE-INTEGRITY and answered
//     (see handleCheck); one without USERNAME is answered as stun.Server
//     answers it; anything else is dropped;
//   - DTLS (20-63) and RTP/RTCP (128-191): queued to the Session that has
//     validated the source address with a successful check, or dropped;
//   - anything else is dropped.
//
// On Linux, for a UDP socket, reads and writes are batched
// (recvmmsg/sendmmsg) with IP_PKTINFO, so that on a socket bound to a
// wildcard address every reply leaves from the address the peer reached.
// Routing a datagram allocates nothing.
type Mux struct {
	conn    net.PacketConn
	log     *slog.Logger
	batch   int
	qlen    int
	size    int
	plain   stun.Server // answers Binding requests without USERNAME
	now     func() time.Time
	consent time.Duration // <= 0: never expires
	pool    *packetPool

	writer muxWriter // WriteBatch's

	mu       sync.RWMutex
	sessions map[string]*Session         // by local ufrag
	routes   map[netip.AddrPort]*Session // by validated remote address
	closed   bool
	serving  bool

	datagrams, checks, errResps, plainSTUN, routed    atomic.Uint64
	unknownAddr, queueFull, dropped, refused, expired atomic.Uint64
	googPings                                         atomic.Uint64

	tcp tcpMux // ICE-TCP: its config, caps, servers and counters
}

// NewMux returns a Mux on conn with cfg. It does not read until Serve is
// called; the caller keeps owning conn and closes it after Serve returns.
func NewMux(conn net.PacketConn, cfg MuxConfig) *Mux {
	m := &Mux{
		conn:     conn,
		log:      cfg.Logger,
		batch:    min(positiveOr(cfg.BatchSize, DefaultBatchSize), sockio.MaxBatchSize),
		qlen:     positiveOr(cfg.QueueLen, DefaultQueueLen),
		size:     positiveOr(cfg.MaxPacketSize, DefaultMaxPacketSize),
		sessions: make(map[string]*Session),
		routes:   make(map[netip.AddrPort]*Session),
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	m.plain.Software = cfg.Software
	m.now = cfg.Now
	if m.now == nil {
		m.now = time.Now
	}
	m.consent = cfg.ConsentTimeout
	if m.consent == 0 {
		m.consent = DefaultConsentTimeout
	}
	m.pool = newPacketPool(4*m.batch+1024, m.size)
	m.tcp.init(cfg)
	return m
}

func positiveOr(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// Stats returns the Mux's counters.
func (m *Mux) Stats() MuxStats {
	return MuxStats{
		Datagrams: m.datagrams.Load(), Checks: m.checks.Load(), Errors: m.errResps.Load(),
		PlainSTUN: m.plainSTUN.Load(), Routed: m.routed.Load(), UnknownAddr: m.unknownAddr.Load(),
		QueueFull: m.queueFull.Load(), Dropped: m.dropped.Load(), WriteRefused: m.refused.Load(),
		Expired: m.expired.Load(), GoogPings: m.googPings.Load(),
		TCPAccepted: m.tcp.accepted.Load(), TCPRefused: m.tcp.refused.Load(), TCPClosed: m.tcp.closed.Load(),
	}
}

// NewSession registers a session whose checks carry local.Ufrag and are
// keyed with local.Pwd (RFC 8445 §7.2.2). remote holds the peer's
// a=ice-ufrag and a=ice-pwd; when remote.Ufrag is set, a check whose
// USERNAME names another sender ufrag is refused with 401. local must pass
// Credentials.Validate; remote's fields are checked the same way when set,
// and may be empty, since a lite agent never sends checks keyed with the
// peer's password (RFC 8445 §2.5). It fails with
// ErrDuplicateUfrag when local.Ufrag is taken, and with ErrServerClosed
// after Close.
func (m *Mux) NewSession(local, remote Credentials) (*Session, error) {
	creds, err := newSessionCreds(local, remote)
	if err != nil {
		return nil, err
	}
	s := &Session{
		mux:       m,
		connected: make(chan struct{}),
		queue:     make(chan *packet, m.qlen),
		closed:    make(chan struct{}),
	}
	s.creds.Store(creds)
	s.lastCheck.Store(m.now().UnixNano())
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrServerClosed
	}
	if _, dup := m.sessions[local.Ufrag]; dup {
		return nil, fmt.Errorf("%w: %q", ErrDuplicateUfrag, local.Ufrag)
	}
	m.sessions[local.Ufrag] = s
	return s, nil
}

// rekey registers s under the ufrag of c in place of its current one.
func (m *Mux) rekey(s *Session, c *sessionCreds) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := s.creds.Load()
	if m.sessions[cur.local.Ufrag] != s {
		return s.Err() // closed
	}
	if other, taken := m.sessions[c.local.Ufrag]; taken && other != s {
		return fmt.Errorf("%w: %q", ErrDuplicateUfrag, c.local.Ufrag)
	}
	if prev := cur.prev.Swap(nil); prev != nil && prev.local.Ufrag != c.local.Ufrag {
		delete(m.sessions, prev.local.Ufrag) // one generation of grace only
	}
	if cur.local.Ufrag != c.local.Ufrag {
		c.prev.Store(cur)
	}
	m.sessions[c.local.Ufrag] = s
	s.creds.Store(c)
	return nil
}

// retire forgets the credentials that c replaced, now that a check with c
// succeeded.
func (m *Mux) retire(s *Session, c *sessionCreds) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if prev := c.prev.Swap(nil); prev != nil && m.sessions[prev.local.Ufrag] == s {
		delete(m.sessions, prev.local.Ufrag)
	}
}

// removeSession unregisters s, its routes and its TCP connections, then
// closes it with err, and its TCP connections.
func (m *Mux) removeSession(s *Session, err error) {
	m.mu.Lock()
	cur := s.creds.Load()
	for _, c := range []*sessionCreds{cur, cur.prev.Load()} {
		if c != nil && m.sessions[c.local.Ufrag] == s {
			delete(m.sessions, c.local.Ufrag)
		}
	}
	for _, p := range s.valid {
		if m.routes[p.remote] == s {
			delete(m.routes, p.remote)
		}
	}
	s.valid = nil
	conns := s.tcp
	s.tcp = nil
	for _, tc := range conns {
		tc.session.Store(nil)
	}
	m.mu.Unlock()
	s.shut(err)
	for _, tc := range conns {
		tc.close()
	}
}

// Serve reads conn and answers and routes its datagrams until ctx is done
// or Close is called, then closes every session and returns
// ErrServerClosed (at once if either happened before, or if another Serve
// is running). It returns earlier, with the error wrapped, when reading or
// writing conn fails (for example because conn was closed); the Mux is
// closed then too. Serve stops its reads by moving conn's read deadline to
// the past, and clears it before it returns.
func (m *Mux) Serve(ctx context.Context) error {
	if m.conn == nil {
		return errors.New("ice: serve: nil conn")
	}
	if ctx.Err() != nil || !m.startServing() {
		return ErrServerClosed
	}
	bc, err := newReadConn(m.conn, m.batch)
	if err != nil {
		_ = m.Close()
		return fmt.Errorf("ice: serve: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = m.Close() })
	defer stop()
	m.log.Info("ice: mux serving", "addr", m.conn.LocalAddr(), "batched", bc.Batched())
	sweeping := make(chan struct{})
	sweepDone := m.startConsentSweeper(sweeping)
	err = m.newReader(bc).loop()
	close(sweeping)
	<-sweepDone
	closing := m.isClosed()
	_ = m.Close()
	_ = m.conn.SetReadDeadline(time.Time{})
	if closing {
		m.log.Info("ice: mux stopped", "addr", m.conn.LocalAddr())
		return ErrServerClosed
	}
	m.log.Error("ice: mux failed", "addr", m.conn.LocalAddr(), "err", err)
	return fmt.Errorf("ice: serve: %w", err)
}

// newReadConn opens the reader's BatchConn, with packet information where
// the socket gives it.
func newReadConn(c net.PacketConn, batch int) (*sockio.BatchConn, error) {
	bc, err := sockio.NewBatchConn(c, sockio.BatchConfig{Size: batch, PacketInfo: true})
	if errors.Is(err, errors.ErrUnsupported) {
		bc, err = sockio.NewBatchConn(c, sockio.BatchConfig{Size: batch})
	}
	return bc, err
}

func (m *Mux) startServing() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || m.serving {
		return false
	}
	m.serving = true
	return true
}

func (m *Mux) isClosed() bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.closed
}

// Close stops Serve and every ServeTCP (which then return
// ErrServerClosed), closes every session and refuses new ones. It does not
// close conn; ServeTCP closes its listener. It returns nil and may be
// called more than once.
func (m *Mux) Close() error {
	m.mu.Lock()
	if !m.closed && m.serving {
		// Wake the reader. Only once, and only while Serve runs, so that
		// a late Close leaves the caller's conn alone.
		_ = m.conn.SetReadDeadline(time.Unix(1, 0))
	}
	m.closed = true
	sessions := make([]*Session, 0, len(m.sessions))
	for _, s := range m.sessions {
		sessions = append(sessions, s)
	}
	m.mu.Unlock()
	m.tcp.stopServers()
	for _, s := range sessions {
		m.removeSession(s, ErrSessionClosed)
	}
	return nil
}

// sessionByUfrag returns the session registered for the local ufrag u.
func (m *Mux) sessionByUfrag(u []byte) *Session {
	m.mu.RLock()
	s := m.sessions[string(u)] // no allocation: the conversion is only a map key
	m.mu.RUnlock()
	return s
}

// sessionByAddr returns the session that validated a.
func (m *Mux) sessionByAddr(a netip.AddrPort) *Session {
	m.mu.RLock()
	s := m.routes[a]
	m.mu.RUnlock()
	return s
}

// sessionOn returns the session that validated the path from: the session
// a TCP connection is bound to, or the one that validated a UDP address.
func (m *Mux) sessionOn(from *path) *Session {
	if from.tcp != nil {
		return from.tcp.session.Load()
	}
	return m.sessionByAddr(from.remote)
}

// accept makes from, the path a successful check of s came over, a valid
// path of s, and selects it as setPath says; valid tells that it already
// is one (see checker.sessionFor).
func (m *Mux) accept(s *Session, from *path, valid, nominate bool) {
	if from.tcp != nil {
		m.bindTCP(s, from.tcp, nominate)
		return
	}
	if !valid {
		m.validate(s, *from)
	}
	s.setPath(*from, nominate)
}

// validate records p as a validated UDP path of s (a successful check
// came from p.remote), moving its address from another session if need
// be, and keeping at most MaxValidAddrs per session. The first path seen
// from an address is kept, with the local address it reached.
func (m *Mux) validate(s *Session, p path) {
	a := p.remote
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sessions[s.creds.Load().local.Ufrag] != s {
		return // closed meanwhile
	}
	old := m.routes[a]
	if old == s {
		return
	}
	if old != nil {
		old.valid = removeAddr(old.valid, a)
	}
	m.routes[a] = s
	s.valid = append(s.valid, p)
	if len(s.valid) > MaxValidAddrs {
		sel := s.selected.Load()
		for i, v := range s.valid {
			if (sel == nil || sel.tcp != nil || v.remote != sel.remote) && v.remote != a {
				delete(m.routes, v.remote)
				s.valid = append(s.valid[:i], s.valid[i+1:]...)
				break
			}
		}
	}
}

func removeAddr(list []path, a netip.AddrPort) []path {
	for i, v := range list {
		if v.remote == a {
			return append(list[:i], list[i+1:]...)
		}
	}
	return list
}

// isTransient reports whether a read error concerns an earlier datagram
// (an ICMP error reported on a later call) rather than the socket.
func isTransient(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.ENOBUFS) ||
		errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EMSGSIZE)
}
