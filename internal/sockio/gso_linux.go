//go:build linux

package sockio

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// UDP generic segmentation offload (GSO, UDP_SEGMENT, Linux 4.18): one
// sendmsg(2) header carries several datagrams to one destination, all of
// one size but the last, which may be shorter, and the kernel cuts them
// apart as late as it can (in the network card, if it offloads it). A
// viewer's video frame is several RTP packets of the payloader's full
// size and a shorter last one, so a frame to one viewer goes down the
// stack once.
const (
	// maxSegments is the most datagrams of one GSO send: the kernel's
	// UDP_MAX_SEGMENTS before Linux 6.9 raised it to 128.
	maxSegments = 64
	// maxGSOBytes bounds the datagrams of one GSO send together: one IP
	// packet's 65,535 bytes less the IPv6 and UDP headers, rounded down.
	maxGSOBytes = 65_000
)

// gsoSupported reports whether the kernel takes UDP_SEGMENT on the
// socket (as quic-go finds out).
func gsoSupported(rc syscall.RawConn) bool {
	var err error
	cerr := rc.Control(func(fd uintptr) {
		_, err = unix.GetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_SEGMENT)
	})
	return cerr == nil && err == nil
}

// segments returns how many datagrams from ms[0] on one GSO send can
// carry: those that follow it to the same addresses with its length, and
// one shorter one after them, up to maxGSOBytes in all.
func segments(ms []Message) int {
	size := len(ms[0].Buf)
	if size == 0 {
		return 1
	}
	total := size
	for n := 1; n < len(ms); n++ {
		d := &ms[n]
		l := len(d.Buf)
		if l == 0 || l > size || total+l > maxGSOBytes ||
			d.Addr != ms[0].Addr || d.Local != ms[0].Local || d.IfIndex != ms[0].IfIndex {
			return n
		}
		total += l
		if l < size {
			return n + 1
		}
	}
	return len(ms)
}

// putSegmentSize writes into b the UDP_SEGMENT control message of a GSO
// send of size-byte datagrams and returns its length.
func putSegmentSize(b []byte, size int) int {
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = unix.IPPROTO_UDP, unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	*(*uint16)(unsafe.Pointer(&b[unix.CmsgLen(0)])) = uint16(size)
	return unix.CmsgSpace(2)
}

// gsoRefused reports whether errno, for a GSO send, may be the kernel's
// refusal of segmentation rather than of the datagrams: EIO when the
// device cannot checksum them (or IPsec applies), EINVAL when a segment
// does not fit the path's MTU whole, EMSGSIZE when the total does not fit.
// The datagrams are sent again one by one.
func gsoRefused(errno unix.Errno) bool {
	return errno == unix.EIO || errno == unix.EINVAL || errno == unix.EMSGSIZE
}
