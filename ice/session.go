package ice

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streamwire/streamwire/internal/deadline"
	"github.com/streamwire/streamwire/internal/sockio"
	"github.com/streamwire/streamwire/stun"
)

// path is a way to the peer, the transport side of a valid candidate
// pair: for UDP, the remote address and the local address and interface
// its checks reached, so that replies leave from the address the peer sent
// to (IP_PKTINFO); for ICE-TCP, the connection (RFC 6544 §7.2: the
// connection, not an address, is what a check validates) and its remote
// address. A published path is immutable.
type path struct {
	remote    netip.AddrPort
	local     netip.Addr
	ifIndex   int
	tcp       *tcpConn // nil: UDP
	nominated bool
}

// sameWay reports whether p and q send the same way, nominated or not.
func (p *path) sameWay(q *path) bool {
	return p.remote == q.remote && p.local == q.local && p.ifIndex == q.ifIndex && p.tcp == q.tcp
}

// Session is one ICE-lite session (RFC 8445 §2.5) on a Mux: the agent is
// controlled, answers the connectivity checks that carry its local ufrag,
// learns the peer's addresses from them (peer-reflexive, RFC 8445 §7.3.1.3)
// and follows the peer's nomination (USE-CANDIDATE, §7.3.1.5), switching
// to a newer nominated address when the peer's network changes.
//
// Session is a net.Conn for the layers above (DTLS, SRTP): Read returns the
// next non-STUN datagram (RFC 7983) that arrived from one of the session's
// validated addresses or bound TCP connections (ICE-TCP, see
// Mux.ServeTCP), truncated to len(b) as a UDP read is; Write sends one
// datagram to the selected path: the latest nominated one, or before any
// nomination the latest validated one (RFC 8445 §12.1 lets data flow on a
// valid pair). A path is a UDP address or a TCP connection; when the
// selected TCP connection closes, the session falls back to another valid
// path (its newest other TCP connection, else its newest validated UDP
// address), unnominated, until the peer's next check, or has none. Read
// and Write may be called from different goroutines.
type Session struct {
	mux   *Mux
	creds atomic.Pointer[sessionCreds] // replaced by Restart

	selected  atomic.Pointer[path]
	connected chan struct{} // closed at the first nomination
	connOnce  sync.Once

	queue     chan *packet
	closed    chan struct{}
	closeOnce sync.Once
	err       error       // why the session closed; written before closed is closed
	shutDown  atomic.Bool // set with closed, after err

	lastCheck atomic.Int64 // Mux clock, Unix nanoseconds, of the last successful check

	readDeadline  deadline.Deadline
	writeDeadline deadline.Deadline

	wmu    sync.Mutex        // guards the writers and their messages
	wbc    *sockio.BatchConn // made by the first Write
	wmsg   [1]sockio.Message
	wbatch *sockio.BatchConn // made by the first WriteBatch
	wmsgs  []sockio.Message

	// valid lists the validated UDP paths (remote addresses), oldest
	// first, and tcp the TCP connections that a check bound to the
	// session, oldest first; both guarded by mux.mu.
	valid []path
	tcp   []*tcpConn
}

// sessionCreds are a session's credentials and the keyed integrity of its
// local password, immutable once published but for the integrities' hash
// state. Checks of one session arrive on several goroutines: the Mux's one
// UDP reader, which alone uses integrity, without a lock (a check is the
// hot path: see checker.key), and the reader of each ICE-TCP connection,
// which share tcpIntegrity under mu.
type sessionCreds struct {
	local, remote Credentials
	integrity     *stun.Integrity // the UDP reader's

	// prev holds the credentials the latest Restart replaced, which are
	// still accepted until a check with these ones succeeds (see
	// Session.Restart); nil otherwise.
	prev atomic.Pointer[sessionCreds]

	mu           sync.Mutex
	tcpIntegrity *stun.Integrity // made by the first check over TCP
}

func newSessionCreds(local, remote Credentials) (*sessionCreds, error) {
	if err := local.Validate(); err != nil {
		return nil, fmt.Errorf("ice: local credentials: %w", err)
	}
	if err := remote.validateSet(); err != nil {
		return nil, fmt.Errorf("ice: remote credentials: %w", err)
	}
	return &sessionCreds{local: local, remote: remote, integrity: stun.NewShortTermIntegrity(local.Pwd)}, nil
}

// LocalCredentials returns the session's ufrag and password, as announced
// in the answer (a=ice-ufrag, a=ice-pwd).
func (s *Session) LocalCredentials() Credentials { return s.creds.Load().local }

// RemoteCredentials returns the peer's ufrag and password as given to
// Mux.NewSession or Restart.
func (s *Session) RemoteCredentials() Credentials { return s.creds.Load().remote }

// Restart switches the session to new credentials, as an ICE restart does
// (RFC 8445 §9; RFC 8839 §4.4.1.1.1: a new offer with a new ice-ufrag and
// ice-pwd): checks carrying local.Ufrag, keyed with local.Pwd, are
// accepted, and the previous credentials stay accepted until the first of
// those succeeds, because the peer keeps checking the pair it uses with
// them (consent, RFC 7675) until its new checks are done; a second Restart
// before that forgets the oldest ones. The session itself stays: its
// validated addresses, its selected pair and the datagrams waiting for
// Read, so media keeps flowing while the peer checks again. The credentials are
// checked as in Mux.NewSession; the error wraps ErrDuplicateUfrag when
// another session holds local.Ufrag, and is Err after the session closed.
func (s *Session) Restart(local, remote Credentials) error {
	c, err := newSessionCreds(local, remote)
	if err != nil {
		return err
	}
	return s.mux.rekey(s, c)
}

// Connected returns a channel closed when the peer first nominates a pair
// (a successful check with USE-CANDIDATE, RFC 8445 §7.3.1.5), or never.
func (s *Session) Connected() <-chan struct{} { return s.connected }

// Done returns a channel closed when the session is closed.
func (s *Session) Done() <-chan struct{} { return s.closed }

// Err returns nil while the session is open, then why it closed:
// ErrConsentExpired when the peer's checks stopped (RFC 7675), otherwise
// ErrSessionClosed (Close, Mux.Close, or the end of Mux.Serve).
func (s *Session) Err() error {
	select {
	case <-s.closed:
		return s.err
	default:
		return nil
	}
}

// Selected returns the remote address Write sends to, and whether the
// peer nominated it; ok is false while the session has no path (no check
// has succeeded, or its only TCP connections closed). For an ICE-TCP path
// addr is the TCP peer's address; RemoteAddr tells the transport.
func (s *Session) Selected() (addr netip.AddrPort, nominated, ok bool) {
	p := s.selected.Load()
	if p == nil {
		return netip.AddrPort{}, false, false
	}
	return p.remote, p.nominated, true
}

// OverTCP reports whether the session's selected pair is ICE-TCP (RFC
// 6544), whose writes wait for a slow peer's TCP window (up to
// MuxConfig.TCPWriteTimeout), rather than UDP, whose writes never wait
// for the peer. It is false while the session has no path.
func (s *Session) OverTCP() bool {
	p := s.selected.Load()
	return p != nil && p.tcp != nil
}

// Read reads the next non-STUN datagram of the session into b and returns
// its length; a datagram longer than b is truncated, as on a UDP socket.
// It blocks until one arrives, the read deadline passes (an error that is
// a net.Error with Timeout() true, os.ErrDeadlineExceeded) or the session
// is closed (Err: ErrSessionClosed or ErrConsentExpired, both matching
// net.ErrClosed). A datagram already queued is returned even after the
// deadline has passed: the deadline fails a Read that would wait.
func (s *Session) Read(b []byte) (int, error) {
	n, _, err := s.ReadPacket(b)
	return n, err
}

// ReadPacket is Read that also returns the remote address the datagram
// came from.
func (s *Session) ReadPacket(b []byte) (int, netip.AddrPort, error) {
	select {
	case <-s.closed:
		return 0, netip.AddrPort{}, s.err
	default:
	}
	// A datagram already queued is taken without the blocking select,
	// which enqueues the reader on every channel it waits for (and parks
	// it if need be) only to dequeue it again: under load, most reads
	// find one. The receive neither blocks nor, on an empty queue, locks.
	select {
	case p := <-s.queue:
		return s.take(p, b)
	default:
	}
	if s.readDeadline.Expired() {
		return 0, netip.AddrPort{}, os.ErrDeadlineExceeded
	}
	select {
	case p := <-s.queue:
		return s.take(p, b)
	case <-s.closed:
		return 0, netip.AddrPort{}, s.err
	case <-s.readDeadline.Wait():
		return 0, netip.AddrPort{}, os.ErrDeadlineExceeded
	}
}

// take copies p into b, recycles p and returns ReadPacket's results.
func (s *Session) take(p *packet, b []byte) (int, netip.AddrPort, error) {
	n := copy(b, p.buf[:p.n])
	from := p.from
	s.mux.pool.put(p)
	return n, from, nil
}

// writePath returns the selected path for a write, or why there is none:
// the session's error once it closed, os.ErrDeadlineExceeded past the
// write deadline, ErrNoPath while there is no path.
func (s *Session) writePath() (*path, error) {
	if s.shutDown.Load() { // not a receive on closed: a fan-out checks every datagram
		return nil, s.err
	}
	if s.writeDeadline.Expired() {
		return nil, os.ErrDeadlineExceeded
	}
	if p := s.selected.Load(); p != nil {
		return p, nil
	}
	return nil, ErrNoPath
}

// Write sends b as one datagram to the selected address, from the local
// address that the peer's checks reached, or, on an ICE-TCP path, as one
// RFC 4571 frame on the TCP connection. It returns ErrNoPath while there
// is no path, Err after the session closed, os.ErrDeadlineExceeded once
// the write deadline has passed, and the socket's error otherwise (a
// datagram the kernel refuses is reported, not retried). A TCP write
// waits at most MuxConfig.TCPWriteTimeout for a slow peer; a failed one
// closes the connection (see tcpConn.send) and returns an error matching
// ErrPathClosed, and the next Write takes the fallback path. The first
// UDP Write allocates the session's writer; later ones do not allocate.
func (s *Session) Write(b []byte) (int, error) {
	p, err := s.writePath()
	if err != nil {
		return 0, err
	}
	if p.tcp != nil {
		return p.tcp.writeFrame(b)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.wbc == nil {
		bc, err := s.newWriter(1)
		if err != nil {
			return 0, err
		}
		s.wbc = bc
	}
	m := &s.wmsg[0]
	m.Buf, m.Addr, m.Local, m.IfIndex = b, p.remote, p.local, p.ifIndex
	_, err = s.wbc.WriteBatch(s.wmsg[:])
	n := m.N
	m.Buf = nil
	if err != nil {
		return 0, err
	}
	return n, nil
}

// WriteBatch sends each of bufs as one datagram to the selected address,
// as Write does, moving up to DefaultWriteBatchSize datagrams per system
// call (sendmmsg on Linux, each run of equal-length datagrams and a
// shorter last one as one UDP GSO send where the kernel takes it): the
// media path's burst of packets (a video frame) costs one call. It returns how many datagrams were sent. A
// datagram the kernel refuses is skipped and the rest are sent; the first
// such error is returned at the end. A failing socket stops the batch.
// The first call allocates the batch state; later ones do not allocate
// when bufs is no longer than any earlier batch. On an ICE-TCP path the
// datagrams are framed (RFC 4571) and coalesced into as few writes as the
// connection's framing buffer allows; a failure stops the batch, as in
// Write.
func (s *Session) WriteBatch(bufs [][]byte) (int, error) {
	p, err := s.writePath()
	if err != nil {
		return 0, err
	}
	if p.tcp != nil {
		return p.tcp.writeFrames(bufs)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.wbatch == nil {
		bc, err := s.newWriter(DefaultWriteBatchSize)
		if err != nil {
			return 0, err
		}
		s.wbatch = bc
	}
	if cap(s.wmsgs) < len(bufs) {
		s.wmsgs = make([]sockio.Message, len(bufs))
	}
	ms := s.wmsgs[:len(bufs)]
	for i, b := range bufs {
		ms[i] = sockio.Message{Buf: b, Addr: p.remote, Local: p.local, IfIndex: p.ifIndex}
	}
	defer clear(ms) // drop the references to the caller's buffers
	return writePastRefused(s.wbatch, ms, nil)
}

// writePastRefused writes ms with bc, going on past a datagram whose
// destination refused the one before it (ICMP port unreachable: a peer
// gone, which must not stop the others), and returns how many were sent
// and the first error: first if set, else the first refusal, or the
// error that stopped the writing.
func writePastRefused(bc *sockio.BatchConn, ms []sockio.Message, first error) (sent int, _ error) {
	for len(ms) > 0 {
		n, err := bc.WriteBatch(ms)
		sent += n
		if err == nil {
			break
		}
		if !sockio.Refused(err) {
			return sent, err
		}
		if first == nil {
			first = err
		}
		ms = ms[n+1:]
	}
	return sent, first
}

// newWriter returns a batched writer of up to size datagrams on the Mux's
// socket. Write and WriteBatch each make theirs at their first call, not
// NewSession, so that a session costs no writer memory (about 0.8 KiB for
// Write's) until it sends, and none for the calls it never makes.
func (s *Session) newWriter(size int) (*sockio.BatchConn, error) {
	bc, err := sockio.NewBatchConn(s.mux.conn, sockio.BatchConfig{Size: size, GSO: true})
	if err != nil {
		return nil, fmt.Errorf("ice: session writer: %w", err)
	}
	return bc, nil
}

// Close unregisters the session from its Mux: its ufrag and addresses are
// forgotten, its TCP connections closed, pending datagrams are dropped,
// and blocked Reads return ErrSessionClosed. It returns nil and may be called more than once.
func (s *Session) Close() error {
	s.mux.removeSession(s, ErrSessionClosed)
	return nil
}

// shut marks the session closed for reason err and frees its queue; the
// Mux has already unregistered it.
func (s *Session) shut(err error) {
	s.closeOnce.Do(func() {
		s.err = err
		s.shutDown.Store(true)
		close(s.closed)
		s.readDeadline.Stop()
		s.writeDeadline.Stop()
		for {
			select {
			case p := <-s.queue:
				s.mux.pool.put(p)
			default:
				return
			}
		}
	})
}

// LocalAddr returns the Mux's socket address, or on an ICE-TCP path the
// local address of the TCP connection.
func (s *Session) LocalAddr() net.Addr {
	if p := s.selected.Load(); p != nil && p.tcp != nil {
		return p.tcp.c.LocalAddr()
	}
	return s.mux.conn.LocalAddr()
}

// RemoteAddr returns the selected remote address: a *net.UDPAddr, a
// *net.TCPAddr on an ICE-TCP path, or nil while there is none.
func (s *Session) RemoteAddr() net.Addr {
	p := s.selected.Load()
	switch {
	case p == nil:
		return nil
	case p.tcp != nil:
		return net.TCPAddrFromAddrPort(p.remote)
	}
	return net.UDPAddrFromAddrPort(p.remote)
}

// SetDeadline sets the read and write deadlines (net.Conn); the zero time
// means none.
func (s *Session) SetDeadline(t time.Time) error {
	s.readDeadline.Set(t)
	s.writeDeadline.Set(t)
	return nil
}

// SetReadDeadline sets the deadline of Read (net.Conn).
func (s *Session) SetReadDeadline(t time.Time) error {
	s.readDeadline.Set(t)
	return nil
}

// SetWriteDeadline sets the deadline of Write (net.Conn). A UDP write does
// not wait for the peer, so the deadline is checked when Write starts; a
// TCP write is bounded by MuxConfig.TCPWriteTimeout instead.
func (s *Session) SetWriteDeadline(t time.Time) error {
	s.writeDeadline.Set(t)
	return nil
}

// deliver queues p for Read, or reports false when the queue is full.
func (s *Session) deliver(p *packet) bool {
	select {
	case s.queue <- p:
		return true
	default:
		return false
	}
}

// setPath publishes next, a path a successful check came over, as the
// selected one when it should be. A nomination replaces any path; a plain
// check only fills an empty slot or replaces an unnominated one, so that
// the nominated pair stays selected until a newer nomination. Checks of
// one session arrive on several goroutines (the UDP reader, each TCP
// connection's), hence the compare-and-swap.
func (s *Session) setPath(next path, nominate bool) {
	for {
		cur := s.selected.Load()
		if cur != nil && cur.sameWay(&next) && (cur.nominated || !nominate) {
			return // the steady state: nothing changes, nothing allocates
		}
		if cur != nil && cur.nominated && !nominate {
			return
		}
		p := next
		p.nominated = nominate
		if s.selected.CompareAndSwap(cur, &p) {
			break
		}
	}
	if nominate {
		s.connOnce.Do(func() { close(s.connected) })
	}
}
