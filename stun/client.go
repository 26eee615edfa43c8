package stun

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"github.com/streamwire/streamwire/internal/logstr"
)

// Client defaults (RFC 8489 §6.2.1, §6.2.2).
const (
	// DefaultRTO is the initial retransmission timeout over UDP.
	DefaultRTO = 500 * time.Millisecond
	// DefaultRc is how many times a request is sent over UDP.
	DefaultRc = 7
	// DefaultRm is the multiple of the initial RTO a client waits after the
	// last request before giving up.
	DefaultRm = 16
	// DefaultStreamTimeout is how long a client waits for a response over
	// TCP or TLS, where there are no retransmissions (Ti).
	DefaultStreamTimeout = 39500 * time.Millisecond
	// DefaultMaxMessageSize is the largest response a Client reads.
	DefaultMaxMessageSize = 2048
)

// Client errors, wrapped with context; test with errors.Is.
var (
	// ErrTimeout means no response arrived: after the last retransmission
	// over UDP, after StreamTimeout over a stream, or before the context's
	// deadline (then the error also wraps context.DeadlineExceeded). It is a
	// net.Error whose Timeout method reports true, so errors.As(err,
	// &netErr) && netErr.Timeout() holds for every Client timeout. A
	// cancelled context is not a timeout: it gives context.Canceled.
	ErrTimeout error = timeoutError{}
	// ErrErrorResponse means the server answered with an error response.
	// When the response carries a valid ERROR-CODE the error is a
	// *ResponseError (errors.As) holding its code and reason.
	ErrErrorResponse = errors.New("stun: error response")
	// ErrNoMappedAddress means a success response carried neither
	// XOR-MAPPED-ADDRESS nor MAPPED-ADDRESS.
	ErrNoMappedAddress = errors.New("stun: response without mapped address")
	// ErrMessageTooLarge means a message on a stream announced a length
	// beyond the read limit.
	ErrMessageTooLarge = errors.New("stun: message larger than the read limit")
)

// timeoutError is the type of ErrTimeout: a comparable net.Error, so that
// errors.Is(err, ErrTimeout) and a net.Error's Timeout() both work.
type timeoutError struct{}

func (timeoutError) Error() string   { return "stun: transaction timed out" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// ResponseError is an error response (class 0b11) with a valid ERROR-CODE
// attribute (RFC 8489 §14.8), as the Client returns it: test for it with
// errors.As to read the code, or with errors.Is(err, ErrErrorResponse).
// errors.Is(err, &ResponseError{Code: c}) matches any ResponseError with
// code c.
type ResponseError struct {
	// Code is the error code, 300-699 (class * 100 + number), for example
	// CodeUnauthorized (401) or CodeUnknownAttribute (420).
	Code int
	// Reason is the reason phrase as the server sent it (at most 763
	// bytes, RFC 8489 §14.8); Error quotes at most logstr.MaxLen bytes of it.
	Reason string
	// Unknown lists the attribute types of UNKNOWN-ATTRIBUTES (RFC 8489
	// §14.13) for a 420 response, nil otherwise.
	Unknown []AttrType
}

// Error returns "stun: error response <code> <reason>", the reason bounded
// by logstr.Bound since it comes from the peer.
func (e *ResponseError) Error() string {
	return fmt.Sprintf("stun: error response %d %q", e.Code, logstr.Bound(e.Reason))
}

// Is reports whether target is ErrErrorResponse or a *ResponseError with the
// same Code.
func (e *ResponseError) Is(target error) bool {
	if target == ErrErrorResponse {
		return true
	}
	t, ok := target.(*ResponseError)
	return ok && t.Code == e.Code
}

// responseError builds the error an error response m means.
func responseError(m *Message) error {
	code, reason, err := m.ErrorCode()
	if err != nil {
		return fmt.Errorf("%w without valid ERROR-CODE: %w", ErrErrorResponse, err)
	}
	re := &ResponseError{Code: code, Reason: string(reason)}
	if code == CodeUnknownAttribute {
		re.Unknown, _ = m.UnknownAttributes(nil)
	}
	return re
}

// Client sends Binding requests and returns the address the server saw
// (RFC 8489 §6.2, §6.3.4). Its zero value uses the RFC 8489 defaults. A
// Client is safe for concurrent use; do not change its fields once in use.
type Client struct {
	// RTO is the initial retransmission timeout over UDP; it doubles after
	// each retransmission (RFC 8489 §6.2.1). Default DefaultRTO (500 ms).
	RTO time.Duration
	// Rc is the number of requests sent over UDP. Default DefaultRc (7).
	Rc int
	// Rm is how many initial RTOs the client waits after the last request
	// over UDP. Default DefaultRm (16): with the other defaults the requests
	// go out at 0, 0.5, 1.5, 3.5, 7.5, 15.5 and 31.5 s and the client gives
	// up at 39.5 s.
	Rm int
	// StreamTimeout bounds a transaction over TCP or TLS (RFC 8489 §6.2.2).
	// Default DefaultStreamTimeout (39.5 s).
	StreamTimeout time.Duration
	// MaxMessageSize is the largest response read; larger datagrams are
	// dropped, and a larger message on a stream is an error. Default
	// DefaultMaxMessageSize (2048 bytes).
	MaxMessageSize int
	// Software, if not empty, is sent in a SOFTWARE attribute.
	Software string
	// Rand is the source of transaction IDs. Default crypto/rand.Reader.
	Rand io.Reader
	// After returns a channel that receives once d has passed; the UDP
	// retransmission timers use it. Default time.After. Tests replace it to
	// run the schedule without waiting.
	After func(d time.Duration) <-chan time.Time
}

func (c *Client) rto() time.Duration { return positiveOr(c.RTO, DefaultRTO) }

func (c *Client) rc() int { return positiveOr(c.Rc, DefaultRc) }

func (c *Client) rm() int { return positiveOr(c.Rm, DefaultRm) }

func (c *Client) streamTimeout() time.Duration {
	return positiveOr(c.StreamTimeout, DefaultStreamTimeout)
}

func (c *Client) maxMessageSize() int { return positiveOr(c.MaxMessageSize, DefaultMaxMessageSize) }

// positiveOr returns v, or def when v is not positive: the rule for every
// Client and Server field whose zero value means "the default".
func positiveOr[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

func (c *Client) after(d time.Duration) <-chan time.Time {
	if c.After != nil {
		return c.After(d)
	}
	return time.After(d)
}

// schedule returns the total time a UDP transaction may last.
func (c *Client) schedule() time.Duration {
	var total time.Duration
	rto := c.rto()
	for range c.rc() - 1 {
		total += rto
		rto *= 2
	}
	return total + time.Duration(c.rm())*c.rto()
}

// newRequest returns a fresh transaction ID and the Binding request that
// carries it.
func (c *Client) newRequest() (TransactionID, []byte, error) {
	r := c.Rand
	if r == nil {
		r = rand.Reader
	}
	id, err := NewTransactionID(r)
	if err != nil {
		return id, nil, err
	}
	req, err := appendBindingRequest(make([]byte, 0, 64+len(c.Software)), id, c.Software)
	return id, req, err
}

// outcome is the end of a transaction: a mapped address or an error.
type outcome struct {
	addr netip.AddrPort
	err  error
}

// Binding sends a Binding request to server over conn (UDP),
// retransmitting it as RFC 8489 §6.2.1 says, and returns the mapped address
// from the response (XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS). A response
// must carry the request's transaction ID and, if it has a FINGERPRINT, a
// correct one; other datagrams are dropped.
//
// An error response gives a *ResponseError; no response gives ErrTimeout (a
// net.Error with Timeout() true); a cancelled ctx gives context.Canceled; a
// nil conn gives an error, as Server.Serve does.
//
// ctx bounds the whole transaction. While Binding runs it reads from conn,
// so nothing else may; it clears conn's read deadline when it returns. conn
// may be a connected *net.UDPConn (from net.DialUDP); server is then
// ignored.
func (c *Client) Binding(ctx context.Context, conn net.PacketConn, server net.Addr) (netip.AddrPort, error) {
	if conn == nil { // as Server.Serve answers a nil conn
		return netip.AddrPort{}, errors.New("stun: binding: nil conn")
	}
	id, req, err := c.newRequest()
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("stun: binding: %w", err)
	}
	// Only this goroutine moves the read deadline: first to a safety net
	// past the whole schedule, at the end to the past to stop the reader.
	if err := conn.SetReadDeadline(time.Now().Add(c.schedule() + time.Second)); err != nil {
		return netip.AddrPort{}, fmt.Errorf("stun: binding: %w", err)
	}
	results := make(chan outcome, 1)
	readerDone := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		defer close(readerDone)
		c.readDatagrams(conn, id, results, stop)
	}()
	defer func() {
		close(stop)
		_ = conn.SetReadDeadline(time.Unix(1, 0))
		<-readerDone
		_ = conn.SetReadDeadline(time.Time{})
	}()

	send := func() error { _, err := conn.WriteTo(req, server); return err }
	if uc, ok := conn.(*net.UDPConn); ok && uc.RemoteAddr() != nil {
		send = func() error { _, err := uc.Write(req); return err } // connected: WriteTo is refused
	}
	rto := c.rto()
	for i := range c.rc() {
		// ECONNREFUSED reports an ICMP error caused by an earlier request;
		// like a lost datagram, it does not stop the retransmissions.
		if err := send(); err != nil && !errors.Is(err, syscall.ECONNREFUSED) {
			return netip.AddrPort{}, fmt.Errorf("stun: binding: send: %w", err)
		}
		wait := rto
		if i == c.rc()-1 {
			wait = time.Duration(c.rm()) * c.rto()
		}
		select {
		case r := <-results:
			return r.addr, r.err
		case <-c.after(wait):
		case <-ctx.Done():
			return netip.AddrPort{}, contextError(ctx)
		}
		rto *= 2
	}
	return netip.AddrPort{}, fmt.Errorf("%w: no response to %d Binding requests", ErrTimeout, c.rc())
}

// readDatagrams reads conn until a response to id arrives (sent on
// results), stop is closed, or the read fails.
func (c *Client) readDatagrams(conn net.PacketConn, id TransactionID, results chan<- outcome, stop <-chan struct{}) {
	limit := c.maxMessageSize()
	buf := make([]byte, limit+1) // one more byte tells an oversized datagram
	for {
		n, _, err := conn.ReadFrom(buf)
		select {
		case <-stop:
			return
		default:
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			continue // ICMP unreachable after an earlier send: retransmissions go on
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			results <- outcome{err: ErrTimeout}
			return
		}
		if err != nil {
			results <- outcome{err: fmt.Errorf("stun: binding: read: %w", err)}
			return
		}
		if n > limit {
			continue
		}
		if addr, ok, err := parseBindingResponse(buf[:n], id); ok {
			results <- outcome{addr, err}
			return
		}
	}
}

// BindingStream sends a Binding request over a stream connection (TCP or
// TLS) and returns the mapped address from the response. Over a stream
// there are no retransmissions (RFC 8489 §6.2.2); messages are framed by the
// length in their header. Messages that are not a response to this request
// are skipped. The transaction ends at StreamTimeout or when ctx is done;
// conn's deadline is cleared on return. A nil conn gives an error.
func (c *Client) BindingStream(ctx context.Context, conn net.Conn) (netip.AddrPort, error) {
	if conn == nil {
		return netip.AddrPort{}, errors.New("stun: binding: nil conn")
	}
	id, req, err := c.newRequest()
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("stun: binding: %w", err)
	}
	if err := conn.SetDeadline(time.Now().Add(c.streamTimeout())); err != nil {
		return netip.AddrPort{}, fmt.Errorf("stun: binding: %w", err)
	}
	defer func() { _ = conn.SetDeadline(time.Time{}) }()
	stopAfter := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stopAfter()

	if _, err := conn.Write(req); err != nil {
		return netip.AddrPort{}, c.streamError(ctx, "send", err)
	}
	buf := make([]byte, c.maxMessageSize())
	for {
		msg, err := readFrame(conn, buf)
		if err != nil {
			return netip.AddrPort{}, c.streamError(ctx, "read", err)
		}
		if addr, ok, err := parseBindingResponse(msg, id); ok {
			return addr, err
		}
	}
}

// readFrame reads one STUN message from a stream into buf, using the length
// in its header (RFC 8489 §6.2.2), and returns it.
func readFrame(r io.Reader, buf []byte) ([]byte, error) {
	if _, err := io.ReadFull(r, buf[:HeaderSize]); err != nil {
		return nil, err
	}
	n, err := MessageLength(buf[:HeaderSize])
	if err != nil {
		return nil, err
	}
	if n > len(buf) {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrMessageTooLarge, n, len(buf))
	}
	if _, err := io.ReadFull(r, buf[HeaderSize:n]); err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// streamError turns a stream failure into the error BindingStream returns.
func (c *Client) streamError(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return contextError(ctx)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%w: no response within %v", ErrTimeout, c.streamTimeout())
	}
	return fmt.Errorf("stun: binding: %s: %w", op, err)
}

// contextError wraps ctx's error, adding ErrTimeout when its deadline passed.
func contextError(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrTimeout, ctx.Err())
	}
	return fmt.Errorf("stun: binding: %w", ctx.Err())
}

// appendBindingRequest appends a Binding request with transaction ID id,
// SOFTWARE if software is set, and FINGERPRINT.
func appendBindingRequest(dst []byte, id TransactionID, software string) ([]byte, error) {
	var b Builder
	b.Start(dst, BindingRequest, id)
	if software != "" {
		b.AddSoftware(software)
	}
	b.AddFingerprint()
	return b.Finish()
}

// parseBindingResponse reads a response to the Binding request id. ok is
// false when b is not one (not STUN, another transaction, a bad
// FINGERPRINT): the caller keeps waiting. Otherwise it returns the mapped
// address, or the error the response means.
func parseBindingResponse(b []byte, id TransactionID) (addr netip.AddrPort, ok bool, err error) {
	var m Message
	if m.Decode(b) != nil || m.TransactionID() != id || m.Type().Method() != MethodBinding {
		return addr, false, nil
	}
	if err := m.VerifyFingerprint(); err != nil && err != ErrAttributeNotFound {
		return addr, false, nil
	}
	switch m.Type().Class() {
	case ClassSuccess:
		addr, err := m.XORMappedAddress()
		if err == nil {
			return addr, true, nil
		}
		if mapped, err2 := m.MappedAddress(); err2 == nil {
			return mapped, true, nil
		}
		return addr, true, fmt.Errorf("%w: %w", ErrNoMappedAddress, err)
	case ClassError:
		return addr, true, responseError(&m)
	}
	return addr, false, nil
}
