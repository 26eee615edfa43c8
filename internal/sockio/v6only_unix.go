//go:build unix

package sockio

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// V6Only reports whether the IPv6 socket c receives IPv6 only
// (IPV6_V6ONLY, RFC 3493 §5.3), or also IPv4 as IPv4-mapped addresses
// (a dual-stack socket). Go sets it for the "udp6" and "tcp6" networks and
// clears it for a wildcard "udp" or "tcp" listener. Errors come from
// getsockopt(2) (an IPv4 socket has no such option) or from c's
// SyscallConn.
func V6Only(c syscall.Conn) (bool, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return false, fmt.Errorf("sockio: IPV6_V6ONLY: %w", err)
	}
	var v int
	cerr := rc.Control(func(fd uintptr) {
		v, err = unix.GetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_V6ONLY)
	})
	if cerr != nil {
		return false, fmt.Errorf("sockio: IPV6_V6ONLY: %w", cerr)
	}
	if err != nil {
		return false, fmt.Errorf("sockio: %w", os.NewSyscallError("getsockopt IPV6_V6ONLY", err))
	}
	return v != 0, nil
}
