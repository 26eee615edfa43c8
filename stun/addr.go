package stun

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Address families of RFC 8489 §14.1.
const (
	familyIPv4 = 0x01
	familyIPv6 = 0x02
)

// Address decodes an attribute of type t in the MAPPED-ADDRESS format of RFC
// 8489 §14.1 (also ALTERNATE-SERVER, §14.15).
func (m *Message) Address(t AttrType) (netip.AddrPort, error) {
	v, err := m.Get(t)
	if err != nil {
		return netip.AddrPort{}, err
	}
	return m.decodeAddress(t, v, false)
}

// XORAddress decodes an attribute of type t in the XOR-MAPPED-ADDRESS format
// of RFC 8489 §14.2 (also TURN's XOR-PEER-ADDRESS and XOR-RELAYED-ADDRESS).
func (m *Message) XORAddress(t AttrType) (netip.AddrPort, error) {
	v, err := m.Get(t)
	if err != nil {
		return netip.AddrPort{}, err
	}
	return m.decodeAddress(t, v, true)
}

// MappedAddress returns MAPPED-ADDRESS (RFC 8489 §14.1).
func (m *Message) MappedAddress() (netip.AddrPort, error) {
	return m.Address(AttrMappedAddress)
}

// XORMappedAddress returns XOR-MAPPED-ADDRESS (RFC 8489 §14.2).
func (m *Message) XORMappedAddress() (netip.AddrPort, error) {
	return m.XORAddress(AttrXORMappedAddress)
}

// AlternateServer returns ALTERNATE-SERVER (RFC 8489 §14.15).
func (m *Message) AlternateServer() (netip.AddrPort, error) {
	return m.Address(AttrAlternateServer)
}

// decodeAddress parses family, port and address, undoing the XOR with the
// magic cookie and transaction ID when xor is set.
func (m *Message) decodeAddress(t AttrType, v []byte, xor bool) (netip.AddrPort, error) {
	if len(v) < 4 {
		return netip.AddrPort{}, fmt.Errorf("%w: %s of %d bytes", ErrBadAttribute, t, len(v))
	}
	port := binary.BigEndian.Uint16(v[2:4])
	if xor {
		port ^= uint16(MagicCookie >> 16)
	}
	var ip netip.Addr
	switch {
	case v[1] == familyIPv4 && len(v) == 8:
		var a [4]byte
		copy(a[:], v[4:8])
		if xor {
			binary.BigEndian.PutUint32(a[:], binary.BigEndian.Uint32(a[:])^MagicCookie)
		}
		ip = netip.AddrFrom4(a)
	case v[1] == familyIPv6 && len(v) == 20:
		var a [16]byte
		copy(a[:], v[4:20])
		if xor {
			// The first four bytes are XORed with the cookie, the rest
			// with the transaction ID: together they are raw[4:20].
			for i := range a {
				a[i] ^= m.raw[4+i]
			}
		}
		ip = netip.AddrFrom16(a)
	default:
		return netip.AddrPort{}, fmt.Errorf("%w: %s family %d with %d bytes", ErrBadAttribute, t, v[1], len(v))
	}
	return netip.AddrPortFrom(ip, port), nil
}

// AddAddress appends an attribute of type t in the MAPPED-ADDRESS format
// (RFC 8489 §14.1). IPv4-mapped IPv6 addresses (as a dual-stack socket reports
// IPv4 peers) are written as IPv4; zones are dropped.
func (b *Builder) AddAddress(t AttrType, a netip.AddrPort) { b.addAddress(t, a, false) }

// AddXORAddress appends an attribute of type t in the XOR-MAPPED-ADDRESS
// format (RFC 8489 §14.2), with the rules of AddAddress.
func (b *Builder) AddXORAddress(t AttrType, a netip.AddrPort) { b.addAddress(t, a, true) }

// AddMappedAddress appends MAPPED-ADDRESS (RFC 8489 §14.1), which only
// RFC 3489 clients need.
func (b *Builder) AddMappedAddress(a netip.AddrPort) { b.AddAddress(AttrMappedAddress, a) }

// AddXORMappedAddress appends XOR-MAPPED-ADDRESS (RFC 8489 §14.2).
func (b *Builder) AddXORMappedAddress(a netip.AddrPort) { b.AddXORAddress(AttrXORMappedAddress, a) }

// AddAlternateServer appends ALTERNATE-SERVER (RFC 8489 §14.15).
func (b *Builder) AddAlternateServer(a netip.AddrPort) { b.AddAddress(AttrAlternateServer, a) }

func (b *Builder) addAddress(t AttrType, a netip.AddrPort, xor bool) {
	ip := a.Addr().Unmap()
	if !ip.IsValid() {
		b.fail(fmt.Errorf("%w: %s without an address", ErrBadAttribute, t))
		return
	}
	n, family := 8, byte(familyIPv4)
	if ip.Is6() {
		n, family = 20, familyIPv6
	}
	if !b.begin(t, n) {
		return
	}
	port := a.Port()
	if xor {
		port ^= uint16(MagicCookie >> 16)
	}
	b.buf = append(b.buf, 0, family)
	b.buf = binary.BigEndian.AppendUint16(b.buf, port)
	if ip.Is4() {
		v4 := ip.As4()
		if xor {
			binary.BigEndian.PutUint32(v4[:], binary.BigEndian.Uint32(v4[:])^MagicCookie)
		}
		b.buf = append(b.buf, v4[:]...)
	} else {
		v6 := ip.As16()
		if xor {
			hdr := b.buf[b.start+4 : b.start+HeaderSize] // cookie + transaction ID
			for i := range v6 {
				v6[i] ^= hdr[i]
			}
		}
		b.buf = append(b.buf, v6[:]...)
	}
	b.end(n)
}
