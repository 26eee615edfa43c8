package ice

import "net/netip"

// packet is one datagram travelling from the Mux's reader to a Session's
// Read. Its buffer is swapped with the reader's, so routing copies nothing.
type packet struct {
	buf  []byte
	n    int
	from netip.AddrPort
}

// packetPool recycles packets through a bounded free list, so that the
// steady state allocates nothing and memory stays bounded by what is queued.
type packetPool struct {
	free chan *packet
	size int
}

func newPacketPool(capacity, size int) *packetPool {
	return &packetPool{free: make(chan *packet, capacity), size: size}
}

// get returns a free packet, allocating one only when none is free.
func (pp *packetPool) get() *packet {
	select {
	case p := <-pp.free:
		return p
	default:
		return &packet{buf: make([]byte, pp.size)}
	}
}

// put returns p to the free list; when the list is full p is left to the
// garbage collector.
func (pp *packetPool) put(p *packet) {
	p.n, p.from = 0, netip.AddrPort{}
	select {
	case pp.free <- p:
	default:
	}
}
