//go:build linux

package sockio

import (
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// iovMax is Linux's UIO_MAXIOV, the most iovecs one writev(2) takes (x/sys
// does not export it).
const iovMax = 1024

// inlineIovecs is how many iovecs a Vectors holds without allocating.
const inlineIovecs = 4

// Vectors is the reusable state of vectored writes (WriteBuffers,
// DupFD.SendNonblock) by one writer: the iovec array, and the connection
// WriteBuffers last wrote to. Its zero value is ready; it must not be
// copied after first use (its slice points into its own array, so that an
// owner that embeds it touches one object per write), nor used by two
// goroutines at once.
type Vectors struct {
	v   []unix.Iovec
	arr [inlineIovecs]unix.Iovec

	// WriteBuffers's state, kept here so that a write allocates nothing.
	conn    net.Conn
	rc      syscall.RawConn
	bufs    [][]byte
	err     error
	writeFn func(uintptr) bool
}

// fill points the iovecs at the non-empty buffers of bufs, at most iovMax
// of them, and returns them.
func (vs *Vectors) fill(bufs [][]byte) []unix.Iovec {
	if vs.v == nil {
		vs.v = vs.arr[:0]
	}
	v := vs.v[:0]
	for _, b := range bufs {
		if len(b) == 0 {
			continue
		}
		if len(v) == iovMax {
			break
		}
		v = append(v, unix.Iovec{Base: &b[0]})
		v[len(v)-1].SetLen(len(b))
	}
	vs.v = v
	return v
}

// WriteBuffers writes all of bufs to c, in order, and may shorten the
// elements of bufs as it goes. On a *net.TCPConn it issues writev(2)
// itself through unix.RawSyscall: the socket is non-blocking, so the call
// never blocks, and skipping the runtime's syscall bookkeeping keeps the
// scheduler from handing the P to another thread when a large loopback
// write takes more than 20 µs (the RTMP play path's main cost with
// hundreds of players). EAGAIN waits for writability in the netpoller,
// honouring c's write deadline. Other connections (TLS, pipes) go through
// net.Buffers. vs is the writer's scratch state. Errors are those of the
// net package: *net.OpError around net.ErrClosed, os.ErrDeadlineExceeded
// or an *os.SyscallError (EPIPE, ECONNRESET).
func WriteBuffers(c net.Conn, bufs [][]byte, vs *Vectors) error {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		nb := net.Buffers(bufs)
		_, err := nb.WriteTo(c)
		return err
	}
	if vs.conn != c {
		rc, err := tc.SyscallConn()
		if err != nil {
			return err
		}
		vs.conn, vs.rc = c, rc
		if vs.writeFn == nil {
			vs.writeFn = vs.writev
		}
	}
	vs.bufs, vs.err = bufs, nil
	err := vs.rc.Write(vs.writeFn)
	vs.bufs = nil
	if err == nil && vs.err != nil {
		err = &net.OpError{Op: "write", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: vs.err}
	}
	vs.err = nil
	return err
}

// writev runs inside RawConn.Write: false means "wait until writable".
func (vs *Vectors) writev(fd uintptr) bool {
	for len(vs.bufs) > 0 {
		v := vs.fill(vs.bufs)
		if len(v) == 0 {
			return true
		}
		n, _, errno := unix.RawSyscall(unix.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&v[0])), uintptr(len(v)))
		switch errno {
		case 0:
		case unix.EAGAIN:
			return false
		case unix.EINTR:
			continue
		default:
			vs.err = os.NewSyscallError("writev", errno)
			return true
		}
		vs.bufs = consume(vs.bufs, int(n))
	}
	return true
}

// DupFD is a close-on-exec duplicate of a TCP socket's descriptor, for
// non-blocking writes from a goroutine that must never wait (RTMP's inline
// player writes) without the net package's per-call locking. It shares the
// socket, and its non-blocking mode, with the connection; closing the
// connection does not close the duplicate. The zero DupFD is not valid
// (its methods fail with os.ErrClosed): get one from Dup, and Close it
// once.
type DupFD struct {
	fd    int
	valid bool
}

// Dup duplicates tc's descriptor (fcntl F_DUPFD_CLOEXEC). The caller closes
// the result with Close.
func Dup(tc *net.TCPConn) (DupFD, error) {
	rc, err := tc.SyscallConn()
	if err != nil {
		return DupFD{}, err
	}
	fd := -1
	var errno unix.Errno
	if err := rc.Control(func(s uintptr) {
		var r uintptr
		// Raw: fcntl never blocks, and leaving a runtime syscall could
		// start another thread for the P or restart sysmon's polling.
		r, _, errno = unix.RawSyscall(unix.SYS_FCNTL, s, unix.F_DUPFD_CLOEXEC, 0)
		fd = int(r)
	}); err != nil {
		return DupFD{}, err
	}
	if errno != 0 {
		return DupFD{}, os.NewSyscallError("fcntl", errno)
	}
	return DupFD{fd: fd, valid: true}, nil
}

// Close closes the duplicate descriptor.
func (d DupFD) Close() error {
	if !d.valid {
		return os.ErrClosed
	}
	return unix.Close(d.fd)
}

// SendNonblock writes as much of bufs as the socket takes now, without
// waiting, and returns what is left: nil when everything was written, the
// unwritten tail (whose first element may have been shortened in place)
// when the socket buffer is full. One buffer (the usual case: one RTMP
// message's shared chunks) goes out with send(2) and MSG_DONTWAIT |
// MSG_NOSIGNAL, which skips writev's file-layer steps, as nginx-rtmp does;
// several with writev(2). A failure (EPIPE, ECONNRESET) returns the unsent
// buffers and an *os.SyscallError; an invalid DupFD, os.ErrClosed.
func (d DupFD) SendNonblock(bufs [][]byte, vs *Vectors) ([][]byte, error) {
	if !d.valid {
		return bufs, os.ErrClosed
	}
	for len(bufs) > 0 {
		v := vs.fill(bufs)
		if len(v) == 0 {
			return nil, nil
		}
		var n uintptr
		var errno unix.Errno
		if len(v) == 1 {
			n, _, errno = unix.RawSyscall6(unix.SYS_SENDTO, uintptr(d.fd), uintptr(unsafe.Pointer(v[0].Base)), uintptr(v[0].Len),
				unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL, 0, 0)
		} else {
			n, _, errno = unix.RawSyscall(unix.SYS_WRITEV, uintptr(d.fd), uintptr(unsafe.Pointer(&v[0])), uintptr(len(v)))
		}
		switch errno {
		case 0:
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return bufs, nil // full: leave the rest to a blocking write
		default:
			return bufs, os.NewSyscallError("send", errno)
		}
		bufs = consume(bufs, int(n))
	}
	return nil, nil
}

// rawReadConn is a TCP connection whose Read issues read(2) through
// unix.RawSyscall. A read through the net package enters and leaves the
// runtime's syscall state, and leaving it wakes the runtime's sysmon thread
// whenever the process had gone idle, restarting sysmon's 20 µs polling:
// with one RTMP publisher feeding hundreds of players that was about 600
// sysmon wakeups a second and a tenth of the server's CPU. The socket is
// non-blocking, so the call never blocks; EAGAIN waits in the netpoller,
// honouring the read deadline.
type rawReadConn struct {
	*net.TCPConn
	rc syscall.RawConn
}

// RawReads returns c reading through raw read(2) calls where it is a
// *net.TCPConn, else c itself. Reads behave as net.TCPConn's: io.EOF when
// the peer closed, errors in a *net.OpError (net.ErrClosed,
// os.ErrDeadlineExceeded, *os.SyscallError).
func RawReads(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	return &rawReadConn{TCPConn: tc, rc: rc}
}

// Read reads like net.TCPConn.Read.
func (c *rawReadConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var errno unix.Errno
	err := c.rc.Read(func(fd uintptr) bool {
		for {
			r, _, e := unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
			switch e {
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return false // wait until readable, then call again
			}
			n, errno = int(r), e
			return true
		}
	})
	if err == nil && errno != 0 {
		err = os.NewSyscallError("read", errno)
	}
	if err != nil {
		return 0, &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}
