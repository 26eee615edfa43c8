//go:build !linux

package rtmp

import (
	"errors"
	"net"
	"syscall"
)

// writeBuffers writes bufs to nc with one vectored write where the
// platform has one (net.Buffers).
func writeBuffers(nc net.Conn, bufs [][]byte, _ *[]syscall.Iovec) error {
	nb := net.Buffers(bufs)
	_, err := nb.WriteTo(nc)
	return err
}

// rawWritevSupported says that sendNonblock and dupConn work on this
// platform.
const rawWritevSupported = false

func dupConn(*net.TCPConn) (int, error) { return -1, errors.ErrUnsupported }

func closeDup(int) {}

func sendNonblock(_ int, bufs [][]byte, _ *[]syscall.Iovec) ([][]byte, error) {
	return bufs, errors.ErrUnsupported
}

// rawReads returns nc: raw reads are a Linux optimisation.
func rawReads(nc net.Conn) net.Conn { return nc }
