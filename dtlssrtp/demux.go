package dtlssrtp

import "fmt"

// PacketClass is the protocol a datagram on a shared ICE 5-tuple belongs to.
type PacketClass uint8

// The classes RFC 7983 §7 separates by first byte, with RTP and RTCP told
// apart as RFC 5761 §4 says.
const (
	ClassUnknown     PacketClass = iota // empty, or a first byte no protocol owns: drop it
	ClassSTUN                           // 0-3: STUN (RFC 8489)
	ClassZRTP                           // 16-19: ZRTP (RFC 6189)
	ClassDTLS                           // 20-63: DTLS record (RFC 6347, RFC 9147)
	ClassTURNChannel                    // 64-79: TURN ChannelData (RFC 8656)
	ClassRTP                            // 128-191 with payload type outside 64-95: RTP (RFC 3550)
	ClassRTCP                           // 128-191 with second byte 192-223: RTCP (RFC 3550, RFC 5761)
)

// String returns a short lowercase name ("stun", "dtls", "rtp", ...).
func (c PacketClass) String() string {
	switch c {
	case ClassUnknown:
		return "unknown"
	case ClassSTUN:
		return "stun"
	case ClassZRTP:
		return "zrtp"
	case ClassDTLS:
		return "dtls"
	case ClassTURNChannel:
		return "turn-channel"
	case ClassRTP:
		return "rtp"
	case ClassRTCP:
		return "rtcp"
	}
	return fmt.Sprintf("PacketClass(%d)", uint8(c))
}

// Classify tells which protocol a datagram received on an ICE component
// belongs to, from its first byte (RFC 7983 §7):
//
//	0-3      STUN
//	16-19    ZRTP
//	20-63    DTLS
//	64-79    TURN ChannelData
//	128-191  RTP or RTCP
//
// RTP and RTCP share one port under rtcp-mux; RFC 5761 §4 separates them by
// the second byte: RTCP packet types 192-223 (which RTP payload types 64-95
// with the marker bit would collide with, hence that range is not used for
// RTP). A datagram of 128-191 shorter than two bytes is ClassUnknown.
// Classify reads at most two bytes and never allocates.
func Classify(b []byte) PacketClass {
	if len(b) == 0 {
		return ClassUnknown
	}
	switch c := b[0]; {
	case c <= 3:
		return ClassSTUN
	case 16 <= c && c <= 19:
		return ClassZRTP
	case 20 <= c && c <= 63:
		return ClassDTLS
	case 64 <= c && c <= 79:
		return ClassTURNChannel
	case 128 <= c && c <= 191:
		if len(b) < 2 {
			return ClassUnknown
		}
		if 192 <= b[1] && b[1] <= 223 {
			return ClassRTCP
		}
		return ClassRTP
	}
	return ClassUnknown
}
