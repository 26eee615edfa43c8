//go:build linux

package sockio

import (
	"fmt"
	"net"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsghdr is struct mmsghdr of recvmmsg(2)/sendmmsg(2): a msghdr and the
// byte count of that message. x/sys/unix does not define it (golang/sys#284
// adds it). C pads the struct to the alignment of msghdr, which Go does
// too; mmsghdrSize checks that the layouts agree on every architecture.
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
}

const (
	ptrAlign    = unsafe.Alignof(uintptr(0))
	mmsghdrSize = (unix.SizeofMsghdr + 4 + ptrAlign - 1) &^ (ptrAlign - 1)
)

// A compile-time error here means the Go struct and the kernel's differ.
var (
	_ [unsafe.Sizeof(mmsghdr{}) - mmsghdrSize]byte
	_ [mmsghdrSize - unsafe.Sizeof(mmsghdr{})]byte
)

// oobSize is the control buffer of one datagram: room for both IP_PKTINFO
// and IPV6_PKTINFO, which a dual-stack socket delivers together for an
// IPv4 datagram, and for the UDP_SEGMENT of a GSO send. All sizes are
// multiples of the cmsg alignment, so every datagram's slot stays aligned
// for unix.Cmsghdr.
var oobSize = unix.CmsgSpace(unix.SizeofInet4Pktinfo) + unix.CmsgSpace(unix.SizeofInet6Pktinfo) + unix.CmsgSpace(2)

// mmsgRing is the kernel-facing state of one direction of a BatchConn:
// headers, iovecs, socket addresses and control buffers, allocated once.
// The headers point into the other slices; the iovecs point at the
// caller's buffers during a call.
type mmsgRing struct {
	hdrs  []mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet6 // large enough for sockaddr_in too
	oob   []byte
	ms    []Message // the caller's messages during a call
	first []int     // writes: the first of ms in each header, and after the last
	n     int       // result of the last system call
	errno unix.Errno
}

func newMmsgRing(n int) mmsgRing {
	r := mmsgRing{
		hdrs:  make([]mmsghdr, n),
		iovs:  make([]unix.Iovec, n),
		names: make([]unix.RawSockaddrInet6, n),
		oob:   make([]byte, n*oobSize),
		first: make([]int, n+1),
	}
	for i := range r.hdrs {
		h := &r.hdrs[i].hdr
		h.Name = (*byte)(unsafe.Pointer(&r.names[i]))
		h.Iov = &r.iovs[i]
		h.SetIovlen(1)
		h.Control = &r.oob[i*oobSize]
	}
	return r
}

// mmsgConn is the Linux BatchConn: recvmmsg/sendmmsg on the socket's
// descriptor, inside RawConn.Read/Write so that EAGAIN waits in the
// netpoller. readFn and writeFn are bound once: passing a method value
// built per call would allocate.
type mmsgConn struct {
	c       net.PacketConn // for the addresses in errors
	rc      syscall.RawConn
	family  int // AF_INET or AF_INET6
	pktinfo bool
	gso     bool // coalesce datagrams to one destination (BatchConfig.GSO)
	rd, wr  mmsgRing
	readFn  func(uintptr) bool
	writeFn func(uintptr) bool
	wrOff   int // first header of the current sendmmsg
	wrEnd   int // end of the headers filled for it
}

// newNative returns the recvmmsg implementation for a UDP socket, nil for
// any other connection, or an error when PacketInfo cannot be enabled.
func newNative(c net.PacketConn, size int, pktinfo, gso bool) (batchIO, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil, nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, nil
	}
	family, typ, err := socketKind(rc)
	if err != nil || typ != unix.SOCK_DGRAM || (family != unix.AF_INET && family != unix.AF_INET6) {
		return nil, nil
	}
	if pktinfo {
		if err := enablePktinfo(rc, family); err != nil {
			return nil, err
		}
	}
	m := &mmsgConn{c: c, rc: rc, family: family, pktinfo: pktinfo, rd: newMmsgRing(size), wr: newMmsgRing(size)}
	m.gso = gso && gsoSupported(rc)
	m.readFn, m.writeFn = m.recvmmsg, m.sendmmsg
	return m, nil
}

// socketKind returns the socket's address family and type.
func socketKind(rc syscall.RawConn) (family, typ int, err error) {
	cerr := rc.Control(func(fd uintptr) {
		family, err = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_DOMAIN)
		if err == nil {
			typ, err = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TYPE)
		}
	})
	if cerr != nil {
		return 0, 0, cerr
	}
	return family, typ, err
}

// enablePktinfo asks the kernel for each datagram's destination address:
// IP_PKTINFO on IPv4 sockets, IPV6_RECVPKTINFO (RFC 3542 §6.1) on IPv6
// ones, plus IP_PKTINFO there for IPv4 datagrams of a dual-stack socket.
func enablePktinfo(rc syscall.RawConn, family int) error {
	var err error
	cerr := rc.Control(func(fd uintptr) {
		if family == unix.AF_INET6 {
			if err = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1); err != nil {
				err = os.NewSyscallError("setsockopt IPV6_RECVPKTINFO", err)
				return
			}
		}
		if e := unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_PKTINFO, 1); e != nil && family == unix.AF_INET {
			err = os.NewSyscallError("setsockopt IP_PKTINFO", e)
		}
	})
	if cerr != nil {
		return fmt.Errorf("sockio: enabling packet info: %w", cerr)
	}
	if err != nil {
		return fmt.Errorf("sockio: enabling packet info: %w", err)
	}
	return nil
}

// readBatch is one recvmmsg(2) (after waiting for readability).
func (m *mmsgConn) readBatch(ms []Message) (int, error) {
	r := &m.rd
	r.ms = ms[:min(len(ms), len(r.hdrs))]
	err := m.rc.Read(m.readFn)
	r.ms = nil
	if err != nil {
		return 0, err
	}
	if r.errno != 0 {
		return 0, m.opError("read", "recvmmsg", r.errno, nil)
	}
	for i := range r.n {
		m.unpack(i, &ms[i])
	}
	return r.n, nil
}

// recvmmsg runs inside RawConn.Read: false means "wait until readable".
func (m *mmsgConn) recvmmsg(fd uintptr) bool {
	r := &m.rd
	oob := 0
	if m.pktinfo {
		oob = oobSize
	}
	for i := range r.ms {
		b := r.ms[i].Buf
		setIovec(&r.iovs[i], b)
		h := &r.hdrs[i].hdr
		h.Namelen = unix.SizeofSockaddrInet6
		h.SetControllen(oob)
		h.Flags = 0
	}
	for {
		n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.hdrs[0])), uintptr(len(r.ms)), 0, 0, 0)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		r.n, r.errno = int(n), e
		return true
	}
}

// unpack fills m from the i-th header of the last recvmmsg.
func (m *mmsgConn) unpack(i int, msg *Message) {
	r := &m.rd
	h := &r.hdrs[i]
	msg.N = int(h.len)
	msg.Truncated = h.hdr.Flags&unix.MSG_TRUNC != 0
	msg.Addr = fromSockaddr(&r.names[i], h.hdr.Namelen)
	msg.Local, msg.IfIndex = parsePktinfo(r.oob[i*oobSize : i*oobSize+int(h.hdr.Controllen)])
}

// writeBatch sends ms in runs of at most len(m.wr.hdrs) headers, each one
// datagram or, with GSO, several to one destination.
func (m *mmsgConn) writeBatch(ms []Message) (int, error) {
	done, split := 0, false
	for done < len(ms) {
		n, resplit, err := m.writeRun(ms[done:], split)
		done += n
		if err != nil {
			return done, err
		}
		split = split || resplit
	}
	return done, nil
}

// writeRun sends the datagrams of ms that fit one ring of headers, one per
// header when split is set, and returns how many it sent. When a GSO send
// fails as one that the path or the device cannot take (see gsoRefused),
// it returns what it sent before it and resplit, and the caller sends the
// rest one datagram per header.
func (m *mmsgConn) writeRun(ms []Message, split bool) (sent int, resplit bool, _ error) {
	w := &m.wr
	nh, covered, ferr := m.pack(ms, split)
	w.ms, m.wrOff, m.wrEnd = ms, 0, nh
	defer func() { w.ms = nil }()
	for m.wrOff < m.wrEnd {
		first, next := w.first[m.wrOff], w.first[m.wrOff+1]
		err := m.rc.Write(m.writeFn)
		if err == nil && w.errno == 0 && w.n <= 0 {
			w.errno = unix.EIO // sendmmsg sent nothing and said nothing: never loop on it
		}
		if err == nil && w.errno != 0 {
			if next-first > 1 && gsoRefused(w.errno) {
				m.gso = m.gso && w.errno != unix.EIO // the device cannot: never again
				return first, true, nil
			}
			err = m.opError("write", "sendmmsg", w.errno, &ms[first])
		}
		if err != nil {
			return first, false, err
		}
		for j := m.wrOff; j < m.wrOff+w.n; j++ {
			for i := w.first[j]; i < w.first[j+1]; i++ {
				ms[i].N = len(ms[i].Buf) // UDP sends a datagram whole or not at all
			}
		}
		m.wrOff += w.n
	}
	return covered, false, ferr
}

// sendmmsg runs inside RawConn.Write: false means "wait until writable".
// It is a raw system call, which the Go scheduler does not see: on the
// non-blocking socket that RawConn gives, sendmmsg(2) never sleeps, and
// with Syscall a call that took longer than the scheduler's 20 µs tick
// (a batch of datagrams on loopback does) had its P handed to another
// thread and taken back: with one P, that was 7% of a WHEP server's CPU.
func (m *mmsgConn) sendmmsg(fd uintptr) bool {
	w := &m.wr
	for {
		n, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&w.hdrs[m.wrOff])), uintptr(m.wrEnd-m.wrOff), 0, 0, 0)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		w.n, w.errno = int(n), e
		return true
	}
}

// pack fills the send headers for ms: one datagram each, or with GSO, and
// unless split, each run of datagrams that segments gives. It returns how
// many headers it filled and how many datagrams they hold; it stops at the
// first datagram whose addresses do not fit the socket and returns, with
// those counts, the error for it.
func (m *mmsgConn) pack(ms []Message, split bool) (headers, datagrams int, _ error) {
	w := &m.wr
	i, j := 0, 0
	for ; i < len(ms) && i < len(w.iovs); j++ {
		msg := &ms[i]
		h := &w.hdrs[j].hdr
		n, ok := toSockaddr(&w.names[j], msg.Addr, m.family)
		oob := w.oob[j*oobSize : (j+1)*oobSize]
		used, ok2 := putPktinfo(oob, msg, m.family)
		if !ok || !ok2 {
			w.first[j] = i
			return j, i, m.opError("write", "sendmmsg", unix.EAFNOSUPPORT, msg)
		}
		h.Namelen = n
		segs := 1
		if m.gso && !split {
			segs = segments(ms[i:min(len(ms), i+maxSegments, len(w.iovs))])
		}
		if segs > 1 {
			used += putSegmentSize(oob[used:], len(msg.Buf))
		}
		h.SetControllen(used)
		h.Iov = &w.iovs[i]
		h.SetIovlen(segs)
		for k := i; k < i+segs; k++ {
			setIovec(&w.iovs[k], ms[k].Buf)
		}
		w.first[j] = i
		i += segs
	}
	w.first[j] = i
	return j, i, nil
}

// setIovec points v at b.
func setIovec(v *unix.Iovec, b []byte) {
	v.Base = nil
	if len(b) > 0 {
		v.Base = &b[0]
	}
	v.SetLen(len(b))
}

// opError wraps errno as the net package does, naming the datagram's
// peer when there is one. Only failures allocate.
func (m *mmsgConn) opError(op, call string, errno unix.Errno, msg *Message) error {
	e := &net.OpError{Op: op, Net: "udp", Source: m.c.LocalAddr(), Err: os.NewSyscallError(call, errno)}
	if msg != nil && msg.Addr.IsValid() {
		e.Addr = net.UDPAddrFromAddrPort(msg.Addr)
	}
	return e
}
