package peer

// Design note: the per-packet paths (history, retransmission, transport-cc)
// need only the RTP fixed header fields, the header length and one header
// extension. They read them from the raw bytes (RFC 3550 §5.1, RFC 8285
// §4.2 and §4.3) instead of decoding into an rtp.Header, which copies every
// extension and CSRC. Every function checks lengths and reports malformed
// input through its bool result; none panics.

import "encoding/binary"

const (
	rtpVersion       = 2
	rtpFixedHeader   = 12
	rtpOneByteProf   = 0xBEDE // RFC 8285 §4.2
	rtpTwoByteProf   = 0x1000 // RFC 8285 §4.3, low 4 bits are appbits
	rtpTwoByteMask   = 0xFFF0
	rtpPaddingBit    = 0x20
	rtpExtensionBit  = 0x10
	rtpPayloadTypeMx = 0x7F
)

// rtpHeaderSize returns the length of pkt's RTP header: the fixed header,
// the CSRC list and the header extension. ok is false when pkt is not RTP
// version 2 or is shorter than its header says.
func rtpHeaderSize(pkt []byte) (n int, ok bool) {
	if len(pkt) < rtpFixedHeader || pkt[0]>>6 != rtpVersion {
		return 0, false
	}
	n = rtpFixedHeader + 4*int(pkt[0]&0x0F)
	if pkt[0]&rtpExtensionBit != 0 {
		if len(pkt) < n+4 {
			return 0, false
		}
		n += 4 + 4*int(binary.BigEndian.Uint16(pkt[n+2:]))
	}
	if len(pkt) < n {
		return 0, false
	}
	return n, true
}

// rtpPayloadBounds returns the payload of pkt as pkt[start:end], without the
// padding (RFC 3550 §5.1 P bit). ok is false for a malformed packet,
// including padding longer than the payload.
func rtpPayloadBounds(pkt []byte) (start, end int, ok bool) {
	start, ok = rtpHeaderSize(pkt)
	if !ok {
		return 0, 0, false
	}
	end = len(pkt)
	if pkt[0]&rtpPaddingBit != 0 {
		pad := int(pkt[end-1])
		if pad == 0 || end-pad < start {
			return 0, 0, false
		}
		end -= pad
	}
	return start, end, true
}

// rtpSeq, rtpTimestamp and rtpSSRC read the fixed header of a packet at
// least rtpFixedHeader bytes long.
func rtpSeq(pkt []byte) uint16       { return binary.BigEndian.Uint16(pkt[2:]) }
func rtpTimestamp(pkt []byte) uint32 { return binary.BigEndian.Uint32(pkt[4:]) }
func rtpSSRC(pkt []byte) uint32      { return binary.BigEndian.Uint32(pkt[8:]) }

// rtpExtension returns the value of the header extension element with the
// given id (1-14 for one-byte, 1-255 for two-byte headers, RFC 8285), as a
// sub-slice of pkt. ok is false when pkt has no such element or is
// malformed.
func rtpExtension(pkt []byte, id uint8) (value []byte, ok bool) {
	if id == 0 || len(pkt) < rtpFixedHeader || pkt[0]>>6 != rtpVersion || pkt[0]&rtpExtensionBit == 0 {
		return nil, false
	}
	off := rtpFixedHeader + 4*int(pkt[0]&0x0F)
	if len(pkt) < off+4 {
		return nil, false
	}
	profile := binary.BigEndian.Uint16(pkt[off:])
	end := off + 4 + 4*int(binary.BigEndian.Uint16(pkt[off+2:]))
	if len(pkt) < end {
		return nil, false
	}
	ext := pkt[off+4 : end]
	switch {
	case profile == rtpOneByteProf:
		return oneByteExtension(ext, id)
	case profile&rtpTwoByteMask == rtpTwoByteProf:
		return twoByteExtension(ext, id)
	}
	return nil, false
}

// oneByteExtension walks RFC 8285 §4.2 elements: 4-bit id, 4-bit length-1.
// Id 0 is a padding byte; id 15 stops the walk.
func oneByteExtension(ext []byte, id uint8) ([]byte, bool) {
	for i := 0; i < len(ext); {
		eid, n := ext[i]>>4, int(ext[i]&0x0F)+1
		switch {
		case eid == 0:
			i++
			continue
		case eid == 15:
			return nil, false
		case i+1+n > len(ext):
			return nil, false
		case eid == id:
			return ext[i+1 : i+1+n], true
		}
		i += 1 + n
	}
	return nil, false
}

// twoByteExtension walks RFC 8285 §4.3 elements: 8-bit id, 8-bit length.
// Id 0 is a padding byte.
func twoByteExtension(ext []byte, id uint8) ([]byte, bool) {
	for i := 0; i < len(ext); {
		if ext[i] == 0 {
			i++
			continue
		}
		if i+2 > len(ext) {
			return nil, false
		}
		eid, n := ext[i], int(ext[i+1])
		if i+2+n > len(ext) {
			return nil, false
		}
		if eid == id {
			return ext[i+2 : i+2+n], true
		}
		i += 2 + n
	}
	return nil, false
}
