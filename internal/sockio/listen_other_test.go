//go:build !linux

package sockio

import "net"

// listenPacket opens a datagram socket; off Linux the tests bind loopback
// only (packet info, which needs wildcard binds, is Linux-only).
func listenPacket(network, addr string) (net.PacketConn, error) {
	return net.ListenPacket(network, addr)
}
