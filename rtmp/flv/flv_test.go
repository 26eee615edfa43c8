package flv

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/streamwire/streamwire/rtmp/amf0"
)

func readMedia(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/media/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestFourCC(t *testing.T) {
	if FourCCHEVC.String() != "hvc1" || FourCCMP3.String() != ".mp3" || FourCC(1).String() != "FourCC(0x00000001)" {
		t.Errorf("%v %v %v", FourCCHEVC, FourCCMP3, FourCC(1))
	}
}

func TestLegacyAVCVideoTag(t *testing.T) {
	// Inter frame, AVC NALU, composition time -33 (signed 24 bits).
	p := []byte{0x27, 1, 0xFF, 0xFF, 0xDF, 0, 0, 0, 2, 0x41, 0x9a}
	tag, err := ParseVideoTag(p)
	if err != nil {
		t.Fatal(err)
	}
	if tag.FrameType != FrameInter || tag.CodecID != CodecAVC || tag.FourCC != FourCCAVC || tag.PacketType != VideoCodedFrames || tag.CompositionTime != -33 || tag.Enhanced || tag.IsKeyFrame() {
		t.Errorf("%+v", tag)
	}
	it := NewNALUIter(tag.Data, 4)
	n, ok := it.Next()
	if !ok || !bytes.Equal(n, []byte{0x41, 0x9a}) {
		t.Errorf("NALU %x", n)
	}
	if _, ok := it.Next(); ok || it.Err() != nil {
		t.Errorf("extra NALU or error %v", it.Err())
	}
	if got := AppendVideoTagHeader(nil, FrameInter, FourCCAVC, VideoCodedFrames, -33, false); !bytes.Equal(got, p[:5]) {
		t.Errorf("AppendVideoTagHeader = %x", got)
	}
	// Command frame and a non-AVC codec.
	if tag, err := ParseVideoTag([]byte{0x57, 1}); err != nil || tag.FrameType != FrameCommand || tag.Command != VideoCommandEndSeek {
		t.Errorf("command %+v %v", tag, err)
	}
	if tag, err := ParseVideoTag([]byte{0x12, 9, 9}); err != nil || tag.CodecID != CodecSorensonH263 || len(tag.Data) != 2 || tag.FourCC != 0 {
		t.Errorf("H.263 %+v %v", tag, err)
	}
}

func TestEnhancedVideoTag(t *testing.T) {
	hvcC := readMedia(t, "hvcC.bin") // from ffmpeg/libx265
	av1C := readMedia(t, "av1C.bin") // from ffmpeg/libaom
	seq := cat([]byte{0x80 | 1<<4 | byte(VideoSequenceStart)}, []byte("hvc1"), hvcC)
	tag, err := ParseVideoTag(seq)
	if err != nil {
		t.Fatal(err)
	}
	if !tag.Enhanced || !tag.IsKeyFrame() || tag.FourCC != FourCCHEVC || !tag.IsSequenceHeader() || !bytes.Equal(tag.Data, hvcC) {
		t.Fatalf("%+v", tag)
	}
	cfg, err := ParseHEVCDecoderConfig(tag.Data)
	if err != nil || len(cfg.VPS) != 1 || len(cfg.SPS) != 1 || len(cfg.PPS) != 1 || cfg.LengthSize != 4 || cfg.ProfileIDC != 4 { // testsrc is RGB: x265 encodes 4:4:4, Range Extensions profile
		t.Errorf("hvcC %+v %v", cfg, err)
	}
	if got := AppendVideoTagHeader(nil, FrameKey, FourCCHEVC, VideoSequenceStart, 0, true); !bytes.Equal(got, seq[:5]) {
		t.Errorf("header %x", got)
	}

	// HEVC coded frames carry a composition time; CodedFramesX does not.
	frames := cat([]byte{0x80 | 2<<4 | 1}, []byte("hvc1"), []byte{0, 0, 40}, be32(3), []byte{2, 1, 0xd0})
	tag, err = ParseVideoTag(frames)
	if err != nil || tag.CompositionTime != 40 || len(tag.Data) != 7 {
		t.Errorf("coded frames %+v %v", tag, err)
	}
	if got := AppendVideoTagHeader(nil, FrameInter, FourCCHEVC, VideoCodedFrames, 40, true); !bytes.Equal(got, frames[:8]) {
		t.Errorf("header %x", got)
	}
	framesX := cat([]byte{0x80 | 2<<4 | 3}, []byte("hvc1"), be32(3), []byte{2, 1, 0xd0})
	if got := AppendVideoTagHeader(nil, FrameInter, FourCCHEVC, VideoCodedFrames, 0, true); !bytes.Equal(got, framesX[:5]) {
		t.Errorf("CodedFramesX header %x", got)
	}
	tag, err = ParseVideoTag(framesX)
	if err != nil || tag.PacketType != VideoCodedFramesX || tag.CompositionTime != 0 || len(tag.Data) != 7 {
		t.Errorf("coded frames X %+v %v", tag, err)
	}
	// AV1 and VP9 coded frames have no composition time.
	tag, err = ParseVideoTag(cat([]byte{0x80 | 1<<4 | 1}, []byte("av01"), []byte{0x12, 0}))
	if err != nil || tag.FourCC != FourCCAV1 || len(tag.Data) != 2 {
		t.Errorf("av01 %+v %v", tag, err)
	}
	tag, err = ParseVideoTag(cat([]byte{0x80 | 1<<4 | byte(VideoSequenceStart)}, []byte("av01"), av1C))
	if err != nil || !bytes.Equal(tag.Data, av1C) {
		t.Errorf("av01 sequence start %+v %v", tag, err)
	}
	tag, err = ParseVideoTag(cat([]byte{0x80 | 1<<4 | 5}, []byte("av01"), []byte{1, 2}))
	if err != nil || tag.PacketType != VideoMPEG2TSSequenceStart {
		t.Errorf("MPEG2TS sequence start %+v %v", tag, err)
	}
	tag, err = ParseVideoTag(cat([]byte{0x80 | 1<<4 | 2}, []byte("vp09")))
	if err != nil || tag.FourCC != FourCCVP9 || tag.PacketType != VideoSequenceEnd || len(tag.Data) != 0 {
		t.Errorf("vp09 sequence end %+v %v", tag, err)
	}
	// Metadata (AMF colorInfo) and a command frame.
	meta, _ := amf0.AppendValues(nil, "colorInfo", amf0.Object{{Key: "colorConfig", Value: amf0.Object{{Key: "bitDepth", Value: 10.0}}}})
	tag, err = ParseVideoTag(cat([]byte{0x80 | 5<<4 | 4}, []byte("hvc1"), meta))
	if err != nil || tag.PacketType != VideoMetadata {
		t.Fatalf("metadata %+v %v", tag, err)
	}
	if vs, err := amf0.DecodeAll(tag.Data); err != nil || len(vs) != 2 || vs[0] != "colorInfo" {
		t.Errorf("metadata body %v %v", vs, err)
	}
	tag, err = ParseVideoTag(cat([]byte{0x80 | 5<<4 | 1}, []byte("av01"), []byte{0}))
	if err != nil || tag.FrameType != FrameCommand || tag.Command != VideoCommandStartSeek {
		t.Errorf("command %+v %v", tag, err)
	}
	// ModEx: a nanosecond timestamp offset, then coded frames.
	tag, err = ParseVideoTag(cat([]byte{0x80 | 1<<4 | 7, 2, 0x01, 0xE2, 0x40, 0<<4 | 1}, []byte("avc1"), []byte{0, 0, 0}, be32(1), []byte{0x65}))
	if err != nil || tag.TimestampOffsetNanos != 123456 || tag.PacketType != VideoCodedFrames || tag.FourCC != FourCCAVC || len(tag.Data) != 5 {
		t.Errorf("ModEx %+v %v", tag, err)
	}
	// ModEx with a 16-bit size (UI8 255 → UI16 + 1).
	big := make([]byte, 300)
	tag, err = ParseVideoTag(cat([]byte{0x80 | 1<<4 | 7, 255, 0x01, 0x2B}, big, []byte{0x10 | 3}, []byte("vp09"), []byte{9}))
	if err != nil || tag.PacketType != VideoCodedFramesX || tag.FourCC != FourCCVP9 || len(tag.Data) != 1 {
		t.Errorf("ModEx 16-bit size %+v %v", tag, err)
	}
}

func collectTracks(t *testing.T, it TrackIter) []Track {
	t.Helper()
	var ts []Track
	var tr Track
	for it.Next(&tr) {
		ts = append(ts, tr)
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestMultitrackVideo(t *testing.T) {
	// One track: track id 1, avc1 coded frames with composition time.
	one := cat([]byte{0x80 | 1<<4 | 6, 0<<4 | 1}, []byte("avc1"), []byte{1, 0, 0, 66}, be32(1), []byte{0x65})
	tag, err := ParseVideoTag(one)
	if err != nil || !tag.Multitrack || tag.MultitrackType != MultitrackOneTrack || tag.FourCC != FourCCAVC || tag.PacketType != VideoCodedFrames {
		t.Fatalf("%+v %v", tag, err)
	}
	tr := collectTracks(t, tag.Tracks())
	if len(tr) != 1 || tr[0].ID != 1 || tr[0].CompositionTime != 66 || len(tr[0].Data) != 5 {
		t.Errorf("one track %+v", tr)
	}
	// Many tracks, one codec: sizes per track.
	many := cat([]byte{0x80 | 1<<4 | 6, 1<<4 | byte(VideoSequenceStart)}, []byte("hvc1"), []byte{0, 0, 0, 2, 0xAA, 0xBB}, []byte{1, 0, 0, 1, 0xCC})
	tag, err = ParseVideoTag(many)
	if err != nil || tag.MultitrackType != MultitrackManyTracks || !tag.IsSequenceHeader() {
		t.Fatalf("%+v %v", tag, err)
	}
	tr = collectTracks(t, tag.Tracks())
	if len(tr) != 2 || tr[0].ID != 0 || tr[1].ID != 1 || !bytes.Equal(tr[0].Data, []byte{0xAA, 0xBB}) || !bytes.Equal(tr[1].Data, []byte{0xCC}) || tr[1].FourCC != FourCCHEVC {
		t.Errorf("many tracks %+v", tr)
	}
	// Many tracks, many codecs: a FourCC per track.
	mixed := cat([]byte{0x80 | 1<<4 | 6, 2<<4 | 1},
		[]byte("avc1"), []byte{0, 0, 0, 4, 0, 0, 10, 0x65},
		[]byte("av01"), []byte{1, 0, 0, 2, 0x12, 0x00})
	tag, err = ParseVideoTag(mixed)
	if err != nil || tag.MultitrackType != MultitrackManyTracksManyCodecs || tag.FourCC != 0 {
		t.Fatalf("%+v %v", tag, err)
	}
	tr = collectTracks(t, tag.Tracks())
	if len(tr) != 2 || tr[0].FourCC != FourCCAVC || tr[0].CompositionTime != 10 || len(tr[0].Data) != 1 || tr[1].FourCC != FourCCAV1 || len(tr[1].Data) != 2 {
		t.Errorf("many codecs %+v", tr)
	}
	// Truncated track list.
	tag, _ = ParseVideoTag(mixed[:len(mixed)-1])
	it := tag.Tracks()
	var x Track
	for it.Next(&x) {
	}
	if !errors.Is(it.Err(), ErrMalformed) {
		t.Errorf("truncated: %v", it.Err())
	}
	// Allocation-free parse and iteration.
	if a := testing.AllocsPerRun(100, func() {
		tag, _ := ParseVideoTag(mixed)
		it := tag.Tracks()
		var tr Track
		for it.Next(&tr) {
		}
	}); a != 0 {
		t.Errorf("%v allocs", a)
	}
}

func TestAudioTags(t *testing.T) {
	// Legacy AAC sequence header: AAC-LC, 48 kHz, stereo.
	tag, err := ParseAudioTag([]byte{0xAF, 0, 0x11, 0x90})
	if err != nil || tag.FourCC != FourCCAAC || !tag.IsSequenceHeader() || tag.SoundRate != 3 || !tag.Stereo || tag.SoundSize != 1 {
		t.Fatalf("%+v %v", tag, err)
	}
	asc, err := ParseAudioSpecificConfig(tag.Data)
	if err != nil || asc.ObjectType != 2 || asc.SampleRate != 48000 || asc.Channels != 2 {
		t.Errorf("ASC %+v %v", asc, err)
	}
	if got := AppendAudioTagHeader(nil, FourCCAAC, AudioSequenceStart, false); !bytes.Equal(got, []byte{0xAF, 0}) {
		t.Errorf("header %x", got)
	}
	// Explicit frequency and an escaped object type (HE-AAC v2 as 29 is
	// not escaped; 31+ is): object type 42 (USAC), rate 0x00BB80 = 48000.
	if asc, err := ParseAudioSpecificConfig([]byte{0xF9, 0x5E, 0x01, 0x77, 0x00, 0x40}); err != nil || asc.ObjectType != 42 || asc.SampleRate != 48000 || asc.ChannelConfig != 2 {
		t.Errorf("escaped ASC %+v %v", asc, err)
	}
	// Legacy MP3 and G.711.
	if tag, err := ParseAudioTag([]byte{0x2F, 0xFF, 0xFB}); err != nil || tag.FourCC != FourCCMP3 || len(tag.Data) != 2 {
		t.Errorf("mp3 %+v %v", tag, err)
	}
	if tag, err := ParseAudioTag([]byte{0x72, 0xD5}); err != nil || tag.SoundFormat != SoundG711A || tag.PacketType != AudioCodedFrames {
		t.Errorf("G.711 %+v %v", tag, err)
	}
	// Enhanced Opus: sequence start with the OpusHead ffmpeg/libopus wrote.
	head := readMedia(t, "OpusHead.bin")
	p := cat(AppendAudioTagHeader(nil, FourCCOpus, AudioSequenceStart, true), head)
	tag, err = ParseAudioTag(p)
	if err != nil || !tag.Enhanced || tag.FourCC != FourCCOpus || !tag.IsSequenceHeader() {
		t.Fatalf("%+v %v", tag, err)
	}
	oh, err := ParseOpusHead(tag.Data)
	if err != nil || oh.Channels != 2 || oh.InputSampleRate != 48000 || oh.PreSkip != 312 {
		t.Errorf("OpusHead %+v %v", oh, err)
	}
	for _, f := range []string{"mp4a", "fLaC", "ac-3", "ec-3", ".mp3"} {
		tag, err := ParseAudioTag(cat([]byte{0x91}, []byte(f), []byte{1, 2}))
		if err != nil || tag.FourCC.String() != f || tag.PacketType != AudioCodedFrames || len(tag.Data) != 2 {
			t.Errorf("%s: %+v %v", f, tag, err)
		}
	}
	// Multichannel config: native order with flags, custom with a mapping.
	tag, err = ParseAudioTag(cat([]byte{0x94}, []byte("Opus"), []byte{1, 6}, be32(0x3F)))
	if err != nil || tag.ChannelOrder != ChannelOrderNative || tag.ChannelCount != 6 || tag.ChannelFlags != 0x3F {
		t.Errorf("native %+v %v", tag, err)
	}
	tag, err = ParseAudioTag(cat([]byte{0x94}, []byte("Opus"), []byte{2, 2, 0, 1}))
	if err != nil || tag.ChannelOrder != ChannelOrderCustom || !bytes.Equal(tag.ChannelMapping, []byte{0, 1}) {
		t.Errorf("custom %+v %v", tag, err)
	}
	// Multitrack audio: many tracks, many codecs.
	tag, err = ParseAudioTag(cat([]byte{0x95, 2<<4 | 1}, []byte("Opus"), []byte{0, 0, 0, 1, 0xF8}, []byte("mp4a"), []byte{1, 0, 0, 2, 0x21, 0x10}))
	if err != nil || !tag.Multitrack {
		t.Fatalf("%+v %v", tag, err)
	}
	tr := collectTracks(t, tag.Tracks())
	if len(tr) != 2 || tr[0].FourCC != FourCCOpus || tr[1].FourCC != FourCCAAC || tr[1].ID != 1 || len(tr[1].Data) != 2 {
		t.Errorf("tracks %+v", tr)
	}
	// ModEx then one-track multitrack.
	tag, err = ParseAudioTag(cat([]byte{0x97, 2, 0, 0, 9, 0<<4 | 5, 0<<4 | 1}, []byte("Opus"), []byte{3, 0xF8, 0xFF}))
	if err != nil || tag.TimestampOffsetNanos != 9 || !tag.Multitrack {
		t.Fatalf("%+v %v", tag, err)
	}
	tr = collectTracks(t, tag.Tracks())
	if len(tr) != 1 || tr[0].ID != 3 || len(tr[0].Data) != 2 {
		t.Errorf("one track %+v", tr)
	}
}

func TestMediaErrors(t *testing.T) {
	video := map[string][]byte{
		"empty":                {},
		"short AVC":            {0x17, 1},
		"AVC packet type 3":    {0x17, 3, 0, 0, 0},
		"no FourCC":            {0x90, 'h', 'v'},
		"short CTO":            cat([]byte{0x91}, []byte("avc1"), []byte{0}),
		"ModEx truncated":      {0x97, 5, 1},
		"multitrack in multi":  {0x96, 0x06},
		"multitrack type 3":    cat([]byte{0x96, 3<<4 | 1}, []byte("avc1")),
		"command without byte": cat([]byte{0xD1}, []byte("avc1")),
	}
	for name, p := range video {
		if _, err := ParseVideoTag(p); !errors.Is(err, ErrMalformed) {
			t.Errorf("video %s: %v", name, err)
		}
	}
	audio := map[string][]byte{
		"empty":          {},
		"AAC no type":    {0xAF},
		"AAC type 2":     {0xAF, 2},
		"no FourCC":      {0x90, 'O'},
		"multichannel":   cat([]byte{0x94}, []byte("Opus"), []byte{2, 4, 0}),
		"native flags":   cat([]byte{0x94}, []byte("Opus"), []byte{1, 4, 0}),
		"ModEx 16 trunc": {0x97, 255, 1},
	}
	for name, p := range audio {
		if _, err := ParseAudioTag(p); !errors.Is(err, ErrMalformed) {
			t.Errorf("audio %s: %v", name, err)
		}
	}
	for name, b := range map[string][]byte{"empty": nil, "version": {2, 0, 0, 0, 0, 0, 0}, "sps count": {1, 66, 0, 30, 0xFF, 0xE5, 0, 1}, "length size 3": {1, 66, 0, 30, 0xFE, 0xE0, 0}, "no pps": {1, 66, 0, 30, 0xFF, 0xE0}} {
		if _, err := ParseAVCDecoderConfig(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("avcC %s: %v", name, err)
		}
	}
	if _, err := ParseHEVCDecoderConfig(readMedia(t, "hvcC.bin")[:40]); !errors.Is(err, ErrMalformed) {
		t.Errorf("truncated hvcC: %v", err)
	}
	for _, b := range [][]byte{nil, {0x12}, {0x17, 0x80}, {0x17, 0x88}} {
		if _, err := ParseAudioSpecificConfig(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("ASC %x: %v", b, err)
		}
	}
	if _, err := ParseOpusHead([]byte("OpusHead")); !errors.Is(err, ErrMalformed) {
		t.Errorf("OpusHead: %v", err)
	}
	it := NewNALUIter([]byte{0, 0, 0, 9, 1}, 4)
	if _, ok := it.Next(); ok || !errors.Is(it.Err(), ErrMalformed) {
		t.Errorf("NALU overrun: %v", it.Err())
	}
}

func TestFLVFileRoundTrip(t *testing.T) {
	b := AppendHeader(nil, true, true)
	if !bytes.Equal(b, []byte{'F', 'L', 'V', 1, 5, 0, 0, 0, 9, 0, 0, 0, 0}) {
		t.Fatalf("header %x", b)
	}
	tags := []Tag{
		{Type: TagScript, Timestamp: 0, Data: []byte{2, 0, 1, 'x'}},
		{Type: TagVideo, Timestamp: 40, Data: []byte{0x17, 0, 0, 0, 0}},
		{Type: TagAudio, Timestamp: 0x01234567, Data: []byte{0xAF, 1, 9}}, // uses the extended timestamp byte
		{Type: TagVideo, Timestamp: 0x01234568, Data: nil},
	}
	for _, tg := range tags {
		b = AppendTag(b, tg.Type, tg.Timestamp, tg.Data)
	}
	r, err := NewReader(bytes.NewReader(b))
	if err != nil || !r.HasAudio || !r.HasVideo {
		t.Fatalf("%v %+v", err, r)
	}
	for i, want := range tags {
		got, err := r.ReadTag()
		if err != nil || got.Type != want.Type || got.Timestamp != want.Timestamp || !bytes.Equal(got.Data, want.Data) {
			t.Errorf("tag %d: %+v %v", i, got, err)
		}
	}
	if _, err := r.ReadTag(); err != io.EOF {
		t.Errorf("end: %v", err)
	}
	// The PreviousTagSize after the second tag is 11 + 5.
	if got := binary.BigEndian.Uint32(b[13+11+4+4+11+5:]); got != 16 {
		t.Errorf("PreviousTagSize %d", got)
	}
	if _, err := NewReader(bytes.NewReader([]byte("FLX\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00"))); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad signature: %v", err)
	}
	if _, err := NewReader(bytes.NewReader(b[:5])); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short header: %v", err)
	}
	r, _ = NewReader(bytes.NewReader(b[:40]))
	_, _ = r.ReadTag()
	if _, err := r.ReadTag(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated tag: %v", err)
	}
}

func TestLegacyHEVCCodec12(t *testing.T) {
	// Codec id 12, as Chinese CDNs sent HEVC before Enhanced RTMP: same
	// layout as AVC.
	tag, err := ParseVideoTag([]byte{0x1C, 0, 0, 0, 0, 1, 2})
	if err != nil || tag.FourCC != FourCCHEVC || tag.CodecID != CodecHEVCLegacy || !tag.IsSequenceHeader() || len(tag.Data) != 2 {
		t.Errorf("%+v %v", tag, err)
	}
}
