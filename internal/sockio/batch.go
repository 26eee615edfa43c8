package sockio

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
)

const (
	// DefaultBatchSize is how many datagrams one system call moves when
	// BatchConfig.Size is zero.
	DefaultBatchSize = 32
	// MaxBatchSize caps BatchConfig.Size: Linux's UIO_MAXIOV, the most
	// messages recvmmsg(2) and sendmmsg(2) take in one call.
	MaxBatchSize = 1024
)

// Message is one datagram of a batch. A caller owns its Messages and their
// buffers and reuses them from batch to batch; nothing in a Message is
// retained by the BatchConn after the call returns.
type Message struct {
	// Buf is, for ReadBatch, where the datagram is written (up to len(Buf)
	// bytes; the datagram is Buf[:N]), and for WriteBatch the datagram.
	Buf []byte
	// N is the number of bytes read into Buf, or written from it.
	N int
	// Addr is the source of a read datagram, or the destination of a
	// written one. IPv4-mapped IPv6 addresses (dual-stack sockets) are
	// reported as IPv4; IPv4 destinations are mapped as the socket needs.
	// An IPv6 link-local source carries its scope as a numeric zone.
	Addr netip.AddrPort
	// Local is, for ReadBatch with BatchConfig.PacketInfo, the destination
	// address the datagram was sent to (IP_PKTINFO's ipi_addr,
	// IPV6_PKTINFO's ipi6_addr; RFC 3542 §6), and otherwise the zero
	// Addr. For WriteBatch, a valid Local is the source address of the
	// datagram (ipi_spec_dst, ipi6_addr): copying Local and IfIndex from a
	// received datagram into the reply makes the reply leave from the
	// address the peer reached, on a socket bound to a wildcard address.
	Local netip.Addr
	// IfIndex is the index of the interface a datagram arrived on (with
	// BatchConfig.PacketInfo), or, when writing, the interface to send on
	// (zero: as routing decides). Needed to reach IPv6 link-local peers.
	IfIndex int
	// Truncated reports that the datagram was longer than Buf and its end
	// was discarded (MSG_TRUNC). N is then len(Buf). The portable
	// implementation reports it only where the platform's ReadMsgUDP does.
	Truncated bool
}

// NewMessages returns n Messages whose Bufs are consecutive size-byte
// slices of one allocation, for callers that read into fixed buffers.
func NewMessages(n, size int) []Message {
	ms := make([]Message, n)
	mem := make([]byte, n*size)
	for i := range ms {
		ms[i].Buf = mem[i*size : (i+1)*size : (i+1)*size]
	}
	return ms
}

// BatchConfig configures a BatchConn. Its zero value works.
type BatchConfig struct {
	// Size is the most datagrams one system call reads or writes. Zero
	// means DefaultBatchSize (32); values above MaxBatchSize (1024) are
	// capped.
	Size int
	// PacketInfo makes ReadBatch report each datagram's local destination
	// address and interface in Message.Local and Message.IfIndex
	// (IP_PKTINFO for IPv4, IPV6_RECVPKTINFO for IPv6, both on a
	// dual-stack socket). Where that is not available (not Linux, or not
	// a socket), NewBatchConn fails with an error wrapping
	// errors.ErrUnsupported.
	PacketInfo bool
	// GSO lets WriteBatch send consecutive datagrams to one destination
	// (the same Addr, Local and IfIndex), of one length but the last,
	// which may be shorter, as one UDP GSO send (Linux's UDP_SEGMENT,
	// since 4.18): one trip down the network stack for all of them. The
	// receiver gets the same datagrams. Where the kernel does not take
	// it, and for a send the path refuses segmented, datagrams go one by
	// one. It applies to Linux only.
	GSO bool
}

// BatchConn reads and writes batches of datagrams on one net.PacketConn.
// On Linux, for a UDP socket (a *net.UDPConn or any net.PacketConn with a
// SyscallConn), each ReadBatch is one recvmmsg(2) and each WriteBatch one
// sendmmsg(2) per BatchConfig.Size datagrams, issued through the socket's
// syscall.RawConn, so that the connection's deadlines and Close apply; they
// allocate nothing. Elsewhere one datagram moves per call (ReadMsgUDP,
// WriteToUDP), also without allocating for a *net.UDPConn.
//
// ReadBatch and WriteBatch may run at the same time, in two goroutines, but
// neither may run concurrently with itself: use one BatchConn per reading
// goroutine. Several BatchConns may share a socket. A BatchConn holds no
// resource of its own; closing the net.PacketConn ends it.
type BatchConn struct {
	io      batchIO
	batched bool
}

// batchIO is an implementation of BatchConn.
type batchIO interface {
	readBatch(ms []Message) (int, error)
	writeBatch(ms []Message) (int, error)
}

// NewBatchConn returns a BatchConn on c. It fails when c is nil, or when
// cfg.PacketInfo is set and c cannot report packet information (the error
// wraps errors.ErrUnsupported), or when enabling it fails.
func NewBatchConn(c net.PacketConn, cfg BatchConfig) (*BatchConn, error) {
	if c == nil {
		return nil, errors.New("sockio: nil connection")
	}
	size := cfg.Size
	if size <= 0 {
		size = DefaultBatchSize
	}
	size = min(size, MaxBatchSize)
	impl, err := newNative(c, size, cfg.PacketInfo, cfg.GSO)
	if err != nil {
		return nil, err
	}
	if impl != nil {
		return &BatchConn{io: impl, batched: true}, nil
	}
	if cfg.PacketInfo {
		return nil, fmt.Errorf("sockio: packet info on %T: %w", c, errors.ErrUnsupported)
	}
	return &BatchConn{io: newPortable(c)}, nil
}

// Batched reports whether one system call moves several datagrams
// (recvmmsg/sendmmsg), rather than one per call.
func (b *BatchConn) Batched() bool { return b.batched }

// ReadBatch blocks until at least one datagram arrives (or the read
// deadline passes), reads up to min(len(ms), BatchConfig.Size) datagrams
// into ms, and returns how many it read. Each ms[i] for i < n then holds a
// datagram in ms[i].Buf[:ms[i].N], its source and, with PacketInfo, its
// local address. Errors are *net.OpError values: net.ErrClosed after Close,
// os.ErrDeadlineExceeded (a net.Error with Timeout() true) past the
// deadline, and the kernel's errno (for example ECONNREFUSED from an
// earlier send's ICMP error) in an *os.SyscallError.
func (b *BatchConn) ReadBatch(ms []Message) (int, error) {
	if len(ms) == 0 {
		return 0, nil
	}
	return b.io.readBatch(ms)
}

// WriteBatch writes the datagrams ms[i].Buf to ms[i].Addr, in order,
// BatchConfig.Size per system call, waiting while the socket's buffer is
// full (until the write deadline). It returns how many datagrams it wrote.
// When err is not nil, ms[n] is the datagram that failed: if
// Refused(err), only that datagram failed (the kernel refused it, or its
// addresses do not fit the socket) and the caller may go on with ms[n+1:];
// otherwise the socket failed (net.ErrClosed, os.ErrDeadlineExceeded).
func (b *BatchConn) WriteBatch(ms []Message) (int, error) {
	if len(ms) == 0 {
		return 0, nil
	}
	return b.io.writeBatch(ms)
}

// Refused reports whether err, returned by WriteBatch, concerns only the
// datagram it stopped at rather than the socket: the kernel refused that
// one datagram (EPERM from a firewall, EHOSTUNREACH, EMSGSIZE, ENOBUFS), or
// its address does not fit the socket. UDP promises no delivery, so
// callers usually drop it and write the rest.
func Refused(err error) bool {
	return err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, os.ErrDeadlineExceeded)
}
