package transcode

import (
	"fmt"

	"github.com/streamwire/streamwire/rtmp/flv"
)

// adtsHeaderLen is the size of an ADTS header without CRC (ISO/IEC
// 13818-7 §6.2, protection_absent = 1).
const adtsHeaderLen = 7

// MaxAccessUnit is the largest raw AAC access unit, in bytes, that ADTS
// can frame: its 13-bit frame_length counts the 7-byte header too.
const MaxAccessUnit = 1<<13 - 1 - adtsHeaderLen

// adtsConfig is what an ADTS header says about the stream, taken from an
// AudioSpecificConfig: it is the same for every frame, so it is parsed
// once per sequence header.
type adtsConfig struct {
	profile   uint8 // ADTS profile: the core audio object type minus 1 (1 is AAC-LC)
	freqIndex uint8 // sampling_frequency_index of the core coder
	channels  uint8 // channel_configuration, 1-7
	rate      int   // the core coder's sampling rate in Hz
}

// frameSamples is how many samples (at the core rate) an AAC access unit
// holds: ADTS has no way to say 960, so every framed stream has 1024.
const frameSamples = 1024

// parseADTSConfig turns an AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1)
// into the fields of an ADTS header. ADTS carries the object types 1 to 4
// (its 2-bit profile), and HE-AAC (5, SBR) and HE-AACv2 (29, PS) as their
// AAC-LC core at the core rate, which decoders upsample by implicit
// signalling. An explicit sampling rate, a channel configuration of 0
// (a program config element) and 960-sample frames have no ADTS form:
// they fail with ErrUnsupportedConfig, as does a config that does not
// parse.
func parseADTSConfig(asc []byte) (adtsConfig, error) {
	var c adtsConfig
	p, err := flv.ParseAudioSpecificConfig(asc)
	if err != nil {
		return c, fmt.Errorf("%w: %w", ErrUnsupportedConfig, err)
	}
	switch {
	case p.FrequencyIndex > 12:
		return c, fmt.Errorf("%w: explicit sampling rate %d Hz", ErrUnsupportedConfig, p.SampleRate)
	case p.ChannelConfig < 1 || p.ChannelConfig > 7:
		return c, fmt.Errorf("%w: channel configuration %d", ErrUnsupportedConfig, p.ChannelConfig)
	}
	ot := p.ObjectType
	switch {
	case ot == 5 || ot == 29:
		ot = 2 // SBR and PS ride on an AAC-LC core (their core type is almost always 2)
	case ot < 1 || ot > 4:
		return c, fmt.Errorf("%w: audio object type %d", ErrUnsupportedConfig, ot)
	case frameLength960(asc):
		return c, fmt.Errorf("%w: 960-sample frames", ErrUnsupportedConfig)
	}
	return adtsConfig{profile: ot - 1, freqIndex: p.FrequencyIndex, channels: p.ChannelConfig, rate: p.SampleRate}, nil
}

// frameLength960 reports the frameLengthFlag of a GASpecificConfig that
// follows a 5-bit object type, a 4-bit frequency index and a 4-bit
// channel configuration: bit 13.
func frameLength960(asc []byte) bool { return len(asc) > 1 && asc[1]&0x04 != 0 }

// appendADTS appends the ADTS header of an access unit of n bytes (n <=
// MaxAccessUnit): MPEG-4, no CRC, buffer fullness 0x7FF (variable rate),
// one raw data block; the bytes ffmpeg's ADTS muxer writes.
func appendADTS(dst []byte, c *adtsConfig, n int) []byte {
	l := n + adtsHeaderLen
	return append(dst,
		0xff,
		0xf1, // syncword, ID 0 (MPEG-4), layer 0, protection_absent 1
		c.profile<<6|c.freqIndex<<2|c.channels>>2,
		c.channels<<6|byte(l>>11),
		byte(l>>3),
		byte(l<<5)|0x1f,
		0xfc, // buffer fullness low bits, number_of_raw_data_blocks_in_frame 0
	)
}
