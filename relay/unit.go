package relay

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/streamwire/streamwire/rtmp/flv"
)

// Type is the kind of a [Unit]; the values are the FLV tag types.
type Type uint8

// Unit types (FLV TagType, which is also the RTMP message type id).
const (
	Audio Type = 8  // audio
	Video Type = 9  // video
	Data  Type = 18 // script data (AMF0), e.g. @setDataFrame/onMetaData
)

// String returns "audio", "video", "data" or "type(N)".
func (t Type) String() string {
	switch t {
	case Audio:
		return "audio"
	case Video:
		return "video"
	case Data:
		return "data"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Codec is the coding of a [Unit]'s Data.
type Codec uint8

// Codecs, with what a Unit's Data holds for each.
const (
	// CodecUnknown is what only RTMP carries (MP3, Speex, multitrack
	// tags, video command frames...): Data is the FLV tag body (FLV 10.1
	// §E.4.2/§E.4.3 with the Enhanced RTMP extensions), passed to RTMP
	// players as it is and to no one else.
	CodecUnknown Codec = iota
	// H264 (ITU-T H.264): an access unit as NAL units, each after a
	// 4-byte big-endian length ("AVCC", ISO/IEC 14496-15 §5.3.2, with
	// lengthSizeMinusOne 3, whatever the publisher's record says).
	H264
	// H265 (ITU-T H.265): as H264 (ISO/IEC 14496-15 §8.3.2), 4-byte lengths.
	H265
	// AV1: a temporal unit as OBUs with obu_has_size_field set and no
	// temporal delimiter (AV1 Codec ISO Media File Format Binding §2.4).
	AV1
	// VP8: one frame (RFC 6386 §9).
	VP8
	// VP9: one frame (VP9 bitstream specification §6), superframe index
	// included.
	VP9
	// Opus: one Opus packet (RFC 6716 §3).
	Opus
	// AAC: one raw AAC frame (raw_data_block, ISO/IEC 14496-3), no ADTS
	// header.
	AAC
	// Script is AMF0 script data (FLV 10.1 §E.4.4): Data is the FLV tag body.
	Script
)

var codecNames = [...]string{"unknown", "H264", "H265", "AV1", "VP8", "VP9", "Opus", "AAC", "script"}

// String returns the codec's name: "H264", "H265", "AV1", "VP8", "VP9",
// "Opus", "AAC", "script" or "unknown".
func (c Codec) String() string {
	if int(c) < len(codecNames) {
		return codecNames[c]
	}
	return fmt.Sprintf("codec(%d)", uint8(c))
}

// ClockRate is the codec's RTP clock rate in Hz, the unit of
// [Unit.RTPTime]: 90000 for video (RFC 6184 §8.2.1, RFC 7798 §7.1, RFC
// 7741 §6.1), 48000 for Opus (RFC 7587 §4.1), and 1000 (milliseconds)
// for what has no RTP form here (AAC, script data, unknown codecs).
func (c Codec) ClockRate() uint32 {
	switch c {
	case H264, H265, AV1, VP8, VP9:
		return 90000
	case Opus:
		return 48000
	}
	return 1000
}

// fourCCs are the Enhanced RTMP FourCCs of the codecs (legacy AVC, HEVC
// and AAC included, as package flv reports them).
var fourCCs = [...]flv.FourCC{H264: flv.FourCCAVC, H265: flv.FourCCHEVC, AV1: flv.FourCCAV1,
	VP8: flv.FourCCVP8, VP9: flv.FourCCVP9, Opus: flv.FourCCOpus, AAC: flv.FourCCAAC}

// codecOf4CC is the codec of a FourCC, CodecUnknown for others.
func codecOf4CC(f flv.FourCC) Codec {
	for c, g := range fourCCs {
		if g == f && f != 0 {
			return Codec(c)
		}
	}
	return CodecUnknown
}

// fourCC is the Enhanced RTMP FourCC of c, 0 for none.
func (c Codec) fourCC() flv.FourCC {
	if int(c) < len(fourCCs) {
		return fourCCs[c]
	}
	return 0
}

// Unit is one access unit of a live stream, the hub's media unit: a coded
// picture, an audio packet, a decoder configuration or a script-data
// message, described by codec rather than by the protocol that carried
// it. The protocol edges convert: [RTMPHandler] between FLV tags and
// units, [WebRTCPublisher] from RTP.
type Unit struct {
	// Type is Video, Audio or Data.
	Type Type
	// Codec is the coding of Data.
	Codec Codec
	// Keyframe marks a video random access point: an IDR (H.264) or IRAP
	// (H.265) picture, a key frame (AV1, VP8, VP9); as the publisher
	// flagged it (FLV FrameType 1).
	Keyframe bool
	// SequenceHeader marks a decoder configuration rather than media:
	// Data is the configuration record (see DecoderConfig), or empty
	// when the publisher's record did not parse.
	SequenceHeader bool
	// DTS is the decode time in milliseconds (the RTMP timestamp:
	// 32 bits, wrapping).
	DTS uint32
	// CTS is the composition time offset, PTS - DTS, in milliseconds
	// (non-zero only for video with B-frames).
	CTS int32
	// RTPTime is the presentation time in Codec.ClockRate() ticks (90 kHz
	// for video, 48 kHz for Opus), wrapping at 2^32, with an origin of
	// the publisher's choice: a WebRTC publisher's own RTP timestamps,
	// PTS × ClockRate / 1000 for the others. [Publisher.Write] computes it
	// so when it is zero.
	RTPTime uint32
	// Arrival is when the unit reached the server (with a monotonic
	// reading, from time.Now): the start of the server-added latency.
	// [Publisher.Write] sets it to time.Now() when it is zero.
	Arrival time.Time
	// Config is the stream's decoder configuration in force for this
	// unit, the same pointer for every unit until the next sequence
	// header; nil when none is known (or the codec needs none).
	Config *DecoderConfig
	// Data is the coded data, in the form that Codec's constant gives:
	// AVCC with 4-byte lengths for H.264 and H.265. The hub takes
	// ownership of it once written.
	Data []byte
}

// PTS is the presentation time in milliseconds: DTS + CTS.
func (u *Unit) PTS() uint32 { return u.DTS + uint32(u.CTS) }

// Frame is a published [Unit] as subscribers see it: immutable and
// shared by every subscriber of the stream (its Data must not be
// modified). Its protocol encodings are computed on first use, once for
// all subscribers, and kept on the frame: the FLV tag body and RTMP
// chunks of RTMP players, the RTP payloads of WebRTC viewers.
type Frame struct {
	Unit
	tag    []byte                   // the RTMP publisher's own FLV tag body, if any
	flv    atomic.Pointer[[]byte]   // FLVTag built from Unit, when tag is nil
	chunks atomic.Pointer[[]byte]   // RTMPChunks
	rtp    atomic.Pointer[rtpFrame] // rtpEncoding: a WebRTC publisher's own, or cut from Data
	size   int                      // bytes charged to the hub's budgets (see frameSize)
	refs   atomic.Int32             // the hub's owners holding the frame (see Hub.hold)
	seq    uint64                   // its place in the stream's order, from 1 (stream.fanOutTo)
}

// memo returns *p, computing it with fn on first use. Concurrent first
// uses may both run fn; one result is kept and returned to both, so fn
// must be deterministic.
func memo[T any](p *atomic.Pointer[T], fn func() T) *T {
	if v := p.Load(); v != nil {
		return v
	}
	v := fn()
	if p.CompareAndSwap(nil, &v) {
		return &v
	}
	return p.Load()
}
