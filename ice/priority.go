package ice

import (
	"hash/fnv"
	"net/netip"
	"strconv"
)

// Type preferences recommended by RFC 8445 §5.1.2.2, used by Type.Preference.
const (
	TypePreferenceHost  = 126
	TypePreferencePrflx = 110
	TypePreferenceSrflx = 100
	TypePreferenceRelay = 0
)

// DefaultLocalPreference is the local preference of a UDP candidate of an
// agent with a single address: the maximum, 65535 (RFC 8445 §5.1.2.1).
const DefaultLocalPreference = 65535

// MaxOtherPreference is the largest other-pref of a TCP candidate's local
// preference (RFC 6544 §4.2), the value for an agent with one address.
const MaxOtherPreference = 8191

// Preference returns the type preference RFC 8445 §5.1.2.2 recommends for t:
// 126 host, 110 prflx, 100 srflx, 0 relay (and 0 for an unknown type).
func (t Type) Preference() uint8 {
	switch t {
	case TypeHost:
		return TypePreferenceHost
	case TypePrflx:
		return TypePreferencePrflx
	case TypeSrflx:
		return TypePreferenceSrflx
	}
	return TypePreferenceRelay
}

// Priority is the formula of RFC 8445 §5.1.2.1:
//
//	priority = 2^24*typePref + 2^8*localPref + (256 - component)
//
// component is 1-256; a value outside is taken modulo 256 in the last term.
// With typePref at most 126 the result fits in 31 bits, as RFC 8445 §5.1.2.1
// requires (1 to 2^31-1).
func Priority(typePref uint8, localPref uint16, component uint16) uint32 {
	return uint32(typePref)<<24 | uint32(localPref)<<8 | uint32(uint8(256-component))
}

// TCPLocalPreference is the local preference of a TCP candidate (RFC 6544
// §4.2): 2^13*direction-pref + other-pref, where direction-pref is 6 for
// active, 4 for passive and 2 for simultaneous-open host and relayed
// candidates, and 6 for S-O, 4 for active and 2 for passive server- and
// peer-reflexive ones (0 without a tcptype). other is capped at
// MaxOtherPreference; it orders the addresses of a multi-homed agent.
func TCPLocalPreference(t Type, tcp TCPType, other uint16) uint16 {
	other = min(other, MaxOtherPreference)
	var dir uint16
	reflexive := t == TypeSrflx || t == TypePrflx
	switch tcp {
	case TCPTypeActive:
		dir = 6
		if reflexive {
			dir = 4
		}
	case TCPTypePassive:
		dir = 4
		if reflexive {
			dir = 2
		}
	case TCPTypeSO:
		dir = 2
		if reflexive {
			dir = 6
		}
	}
	return dir<<13 | other
}

// RecommendedPriority returns the priority RFC 8445 §5.1.2 recommends for c
// from its Type, Component, Transport and TCPType. For UDP, localPref is the
// local preference (DefaultLocalPreference for a single-address agent). For
// TCP, localPref is the other-pref of RFC 6544 §4.2 (MaxOtherPreference for a
// single-address agent), so a TCP candidate always ranks below a UDP
// candidate of the same type and address.
func (c *Candidate) RecommendedPriority(localPref uint16) uint32 {
	if c.Transport == TransportTCP {
		localPref = TCPLocalPreference(c.Type, c.TCPType, localPref)
	}
	return Priority(c.Type.Preference(), localPref, c.Component)
}

// Foundation returns a foundation for a local candidate (RFC 8445 §5.1.1.3):
// candidates share it exactly when they have the same type, base address,
// transport and STUN or TURN server address (server is the zero Addr for host
// candidates). It is the decimal FNV-1a hash of those values, 1-10 digits,
// as Chromium writes its foundations.
func Foundation(t Type, transport Transport, base, server netip.Addr) string {
	h := fnv.New32a()
	var b [96]byte // two IPv6 addresses with zones fit
	p := append(b[:0], byte(t), byte(transport))
	p = append(base.AppendTo(p), '|')
	p = server.AppendTo(p)
	h.Write(p)
	return strconv.FormatUint(uint64(h.Sum32()), 10)
}
