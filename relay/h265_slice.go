package relay

import (
	"errors"
	"math/bits"
)

// H.265 slice_type values (ITU-T H.265 §7.4.7.1, Table 7-7), and
// hevcSliceDependent for a dependent slice segment, which has no
// slice_type of its own: it takes that of the independent slice segment
// before it (§7.4.7.1).
const (
	hevcSliceB         = 0
	hevcSliceP         = 1
	hevcSliceI         = 2
	hevcSliceDependent = 3
)

// Bounds of the H.265 parameter set ids (§7.4.3.2.1, §7.4.3.3.1) and of
// the fields whose ranges the slice header's layout depends on.
const (
	hevcMaxSPS       = 16 // sps_seq_parameter_set_id 0..15
	hevcMaxPPS       = 64 // pps_pic_parameter_set_id 0..63
	hevcMaxSubLayers = 7  // sps_max_sub_layers_minus1 0..6
	hevcMaxLumaSide  = 1 << 16
)

var (
	// errHEVCHeader: a slice segment header or parameter set that ends
	// too soon, or has a value out of its range.
	errHEVCHeader = errors.New("relay: malformed H.265 slice segment header or parameter set")
	// errHEVCNoParams: a slice segment refers to a PPS, or its PPS to an
	// SPS, that is not known.
	errHEVCNoParams = errors.New("relay: H.265 slice segment of an unknown parameter set")
)

// hevcSPSInfo is what a slice segment header's layout needs of an SPS
// (§7.3.2.2.1).
type hevcSPSInfo struct {
	known bool
	// addrBits is the length of slice_segment_address,
	// Ceil(Log2(PicSizeInCtbsY)) bits (§7.4.7.1).
	addrBits uint8
}

// hevcPPSInfo is what a slice segment header's layout needs of a PPS
// (§7.3.2.3.1).
type hevcPPSInfo struct {
	known           bool
	spsID           uint8
	dependentSlices bool  // dependent_slice_segments_enabled_flag
	extraBits       uint8 // num_extra_slice_header_bits
}

// hevcParamSets holds, by id, what the slice segment headers of a stream
// need of its SPSs and PPSs, so that slice_type can be read from every
// slice (§7.3.6.1). It is a value of fixed size: a frame that carries
// its own parameter sets updates a copy on the stack.
type hevcParamSets struct {
	sps [hevcMaxSPS]hevcSPSInfo
	pps [hevcMaxPPS]hevcPPSInfo
}

// newHEVCParamSets parses the SPS and PPS NAL units of a decoder
// configuration. One that does not parse leaves its id unknown, and so
// the slice types of the slices that use it.
func newHEVCParamSets(sets ...[][]byte) *hevcParamSets {
	p := new(hevcParamSets)
	for _, kind := range sets {
		for _, n := range kind {
			_ = p.add(n)
		}
	}
	return p
}

// add parses an SPS or PPS NAL unit (with its 2-byte header) into p; it
// ignores other NAL units. A set whose id parses but whose rest does not
// makes that id unknown, so that no slice is read with stale fields.
func (p *hevcParamSets) add(nalu []byte) error {
	if len(nalu) < 3 {
		return errHEVCHeader
	}
	switch hevcType(nalu) {
	case hevcSPS:
		return p.addSPS(hevcReader{expGolomb: expGolomb{b: nalu[2:]}})
	case hevcPPS:
		return p.addPPS(hevcReader{expGolomb: expGolomb{b: nalu[2:]}})
	}
	return nil
}

// addSPS reads an SPS RBSP (§7.3.2.2.1) as far as the CTB size.
func (p *hevcParamSets) addSPS(r hevcReader) error {
	r.skip(4) // sps_video_parameter_set_id
	subLayers := r.u(3)
	r.skip(1) // sps_temporal_id_nesting_flag
	if subLayers >= hevcMaxSubLayers || !r.skipProfileTierLevel(int(subLayers)) {
		return errHEVCHeader
	}
	id := r.ue()
	if r.bad || id >= hevcMaxSPS {
		return errHEVCHeader
	}
	p.sps[id] = hevcSPSInfo{}
	if chroma := r.ue(); chroma == 3 {
		r.skip(1) // separate_colour_plane_flag
	} else if chroma > 3 {
		return errHEVCHeader
	}
	width, height := r.ue(), r.ue()
	if r.u(1) == 1 { // conformance_window_flag
		r.ue()
		r.ue()
		r.ue()
		r.ue()
	}
	r.ue() // bit_depth_luma_minus8
	r.ue() // bit_depth_chroma_minus8
	r.ue() // log2_max_pic_order_cnt_lsb_minus4
	first := subLayers
	if r.u(1) == 1 { // sps_sub_layer_ordering_info_present_flag
		first = 0
	}
	for range subLayers - first + 1 {
		r.ue() // sps_max_dec_pic_buffering_minus1
		r.ue() // sps_max_num_reorder_pics
		r.ue() // sps_max_latency_increase_plus1
	}
	ctbLog2 := r.ue() + 3 // log2_min_luma_coding_block_size_minus3
	ctbLog2 += r.ue()     // log2_diff_max_min_luma_coding_block_size
	// CtbLog2SizeY is 4 to 6 (§7.4.3.2.1); the sizes are bounded so that
	// the count of CTBs cannot overflow.
	if r.bad || ctbLog2 < 4 || ctbLog2 > 6 || width == 0 || height == 0 || width > hevcMaxLumaSide || height > hevcMaxLumaSide {
		return errHEVCHeader
	}
	ctb := uint32(1) << ctbLog2
	ctbs := ((width + ctb - 1) >> ctbLog2) * ((height + ctb - 1) >> ctbLog2) // PicSizeInCtbsY
	p.sps[id] = hevcSPSInfo{known: true, addrBits: uint8(bits.Len32(ctbs - 1))}
	return nil
}

// skipProfileTierLevel skips profile_tier_level(1, maxSubLayersMinus1)
// (§7.3.3) and reports whether it was all there.
func (r *hevcReader) skipProfileTierLevel(maxSubLayersMinus1 int) bool {
	// general_profile_space to general_level_idc: 2+1+5+32+4+43+1+8 bits.
	r.skip(96)
	var profile, level [hevcMaxSubLayers]bool
	for i := range maxSubLayersMinus1 {
		profile[i], level[i] = r.u(1) == 1, r.u(1) == 1
	}
	if maxSubLayersMinus1 > 0 {
		r.skip(2 * (8 - maxSubLayersMinus1)) // reserved_zero_2bits
	}
	for i := range maxSubLayersMinus1 {
		if profile[i] {
			r.skip(88) // sub_layer_profile_space to sub_layer_inbld_flag
		}
		if level[i] {
			r.skip(8) // sub_layer_level_idc
		}
	}
	return !r.bad
}

// addPPS reads a PPS RBSP (§7.3.2.3.1) as far as
// num_extra_slice_header_bits.
func (p *hevcParamSets) addPPS(r hevcReader) error {
	id := r.ue()
	if r.bad || id >= hevcMaxPPS {
		return errHEVCHeader
	}
	p.pps[id] = hevcPPSInfo{}
	sps := r.ue()
	dependent := r.u(1) == 1
	r.skip(1) // output_flag_present_flag
	extra := r.u(3)
	if r.bad || sps >= hevcMaxSPS {
		return errHEVCHeader
	}
	p.pps[id] = hevcPPSInfo{known: true, spsID: uint8(sps), dependentSlices: dependent, extraBits: uint8(extra)}
	return nil
}

// sliceType reads the slice_type of a coded slice segment NAL unit (types
// 0 to 9 and 16 to 21, with its 2-byte header) from its slice segment
// header (§7.3.6.1): hevcSliceB, P or I, or hevcSliceDependent. Its PPS
// must be known, and its SPS too for a segment other than a picture's
// first; errHEVCNoParams otherwise, errHEVCHeader for a header that does
// not parse.
func (p *hevcParamSets) sliceType(nalu []byte) (int, error) {
	if len(nalu) < 3 {
		return 0, errHEVCHeader
	}
	t := hevcType(nalu)
	if t > 9 && t < hevcIRAPFirst || t > 21 { // reserved types 10-15 and 22-31: no known syntax
		return 0, errHEVCHeader
	}
	r := hevcReader{expGolomb: expGolomb{b: nalu[2:]}}
	first := r.u(1) == 1 // first_slice_segment_in_pic_flag
	if t >= hevcIRAPFirst {
		r.skip(1) // no_output_of_prior_pics_flag
	}
	ppsID := r.ue()
	if r.bad || ppsID >= hevcMaxPPS {
		return 0, errHEVCHeader
	}
	pps := &p.pps[ppsID]
	if !pps.known {
		return 0, errHEVCNoParams
	}
	if !first {
		if pps.dependentSlices && r.u(1) == 1 { // dependent_slice_segment_flag
			return hevcSliceDependent, nil
		}
		sps := &p.sps[pps.spsID]
		if !sps.known {
			return 0, errHEVCNoParams
		}
		r.skip(int(sps.addrBits)) // slice_segment_address
	}
	r.skip(int(pps.extraBits)) // slice_reserved_flag
	st := r.ue()
	if r.bad || st > hevcSliceI {
		return 0, errHEVCHeader
	}
	return int(st), nil
}

// hevcBScan finds B slices in the NAL units of one access unit, with the
// parameter sets of its decoder configuration and those the access unit
// carries itself, which apply from where they stand (§7.4.2.4.2). It
// holds no pointer to itself, so that it stays on the stack.
type hevcBScan struct {
	config *hevcParamSets // the configuration's, nil for none
	inband hevcParamSets  // once copied, config's updated with the access unit's
	copied bool
}

// newHEVCBScan starts a scan with cfg's parameter sets (none when cfg is
// nil or not H.265).
func newHEVCBScan(cfg *DecoderConfig) hevcBScan {
	var s hevcBScan
	if cfg != nil {
		s.config = cfg.hevc
	}
	return s
}

// isB takes the access unit's next NAL unit (of at least two bytes) and
// reports whether it is a B slice. A slice whose header does not parse,
// or whose parameter sets are unknown, does not count as one.
func (s *hevcBScan) isB(nalu []byte) bool {
	switch t := hevcType(nalu); {
	case t == hevcSPS || t == hevcPPS:
		if !s.copied && s.config != nil {
			s.inband = *s.config
		}
		s.copied = true
		_ = s.inband.add(nalu)
	case t < hevcVPS:
		p := s.config
		if s.copied {
			p = &s.inband
		}
		if p == nil {
			return false
		}
		st, err := p.sliceType(nalu)
		return err == nil && st == hevcSliceB
	}
	return false
}

// hevcReference reports whether a VCL NAL unit of type t belongs to a
// picture that later pictures of its sub-layer may predict from: all but
// the sub-layer non-reference types (TRAIL_N, TSA_N, STSA_N, RADL_N,
// RASL_N and the reserved RSV_VCL_N10/12/14: even types below 16, §7.4.2.2).
func hevcReference(t byte) bool { return t%2 == 1 || t >= hevcIRAPFirst }

// hevcReader reads the fields of an H.265 RBSP from a NAL unit's payload,
// skipping its emulation prevention bytes (§7.4.2). A read past the end
// sets bad and gives zeros, so that a parser checks once after a run of
// fields.
type hevcReader struct {
	expGolomb
	bad bool
}

// u reads an unsigned n-bit field, n at most 32.
func (r *hevcReader) u(n int) uint32 {
	var v uint32
	for range n {
		b, ok := r.bit()
		if !ok {
			r.bad = true
			return 0
		}
		v = v<<1 | b
	}
	return v
}

// skip reads n bits and drops them.
func (r *hevcReader) skip(n int) {
	for ; n > 32; n -= 32 {
		r.u(32)
	}
	r.u(n)
}

// ue reads a ue(v) field (§9.2) of at most 31 bits.
func (r *hevcReader) ue() uint32 {
	v, ok := r.expGolomb.ue()
	if !ok {
		r.bad = true
	}
	return v
}
