package relay

import (
	"encoding/binary"

	"github.com/pion/rtp/codecs"
)

// H.265 NAL unit types (ITU-T H.265 Table 7-1) and the RTP payload
// structures of RFC 7798 §4.4 that share their number space.
const (
	hevcIRAPFirst = 16 // BLA_W_LP: IRAP pictures are types 16 to 23 (§7.4.2.2)
	hevcIRAPLast  = 23
	hevcVPS       = 32 // video parameter set
	hevcSPS       = 33 // sequence parameter set
	hevcPPS       = 34 // picture parameter set
	hevcAUD       = 35 // access unit delimiter
	hevcFD        = 38 // filler data
	hevcAP        = 48 // RFC 7798 §4.4.2 aggregation packet
)

// hevcType is the nal_unit_type of an H.265 NAL unit (§7.3.1.2) of at
// least one byte.
func hevcType(nalu []byte) byte { return nalu[0] >> 1 & 0x3f }

// appendHEVCParamsRTP encodes a configuration's VPS, SPS and PPS: one
// aggregation packet when they fit in one payload, as libwebrtc sends
// them, else each NAL unit on its own (fragmented if need be). Viewers
// send these payloads before every IRAP picture that lacks its own.
func appendHEVCParamsRTP(dst []byte, cfg *DecoderConfig) rtpFrame {
	sets := cfg.ParamSets()
	size := 2
	for _, s := range sets {
		if len(s) < 2 {
			return rtpFrame{flags: rtpBad}
		}
		size += 2 + len(s)
	}
	if len(sets) == 0 {
		return rtpFrame{flags: rtpBad}
	}
	if size <= RTPMaxPayload {
		dst = binary.BigEndian.AppendUint16(dst, uint16(size))
		return rtpFrame{buf: appendHEVCAP(dst, sets)}
	}
	pl := codecs.H265Payloader{SkipAggregation: true}
	for _, s := range sets {
		for _, pkt := range pl.Payload(RTPMaxPayload, s) {
			dst = appendRTPPayload(dst, pkt)
		}
	}
	return rtpFrame{buf: dst}
}

// appendHEVCAP appends an aggregation packet (RFC 7798 §4.4.2) of nalus,
// each of at least two bytes: F is the OR of theirs, LayerId and TID the
// lowest of theirs (§4.4.2: "the lowest value").
func appendHEVCAP(b []byte, nalus [][]byte) []byte {
	var f byte
	layer, tid := uint16(0x3f), byte(7)
	for _, n := range nalus {
		f |= n[0] & 0x80
		layer = min(layer, uint16(n[0]&1)<<5|uint16(n[1]>>3))
		tid = min(tid, n[1]&7)
	}
	b = append(b, f|hevcAP<<1|byte(layer>>5), byte(layer&0x1f)<<3|tid)
	for _, n := range nalus {
		b = binary.BigEndian.AppendUint16(b, uint16(len(n)))
		b = append(b, n...)
	}
	return b
}

// appendHEVCFrameRTP encodes an access unit (4-byte lengths) with pion's
// payloader, one NAL unit at a time (it splits Annex-B on start codes):
// single NAL unit packets and fragmentation units (RFC 7798 §4.4.1,
// §4.4.3); AUD and filler data are left out. An IRAP picture is a
// keyframe; it carries its own parameter sets when a VPS, an SPS and a
// PPS come before it. A frame with a B slice (slice_type 0, §7.4.7.1),
// read with the SPSs and PPSs of cfg and of the frame itself, is
// flagged: browsers that decode H.265 over WebRTC do not reorder
// pictures either. Its NAL unit types do not tell: x265's reference
// B-frames are TRAIL_R, as P-frames are. A B-frame that is a reference
// picture is flagged rtpRefB too: x265's P-frames predict from its
// b-pyramid's reference B-frames (unlike x264's), so a viewer that drops
// one must wait for the next keyframe.
func appendHEVCFrameRTP(dst, data []byte, cfg *DecoderConfig) rtpFrame {
	if !validAVCC(data, 4) {
		return rtpFrame{flags: rtpBad}
	}
	var f rtpFrame
	var seen [3]bool // VPS, SPS, PPS
	pl := codecs.H265Payloader{SkipAggregation: true}
	scan := newHEVCBScan(cfg)
	it := newNALUs(data)
	for nalu, ok := it.Next(); ok; nalu, ok = it.Next() {
		if len(nalu) < 2 {
			return rtpFrame{flags: rtpBad}
		}
		if scan.isB(nalu) {
			f.flags |= rtpBSlice
			if hevcReference(hevcType(nalu)) {
				f.flags |= rtpRefB
			}
		}
		switch t := hevcType(nalu); {
		case t == hevcAUD || t == hevcFD:
			continue
		case t >= hevcVPS && t <= hevcPPS:
			seen[t-hevcVPS] = true
		case t >= hevcIRAPFirst && t <= hevcIRAPLast:
			f.flags |= rtpKey
			if seen == [3]bool{true, true, true} {
				f.flags |= rtpInband
			}
		}
		for _, pkt := range pl.Payload(RTPMaxPayload, nalu) {
			dst = appendRTPPayload(dst, pkt)
		}
	}
	f.buf = dst
	return f
}
