package ice

import (
	"net/netip"
	"sync"
)

// class is what a datagram carries, told by its first byte (RFC 7983 §7).
type class uint8

const (
	classOther class = iota // none of the protocols RFC 7983 lists: dropped
	classSTUN               // 0-3: STUN
	classMedia              // 20-63: DTLS; 128-191: RTP and RTCP
)

// classify returns the class of a datagram that starts with first.
func classify(first byte) class {
	switch {
	case first <= 3:
		return classSTUN
	case 20 <= first && first <= 63, 128 <= first && first <= 191:
		return classMedia
	}
	return classOther
}

// packet is one datagram travelling from the Mux's reader to a Session's
// Read. Its buffer is swapped with the reader's, so routing copies nothing.
type packet struct {
	buf  []byte
	n    int
	from netip.AddrPort
}

// packetPool recycles packets, so that the steady state allocates nothing
// and memory stays bounded by what is queued. A bounded free list keeps a
// reserve across garbage collections; packets coming back while it is full
// (a backlog queued over many sessions, more than the free list holds) go
// to a sync.Pool, which keeps them for reuse until the next collections
// instead of leaving them to be allocated again.
type packetPool struct {
	free  chan *packet
	spill sync.Pool
	size  int
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
	}
	if p, ok := pp.spill.Get().(*packet); ok {
		return p
	}
	return &packet{buf: make([]byte, pp.size)}
}

// put returns p to the free list, or to the spill pool when the list is
// full.
func (pp *packetPool) put(p *packet) {
	p.n, p.from = 0, netip.AddrPort{}
	select {
	case pp.free <- p:
	default:
		pp.spill.Put(p)
	}
}
