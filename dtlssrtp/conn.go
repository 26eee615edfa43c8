package dtlssrtp

import "net"

// packetConn lets pion/dtls, which wants a net.PacketConn and a peer
// address, run over the connected net.Conn an ICE agent hands out for one
// session. Every datagram comes from, and goes to, the one peer.
type packetConn struct {
	net.Conn
	peer net.Addr
}

func newPacketConn(c net.Conn) *packetConn {
	peer := c.RemoteAddr()
	if peer == nil {
		peer = unknownAddr{}
	}
	return &packetConn{Conn: c, peer: peer}
}

// ReadFrom reads one datagram; its size is bounded by len(b), which
// pion/dtls sets to its 8 KiB record buffer.
func (p *packetConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, err := p.Conn.Read(b)
	return n, p.peer, err
}

// WriteTo writes one datagram to the peer; addr is always the peer.
func (p *packetConn) WriteTo(b []byte, _ net.Addr) (int, error) {
	return p.Conn.Write(b)
}

// unknownAddr stands in for a net.Conn without a remote address.
type unknownAddr struct{}

func (unknownAddr) Network() string { return "dtlssrtp" }
func (unknownAddr) String() string  { return "peer" }
