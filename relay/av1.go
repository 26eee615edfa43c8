package relay

import (
	"github.com/pion/rtp/codecs"
)

// AV1 OBU types (AV1 bitstream specification §6.2.2).
const (
	obuSequenceHeader    = 1
	obuTemporalDelimiter = 2
)

// av1ConfigOBUs is where an AV1CodecConfigurationRecord's configOBUs start
// (AV1 Codec ISO Media File Format Binding §2.3.3): after 4 bytes of
// marker, version, profile, level, tier and colour fields.
const av1ConfigOBUs = 4

// av1Walk checks that data is a sequence of OBUs with obu_has_size_field
// set (the form of Enhanced RTMP av01 frames and of configOBUs, AV1-ISOBMFF
// §2.4) and reports whether one is a sequence header.
func av1Walk(data []byte) (valid, seqHeader bool) {
	for len(data) > 0 {
		h := data[0]
		if h&0x80 != 0 || h&0x02 == 0 { // forbidden bit, or no size field
			return false, false
		}
		n := 1
		if h&0x04 != 0 { // extension header
			n++
		}
		size, m := leb128(data[min(n, len(data)):])
		if m == 0 || uint64(len(data)-n-m) < size {
			return false, false
		}
		if h>>3&0xf == obuSequenceHeader {
			seqHeader = true
		}
		data = data[n+m+int(size):]
	}
	return true, seqHeader
}

// leb128 reads an unsigned LEB128 value (AV1 §4.10.5) of at most 8
// bytes, returning its length, 0 if b ends first or it is longer.
func leb128(b []byte) (uint64, int) {
	var v uint64
	for i := 0; i < 8 && i < len(b); i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			return v, i + 1
		}
	}
	return 0, 0
}

// appendAV1FrameRTP encodes a temporal unit with pion's payloader (the
// AV1 RTP specification §4-5: aggregation headers, OBU fragments, the N
// bit on a new coded video sequence). A keyframe without a sequence
// header OBU of its own gets the configuration's (its configOBUs) in
// front, so that a viewer joining on it decodes: what parameter sets
// before an IDR are to H.264.
func appendAV1FrameRTP(dst []byte, u *Unit) rtpFrame {
	valid, seq := av1Walk(u.Data)
	if !valid {
		return rtpFrame{flags: rtpBad}
	}
	var f rtpFrame
	data := u.Data
	if u.Keyframe {
		f.flags = rtpKey
		if cfg := u.Config; !seq && cfg != nil && cfg.Codec == AV1 && len(cfg.Record) > av1ConfigOBUs {
			if ok, _ := av1Walk(cfg.Record[av1ConfigOBUs:]); ok {
				data = append(append(make([]byte, 0, len(cfg.Record)+len(data)), cfg.Record[av1ConfigOBUs:]...), data...)
			}
		}
	}
	var pl codecs.AV1Payloader
	for _, pkt := range pl.Payload(RTPMaxPayload, data) {
		dst = appendRTPPayload(dst, pkt)
	}
	f.buf = dst
	return f
}
