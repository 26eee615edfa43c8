package flv

import (
	"encoding/binary"
	"fmt"
)

// AVCDecoderConfig is a parsed AVCDecoderConfigurationRecord (ISO/IEC
// 14496-15 §5.3.3.1), the body of an AVC sequence header. SPS and PPS
// alias the parsed bytes.
type AVCDecoderConfig struct {
	// Profile is AVCProfileIndication (profile_idc, e.g. 66, 77, 100).
	Profile uint8
	// ProfileCompatibility is the constraint flags byte of the SPS.
	ProfileCompatibility uint8
	// Level is AVCLevelIndication (level_idc, e.g. 31 for 3.1).
	Level uint8
	// LengthSize is the size of the NAL unit length prefix in coded
	// frames: 1, 2 or 4.
	LengthSize int
	// SPS are the sequence parameter set NAL units.
	SPS [][]byte
	// PPS are the picture parameter set NAL units.
	PPS [][]byte
}

// ParseAVCDecoderConfig parses an AVCDecoderConfigurationRecord. It
// allocates only the two small slice headers for SPS and PPS.
func ParseAVCDecoderConfig(b []byte) (AVCDecoderConfig, error) {
	var c AVCDecoderConfig
	if len(b) < 7 || b[0] != 1 {
		return c, fmt.Errorf("flv: AVCDecoderConfigurationRecord of %d bytes: %w", len(b), ErrMalformed)
	}
	c.Profile, c.ProfileCompatibility, c.Level = b[1], b[2], b[3]
	c.LengthSize = int(b[4]&3) + 1
	if c.LengthSize == 3 {
		return c, fmt.Errorf("flv: NAL length size 3: %w", ErrMalformed)
	}
	var err error
	n := int(b[5] & 0x1f)
	p := b[6:]
	if c.SPS, p, err = paramSets(p, n, "SPS"); err != nil {
		return c, err
	}
	if len(p) < 1 {
		return c, fmt.Errorf("flv: AVC config without PPS count: %w", ErrMalformed)
	}
	if c.PPS, _, err = paramSets(p[1:], int(p[0]), "PPS"); err != nil {
		return c, err
	}
	return c, nil
}

// paramSets reads n 16-bit-length-prefixed parameter sets.
func paramSets(p []byte, n int, what string) ([][]byte, []byte, error) {
	if n > len(p)/2 {
		return nil, nil, fmt.Errorf("flv: %d %s in %d bytes: %w", n, what, len(p), ErrMalformed)
	}
	sets := make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		if len(p) < 2 {
			return nil, nil, fmt.Errorf("flv: truncated %s: %w", what, ErrMalformed)
		}
		l := int(binary.BigEndian.Uint16(p))
		if l > len(p)-2 {
			return nil, nil, fmt.Errorf("flv: truncated %s: %w", what, ErrMalformed)
		}
		sets = append(sets, p[2:2+l])
		p = p[2+l:]
	}
	return sets, p, nil
}

// HEVCDecoderConfig is a parsed HEVCDecoderConfigurationRecord (ISO/IEC
// 14496-15 §8.3.3.1), the body of an hvc1 sequence start. Parameter sets
// alias the parsed bytes.
type HEVCDecoderConfig struct {
	// ProfileSpace is general_profile_space (0-3).
	ProfileSpace uint8
	// TierFlag is general_tier_flag (0 main, 1 high).
	TierFlag uint8
	// ProfileIDC is general_profile_idc (1 Main, 2 Main 10...).
	ProfileIDC uint8
	// LevelIDC is general_level_idc, 30 times the level (e.g. 93 for 3.1).
	LevelIDC uint8
	// LengthSize is the size of the NAL unit length prefix in coded
	// frames: 1, 2 or 4.
	LengthSize int
	// VPS are the video parameter set NAL units.
	VPS [][]byte
	// SPS are the sequence parameter set NAL units.
	SPS [][]byte
	// PPS are the picture parameter set NAL units.
	PPS [][]byte
}

// ParseHEVCDecoderConfig parses an HEVCDecoderConfigurationRecord.
func ParseHEVCDecoderConfig(b []byte) (HEVCDecoderConfig, error) {
	var c HEVCDecoderConfig
	if len(b) < 23 || b[0] != 1 {
		return c, fmt.Errorf("flv: HEVCDecoderConfigurationRecord of %d bytes: %w", len(b), ErrMalformed)
	}
	c.ProfileSpace, c.TierFlag, c.ProfileIDC = b[1]>>6, b[1]>>5&1, b[1]&0x1f
	c.LevelIDC = b[12]
	c.LengthSize = int(b[21]&3) + 1
	n := int(b[22])
	p := b[23:]
	for i := 0; i < n; i++ {
		if len(p) < 3 {
			return c, fmt.Errorf("flv: truncated hvcC array: %w", ErrMalformed)
		}
		typ := p[0] & 0x3f
		sets, rest, err := paramSets(p[3:], int(binary.BigEndian.Uint16(p[1:])), "hvcC NAL units")
		if err != nil {
			return c, err
		}
		p = rest
		switch typ {
		case 32:
			c.VPS = append(c.VPS, sets...)
		case 33:
			c.SPS = append(c.SPS, sets...)
		case 34:
			c.PPS = append(c.PPS, sets...)
		}
	}
	return c, nil
}

// NALUIter iterates over length-prefixed NAL units (AVCC / HVCC format, as
// in coded frames) without allocating:
//
//	it := flv.NewNALUIter(tag.Data, cfg.LengthSize)
//	for nalu, ok := it.Next(); ok; nalu, ok = it.Next() { ... }
//	if err := it.Err(); err != nil { ... }
type NALUIter struct {
	rest       []byte
	lengthSize int
	err        error
}

// NewNALUIter returns an iterator over data with NAL unit lengths of
// lengthSize bytes (1, 2 or 4; anything else reads as 4).
func NewNALUIter(data []byte, lengthSize int) NALUIter {
	if lengthSize != 1 && lengthSize != 2 {
		lengthSize = 4
	}
	return NALUIter{rest: data, lengthSize: lengthSize}
}

// Next returns the next NAL unit, aliasing the data.
func (it *NALUIter) Next() ([]byte, bool) {
	if len(it.rest) == 0 || it.err != nil {
		return nil, false
	}
	if len(it.rest) < it.lengthSize {
		it.err = fmt.Errorf("flv: truncated NAL unit length: %w", ErrMalformed)
		return nil, false
	}
	var n uint32
	for _, c := range it.rest[:it.lengthSize] {
		n = n<<8 | uint32(c)
	}
	p := it.rest[it.lengthSize:]
	if uint64(n) > uint64(len(p)) {
		it.err = fmt.Errorf("flv: NAL unit of %d bytes with %d left: %w", n, len(p), ErrMalformed)
		return nil, false
	}
	it.rest = p[n:]
	return p[:n], true
}

// Err returns the error that stopped the iteration, if any.
func (it *NALUIter) Err() error { return it.err }

// AudioSpecificConfig is the start of an MPEG-4 AudioSpecificConfig
// (ISO/IEC 14496-3 §1.6.2.1), the body of an AAC sequence header.
type AudioSpecificConfig struct {
	// ObjectType is the audio object type: 2 AAC-LC, 5 SBR (HE-AAC), 29
	// PS (HE-AACv2), ...
	ObjectType uint8
	// SampleRate in Hz, from the frequency index or the explicit 24-bit
	// value.
	SampleRate int
	// FrequencyIndex is the 4-bit index (15 when explicit).
	FrequencyIndex uint8
	// ChannelConfig is the channel configuration (1 mono, 2 stereo, ...,
	// 0 = defined in the program config element).
	ChannelConfig uint8
	// Channels is the channel count implied by ChannelConfig (0 if not
	// implied).
	Channels int
}

var errShortASC = fmt.Errorf("flv: truncated AudioSpecificConfig: %w", ErrMalformed)

var aacSampleRates = [13]int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}

// bitReader reads big-endian bit fields.
type bitReader struct {
	b   []byte
	pos int // in bits
}

func (r *bitReader) read(n int) (uint32, bool) {
	if r.pos+n > 8*len(r.b) {
		return 0, false
	}
	var v uint32
	for i := 0; i < n; i++ {
		v = v<<1 | uint32(r.b[r.pos>>3]>>(7-r.pos&7)&1)
		r.pos++
	}
	return v, true
}

// ParseAudioSpecificConfig parses the object type, sampling frequency and
// channel configuration of an AudioSpecificConfig.
func ParseAudioSpecificConfig(b []byte) (AudioSpecificConfig, error) {
	var c AudioSpecificConfig
	r := bitReader{b: b}
	ot, ok := r.read(5)
	if !ok {
		return c, errShortASC
	}
	if ot == 31 {
		ext, ok := r.read(6)
		if !ok {
			return c, errShortASC
		}
		ot = 32 + ext
	}
	c.ObjectType = uint8(ot)
	fi, ok := r.read(4)
	if !ok {
		return c, errShortASC
	}
	c.FrequencyIndex = uint8(fi)
	switch {
	case fi == 15:
		rate, ok := r.read(24)
		if !ok {
			return c, errShortASC
		}
		c.SampleRate = int(rate)
	case fi < 13:
		c.SampleRate = aacSampleRates[fi]
	default:
		return c, fmt.Errorf("flv: AAC frequency index %d: %w", fi, ErrMalformed)
	}
	ch, ok := r.read(4)
	if !ok {
		return c, errShortASC
	}
	c.ChannelConfig = uint8(ch)
	switch {
	case ch >= 1 && ch <= 6:
		c.Channels = int(ch)
	case ch == 7:
		c.Channels = 8
	}
	return c, nil
}

// OpusHead is the Opus identification header (RFC 7845 §5.1), the body of
// an Enhanced RTMP Opus sequence start.
type OpusHead struct {
	// Version is the header version, 1.
	Version uint8
	// Channels is the output channel count.
	Channels uint8
	// PreSkip is the number of 48 kHz samples to drop at the start.
	PreSkip uint16
	// InputSampleRate is the original sample rate in Hz (informational).
	InputSampleRate uint32
	// OutputGain is the gain to apply, in Q7.8 dB.
	OutputGain int16
	// MappingFamily is the channel mapping family (0: mono/stereo).
	MappingFamily uint8
}

// ParseOpusHead parses an OpusHead packet.
func ParseOpusHead(b []byte) (OpusHead, error) {
	var h OpusHead
	if len(b) < 19 || string(b[:8]) != "OpusHead" {
		return h, fmt.Errorf("flv: OpusHead of %d bytes: %w", len(b), ErrMalformed)
	}
	h.Version, h.Channels = b[8], b[9]
	h.PreSkip = binary.LittleEndian.Uint16(b[10:])
	h.InputSampleRate = binary.LittleEndian.Uint32(b[12:])
	h.OutputGain = int16(binary.LittleEndian.Uint16(b[16:]))
	h.MappingFamily = b[18]
	if h.Channels == 0 {
		return h, fmt.Errorf("flv: OpusHead with 0 channels: %w", ErrMalformed)
	}
	return h, nil
}
