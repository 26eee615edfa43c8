//go:build linux

package rtmp

import (
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// writeBuffers writes bufs to nc. On a plain TCP connection it issues
// writev(2) itself through syscall.RawSyscall: the socket is non-blocking,
// so the call never blocks, and skipping the runtime's syscall bookkeeping
// keeps the scheduler from handing the P to another thread whenever a large
// loopback write takes more than 20 µs (the play path's main cost with
// hundreds of players, see bench/rtmp_fanout_test.go). EAGAIN waits for
// writability in the netpoller, honouring the write deadline. Other
// connections (TLS, pipes) use net.Buffers.
func writeBuffers(nc net.Conn, bufs [][]byte, iov *[]syscall.Iovec) error {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		nb := net.Buffers(bufs)
		_, err := nb.WriteTo(nc)
		return err
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return err
	}
	var werr error
	err = rc.Write(func(fd uintptr) bool {
		for len(bufs) > 0 {
			v := fillIovec(iov, bufs)
			if len(v) == 0 {
				return true
			}
			n, _, errno := syscall.RawSyscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&v[0])), uintptr(len(v)))
			switch errno {
			case 0:
			case syscall.EAGAIN:
				return false // wait until writable, then call again
			case syscall.EINTR:
				continue
			default:
				werr = errno
				return true
			}
			bufs = consume(bufs, int(n))
		}
		return true
	})
	if err != nil {
		return err
	}
	return werr
}

// fillIovec points *iov (reused between calls) at the non-empty buffers of
// bufs, at most IOV_MAX of them, and returns it.
func fillIovec(iov *[]syscall.Iovec, bufs [][]byte) []syscall.Iovec {
	v := (*iov)[:0]
	for _, b := range bufs {
		if len(b) == 0 {
			continue
		}
		if len(v) == 1024 { // IOV_MAX
			break
		}
		v = append(v, syscall.Iovec{Base: &b[0]})
		v[len(v)-1].SetLen(len(b))
	}
	*iov = v
	return v
}

// rawWritevSupported says that sendNonblock and dupConn work on this
// platform.
const rawWritevSupported = true

// dupConn returns a close-on-exec duplicate of tc's descriptor. It shares
// the socket and its non-blocking mode; the caller closes it with closeDup.
func dupConn(tc *net.TCPConn) (int, error) {
	rc, err := tc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var errno syscall.Errno
	if err := rc.Control(func(s uintptr) {
		var r uintptr
		// Raw: fcntl never blocks, and leaving a runtime syscall could
		// start another thread for the P or restart sysmon's polling.
		r, _, errno = syscall.RawSyscall(syscall.SYS_FCNTL, s, syscall.F_DUPFD_CLOEXEC, 0)
		fd = int(r)
	}); err != nil {
		return -1, err
	}
	if errno != 0 {
		return -1, os.NewSyscallError("fcntl", errno)
	}
	return fd, nil
}

func closeDup(fd int) { syscall.Close(fd) }

// sendNonblock writes as much of bufs to the non-blocking socket fd as it
// takes now, without waiting, and returns what is left (nil when everything
// was written). One buffer (the usual case: one message's shared chunks)
// goes out with send(2), which skips writev's file-layer steps, as
// nginx-rtmp does; several with writev(2).
func sendNonblock(fd int, bufs [][]byte, iov *[]syscall.Iovec) ([][]byte, error) {
	for len(bufs) > 0 {
		v := fillIovec(iov, bufs)
		if len(v) == 0 {
			return nil, nil
		}
		var n uintptr
		var errno syscall.Errno
		if len(v) == 1 {
			n, _, errno = syscall.RawSyscall6(syscall.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(v[0].Base)), uintptr(v[0].Len), syscall.MSG_DONTWAIT|syscall.MSG_NOSIGNAL, 0, 0)
		} else {
			n, _, errno = syscall.RawSyscall(syscall.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&v[0])), uintptr(len(v)))
		}
		switch errno {
		case 0:
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return bufs, nil // full: leave the rest to a blocking write
		default:
			return bufs, os.NewSyscallError("send", errno)
		}
		bufs = consume(bufs, int(n))
	}
	return nil, nil
}

// rawReadConn is a plain TCP connection whose Read issues read(2) through
// syscall.RawSyscall. A read through the net package enters and leaves the
// runtime's syscall state, and leaving it wakes the runtime's sysmon thread
// whenever the process had gone idle, restarting sysmon's 20 µs polling:
// with one publisher feeding hundreds of players that was about 600 sysmon
// wakeups a second and a tenth of the server's CPU (see
// bench/rtmp_fanout_test.go). The socket is non-blocking, so the call never
// blocks; EAGAIN waits in the netpoller, honouring the read deadline.
type rawReadConn struct {
	*net.TCPConn
	rc syscall.RawConn
}

// rawReads returns nc reading through raw read(2) calls where it is a
// plain TCP connection, else nc.
func rawReads(nc net.Conn) net.Conn {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nc
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nc
	}
	return &rawReadConn{TCPConn: tc, rc: rc}
}

// Read reads like net.TCPConn.Read: io.EOF when the peer closed, errors
// wrapped in *net.OpError.
func (c *rawReadConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var errno syscall.Errno
	err := c.rc.Read(func(fd uintptr) bool {
		for {
			r, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
			switch e {
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
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
