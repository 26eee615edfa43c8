package relay

import (
	"errors"
	"fmt"
	"slices"

	"github.com/streamwire/streamwire/rtmp/flv"
)

// ErrBadConfig is NewDecoderConfig's error for a record that does not
// parse; test with errors.Is.
var ErrBadConfig = errors.New("relay: malformed decoder configuration record")

// DecoderConfig is a codec's decoder configuration, as a stream's
// sequence header carries it. The hub shares one DecoderConfig among the
// units it applies to ([Unit.Config]): it must not be modified.
type DecoderConfig struct {
	// Codec is the codec it configures.
	Codec Codec
	// Record is the configuration record:
	//   - H264: AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1),
	//   - H265: HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 §8.3.3.1),
	//   - AV1: AV1CodecConfigurationRecord (AV1 Codec ISO Media File
	//     Format Binding §2.3.3),
	//   - VP8, VP9: VPCodecConfigurationRecord (VP Codec ISO Media File
	//     Format Binding §2.3),
	//   - Opus: OpusHead (RFC 7845 §5.1),
	//   - AAC: AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1).
	Record []byte

	paramSets  [][]byte       // H.264: SPS, PPS; H.265: VPS, SPS, PPS; aliasing Record
	lengthSize int            // H.264, H.265: the record's NAL unit length size
	hevc       *hevcParamSets // H.265: what slice headers need of its SPSs and PPSs
}

// NewDecoderConfig parses record as c's configuration record (see
// [DecoderConfig.Record]; the result aliases it). It fails with
// ErrBadConfig (wrapping the parser's error) when the record does not
// parse, or for H.264 and H.265 when it lacks a parameter set of a kind
// a decoder needs (SPS and PPS; VPS, SPS and PPS). Records of VP8, VP9
// and AV1 are taken as they are: their decoders need none of it.
func NewDecoderConfig(c Codec, record []byte) (*DecoderConfig, error) {
	cfg := &DecoderConfig{Codec: c, Record: record}
	var err error
	switch c {
	case H264:
		var r flv.AVCDecoderConfig
		if r, err = flv.ParseAVCDecoderConfig(record); err == nil {
			cfg.lengthSize = r.LengthSize
			err = cfg.setParamSets(r.SPS, r.PPS)
		}
	case H265:
		var r flv.HEVCDecoderConfig
		if r, err = flv.ParseHEVCDecoderConfig(record); err == nil {
			cfg.lengthSize = r.LengthSize
			err = cfg.setParamSets(r.VPS, r.SPS, r.PPS)
			cfg.hevc = newHEVCParamSets(r.SPS, r.PPS)
		}
	case AAC:
		_, err = flv.ParseAudioSpecificConfig(record)
	case Opus:
		_, err = flv.ParseOpusHead(record)
	case AV1, VP8, VP9:
	default:
		err = fmt.Errorf("codec %v has no decoder configuration", c)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v: %w", ErrBadConfig, c, err)
	}
	return cfg, nil
}

// errNoParamSets: an H.264 or H.265 record lacks a kind of parameter set.
var errNoParamSets = errors.New("a kind of parameter set is missing or empty")

// setParamSets keeps the parameter sets of each kind, in the order
// given, after checking that each kind has one and none is empty.
func (c *DecoderConfig) setParamSets(kinds ...[][]byte) error {
	for _, k := range kinds {
		if len(k) == 0 || slices.ContainsFunc(k, isEmpty) {
			return errNoParamSets
		}
		c.paramSets = append(c.paramSets, k...)
	}
	return nil
}

func isEmpty(b []byte) bool { return len(b) == 0 }

// ParamSets returns the parameter set NAL units of an H.264 (SPS, then
// PPS) or H.265 (VPS, SPS, PPS) configuration, without lengths or start
// codes, aliasing Record; nil for the other codecs or a DecoderConfig
// not made by NewDecoderConfig. WebRTC viewers get them before every
// keyframe that lacks its own.
func (c *DecoderConfig) ParamSets() [][]byte {
	if c == nil {
		return nil
	}
	return c.paramSets
}
