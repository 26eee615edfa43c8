package wheplab

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Datagram sizes: a 1,500-byte MTU holds any RTP, DTLS or STUN packet on
// loopback from these servers; a longer one is truncated and counted bad.
const (
	readBatch  = 16
	readBuffer = 1500
	// socketBuffer is each viewer's SO_RCVBUF: a GOP burst to a joining
	// viewer (a keyframe of a few dozen packets) must fit while its shard
	// serves other sockets. The kernel doubles it and caps it at rmem_max.
	socketBuffer = 1 << 20
)

// mmsghdr is struct mmsghdr of recvmmsg(2); Go pads it like C.
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
}

// shard is one epoll instance and the goroutine that reads its sockets.
// Each socket belongs to one shard, so a viewer's counters have one
// writer.
type shard struct {
	epfd   int
	table  *fdTable
	hdrs   []mmsghdr
	iovs   []unix.Iovec
	names  []unix.RawSockaddrInet4
	bufs   [][]byte
	events []unix.EpollEvent
	scratch
}

func newShard(table *fdTable) (*shard, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	s := &shard{epfd: epfd, table: table, hdrs: make([]mmsghdr, readBatch), iovs: make([]unix.Iovec, readBatch),
		names: make([]unix.RawSockaddrInet4, readBatch), bufs: make([][]byte, readBatch),
		events: make([]unix.EpollEvent, 256), scratch: newScratch()}
	for i := range s.bufs {
		s.bufs[i] = make([]byte, readBuffer)
		s.iovs[i].Base = &s.bufs[i][0]
		s.iovs[i].SetLen(readBuffer)
		s.hdrs[i].hdr.Iov = &s.iovs[i]
		s.hdrs[i].hdr.SetIovlen(1)
		s.hdrs[i].hdr.Name = (*byte)(unsafe.Pointer(&s.names[i]))
	}
	return s, nil
}

// add watches fd for input.
func (s *shard) add(fd int) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
	if err := unix.EpollCtl(s.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("epoll_ctl: %w", err)
	}
	return nil
}

// remove stops watching fd (before it is closed).
func (s *shard) remove(fd int) {
	_ = unix.EpollCtl(s.epfd, unix.EPOLL_CTL_DEL, fd, nil)
}

// run reads until stop is closed. It takes every ready socket, drains it,
// then sleeps interval before it looks again, so that each recvmmsg
// brings the packets of several frames' bursts and the wake-ups do not
// grow with the viewers: the client's CPU stays a fraction of the
// server's. Nothing is lost by the wait as long as a socket's buffer
// (socketBuffer) holds interval's worth of its stream.
func (s *shard) run(stop <-chan struct{}, interval time.Duration) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		n, err := unix.EpollWait(s.epfd, s.events, 100)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return
		}
		for _, ev := range s.events[:n] {
			s.drain(int(ev.Fd))
		}
		if n < len(s.events) && interval > 0 {
			time.Sleep(interval)
		}
	}
}

func (s *shard) drain(fd int) {
	v := s.table.get(fd)
	if v == nil {
		return
	}
	for i := range s.hdrs {
		s.hdrs[i].hdr.Flags = 0
		s.hdrs[i].hdr.Namelen = unix.SizeofSockaddrInet4
	}
	for {
		n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&s.hdrs[0])),
			uintptr(len(s.hdrs)), unix.MSG_DONTWAIT, 0, 0)
		if e != 0 {
			return // EAGAIN: drained; other errors: the socket is closing
		}
		for i := range int(n) {
			h := &s.hdrs[i]
			if h.hdr.Flags&unix.MSG_TRUNC != 0 {
				v.bad.Add(1)
			} else {
				v.handle(&s.scratch, s.bufs[i][:h.len], &s.names[i])
			}
			h.hdr.Flags = 0
			h.hdr.Namelen = unix.SizeofSockaddrInet4
		}
		if int(n) < len(s.hdrs) {
			return
		}
	}
}

func (s *shard) close() { unix.Close(s.epfd) }

// openSocket opens a non-blocking UDP socket bound to ip on a free port.
func openSocket(ip netip.Addr) (fd int, local netip.AddrPort, err error) {
	fd, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, local, fmt.Errorf("socket: %w", err)
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, socketBuffer)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: ip.As4()}); err != nil {
		unix.Close(fd)
		return -1, local, fmt.Errorf("bind: %w", err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return -1, local, fmt.Errorf("getsockname: %w", err)
	}
	in4, ok := sa.(*unix.SockaddrInet4)
	if !ok {
		unix.Close(fd)
		return -1, local, fmt.Errorf("getsockname: %T", sa)
	}
	return fd, netip.AddrPortFrom(netip.AddrFrom4(in4.Addr), uint16(in4.Port)), nil
}

// fdTable maps a socket to its viewer for the shards; it grows under a
// lock, and lookups take the read lock (one per datagram batch).
type fdTable struct {
	mu sync.RWMutex
	vs []*viewer
}

func (t *fdTable) set(fd int, v *viewer) {
	t.mu.Lock()
	for fd >= len(t.vs) {
		t.vs = append(t.vs, make([]*viewer, len(t.vs)+64)...)
	}
	t.vs[fd] = v
	t.mu.Unlock()
}

func (t *fdTable) get(fd int) *viewer {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if fd < len(t.vs) {
		return t.vs[fd]
	}
	return nil
}

// rawPort is the port of a sockaddr_in the kernel filled (network byte
// order in memory).
func rawPort(sa *unix.RawSockaddrInet4) uint16 {
	p := (*[2]byte)(unsafe.Pointer(&sa.Port))
	return uint16(p[0])<<8 | uint16(p[1])
}
