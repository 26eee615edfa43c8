package relay

import (
	"bytes"
	"errors"
	"testing"
)

// NewDecoderConfig takes the records of each codec, gives the H.264
// parameter sets in order, and refuses with ErrBadConfig a record that
// does not parse or lacks a kind of parameter set.
func TestNewDecoderConfig(t *testing.T) {
	sps, pps := []byte{0x67, 0x42, 0, 0x1e}, []byte{0x68, 0xce, 0x3c, 0x80}
	avc, _ := appendAVCDecoderConfig(nil, sps, pps)
	noPPS := append(bytes.Clone(avc[:len(avc)-len(pps)-3]), 0) // zero PPS
	good := []struct {
		codec  Codec
		record []byte
	}{
		{H264, avc},
		{AAC, []byte{0x12, 0x10}},
		{Opus, opusHeadTag(2)[5:]},
		{VP8, vp8CodecConfig},
		{AV1, []byte{0x81, 0, 0x0c, 0}},
	}
	for _, c := range good {
		cfg, err := NewDecoderConfig(c.codec, c.record)
		if err != nil || cfg.Codec != c.codec || !bytes.Equal(cfg.Record, c.record) {
			t.Errorf("%v: %v, %v", c.codec, cfg, err)
		}
	}
	cfg, _ := NewDecoderConfig(H264, avc)
	if sets := cfg.ParamSets(); len(sets) != 2 || !bytes.Equal(sets[0], sps) || !bytes.Equal(sets[1], pps) {
		t.Errorf("H.264 parameter sets %x", sets)
	}
	bad := []struct {
		codec  Codec
		record []byte
	}{
		{H264, avc[:3]},
		{H264, noPPS},
		{H265, []byte{1, 2, 3}},
		{AAC, nil},
		{Opus, []byte("OpusHea")},
		{Script, []byte{2}},
	}
	for _, c := range bad {
		if _, err := NewDecoderConfig(c.codec, c.record); !errors.Is(err, ErrBadConfig) {
			t.Errorf("%v %x: %v, want ErrBadConfig", c.codec, c.record, err)
		}
	}
	if (*DecoderConfig)(nil).ParamSets() != nil {
		t.Error("nil config has parameter sets")
	}
}
