//go:build linux

package sockio

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// parsePktinfo returns the destination address and interface index of a
// received datagram from its control messages (IP_PKTINFO's ipi_addr, the
// address in the IP header, rather than ipi_spec_dst; IPV6_PKTINFO's
// ipi6_addr), or the zero Addr when there is none.
func parsePktinfo(b []byte) (local netip.Addr, ifIndex int) {
	for len(b) >= unix.SizeofCmsghdr {
		h, data, rest, err := unix.ParseOneSocketControlMessage(b)
		if err != nil {
			break
		}
		switch {
		case h.Level == unix.IPPROTO_IP && h.Type == unix.IP_PKTINFO && len(data) >= unix.SizeofInet4Pktinfo:
			pi := (*unix.Inet4Pktinfo)(unsafe.Pointer(&data[0]))
			local, ifIndex = netip.AddrFrom4(pi.Addr), int(pi.Ifindex)
		case h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_PKTINFO && len(data) >= unix.SizeofInet6Pktinfo:
			pi := (*unix.Inet6Pktinfo)(unsafe.Pointer(&data[0]))
			local, ifIndex = netip.AddrFrom16(pi.Addr).Unmap(), int(pi.Ifindex)
		}
		b = rest
	}
	return local, ifIndex
}

// putPktinfo writes into b (oobSize bytes, aligned) the control message
// that sends msg from msg.Local through interface msg.IfIndex, and returns
// its length: 0 when both are unset. An IPv4 source, or an IPv4
// destination, takes IP_PKTINFO with the source in ipi_spec_dst (ip(7)),
// which Linux also accepts on an IPv6 socket for an IPv4 destination; IPv6
// takes IPV6_PKTINFO (RFC 3542 §6.1). It returns false for an IPv6 source
// on an IPv4 socket.
func putPktinfo(b []byte, msg *Message, family int) (int, bool) {
	local := msg.Local.Unmap()
	if !local.IsValid() && msg.IfIndex == 0 {
		return 0, true
	}
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	data := unsafe.Pointer(&b[unix.CmsgLen(0)])
	if local.Is4() || (!local.IsValid() && msg.Addr.Addr().Unmap().Is4()) {
		h.Level, h.Type = unix.IPPROTO_IP, unix.IP_PKTINFO
		h.SetLen(unix.CmsgLen(unix.SizeofInet4Pktinfo))
		pi := (*unix.Inet4Pktinfo)(data)
		*pi = unix.Inet4Pktinfo{Ifindex: int32(msg.IfIndex)}
		if local.IsValid() {
			pi.Spec_dst = local.As4()
		}
		return unix.CmsgSpace(unix.SizeofInet4Pktinfo), true
	}
	if family == unix.AF_INET {
		return 0, false
	}
	h.Level, h.Type = unix.IPPROTO_IPV6, unix.IPV6_PKTINFO
	h.SetLen(unix.CmsgLen(unix.SizeofInet6Pktinfo))
	pi := (*unix.Inet6Pktinfo)(data)
	*pi = unix.Inet6Pktinfo{Ifindex: uint32(msg.IfIndex)}
	if local.IsValid() {
		pi.Addr = local.As16()
	}
	return unix.CmsgSpace(unix.SizeofInet6Pktinfo), true
}
