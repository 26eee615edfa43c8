package relay

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/streamwire/streamwire/rtmp/flv"
)

// H.264 NAL unit types (ITU-T H.264 Table 7-1) and the RTP payload
// structures of RFC 6184 §5.2 that share their number space.
const (
	naluSlice  = 1  // coded slice of a non-IDR picture
	naluIDR    = 5  // coded slice of an IDR picture
	naluSPS    = 7  // sequence parameter set
	naluPPS    = 8  // picture parameter set
	naluAUD    = 9  // access unit delimiter
	naluFiller = 12 // filler data
	naluSTAPA  = 24 // RFC 6184 §5.7.1 single-time aggregation packet
	naluFUA    = 28 // RFC 6184 §5.8 fragmentation unit
)

// errBadNALUs: a frame's NAL units do not parse with any length size.
var errBadNALUs = fmt.Errorf("relay: H.264 frame: %w", flv.ErrMalformed)

// avccLengthSizes are the NAL unit length sizes a coded frame is tried
// with, in order. A frame's shared encoding sees only the frame, not the
// AVCDecoderConfigurationRecord that holds the length size: every encoder
// in the field (x264, ffmpeg, OBS, hardware encoders) writes 4, so 4 goes
// first and the others serve only a frame that does not parse with it.
var avccLengthSizes = [...]int{4, 2, 1}

// avccLengthSize returns the length size with which data is a list of
// well-formed NAL units: each one non-empty with its forbidden_zero_bit
// clear (H.264 §7.4.1), together covering data exactly.
func avccLengthSize(data []byte) (int, error) {
	for _, n := range avccLengthSizes {
		if validAVCC(data, n) {
			return n, nil
		}
	}
	return 0, errBadNALUs
}

func validAVCC(data []byte, lengthSize int) bool {
	it := flv.NewNALUIter(data, lengthSize)
	count := 0
	for nalu, ok := it.Next(); ok; nalu, ok = it.Next() {
		if len(nalu) == 0 || nalu[0]&0x80 != 0 {
			return false
		}
		count++
	}
	return it.Err() == nil && count > 0
}

// newNALUs iterates over the NAL units of an access unit in the units'
// form (Codec H264 and H265: 4-byte lengths).
func newNALUs(au []byte) flv.NALUIter { return flv.NewNALUIter(au, 4) }

// isBSlice reports whether the slice NAL unit (type 1 or 5) is a B slice:
// slice_type (H.264 §7.4.3, Table 7-6) 1 or 6. Browsers do not decode B
// frames, and their composition time alone does not reveal them (a
// B-frame that is not reordered has a composition time of zero).
func isBSlice(nalu []byte) bool {
	r := expGolomb{b: nalu[1:]}
	if _, ok := r.ue(); !ok { // first_mb_in_slice
		return false
	}
	t, ok := r.ue()
	return ok && t%5 == 1
}

// expGolomb reads unsigned Exp-Golomb codes (H.264 §9.1) from an RBSP,
// skipping the emulation prevention bytes (§7.4.1) of the NAL unit.
type expGolomb struct {
	b     []byte
	pos   int // bit position in the current byte, 0..7
	zeros int // zero bytes just read, for emulation prevention
}

// bit returns the next bit, false at the end.
func (r *expGolomb) bit() (uint32, bool) {
	if len(r.b) == 0 {
		return 0, false
	}
	if r.pos == 0 && r.zeros >= 2 && r.b[0] == 3 {
		r.b, r.zeros = r.b[1:], 0 // emulation_prevention_three_byte
		if len(r.b) == 0 {
			return 0, false
		}
	}
	v := uint32(r.b[0]>>(7-r.pos)) & 1
	if r.pos++; r.pos == 8 {
		if r.b[0] == 0 {
			r.zeros++
		} else {
			r.zeros = 0
		}
		r.b, r.pos = r.b[1:], 0
	}
	return v, true
}

// ue reads one ue(v) value of at most 31 bits.
func (r *expGolomb) ue() (uint32, bool) {
	lead := 0
	for {
		b, ok := r.bit()
		if !ok || lead > 31 {
			return 0, false
		}
		if b == 1 {
			break
		}
		lead++
	}
	var v uint32
	for i := 0; i < lead; i++ {
		b, ok := r.bit()
		if !ok {
			return 0, false
		}
		v = v<<1 | b
	}
	return (1<<lead - 1) + v, true
}

// errParamSets: an AVCDecoderConfigurationRecord cannot hold them.
var errParamSets = errors.New("relay: H.264 parameter sets do not fit an AVCDecoderConfigurationRecord")

// appendAVCDecoderConfig appends an AVCDecoderConfigurationRecord (ISO/IEC
// 14496-15 §5.3.3.1) with 4-byte NAL unit lengths for one SPS and one PPS:
// profile, compatibility and level come from the SPS's first bytes (H.264
// §7.3.2.1.1). The High-profile extension of the record (chroma format,
// bit depths) is left out, as ffmpeg's and x264's writers do for
// profiles that their decoders read from the SPS anyway.
func appendAVCDecoderConfig(b, sps, pps []byte) ([]byte, error) {
	if len(sps) < 4 || len(sps) > 0xffff || len(pps) == 0 || len(pps) > 0xffff {
		return b, errParamSets
	}
	b = append(b, 1, sps[1], sps[2], sps[3], 0xff, 0xe1) // 4-byte lengths, 1 SPS
	b = binary.BigEndian.AppendUint16(b, uint16(len(sps)))
	b = append(b, sps...)
	b = append(b, 1) // 1 PPS
	b = binary.BigEndian.AppendUint16(b, uint16(len(pps)))
	return append(b, pps...), nil
}

// appendSTAPA appends a STAP-A (RFC 6184 §5.7.1) of nalus: F is the OR of
// theirs, NRI their largest.
func appendSTAPA(b []byte, nalus ...[]byte) []byte {
	var f, nri byte
	for _, n := range nalus {
		f |= n[0] & 0x80
		nri = max(nri, n[0]&0x60)
	}
	b = append(b, f|nri|naluSTAPA)
	for _, n := range nalus {
		b = binary.BigEndian.AppendUint16(b, uint16(len(n)))
		b = append(b, n...)
	}
	return b
}
