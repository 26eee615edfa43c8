package peer

// Design note: the RTX payload format (RFC 4588 §4), both ways. A
// retransmission travels on its own SSRC and payload type, with its own
// sequence numbers, and its payload starts with the original sequence
// number (OSN) followed by the original payload; the timestamp, marker,
// CSRCs and header extensions are the original's. Padding is not carried
// over: it belongs to the original packet's transport, not its payload.
//
// A packet on the RTX SSRC whose payload, without padding, is shorter than
// the OSN is not a retransmission: Chrome sends such padding-only packets
// on the RTX stream to probe bandwidth. rtxDecapsulate reports false for
// them; the peer still counts them for transport-cc and REMB, which
// measure every byte the sender sent.

import "encoding/binary"

// appendRTX appends to dst the RTX retransmission of the RTP packet orig
// with SSRC ssrc, payload type pt and sequence number seq. ok is false,
// and dst unchanged, when orig is malformed.
func appendRTX(dst, orig []byte, ssrc uint32, pt uint8, seq uint16) (out []byte, ok bool) {
	start, end, ok := rtpPayloadBounds(orig)
	if !ok {
		return dst, false
	}
	n := len(dst)
	dst = append(dst, orig[:start]...)
	b := dst[n:]
	b[0] &^= rtpPaddingBit
	b[1] = orig[1]&^rtpPayloadTypeMx | pt&rtpPayloadTypeMx
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[8:], ssrc)
	dst = binary.BigEndian.AppendUint16(dst, rtpSeq(orig))
	return append(dst, orig[start:end]...), true
}

// rtxDecapsulate restores, in place, the original packet carried by the
// RTX packet pkt (RFC 4588 §4): the original sequence number, the media
// SSRC ssrc and payload type pt, the payload without the OSN and without
// padding. The result is a sub-slice of pkt, which it overwrites. ok is
// false for a malformed packet or one without an OSN (a padding-only
// probe). It does not allocate.
func rtxDecapsulate(pkt []byte, ssrc uint32, pt uint8) (orig []byte, ok bool) {
	start, end, ok := rtpPayloadBounds(pkt)
	if !ok || end-start < rtxOSNSize {
		return nil, false
	}
	osn := binary.BigEndian.Uint16(pkt[start:])
	copy(pkt[rtxOSNSize:], pkt[:start]) // the header moves over the OSN
	orig = pkt[rtxOSNSize:end]
	orig[0] &^= rtpPaddingBit
	orig[1] = orig[1]&^rtpPayloadTypeMx | pt&rtpPayloadTypeMx
	binary.BigEndian.PutUint16(orig[2:], osn)
	binary.BigEndian.PutUint32(orig[8:], ssrc)
	return orig, true
}
