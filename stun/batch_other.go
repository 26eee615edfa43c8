//go:build !linux || !(amd64 || arm64)

package stun

import "net"

// newBatchConn reports that batched socket I/O is not available on this
// platform; the Server falls back to one ReadFrom/WriteTo per datagram.
func newBatchConn(c *net.UDPConn, n, size int) (b batchConn, ok bool) { return nil, false }
