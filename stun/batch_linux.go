//go:build linux && (amd64 || arm64)

package stun

import (
	"encoding/binary"
	"net"
	"net/netip"
	"syscall"
	"unsafe"
)

// mmsghdr is struct mmsghdr of recvmmsg(2)/sendmmsg(2) on 64-bit Linux.
type mmsghdr struct {
	hdr syscall.Msghdr
	len uint32
	_   [4]byte
}

// mmsgRing is one direction (receive or send) of a batch: the headers, the
// iovecs, the socket addresses and the buffers they point to, all allocated
// once. The kernel headers hold Go pointers into the slices, which the ring
// keeps alive.
type mmsgRing struct {
	hdrs  []mmsghdr
	iovs  []syscall.Iovec
	names []syscall.RawSockaddrInet6 // large enough for IPv4 and IPv6
	bufs  [][]byte
}

func newMmsgRing(n, size int) mmsgRing {
	r := mmsgRing{
		hdrs:  make([]mmsghdr, n),
		iovs:  make([]syscall.Iovec, n),
		names: make([]syscall.RawSockaddrInet6, n),
		bufs:  make([][]byte, n),
	}
	mem := make([]byte, n*size)
	for i := range n {
		r.bufs[i] = mem[i*size : (i+1)*size : (i+1)*size]
		r.iovs[i].Base = &r.bufs[i][0]
		r.iovs[i].SetLen(size)
		h := &r.hdrs[i].hdr
		h.Name = (*byte)(unsafe.Pointer(&r.names[i]))
		h.Namelen = syscall.SizeofSockaddrInet6
		h.Iov = &r.iovs[i]
		h.Iovlen = 1
	}
	return r
}

// mmsgConn reads and writes batches of datagrams on a UDP socket with one
// recvmmsg(2) or sendmmsg(2) per batch, through the socket's syscall.RawConn
// so that Go's poller, deadlines and Close still apply. It allocates nothing
// after newBatchConn. Not safe for concurrent use: one per worker goroutine.
type mmsgConn struct {
	rc       syscall.RawConn
	in, out  mmsgRing
	size     int // buffer size of each datagram
	nOut     int // responses queued in out
	sent     int // progress of the current flush
	n        int // result of the last syscall
	errno    syscall.Errno
	readFn   func(uintptr) bool
	writeFn  func(uintptr) bool
	received int // datagrams in in after the last read
}

// newBatchConn returns a batched reader/writer on c with room for n
// datagrams of up to size bytes each way, or ok false when c cannot be used
// that way.
func newBatchConn(c *net.UDPConn, n, size int) (b batchConn, ok bool) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, false
	}
	m := &mmsgConn{rc: rc, in: newMmsgRing(n, size), out: newMmsgRing(n, size), size: size}
	m.readFn = m.recvmmsg
	m.writeFn = m.sendmmsg
	return m, true
}

func (m *mmsgConn) recvmmsg(fd uintptr) bool {
	for i := range m.in.hdrs {
		m.in.hdrs[i].hdr.Namelen = syscall.SizeofSockaddrInet6
		m.in.hdrs[i].hdr.Flags = 0
		m.in.iovs[i].SetLen(m.size)
	}
	n, _, e := syscall.Syscall6(sysRECVMMSG, fd, uintptr(unsafe.Pointer(&m.in.hdrs[0])),
		uintptr(len(m.in.hdrs)), 0, 0, 0)
	if e == syscall.EAGAIN || e == syscall.EINTR {
		return false // wait for the poller
	}
	m.n, m.errno = int(n), e
	return true
}

func (m *mmsgConn) sendmmsg(fd uintptr) bool {
	h := m.out.hdrs[m.sent:m.nOut]
	n, _, e := syscall.Syscall6(sysSENDMMSG, fd, uintptr(unsafe.Pointer(&h[0])),
		uintptr(len(h)), 0, 0, 0)
	if e == syscall.EAGAIN || e == syscall.EINTR {
		return false
	}
	m.n, m.errno = int(n), e
	return true
}

// ReadBatch waits for at least one datagram and returns how many it got.
func (m *mmsgConn) ReadBatch() (int, error) {
	m.received = 0
	if err := m.rc.Read(m.readFn); err != nil {
		return 0, err
	}
	if m.errno != 0 {
		return 0, m.errno
	}
	m.received = m.n
	return m.n, nil
}

// Datagram returns the i-th datagram read and its source. ok is false for a
// datagram that was truncated or whose source is not an IP address.
func (m *mmsgConn) Datagram(i int) (b []byte, from netip.AddrPort, ok bool) {
	h := &m.in.hdrs[i]
	if h.hdr.Flags&syscall.MSG_TRUNC != 0 {
		return nil, from, false
	}
	from, ok = sockaddrToAddrPort(&m.in.names[i], h.hdr.Namelen)
	return m.in.bufs[i][:h.len], from, ok
}

// ResponseBuffer returns the empty buffer, with capacity for one datagram,
// in which the next response is to be built.
func (m *mmsgConn) ResponseBuffer() []byte { return m.out.bufs[m.nOut][:0] }

// QueueResponse queues resp, built in ResponseBuffer, for the source of the
// i-th datagram read.
func (m *mmsgConn) QueueResponse(i int, resp []byte) {
	k := m.nOut
	if len(resp) == 0 || len(resp) > m.size {
		return
	}
	if &resp[0] != &m.out.bufs[k][0] { // built elsewhere: copy it in
		copy(m.out.bufs[k], resp)
	}
	m.out.names[k] = m.in.names[i]
	m.out.hdrs[k].hdr.Namelen = m.in.hdrs[i].hdr.Namelen
	m.out.iovs[k].SetLen(len(resp))
	m.nOut++
}

// Flush sends the queued responses. A response the kernel refuses (for
// example EPERM from a firewall or an unreachable destination) is dropped:
// UDP gives no delivery guarantee anyway.
func (m *mmsgConn) Flush() error {
	m.sent = 0
	for m.sent < m.nOut {
		if err := m.rc.Write(m.writeFn); err != nil {
			m.nOut = 0
			return err
		}
		switch {
		case m.errno != 0:
			m.sent++ // the first datagram failed: skip it
		default:
			m.sent += m.n
		}
	}
	m.nOut = 0
	return nil
}

// sockaddrToAddrPort converts a kernel socket address. An IPv4-mapped IPv6
// source (a dual-stack socket) becomes the IPv4 address, as STUN maps it.
func sockaddrToAddrPort(sa *syscall.RawSockaddrInet6, n uint32) (netip.AddrPort, bool) {
	raw := (*[syscall.SizeofSockaddrInet6]byte)(unsafe.Pointer(sa))
	port := binary.BigEndian.Uint16(raw[2:4])
	switch sa.Family {
	case syscall.AF_INET:
		if n < syscall.SizeofSockaddrInet4 {
			return netip.AddrPort{}, false
		}
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(raw[4:8])), port), true
	case syscall.AF_INET6:
		if n < syscall.SizeofSockaddrInet6 {
			return netip.AddrPort{}, false
		}
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), port), true
	}
	return netip.AddrPort{}, false
}
