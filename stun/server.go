package stun

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
)

const (
	// MaxResponseGrowth bounds amplification: a Server never sends a response
	// more than this many bytes longer than the datagram that caused it. The
	// largest answer to a bare 20-byte request is 44 bytes (IPv6
	// XOR-MAPPED-ADDRESS), and a 420 error response is at most 32 bytes
	// longer than its request, since each unknown attribute costs the request
	// at least 4 bytes and the response 2. SOFTWARE is added only when it fits
	// in the bound.
	MaxResponseGrowth = 64
	// MaxRequestSize is the largest datagram a Server reads; larger ones are
	// dropped. STUN over UDP keeps messages under the path MTU (RFC 8489 §6.1).
	MaxRequestSize = 1500

	// DefaultWorkers is the number of goroutines a Server runs per
	// connection when Server.Workers is zero.
	DefaultWorkers = 2
	// DefaultBatchSize is how many datagrams one recvmmsg/sendmmsg moves when
	// Server.BatchSize is zero.
	DefaultBatchSize = 32
	// MaxBatchSize caps Server.BatchSize.
	MaxBatchSize = 1024
)

// ErrServerClosed is what Server.Serve returns once its context is done or
// Close was called: the normal end of serving, as http.ErrServerClosed.
var ErrServerClosed = errors.New("stun: server closed")

// Server is a plain STUN server (RFC 8489 §6.3): it answers Binding
// requests with the source address it saw in XOR-MAPPED-ADDRESS. Its zero
// value is ready to use; do not change its fields once Serve was called. A
// Server is safe for concurrent use and may serve several connections at
// once.
//
// For each datagram it:
//   - drops anything that does not decode as an RFC 5389/8489 message
//     (RFC 3489 messages without the magic cookie included), responses,
//     indications (including Binding indications, RFC 8489 §6.3.2),
//     requests of other methods than Binding, and requests whose FINGERPRINT
//     does not match;
//   - answers a request carrying comprehension-required attributes it does
//     not understand with 420 (Unknown Attribute) and UNKNOWN-ATTRIBUTES
//     listing them (RFC 8489 §6.3.1);
//   - otherwise answers with XOR-MAPPED-ADDRESS (RFC 8489 §14.2), SOFTWARE
//     if set and within the amplification bound, and FINGERPRINT if the
//     request had one (RFC 8489 §14.7).
//
// MAPPED-ADDRESS is not sent: it only serves RFC 3489 clients, whose requests
// lack the magic cookie and are dropped anyway, and it would make every
// response 12-24 bytes longer.
//
// Responses carry no MESSAGE-INTEGRITY: this is the unauthenticated server of
// ICE's STUN usage (RFC 8489 §9: "a STUN server on the public Internet
// supporting ICE would have no authentication"). A MESSAGE-INTEGRITY in a
// request is ignored.
type Server struct {
	// Software, if not empty, is sent in a SOFTWARE attribute of success
	// responses when it fits within MaxResponseGrowth (a name of up to 36
	// bytes always fits). Default: none.
	Software string
	// Logger receives start, stop and socket error events (never one per
	// datagram; see Stats). Default: no logging.
	Logger *slog.Logger
	// Workers is the number of goroutines reading each connection. Zero
	// means DefaultWorkers (2): the runtime serializes the reads of one socket, and its writes, so
	// a second worker lets one socket read while the other writes, and keeps
	// reading when one is descheduled; more only queue on the socket's
	// locks. To use more cores, open several sockets on the same port with
	// SO_REUSEPORT (set in net.ListenConfig.Control), which gives each its
	// own kernel queue, and call Serve on each.
	Workers int
	// BatchSize is how many datagrams one system call reads or writes when
	// the connection is a *net.UDPConn on Linux (recvmmsg/sendmmsg). Zero
	// means DefaultBatchSize (32); larger values are capped at MaxBatchSize
	// (1024).
	BatchSize int

	mu     sync.Mutex
	conns  map[net.PacketConn]struct{} // being served, for Close
	closed bool

	requests     atomic.Uint64
	responses    atomic.Uint64
	errResponses atomic.Uint64
	dropped      atomic.Uint64
}

// ServerStats counts what a Server did since it was created.
type ServerStats struct {
	Requests  uint64 // datagrams read
	Responses uint64 // Binding success responses sent
	Errors    uint64 // error responses (420) sent
	Dropped   uint64 // datagrams not answered
}

// Stats returns the Server's counters.
func (s *Server) Stats() ServerStats {
	return ServerStats{
		Requests:  s.requests.Load(),
		Responses: s.responses.Load(),
		Errors:    s.errResponses.Load(),
		Dropped:   s.dropped.Load(),
	}
}

func (s *Server) workers() int { return positiveOr(s.Workers, DefaultWorkers) }

func (s *Server) batchSize() int { return min(positiveOr(s.BatchSize, DefaultBatchSize), MaxBatchSize) }

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Serve answers datagrams read from conn until ctx is done or Close is
// called, then returns ErrServerClosed (at once if either happened
// before). It returns earlier, with the error wrapped, if reading or writing
// conn fails (for example because conn was closed). Serve does not close
// conn, which the caller opened; it stops the readers by moving conn's read
// deadline to the past and clears the deadline before it returns, so the
// same conn may be served again by another Server.
//
// When conn is a *net.UDPConn on Linux, each worker reads and
// writes batches with recvmmsg(2)/sendmmsg(2) and allocates nothing per
// datagram; on other connections it uses ReadFrom and WriteTo (with
// ReadFromUDPAddrPort, still allocation-free, for a *net.UDPConn).
func (s *Server) Serve(ctx context.Context, conn net.PacketConn) error {
	if conn == nil {
		return errors.New("stun: serve: nil conn")
	}
	if ctx.Err() != nil || !s.track(conn) {
		return ErrServerClosed
	}
	log := s.logger()
	n := s.workers()
	batched := false
	if udp, ok := conn.(*net.UDPConn); ok {
		_, batched = newBatchConn(udp, 1, 1)
	}
	log.Info("stun: serving", "addr", conn.LocalAddr(), "workers", n, "batched", batched)

	unblocked := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = conn.SetReadDeadline(time.Unix(1, 0))
		close(unblocked)
	})
	errs := make(chan error, n)
	for range n {
		go func() { errs <- s.serveWorker(conn) }()
	}
	stopping := func() bool { return ctx.Err() != nil || s.isClosed() }
	var first error
	for range n {
		err := <-errs
		if err != nil && first == nil && !stopping() {
			first = err
			_ = conn.SetReadDeadline(time.Unix(1, 0)) // stop the other workers
		}
	}
	if !stop() {
		<-unblocked
	}
	s.untrack(conn) // before clearing, so that a late Close cannot leave the deadline set
	_ = conn.SetReadDeadline(time.Time{})
	if first == nil {
		log.Info("stun: stopped", "addr", conn.LocalAddr())
		return ErrServerClosed
	}
	log.Error("stun: serve failed", "addr", conn.LocalAddr(), "err", first)
	return fmt.Errorf("stun: serve: %w", first)
}

// Close makes every running Serve call return ErrServerClosed, and every
// later one at once. It does not close the connections, which the callers
// own. Close returns nil; it may be called more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for c := range s.conns {
		_ = c.SetReadDeadline(time.Unix(1, 0))
	}
	return nil
}

// track records conn as served, or reports false after Close.
func (s *Server) track(conn net.PacketConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.conns == nil {
		s.conns = make(map[net.PacketConn]struct{})
	}
	s.conns[conn] = struct{}{}
	return true
}

func (s *Server) untrack(conn net.PacketConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, conn)
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// serveWorker is one reader of conn.
func (s *Server) serveWorker(conn net.PacketConn) error {
	if udp, ok := conn.(*net.UDPConn); ok {
		if bc, ok := newBatchConn(udp, s.batchSize(), MaxRequestSize+MaxResponseGrowth); ok {
			return s.serveBatches(bc)
		}
		return s.serveUDP(udp)
	}
	return s.servePacketConn(conn)
}

// responder holds one worker's scratch state so that answering allocates
// nothing.
type responder struct {
	s       *Server
	msg     Message
	unknown [MaxAttributes]AttrType
}

// serveBatches is the recvmmsg/sendmmsg loop.
func (s *Server) serveBatches(bc batchConn) error {
	r := responder{s: s}
	for {
		n, err := bc.ReadBatch()
		if err != nil {
			if isTransient(err) {
				continue
			}
			return err
		}
		var answered, errored uint64
		for i := range n {
			req, from, ok := bc.Datagram(i)
			if !ok {
				continue
			}
			resp, isErr := r.respond(bc.ResponseBuffer(), req, from)
			if resp == nil {
				continue
			}
			bc.QueueResponse(i, resp)
			if isErr {
				errored++
			} else {
				answered++
			}
		}
		s.count(uint64(n), answered, errored)
		if err := bc.Flush(); err != nil {
			return err
		}
	}
}

// serveUDP is the per-datagram loop for a *net.UDPConn without batching.
func (s *Server) serveUDP(conn *net.UDPConn) error {
	r := responder{s: s}
	buf := make([]byte, MaxRequestSize+1)
	out := make([]byte, 0, MaxRequestSize+MaxResponseGrowth)
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if isTransient(err) {
				continue
			}
			return err
		}
		if err := r.answer(buf[:n], out, from, func(b []byte) error {
			_, err := conn.WriteToUDPAddrPort(b, from)
			return err
		}); err != nil {
			return err
		}
	}
}

// servePacketConn is the per-datagram loop for any other net.PacketConn.
func (s *Server) servePacketConn(conn net.PacketConn) error {
	r := responder{s: s}
	buf := make([]byte, MaxRequestSize+1)
	out := make([]byte, 0, MaxRequestSize+MaxResponseGrowth)
	for {
		n, addr, err := conn.ReadFrom(buf)
		if err != nil {
			if isTransient(err) {
				continue
			}
			return err
		}
		from, ok := addrPort(addr)
		if !ok {
			s.count(1, 0, 0)
			continue
		}
		if err := r.answer(buf[:n], out, from, func(b []byte) error {
			_, err := conn.WriteTo(b, addr)
			return err
		}); err != nil {
			return err
		}
	}
}

// answer responds to one datagram through write. A write error that only
// concerns this destination is ignored: UDP promises no delivery.
func (r *responder) answer(req, out []byte, from netip.AddrPort, write func([]byte) error) error {
	resp, isErr := r.respond(out, req, from)
	if resp == nil {
		r.s.count(1, 0, 0)
		return nil
	}
	if err := write(resp); err != nil && !isTransient(err) {
		return err
	}
	if isErr {
		r.s.count(1, 0, 1)
	} else {
		r.s.count(1, 1, 0)
	}
	return nil
}

// count adds to the statistics; what was read and not answered is dropped.
func (s *Server) count(read, answered, errored uint64) {
	s.requests.Add(read)
	if answered > 0 {
		s.responses.Add(answered)
	}
	if errored > 0 {
		s.errResponses.Add(errored)
	}
	if d := read - answered - errored; d > 0 {
		s.dropped.Add(d)
	}
}

// AppendResponse appends to dst the Server's answer to the datagram req
// received from from and returns the extended slice and true, or dst and
// false when req must be dropped (see Server). It is what Serve does for each datagram, for
// callers that read their socket themselves (a port shared by STUN and
// other protocols, RFC 7983). The answer is at most MaxResponseGrowth bytes
// longer than req. It does not allocate when dst has room for the answer.
func (s *Server) AppendResponse(dst, req []byte, from netip.AddrPort) ([]byte, bool) {
	r := responder{s: s}
	out, _ := r.respond(dst, req, from)
	if out == nil {
		return dst, false
	}
	return out, true
}

// respond appends the answer to req to dst and returns dst and the answer
// (nil: drop). isErr tells a 420 error response from a success response.
func (r *responder) respond(dst, req []byte, from netip.AddrPort) (resp []byte, isErr bool) {
	m := &r.msg
	if len(req) > MaxRequestSize || !from.IsValid() || from.Port() == 0 ||
		!IsMessage(req) || m.Decode(req) != nil {
		return nil, false
	}
	t := m.Type()
	if t != BindingRequest {
		return nil, false
	}
	fingerprint := false
	switch err := m.VerifyFingerprint(); err {
	case nil:
		fingerprint = true
	case ErrAttributeNotFound:
	default:
		return nil, false
	}
	budget := len(req) + MaxResponseGrowth
	var b Builder
	if unknown := m.AppendUnknown(r.unknown[:0]); len(unknown) > 0 {
		b.Start(dst, BindingError, m.TransactionID())
		b.AddErrorCode(CodeUnknownAttribute, "")
		b.AddUnknownAttributes(unknown)
		isErr = true
	} else {
		b.Start(dst, BindingSuccess, m.TransactionID())
		b.AddXORMappedAddress(from)
		if sw := r.s.Software; sw != "" {
			size := HeaderSize + xorMappedSize(from) + attrHeaderSize + padded(len(sw))
			if fingerprint {
				size += attrHeaderSize + 4
			}
			if size <= budget {
				b.AddSoftware(sw)
			}
		}
	}
	if fingerprint {
		b.AddFingerprint()
	}
	out, err := b.Finish()
	if err != nil || len(out)-len(dst) > budget {
		return nil, false
	}
	return out, isErr
}

// xorMappedSize is the encoded size of XOR-MAPPED-ADDRESS for a.
func xorMappedSize(a netip.AddrPort) int {
	if a.Addr().Unmap().Is4() {
		return attrHeaderSize + 8
	}
	return attrHeaderSize + 20
}

// addrPort returns the IP address and port of a UDP-like net.Addr.
func addrPort(a net.Addr) (netip.AddrPort, bool) {
	switch a := a.(type) {
	case *net.UDPAddr:
		return a.AddrPort(), true
	case interface{ AddrPort() netip.AddrPort }:
		return a.AddrPort(), true
	}
	if a == nil {
		return netip.AddrPort{}, false
	}
	ap, err := netip.ParseAddrPort(a.String())
	return ap, err == nil
}

// isTransient reports whether a socket error concerns one datagram or an
// earlier send (an ICMP error reported on a later call) rather than the
// socket.
func isTransient(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.ENOBUFS) ||
		errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EMSGSIZE)
}
