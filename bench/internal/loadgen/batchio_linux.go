//go:build linux

package loadgen

import (
	"net"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsghdr is struct mmsghdr of sendmmsg(2)/recvmmsg(2); Go pads it like C.
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
}

// mmsgIO drives a connected UDP socket with sendmmsg/recvmmsg directly
// through its syscall.RawConn: unlike x/net/ipv4's batches it parses no
// source address, so the generator allocates nothing per datagram and its
// garbage collector does not compete with the server under test.
type mmsgIO struct {
	rc             syscall.RawConn
	wh, rh         []mmsghdr
	wiov, riov     []unix.Iovec
	rsize          int
	from, to, n    int
	errno          syscall.Errno
	readFn, sendFn func(uintptr) bool
}

func newBatchIO(conn *net.UDPConn, wbufs, rbufs [][]byte) (batchIO, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	m := &mmsgIO{rc: rc, rsize: len(rbufs[0]),
		wh: make([]mmsghdr, len(wbufs)), rh: make([]mmsghdr, len(rbufs)),
		wiov: make([]unix.Iovec, len(wbufs)), riov: make([]unix.Iovec, len(rbufs)),
	}
	for i := range wbufs {
		m.wiov[i].Base = &wbufs[i][0]
		m.wiov[i].SetLen(len(wbufs[i]))
		m.wh[i].hdr.Iov = &m.wiov[i]
		m.wh[i].hdr.SetIovlen(1)
	}
	for i := range rbufs {
		m.riov[i].Base = &rbufs[i][0]
		m.riov[i].SetLen(len(rbufs[i]))
		m.rh[i].hdr.Iov = &m.riov[i]
		m.rh[i].hdr.SetIovlen(1)
	}
	m.readFn, m.sendFn = m.recvmmsg, m.sendmmsg
	return m, nil
}

func (m *mmsgIO) sendmmsg(fd uintptr) bool {
	h := m.wh[m.from:m.to]
	n, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&h[0])), uintptr(len(h)), 0, 0, 0)
	if e == unix.EAGAIN || e == unix.EINTR {
		return false
	}
	m.n, m.errno = int(n), e
	return true
}

func (m *mmsgIO) recvmmsg(fd uintptr) bool {
	for i := range m.rh {
		m.rh[i].hdr.Flags = 0
	}
	n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&m.rh[0])), uintptr(len(m.rh)), 0, 0, 0)
	if e == unix.EAGAIN || e == unix.EINTR {
		return false
	}
	m.n, m.errno = int(n), e
	return true
}

func (m *mmsgIO) write(from, to int) (int, error) {
	m.from, m.to = from, to
	if err := m.rc.Write(m.sendFn); err != nil {
		return 0, err
	}
	if m.errno != 0 {
		return 0, m.errno
	}
	return m.n, nil
}

func (m *mmsgIO) read() (int, error) {
	if err := m.rc.Read(m.readFn); err != nil {
		return 0, err
	}
	if m.errno != 0 {
		return 0, m.errno
	}
	return m.n, nil
}

func (m *mmsgIO) size(i int) int {
	if m.rh[i].hdr.Flags&unix.MSG_TRUNC != 0 {
		return m.rsize + 1 // never a valid response
	}
	return int(m.rh[i].len)
}
