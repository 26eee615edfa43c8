package relay

import (
	"encoding/binary"
	"time"

	"github.com/streamwire/streamwire/rtmp"
	"github.com/streamwire/streamwire/rtmp/flv"
)

// FLV tags and units: the RTMP edge of the hub.
//
// An RTMP publisher's tag becomes a unit whose Data aliases the tag's
// body, and the frame keeps the tag itself, so that RTMP players get it
// byte for byte whatever the unit holds. A unit that came another way
// (WebRTC, Publisher.Write) gets its tag built once, on first use.

// flvUnits converts one publisher's FLV tag bodies into units, keeping
// the decoder configuration in force for each kind.
type flvUnits struct {
	video, audio *DecoderConfig
}

// frame makes the hub frame of an RTMP message, arriving now. The frame
// keeps a copy of the message as its FLV tag, so that players get it byte
// for byte, and its unit's Data aliases that copy (m.Payload is the
// chunk reader's buffer).
func (c *flvUnits) frame(m rtmp.Media) *Frame {
	tag := append([]byte(nil), m.Payload...)
	u, copied := c.unit(Type(m.Type), m.Timestamp, tag)
	u.Arrival = time.Now()
	u.RTPTime = rtpTimeOf(&u)
	size := cap(tag)
	if copied {
		size += cap(u.Data)
	}
	return &Frame{Unit: u, tag: tag, size: frameSize(size)}
}

// unit converts the FLV tag body tag of type typ at ts milliseconds; the
// unit's Data aliases tag, unless copied reports that NAL unit lengths
// had to be rewritten to 4 bytes. What it does not describe (a codec
// other than those of Codec, a multitrack tag, a command frame, a tag
// that does not parse) becomes a CodecUnknown unit whose Data is the
// whole tag.
func (c *flvUnits) unit(typ Type, ts uint32, tag []byte) (u Unit, copied bool) {
	u = Unit{Type: typ, DTS: ts, Data: tag}
	switch typ {
	case Video:
		return c.videoUnit(u, tag)
	case Audio:
		return c.audioUnit(u, tag), false
	case Data:
		u.Codec = Script
	}
	return u, false
}

// videoUnit fills in u from a video tag, keeping the configuration of a
// sequence header for the frames after it.
func (c *flvUnits) videoUnit(u Unit, tag []byte) (Unit, bool) {
	t, err := flv.ParseVideoTag(tag)
	if err != nil {
		return u, false
	}
	u.Keyframe, u.SequenceHeader = t.IsKeyFrame(), t.IsSequenceHeader()
	codec := codecOf4CC(t.FourCC)
	if codec == CodecUnknown || codec.kind() != Video || t.Multitrack || t.FrameType == flv.FrameCommand {
		return u, false
	}
	u.Codec, u.Data = codec, nil
	switch t.PacketType {
	case flv.VideoSequenceStart:
		c.video, _ = NewDecoderConfig(codec, t.Data) // nil when it does not parse: no parameter sets to insert
		u.Config, u.Data = c.video, t.Data
	case flv.VideoCodedFrames, flv.VideoCodedFramesX:
		if c.video != nil && c.video.Codec == codec {
			u.Config = c.video
		}
		u.CTS, u.Data = t.CompositionTime, t.Data
		if codec == H264 || codec == H265 {
			return toAVCC4(u, u.Config)
		}
	}
	return u, false // sequence end, metadata: no media
}

// audioUnit is videoUnit for an audio tag.
func (c *flvUnits) audioUnit(u Unit, tag []byte) Unit {
	t, err := flv.ParseAudioTag(tag)
	if err != nil {
		return u
	}
	u.SequenceHeader = t.IsSequenceHeader()
	codec := codecOf4CC(t.FourCC)
	if codec != AAC && codec != Opus || t.Multitrack {
		return u
	}
	u.Codec, u.Data = codec, nil
	switch t.PacketType {
	case flv.AudioSequenceStart:
		c.audio, _ = NewDecoderConfig(codec, t.Data)
		u.Config, u.Data = c.audio, t.Data
	case flv.AudioCodedFrames:
		if c.audio != nil && c.audio.Codec == codec {
			u.Config = c.audio
		}
		u.Data = t.Data
	}
	return u
}

// kind is the Type of c's units.
func (c Codec) kind() Type {
	switch c {
	case H264, H265, AV1, VP8, VP9:
		return Video
	case Opus, AAC:
		return Audio
	}
	return Data
}

// toAVCC4 rewrites u's NAL units to 4-byte lengths when the record (cfg)
// says they have fewer or, without a record, when they do not parse with
// 4 (see avccLengthSize). A frame that parses with no length size is left
// as it is: its RTP encoding marks it malformed.
func toAVCC4(u Unit, cfg *DecoderConfig) (Unit, bool) {
	n := 4
	switch {
	case cfg != nil && cfg.lengthSize > 0:
		n = cfg.lengthSize
	case !validAVCC(u.Data, 4):
		n, _ = avccLengthSize(u.Data)
	}
	if n == 4 || n == 0 || !validAVCC(u.Data, n) {
		return u, false
	}
	out := make([]byte, 0, len(u.Data)+len(u.Data)/2+8)
	it := flv.NewNALUIter(u.Data, n)
	for nalu, ok := it.Next(); ok; nalu, ok = it.Next() {
		out = binary.BigEndian.AppendUint32(out, uint32(len(nalu)))
		out = append(out, nalu...)
	}
	u.Data = out
	return u, true
}

// appendFLVTag appends the FLV tag body of u (FLV 10.1 §E.4, Enhanced
// RTMP): legacy AVC and AAC headers for H.264 and AAC, as every RTMP
// player reads them, Enhanced RTMP headers for the other codecs. A
// CodecUnknown or Script unit's Data is the tag body already.
func appendFLVTag(b []byte, u *Unit) []byte {
	switch {
	case u.Codec.kind() == Video && u.Type == Video:
		ft, pt := flv.FrameInter, flv.VideoCodedFrames
		if u.Keyframe {
			ft = flv.FrameKey
		}
		if u.SequenceHeader {
			pt = flv.VideoSequenceStart
		}
		b = flv.AppendVideoTagHeader(b, ft, u.Codec.fourCC(), pt, u.CTS, u.Codec != H264)
	case u.Codec.kind() == Audio && u.Type == Audio:
		pt := flv.AudioCodedFrames
		if u.SequenceHeader {
			pt = flv.AudioSequenceStart
		}
		b = flv.AppendAudioTagHeader(b, u.Codec.fourCC(), pt, u.Codec != AAC)
	}
	return append(b, u.Data...)
}

// FLVTag returns the frame's FLV tag body (FLV 10.1 §E.4, with the
// Enhanced RTMP extensions), what RTMP players are sent: an RTMP
// publisher's own tag, byte for byte, or one built from the unit on
// first use. The slice is shared by all callers and must not be
// modified.
func (f *Frame) FLVTag() []byte {
	if f.tag != nil {
		return f.tag
	}
	return *memo(&f.flv, func() []byte {
		if f.Codec == CodecUnknown || f.Codec == Script {
			return f.Data
		}
		return appendFLVTag(make([]byte, 0, 8+len(f.Data)), &f.Unit)
	})
}
