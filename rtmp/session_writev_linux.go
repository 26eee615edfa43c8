//go:build linux

package rtmp

import (
	"net"
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

// rawWritevSupported says that rawWritevNonblock works on this platform.
const rawWritevSupported = true

// rawWritevNonblock writes as much of bufs as the socket takes now, without
// waiting, and returns what is left (nil when everything was written).
func rawWritevNonblock(rc syscall.RawConn, bufs [][]byte, iov *[]syscall.Iovec) ([][]byte, error) {
	var werr error
	err := rc.Write(func(fd uintptr) bool {
		for len(bufs) > 0 {
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
			if len(v) == 0 {
				bufs = nil
				return true
			}
			n, _, errno := syscall.RawSyscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&v[0])), uintptr(len(v)))
			switch errno {
			case 0:
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return true // full: leave the rest to a blocking write
			default:
				werr = errno
				return true
			}
			bufs = consume(bufs, int(n))
		}
		return true
	})
	if err == nil {
		err = werr
	}
	if len(bufs) == 0 {
		bufs = nil
	}
	return bufs, err
}
