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

// path is where a session sends: the remote address of a valid candidate
// pair and the local address and interface its checks reached, so that
// replies leave from the address the peer sent to (IP_PKTINFO). It is
// immutable once published.
type path struct {
	remote    netip.AddrPort
	local     netip.Addr
	ifIndex   int
	nominated bool
}

// Session is one ICE-lite session (RFC 8445 §2.5) on a Mux: the agent is
// controlled, answers the connectivity checks that carry its local ufrag,
// learns the peer's addresses from them (peer-reflexive, RFC 8445 §7.3.1.3)
// and follows the peer's nomination (USE-CANDIDATE, §7.3.1.5), switching
// to a newer nominated address when the peer's network changes.
//
// Session is a net.Conn for the layers above (DTLS, SRTP): Read returns the
// next non-STUN datagram (RFC 7983) that arrived from one of the session's
// validated addresses, truncated to len(b) as a UDP read is; Write sends one
// datagram to the selected address: the latest nominated one, or before any
// nomination the latest validated one (RFC 8445 §12.1 lets data flow on a
// valid pair). Read and Write may be called from different goroutines.
type Session struct {
	mux   *Mux
	creds atomic.Pointer[sessionCreds] // replaced by Restart

	selected  atomic.Pointer[path]
	connected chan struct{} // closed at the first nomination
	connOnce  sync.Once

	queue     chan *packet
	closed    chan struct{}
	closeOnce sync.Once
	err       error // why the session closed; written before closed is closed

	lastCheck atomic.Int64 // Mux clock, Unix nanoseconds, of the last successful check

	readDeadline  deadline.Deadline
	writeDeadline deadline.Deadline

	wmu    sync.Mutex // guards the writers and their messages
	wbc    *sockio.BatchConn
	wmsg   [1]sockio.Message
	wbatch *sockio.BatchConn // made by the first WriteBatch
	wmsgs  []sockio.Message

	// valid lists the validated remote addresses, oldest first; guarded
	// by mux.mu.
	valid []netip.AddrPort
}

// sessionCreds are a session's credentials and the keyed integrity of its
// local password; immutable once published.
type sessionCreds struct {
	local, remote Credentials
	integrity     *stun.Integrity // used only by the Mux's read goroutine
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
// ice-pwd): from now on only checks carrying local.Ufrag, keyed with
// local.Pwd, are accepted. The session itself stays: its validated
// addresses, its selected pair and the datagrams waiting for Read, so
// media keeps flowing while the peer checks again. The credentials are
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
// peer nominated it; ok is false while no check has succeeded.
func (s *Session) Selected() (addr netip.AddrPort, nominated, ok bool) {
	p := s.selected.Load()
	if p == nil {
		return netip.AddrPort{}, false, false
	}
	return p.remote, p.nominated, true
}

// Read reads the next non-STUN datagram of the session into b and returns
// its length; a datagram longer than b is truncated, as on a UDP socket.
// It blocks until one arrives, the read deadline passes (an error that is
// a net.Error with Timeout() true, os.ErrDeadlineExceeded) or the session
// is closed (Err: ErrSessionClosed or ErrConsentExpired, both matching
// net.ErrClosed).
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
	select {
	case p := <-s.queue:
		n := copy(b, p.buf[:p.n])
		from := p.from
		s.mux.pool.put(p)
		return n, from, nil
	case <-s.closed:
		return 0, netip.AddrPort{}, s.err
	case <-s.readDeadline.Wait():
		return 0, netip.AddrPort{}, os.ErrDeadlineExceeded
	}
}

// writePath returns the selected path for a write, or why there is none:
// the session's error once it closed, os.ErrDeadlineExceeded past the
// write deadline, ErrNoPath before any check succeeded.
func (s *Session) writePath() (*path, error) {
	select {
	case <-s.closed:
		return nil, s.err
	case <-s.writeDeadline.Wait():
		return nil, os.ErrDeadlineExceeded
	default:
	}
	if p := s.selected.Load(); p != nil {
		return p, nil
	}
	return nil, ErrNoPath
}

// Write sends b as one datagram to the selected address, from the local
// address that the peer's checks reached. It returns ErrNoPath before any
// check succeeded, Err after the session closed, os.ErrDeadlineExceeded
// once the write deadline has passed, and the socket's error otherwise
// (a datagram the kernel refuses is reported, not retried).
func (s *Session) Write(b []byte) (int, error) {
	p, err := s.writePath()
	if err != nil {
		return 0, err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
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
// call (sendmmsg on Linux): the media path's burst of packets (a video
// frame) costs one call. It returns how many datagrams were sent. A
// datagram the kernel refuses is skipped and the rest are sent; the first
// such error is returned at the end. A failing socket stops the batch.
// The first call allocates the batch state; later ones do not allocate
// when bufs is no longer than any earlier batch.
func (s *Session) WriteBatch(bufs [][]byte) (int, error) {
	p, err := s.writePath()
	if err != nil {
		return 0, err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.wbatch == nil {
		bc, err := sockio.NewBatchConn(s.mux.conn, sockio.BatchConfig{Size: DefaultWriteBatchSize})
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
	sent := 0
	var first error
	for len(ms) > 0 {
		n, err := s.wbatch.WriteBatch(ms)
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

// Close unregisters the session from its Mux: its ufrag and addresses are
// forgotten, pending datagrams are dropped, and blocked Reads return
// ErrSessionClosed. It returns nil and may be called more than once.
func (s *Session) Close() error {
	s.mux.removeSession(s, ErrSessionClosed)
	return nil
}

// shut marks the session closed for reason err and frees its queue; the
// Mux has already unregistered it.
func (s *Session) shut(err error) {
	s.closeOnce.Do(func() {
		s.err = err
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

// LocalAddr returns the Mux's socket address.
func (s *Session) LocalAddr() net.Addr { return s.mux.conn.LocalAddr() }

// RemoteAddr returns the selected remote address as a *net.UDPAddr, or nil
// while there is none.
func (s *Session) RemoteAddr() net.Addr {
	if p := s.selected.Load(); p != nil {
		return net.UDPAddrFromAddrPort(p.remote)
	}
	return nil
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
// not wait for the peer, so the deadline is checked when Write starts.
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

// setPath publishes a validated path from a successful check and reports
// whether it became the first nomination. A nomination replaces any path;
// a plain check only fills an empty slot or replaces an unnominated one,
// so that the nominated pair stays selected until a newer nomination.
func (s *Session) setPath(remote netip.AddrPort, local netip.Addr, ifIndex int, nominate bool) {
	cur := s.selected.Load()
	if cur != nil && cur.remote == remote && cur.local == local && cur.ifIndex == ifIndex &&
		(cur.nominated || !nominate) {
		return // the steady state: nothing changes, nothing allocates
	}
	if cur != nil && cur.nominated && !nominate {
		return
	}
	s.selected.Store(&path{remote: remote, local: local, ifIndex: ifIndex, nominated: nominate})
	if nominate {
		s.connOnce.Do(func() { close(s.connected) })
	}
}
