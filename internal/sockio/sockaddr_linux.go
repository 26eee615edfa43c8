//go:build linux

package sockio

import (
	"encoding/binary"
	"net"
	"net/netip"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fromSockaddr converts the socket address the kernel wrote (n bytes of
// it) into an AddrPort: the zero AddrPort when it is not IP. IPv4-mapped
// addresses become IPv4; an IPv6 scope becomes a numeric zone.
func fromSockaddr(sa *unix.RawSockaddrInet6, n uint32) netip.AddrPort {
	raw := (*[unix.SizeofSockaddrInet6]byte)(unsafe.Pointer(sa))
	port := binary.BigEndian.Uint16(raw[2:4])
	switch sa.Family {
	case unix.AF_INET:
		if n < unix.SizeofSockaddrInet4 {
			return netip.AddrPort{}
		}
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(raw[4:8])), port)
	case unix.AF_INET6:
		if n < unix.SizeofSockaddrInet6 {
			return netip.AddrPort{}
		}
		a := netip.AddrFrom16(sa.Addr)
		switch {
		case a.Is4In6():
			a = a.Unmap()
		case sa.Scope_id != 0:
			// strconv.Itoa does not allocate below 100, the usual
			// interface indexes.
			a = a.WithZone(strconv.Itoa(int(sa.Scope_id)))
		}
		return netip.AddrPortFrom(a, port)
	}
	return netip.AddrPort{}
}

// toSockaddr writes a as a socket address of family into sa and returns
// its length, or false when a does not fit the family (IPv6 on an IPv4
// socket) or is not valid.
func toSockaddr(sa *unix.RawSockaddrInet6, a netip.AddrPort, family int) (uint32, bool) {
	ip := a.Addr()
	if !ip.IsValid() {
		return 0, false
	}
	raw := (*[unix.SizeofSockaddrInet6]byte)(unsafe.Pointer(sa))
	if family == unix.AF_INET {
		ip = ip.Unmap()
		if !ip.Is4() {
			return 0, false
		}
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		*sa4 = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: ip.As4()}
		binary.BigEndian.PutUint16(raw[2:4], a.Port())
		return unix.SizeofSockaddrInet4, true
	}
	*sa = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: ip.As16(), Scope_id: zoneIndex(ip.Zone())}
	binary.BigEndian.PutUint16(raw[2:4], a.Port())
	return unix.SizeofSockaddrInet6, true
}

// zoneIndex returns the interface index that an IPv6 zone names: a number,
// as fromSockaddr writes it, or an interface name (looked up, which
// allocates).
func zoneIndex(zone string) uint32 {
	if zone == "" {
		return 0
	}
	if i, err := strconv.ParseUint(zone, 10, 32); err == nil {
		return uint32(i)
	}
	if ifi, err := net.InterfaceByName(zone); err == nil {
		return uint32(ifi.Index)
	}
	return 0
}
