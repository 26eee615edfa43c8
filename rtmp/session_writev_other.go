//go:build !linux

package rtmp

import (
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

// rawWritevSupported says that rawWritevNonblock works on this platform.
const rawWritevSupported = false

func rawWritevNonblock(_ syscall.RawConn, bufs [][]byte, _ *[]syscall.Iovec) ([][]byte, error) {
	return bufs, nil
}
