package sockio

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// portable is the BatchConn of platforms without recvmmsg and of
// connections that are not sockets: one datagram per call through the
// net.PacketConn.
type portable struct {
	c   net.PacketConn
	udp *net.UDPConn // c, when it is one: its AddrPort calls do not allocate
}

func newPortable(c net.PacketConn) *portable {
	p := &portable{c: c}
	p.udp, _ = c.(*net.UDPConn)
	return p
}

// readBatch reads one datagram into ms[0].
func (p *portable) readBatch(ms []Message) (int, error) {
	m := &ms[0]
	m.Local, m.IfIndex, m.Truncated = netip.Addr{}, 0, false
	if p.udp != nil {
		n, _, flags, from, err := p.udp.ReadMsgUDPAddrPort(m.Buf, nil)
		if err != nil {
			return 0, err
		}
		m.N, m.Addr, m.Truncated = n, unmapAddrPort(from), flags&msgTrunc != 0
		return 1, nil
	}
	n, from, err := p.c.ReadFrom(m.Buf)
	if err != nil {
		return 0, err
	}
	m.N, m.Addr = n, addrPortOf(from)
	return 1, nil
}

// writeBatch writes the datagrams one by one.
func (p *portable) writeBatch(ms []Message) (int, error) {
	for i := range ms {
		m := &ms[i]
		if m.Local.IsValid() || m.IfIndex != 0 {
			return i, &net.OpError{Op: "write", Net: "udp", Source: p.c.LocalAddr(), Addr: net.UDPAddrFromAddrPort(m.Addr),
				Err: fmt.Errorf("sockio: choosing the source address: %w", errors.ErrUnsupported)}
		}
		var err error
		if p.udp != nil {
			m.N, err = p.udp.WriteToUDPAddrPort(m.Buf, m.Addr)
		} else {
			m.N, err = p.c.WriteTo(m.Buf, net.UDPAddrFromAddrPort(m.Addr))
		}
		if err != nil {
			return i, err
		}
	}
	return len(ms), nil
}

// unmapAddrPort turns an IPv4-mapped IPv6 address into IPv4.
func unmapAddrPort(a netip.AddrPort) netip.AddrPort {
	if a.Addr().Is4In6() {
		return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
	}
	return a
}

// addrPortOf returns the IP address and port of a UDP-like net.Addr, or
// the zero AddrPort.
func addrPortOf(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.UDPAddr:
		return unmapAddrPort(a.AddrPort())
	case interface{ AddrPort() netip.AddrPort }:
		return unmapAddrPort(a.AddrPort())
	case nil:
		return netip.AddrPort{}
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return unmapAddrPort(ap)
}
