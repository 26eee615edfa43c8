//go:build !linux

package sockio

import (
	"errors"
	"net"
)

// Vectors is the reusable state of vectored writes by one writer. Its
// zero value is ready. It holds nothing on this platform, where
// WriteBuffers goes through net.Buffers.
type Vectors struct{}

// WriteBuffers writes all of bufs to c with one vectored write where the
// platform has one (net.Buffers), and may shorten the elements of bufs as
// it goes.
func WriteBuffers(c net.Conn, bufs [][]byte, _ *Vectors) error {
	nb := net.Buffers(bufs)
	_, err := nb.WriteTo(c)
	return err
}

// DupFD is a duplicate of a socket's descriptor; Dup fails on this
// platform, so a DupFD is never valid here.
type DupFD struct{}

// Dup reports errors.ErrUnsupported: non-blocking writes on a duplicate
// descriptor are a Linux optimisation.
func Dup(*net.TCPConn) (DupFD, error) { return DupFD{}, errors.ErrUnsupported }

// Close reports errors.ErrUnsupported.
func (DupFD) Close() error { return errors.ErrUnsupported }

// SendNonblock writes nothing and reports errors.ErrUnsupported.
func (DupFD) SendNonblock(bufs [][]byte, _ *Vectors) ([][]byte, error) {
	return bufs, errors.ErrUnsupported
}

// RawReads returns c: raw reads are a Linux optimisation.
func RawReads(c net.Conn) net.Conn { return c }
