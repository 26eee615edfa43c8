package stun

import (
	"net"
	"net/netip"

	"github.com/streamwire/streamwire/internal/sockio"
)

// batchConn reads and writes datagrams in batches (recvmmsg/sendmmsg on
// Linux). One per worker goroutine; see newBatchConn.
type batchConn interface {
	// ReadBatch blocks until at least one datagram arrives and returns how
	// many were read.
	ReadBatch() (int, error)
	// Datagram returns the i-th datagram of the last ReadBatch and its
	// source; ok is false when it must be dropped (truncated, not IP).
	// b aliases a buffer reused by the next ReadBatch.
	Datagram(i int) (b []byte, from netip.AddrPort, ok bool)
	// ResponseBuffer returns an empty buffer with room for one datagram.
	ResponseBuffer() []byte
	// QueueResponse queues resp (built in ResponseBuffer) for the source of
	// datagram i.
	QueueResponse(i int, resp []byte)
	// Flush sends the queued responses.
	Flush() error
}

// mmsgBatch is a batchConn on a sockio.BatchConn, with one worker's
// request and response buffers, all allocated in newBatchConn: a batch
// cycle allocates nothing. Not safe for concurrent use.
type mmsgBatch struct {
	bc      *sockio.BatchConn
	in, out []sockio.Message // out[k].Buf keeps its full capacity
	size    int              // buffer size of each datagram
	nOut    int              // responses queued in out
}

// newBatchConn returns a batched reader/writer on c with room for n
// datagrams of up to size bytes each way, or ok false when c cannot be
// used that way (the platform moves one datagram per system call).
//
// On a socket bound to a wildcard address, each datagram's destination
// address is read (IP_PKTINFO/IPV6_PKTINFO) and its response leaves from
// it: on a host with several addresses, a client that asked 192.0.2.7 gets
// its answer from 192.0.2.7, not from whichever address the route prefers
// (RFC 8489 §6.3: the response's source is the request's destination).
func newBatchConn(c *net.UDPConn, n, size int) (b batchConn, ok bool) {
	la, _ := c.LocalAddr().(*net.UDPAddr)
	wildcard := la != nil && la.IP.IsUnspecified()
	bc, err := sockio.NewBatchConn(c, sockio.BatchConfig{Size: n, PacketInfo: wildcard})
	if err != nil && wildcard {
		bc, err = sockio.NewBatchConn(c, sockio.BatchConfig{Size: n})
	}
	if err != nil || !bc.Batched() {
		return nil, false
	}
	return &mmsgBatch{bc: bc, in: sockio.NewMessages(n, size), out: sockio.NewMessages(n, size), size: size}, true
}

// ReadBatch waits for at least one datagram and returns how many it got.
func (m *mmsgBatch) ReadBatch() (int, error) { return m.bc.ReadBatch(m.in) }

// Datagram returns the i-th datagram read and its source. ok is false for a
// datagram that was truncated or whose source is not an IP address.
func (m *mmsgBatch) Datagram(i int) (b []byte, from netip.AddrPort, ok bool) {
	d := &m.in[i]
	if d.Truncated || !d.Addr.IsValid() {
		return nil, d.Addr, false
	}
	return d.Buf[:d.N], d.Addr, true
}

// ResponseBuffer returns the empty buffer, with capacity for one datagram,
// in which the next response is to be built.
func (m *mmsgBatch) ResponseBuffer() []byte { return m.out[m.nOut].Buf[:0] }

// QueueResponse queues resp, built in ResponseBuffer, for the source of the
// i-th datagram read, to leave from the address that datagram reached.
func (m *mmsgBatch) QueueResponse(i int, resp []byte) {
	if len(resp) == 0 || len(resp) > m.size {
		return
	}
	o, d := &m.out[m.nOut], &m.in[i]
	if &resp[0] != &o.Buf[:1][0] { // built elsewhere: copy it in
		copy(o.Buf[:m.size], resp)
	}
	o.Buf, o.Addr, o.Local, o.IfIndex = o.Buf[:len(resp)], d.Addr, d.Local, d.IfIndex
	m.nOut++
}

// Flush sends the queued responses. A response the kernel refuses (for
// example EPERM from a firewall or an unreachable destination) is dropped:
// UDP gives no delivery guarantee anyway.
func (m *mmsgBatch) Flush() error {
	out := m.out[:m.nOut]
	m.nOut = 0
	for len(out) > 0 {
		n, err := m.bc.WriteBatch(out)
		if err == nil {
			return nil
		}
		if !sockio.Refused(err) {
			return err
		}
		out = out[n+1:] // skip the refused one
	}
	return nil
}
