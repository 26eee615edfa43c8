package transcode

import (
	"errors"
	"fmt"
	"io"

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

// ADTS limits (ISO/IEC 13818-7 §6.2): frame_length is 13 bits and counts
// the header and its CRC; a header with protection_absent = 0 carries a
// 16-bit CRC after its 7 bytes.
const (
	adtsMaxFrame     = 1<<13 - 1
	adtsHeaderCRCLen = adtsHeaderLen + 2
)

// errADTS is wrapped by every error of a malformed ADTS stream.
var errADTS = errors.New("transcode: malformed ADTS stream")

// adtsHeader is what an ADTS header says (ISO/IEC 13818-7 §6.2.1).
type adtsHeader struct {
	adtsConfig
	length    int // frame_length: header, CRC and raw data block, in bytes
	headerLen int // 7, or 9 with a CRC (protection_absent = 0)
}

// parseADTSHeader parses the fixed and variable headers of an ADTS frame
// (at least adtsHeaderLen bytes of h). It accepts MPEG-2 and MPEG-4
// frames with or without a CRC, and refuses what has no
// AudioSpecificConfig of the kind FLV carries or no single access unit:
// no syncword, a layer other than 0, a reserved frequency index, channel
// configuration 0 (a program config element in the payload), several
// raw data blocks in one frame, a frame_length shorter than its header.
// (A frame of no payload parses; the reader refuses it.)
// The CRC itself is not checked: the frames come from ffmpeg over a pipe.
func parseADTSHeader(h []byte) (adtsHeader, error) {
	var a adtsHeader
	switch {
	case len(h) < adtsHeaderLen:
		return a, fmt.Errorf("%w: %d-byte header", errADTS, len(h))
	case h[0] != 0xff || h[1]&0xf0 != 0xf0:
		return a, fmt.Errorf("%w: no syncword", errADTS)
	case h[1]&0x06 != 0:
		return a, fmt.Errorf("%w: layer %d", errADTS, h[1]>>1&3)
	}
	a.profile = h[2] >> 6
	a.freqIndex = h[2] >> 2 & 0xf
	a.channels = h[2]&1<<2 | h[3]>>6
	a.length = int(h[3]&3)<<11 | int(h[4])<<3 | int(h[5]>>5)
	a.headerLen = adtsHeaderLen
	if h[1]&1 == 0 {
		a.headerLen = adtsHeaderCRCLen
	}
	switch {
	case int(a.freqIndex) >= len(aacRates):
		return a, fmt.Errorf("%w: sampling frequency index %d", errADTS, a.freqIndex)
	case a.channels == 0:
		return a, fmt.Errorf("%w: channel configuration 0", errADTS)
	case h[6]&3 != 0:
		return a, fmt.Errorf("%w: %d raw data blocks in a frame", errADTS, h[6]&3+1)
	case a.length < a.headerLen:
		return a, fmt.Errorf("%w: frame length %d", errADTS, a.length)
	}
	a.rate = aacRates[a.freqIndex]
	return a, nil
}

// aacRates are the sampling rates of the frequency indices (ISO/IEC
// 14496-3 §1.6.3.4).
var aacRates = [13]int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}

// appendASC appends the 2-byte AudioSpecificConfig (ISO/IEC 14496-3
// §1.6.2.1) of an ADTS stream: the object type (the profile plus 1), the
// frequency index, the channel configuration, and a GASpecificConfig of
// 1024-sample frames, no core coder, no extension: what an FLV AAC
// sequence header carries, and what ffmpeg's FLV muxer writes for the
// same stream.
func appendASC(dst []byte, c adtsConfig) []byte {
	v := uint16(c.profile+1)<<11 | uint16(c.freqIndex)<<7 | uint16(c.channels)<<3
	return append(dst, byte(v>>8), byte(v))
}

// adtsReader reads the frames of an ADTS stream (ffmpeg's "adts" muxer's
// output), one at a time, each bounded to adtsMaxFrame bytes. It gives
// each frame's raw access unit (the CRC stripped), its header, and the
// stream's AudioSpecificConfig (asc). It allocates nothing per
// frame once warm, and a new config only when the stream's changes.
type adtsReader struct {
	r    io.Reader
	buf  [adtsMaxFrame]byte
	conf adtsConfig
	asc  []byte // the AudioSpecificConfig of conf; a new slice when it changes
}

func newADTSReader(r io.Reader) *adtsReader { return &adtsReader{r: r} }

// nextFrame returns the next frame's access unit, valid until the next
// call, and its header. At the end of the stream it returns io.EOF, or
// io.ErrUnexpectedEOF inside a frame; a malformed frame gives an error
// wrapping errADTS.
func (a *adtsReader) nextFrame() ([]byte, adtsHeader, error) {
	h := a.buf[:adtsHeaderLen]
	if _, err := io.ReadFull(a.r, h); err != nil {
		return nil, adtsHeader{}, err
	}
	hdr, err := parseADTSHeader(h)
	if err != nil {
		return nil, hdr, err
	}
	if _, err := io.ReadFull(a.r, a.buf[adtsHeaderLen:hdr.length]); err != nil {
		return nil, hdr, unexpected(err)
	}
	if hdr.length == hdr.headerLen {
		return nil, hdr, fmt.Errorf("%w: a frame without an access unit", errADTS)
	}
	if a.asc == nil || hdr.adtsConfig != a.conf {
		a.conf, a.asc = hdr.adtsConfig, appendASC(nil, hdr.adtsConfig)
	}
	return a.buf[hdr.headerLen:hdr.length], hdr, nil
}
