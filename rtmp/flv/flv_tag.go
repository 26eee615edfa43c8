package flv

import (
	"encoding/binary"
	"fmt"
)

// VideoFrameType is the frame type of a video tag (FLV 10.1 §E.4.3.1).
type VideoFrameType uint8

// Video frame types.
const (
	FrameKey          VideoFrameType = 1 // keyframe (seekable)
	FrameInter        VideoFrameType = 2
	FrameDisposable   VideoFrameType = 3 // disposable inter frame (H.263 only)
	FrameGeneratedKey VideoFrameType = 4 // server-generated keyframe
	FrameCommand      VideoFrameType = 5 // video info/command frame, no picture
)

// VideoCodecID is the legacy FLV codec id (FLV 10.1 §E.4.3.1).
type VideoCodecID uint8

// Legacy video codec ids.
const (
	CodecSorensonH263 VideoCodecID = 2
	CodecScreen       VideoCodecID = 3
	CodecVP6          VideoCodecID = 4
	CodecVP6Alpha     VideoCodecID = 5
	CodecScreen2      VideoCodecID = 6
	CodecAVC          VideoCodecID = 7
	CodecHEVCLegacy   VideoCodecID = 12 // not in the FLV spec; used by Chinese CDNs before Enhanced RTMP
)

// VideoPacketType is the Enhanced RTMP video packet type. Legacy AVC
// packet types map onto the first three.
type VideoPacketType uint8

// Video packet types.
const (
	VideoSequenceStart        VideoPacketType = 0 // codec configuration record (AVC: AVCPacketType 0)
	VideoCodedFrames          VideoPacketType = 1 // frames with a composition time (AVC: AVCPacketType 1)
	VideoSequenceEnd          VideoPacketType = 2 // end of sequence (AVC: AVCPacketType 2)
	VideoCodedFramesX         VideoPacketType = 3 // frames with composition time 0, not sent
	VideoMetadata             VideoPacketType = 4 // AMF-encoded metadata such as colorInfo
	VideoMPEG2TSSequenceStart VideoPacketType = 5 // MPEG-2 TS AV1 descriptor
	VideoMultitrack           VideoPacketType = 6
	VideoModEx                VideoPacketType = 7
)

// VideoCommand is the command of a FrameCommand tag.
type VideoCommand uint8

// Video commands.
const (
	VideoCommandStartSeek VideoCommand = 0
	VideoCommandEndSeek   VideoCommand = 1
)

// VideoTag is a parsed video message payload (an FLV video tag body):
// legacy (FLV 10.1 §E.4.3) or Enhanced RTMP (ExVideoTagHeader). Slices
// alias the parsed payload.
type VideoTag struct {
	// FrameType is the frame type (key frame, inter frame, command...).
	FrameType VideoFrameType
	// Enhanced is true for the Enhanced RTMP header (IsExHeader bit).
	Enhanced bool
	// CodecID is the legacy codec id; 0 for enhanced tags.
	CodecID VideoCodecID
	// FourCC is the codec: the enhanced FourCC, FourCCAVC for legacy AVC,
	// FourCCHEVC for legacy codec 12, 0 for other legacy codecs and for
	// multitrack tags with a codec per track.
	FourCC FourCC
	// PacketType says what the body holds; for legacy AVC the AVC packet
	// type (0, 1, 2 map to sequence start, coded frames, sequence end).
	PacketType VideoPacketType
	// Command is set for FrameCommand tags.
	Command VideoCommand
	// Multitrack and MultitrackType describe an Enhanced RTMP v2
	// multitrack tag; iterate with Tracks.
	Multitrack     bool
	MultitrackType MultitrackType
	// TimestampOffsetNanos is the ModEx nanosecond timestamp offset.
	TimestampOffsetNanos uint32
	// CompositionTime is the composition time offset in ms (signed 24
	// bits) of a single-track tag.
	CompositionTime int32
	// Data is the body of a single-track tag (after the composition
	// time); for a multitrack tag, the encoded track list.
	Data []byte
}

// IsKeyFrame reports whether the tag is a keyframe.
func (t *VideoTag) IsKeyFrame() bool {
	return t.FrameType == FrameKey || t.FrameType == FrameGeneratedKey
}

// IsSequenceHeader reports whether the tag carries a codec configuration
// record (AVC sequence header, hvcC, av1C, vpcC).
func (t *VideoTag) IsSequenceHeader() bool { return t.PacketType == VideoSequenceStart }

// videoHasCTO: only AVC, HEVC and VVC coded frames carry a composition
// time offset (Enhanced RTMP v2, ExVideoTagBody).
func videoHasCTO(f FourCC) bool { return f == FourCCAVC || f == FourCCHEVC || f == FourCCVVC }

// ParseVideoTag parses a video message payload. It does not allocate; the
// returned slices alias p.
func ParseVideoTag(p []byte) (VideoTag, error) {
	var t VideoTag
	if len(p) < 1 {
		return t, fmt.Errorf("flv: empty video tag: %w", ErrMalformed)
	}
	b0 := p[0]
	p = p[1:]
	if b0&0x80 == 0 {
		return parseLegacyVideo(t, b0, p)
	}
	t.Enhanced = true
	t.FrameType = VideoFrameType(b0 >> 4 & 7)
	h, p, err := parseExHeader(p, b0&0x0f, uint8(VideoModEx), uint8(VideoMultitrack))
	if err != nil {
		return t, err
	}
	t.PacketType = VideoPacketType(h.packetType)
	t.FourCC, t.Multitrack, t.MultitrackType, t.TimestampOffsetNanos = h.fourCC, h.multitrack, h.multitrackType, h.tsOffsetNanos
	if t.FrameType == FrameCommand && t.PacketType != VideoMetadata {
		if len(p) < 1 {
			return t, fmt.Errorf("flv: video command frame without command: %w", ErrMalformed)
		}
		t.Command = VideoCommand(p[0])
		t.Data = p[1:]
		return t, nil
	}
	if !t.Multitrack && t.PacketType == VideoCodedFrames && videoHasCTO(t.FourCC) {
		if len(p) < 3 {
			return t, fmt.Errorf("flv: video tag without composition time: %w", ErrMalformed)
		}
		t.CompositionTime = si24(p)
		p = p[3:]
	}
	t.Data = p
	return t, nil
}

func parseLegacyVideo(t VideoTag, b0 byte, p []byte) (VideoTag, error) {
	t.FrameType = VideoFrameType(b0 >> 4)
	t.CodecID = VideoCodecID(b0 & 0x0f)
	t.PacketType = VideoCodedFrames
	if t.FrameType == FrameCommand {
		if len(p) < 1 {
			return t, fmt.Errorf("flv: video command frame without command: %w", ErrMalformed)
		}
		t.Command = VideoCommand(p[0])
		t.Data = p[1:]
		return t, nil
	}
	if t.CodecID != CodecAVC && t.CodecID != CodecHEVCLegacy {
		t.Data = p
		return t, nil
	}
	t.FourCC = FourCCAVC
	if t.CodecID == CodecHEVCLegacy {
		t.FourCC = FourCCHEVC
	}
	if len(p) < 4 {
		return t, fmt.Errorf("flv: AVC video tag of %d bytes: %w", len(p)+1, ErrMalformed)
	}
	if p[0] > 2 {
		return t, fmt.Errorf("flv: AVC packet type %d: %w", p[0], ErrMalformed)
	}
	t.PacketType = VideoPacketType(p[0])
	t.CompositionTime = si24(p[1:])
	t.Data = p[4:]
	return t, nil
}

// Tracks returns an iterator over the tag's tracks: one track (ID 0) for
// a single-track tag, the encoded tracks of a multitrack tag.
func (t *VideoTag) Tracks() TrackIter {
	if !t.Multitrack {
		return TrackIter{isSingle: true, single: Track{FourCC: t.FourCC, CompositionTime: t.CompositionTime, Data: t.Data}}
	}
	it := TrackIter{rest: t.Data, multitrackType: t.MultitrackType, fourCC: t.FourCC}
	if t.PacketType == VideoCodedFrames {
		it.withCTO = videoHasCTO
	}
	return it
}

// AppendVideoTagHeader appends the header of a single-track video tag:
// the legacy AVC header (frame type, codec 7, AVC packet type, composition
// time) when fourCC is FourCCAVC and enhanced is false, else an Enhanced
// RTMP header with the FourCC (and the composition time for AVC/HEVC/VVC
// coded frames). Append the body after it.
func AppendVideoTagHeader(b []byte, frame VideoFrameType, fourCC FourCC, pt VideoPacketType, cts int32, enhanced bool) []byte {
	if !enhanced && fourCC == FourCCAVC && pt <= VideoSequenceEnd {
		b = append(b, byte(frame)<<4|byte(CodecAVC), byte(pt))
		return append(b, byte(cts>>16), byte(cts>>8), byte(cts))
	}
	if pt == VideoCodedFrames && cts == 0 {
		pt = VideoCodedFramesX
	}
	b = append(b, 0x80|byte(frame&7)<<4|byte(pt))
	b = binary.BigEndian.AppendUint32(b, uint32(fourCC))
	if pt == VideoCodedFrames && videoHasCTO(fourCC) {
		b = append(b, byte(cts>>16), byte(cts>>8), byte(cts))
	}
	return b
}

// SoundFormat is the FLV audio codec (FLV 10.1 §E.4.2.1).
type SoundFormat uint8

// Sound formats.
const (
	SoundPCM        SoundFormat = 0
	SoundADPCM      SoundFormat = 1
	SoundMP3        SoundFormat = 2
	SoundPCMLE      SoundFormat = 3
	SoundNelly16k   SoundFormat = 4
	SoundNelly8k    SoundFormat = 5
	SoundNelly      SoundFormat = 6
	SoundG711A      SoundFormat = 7
	SoundG711U      SoundFormat = 8
	SoundExHeader   SoundFormat = 9 // Enhanced RTMP: FourCC follows
	SoundAAC        SoundFormat = 10
	SoundSpeex      SoundFormat = 11
	SoundMP38k      SoundFormat = 14
	SoundDeviceSpec SoundFormat = 15
)

// AudioPacketType is the Enhanced RTMP audio packet type; legacy AAC
// packet types map onto the first two.
type AudioPacketType uint8

// Audio packet types.
const (
	AudioSequenceStart      AudioPacketType = 0 // AAC: AudioSpecificConfig; Opus: OpusHead; FLAC: fLaC header
	AudioCodedFrames        AudioPacketType = 1
	AudioSequenceEnd        AudioPacketType = 2
	AudioMultichannelConfig AudioPacketType = 4
	AudioMultitrack         AudioPacketType = 5
	AudioModEx              AudioPacketType = 7
)

// AudioChannelOrder is the channel order of a multichannel configuration.
type AudioChannelOrder uint8

// Channel orders.
const (
	ChannelOrderUnspecified AudioChannelOrder = 0
	ChannelOrderNative      AudioChannelOrder = 1 // ChannelFlags is a bit mask of speakers
	ChannelOrderCustom      AudioChannelOrder = 2 // ChannelMapping lists speakers
)

// AudioTag is a parsed audio message payload: legacy (FLV 10.1 §E.4.2) or
// Enhanced RTMP (ExAudioTagHeader). Slices alias the parsed payload.
type AudioTag struct {
	// SoundFormat is the legacy codec field (10 AAC, 2 MP3, 9 ExHeader).
	SoundFormat SoundFormat
	// SoundRate (0-3: 5.5, 11, 22, 44 kHz), SoundSize (0: 8 bit, 1: 16
	// bit) and Stereo are the legacy header fields; AAC ignores them.
	SoundRate uint8
	SoundSize uint8
	Stereo    bool
	// Enhanced is true for SoundFormat 9 (ExHeader).
	Enhanced bool
	// FourCC is the codec: the enhanced FourCC, FourCCAAC for legacy AAC,
	// FourCCMP3 for legacy MP3, else 0.
	FourCC FourCC
	// PacketType says what the body holds.
	PacketType AudioPacketType
	// Multitrack and MultitrackType describe a multitrack tag; iterate
	// with Tracks.
	Multitrack     bool
	MultitrackType MultitrackType
	// TimestampOffsetNanos is the ModEx nanosecond timestamp offset.
	TimestampOffsetNanos uint32
	// Multichannel configuration (PacketType AudioMultichannelConfig).
	ChannelOrder   AudioChannelOrder
	ChannelCount   uint8
	ChannelFlags   uint32
	ChannelMapping []byte
	// Data is the body of a single-track tag; for a multitrack tag, the
	// encoded track list.
	Data []byte
}

// IsSequenceHeader reports whether the tag carries a codec configuration.
func (t *AudioTag) IsSequenceHeader() bool { return t.PacketType == AudioSequenceStart }

// ParseAudioTag parses an audio message payload. It does not allocate; the
// returned slices alias p.
func ParseAudioTag(p []byte) (AudioTag, error) {
	var t AudioTag
	if len(p) < 1 {
		return t, fmt.Errorf("flv: empty audio tag: %w", ErrMalformed)
	}
	b0 := p[0]
	p = p[1:]
	t.SoundFormat = SoundFormat(b0 >> 4)
	if t.SoundFormat != SoundExHeader {
		t.SoundRate, t.SoundSize, t.Stereo = b0>>2&3, b0>>1&1, b0&1 == 1
		t.PacketType = AudioCodedFrames
		switch t.SoundFormat {
		case SoundAAC:
			t.FourCC = FourCCAAC
			if len(p) < 1 {
				return t, fmt.Errorf("flv: AAC tag without packet type: %w", ErrMalformed)
			}
			if p[0] > 1 {
				return t, fmt.Errorf("flv: AAC packet type %d: %w", p[0], ErrMalformed)
			}
			t.PacketType = AudioPacketType(p[0])
			p = p[1:]
		case SoundMP3, SoundMP38k:
			t.FourCC = FourCCMP3
		}
		t.Data = p
		return t, nil
	}
	t.Enhanced = true
	h, p, err := parseExHeader(p, b0&0x0f, uint8(AudioModEx), uint8(AudioMultitrack))
	if err != nil {
		return t, err
	}
	t.PacketType = AudioPacketType(h.packetType)
	t.FourCC, t.Multitrack, t.MultitrackType, t.TimestampOffsetNanos = h.fourCC, h.multitrack, h.multitrackType, h.tsOffsetNanos
	if t.PacketType == AudioMultichannelConfig && !t.Multitrack {
		if p, err = t.parseMultichannel(p); err != nil {
			return t, err
		}
	}
	t.Data = p
	return t, nil
}

func (t *AudioTag) parseMultichannel(p []byte) ([]byte, error) {
	if len(p) < 2 {
		return nil, fmt.Errorf("flv: truncated multichannel config: %w", ErrMalformed)
	}
	t.ChannelOrder, t.ChannelCount = AudioChannelOrder(p[0]), p[1]
	p = p[2:]
	switch t.ChannelOrder {
	case ChannelOrderCustom:
		if len(p) < int(t.ChannelCount) {
			return nil, fmt.Errorf("flv: truncated channel mapping: %w", ErrMalformed)
		}
		t.ChannelMapping, p = p[:t.ChannelCount], p[t.ChannelCount:]
	case ChannelOrderNative:
		if len(p) < 4 {
			return nil, fmt.Errorf("flv: truncated channel flags: %w", ErrMalformed)
		}
		t.ChannelFlags, p = binary.BigEndian.Uint32(p), p[4:]
	}
	return p, nil
}

// Tracks returns an iterator over the tag's tracks: one track (ID 0) for
// a single-track tag, the encoded tracks of a multitrack tag.
func (t *AudioTag) Tracks() TrackIter {
	if !t.Multitrack {
		return TrackIter{isSingle: true, single: Track{FourCC: t.FourCC, Data: t.Data}}
	}
	return TrackIter{rest: t.Data, multitrackType: t.MultitrackType, fourCC: t.FourCC}
}

// AppendAudioTagHeader appends the header of a single-track audio tag: the
// legacy AAC header (sound format 10, 44 kHz, 16 bit, stereo, AAC packet
// type) when fourCC is FourCCAAC and enhanced is false, else an Enhanced
// RTMP header with the FourCC (e.g. FourCCOpus). Append the body after it.
func AppendAudioTagHeader(b []byte, fourCC FourCC, pt AudioPacketType, enhanced bool) []byte {
	if !enhanced && fourCC == FourCCAAC && pt <= AudioCodedFrames {
		return append(b, byte(SoundAAC)<<4|3<<2|1<<1|1, byte(pt))
	}
	b = append(b, byte(SoundExHeader)<<4|byte(pt&0x0f))
	return binary.BigEndian.AppendUint32(b, uint32(fourCC))
}
