//go:build !linux

package sockio

import "net"

// newNative reports that batched system calls are not used here: the
// portable implementation serves.
func newNative(net.PacketConn, int, bool, bool) (batchIO, error) { return nil, nil }
