//go:build !unix

package sockio

import (
	"errors"
	"fmt"
	"syscall"
)

// V6Only reports whether the IPv6 socket c receives IPv6 only. It is not
// implemented on this system: the error matches errors.ErrUnsupported.
func V6Only(syscall.Conn) (bool, error) {
	return false, fmt.Errorf("sockio: IPV6_V6ONLY: %w", errors.ErrUnsupported)
}
