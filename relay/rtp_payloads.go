package relay

import (
	"encoding/binary"
	"slices"

	"github.com/pion/rtp/codecs"

	"github.com/streamwire/streamwire/rtmp/flv"
)

// RTPMaxPayload is the largest RTP payload, in bytes, that frames are cut
// into for WebRTC viewers. With the RTP header (12 bytes), abs-send-time
// (8), the SRTP tag (at most 16) and IPv6/UDP (48) a packet stays below
// 1,300 bytes: under the 1,280-byte IPv6 minimum MTU plus a TURN
// channel's 4 bytes is out of reach, but it fits every path that carries
// libwebrtc's own packets (it cuts at about 1,200 bytes too).
const RTPMaxPayload = 1200

// RTP codecs of the shared encoding (byte 0).
const (
	rtpCodecNone byte = iota // not sendable over RTP: AAC, MP3, HEVC, command frames...
	rtpCodecH264             // RFC 6184, packetization-mode 1
	rtpCodecVP8              // RFC 7741
	rtpCodecOpus             // RFC 7587
	rtpCodecAAC              // not sendable: WebRTC viewers get it transcoded to Opus (aac_opus.go)
)

// Flags of the shared encoding (byte 1).
const (
	rtpKey     = 1 << iota // an IDR access unit, a VP8 key frame
	rtpBSlice              // holds B slices: browsers cannot decode it
	rtpInband              // its own SPS and PPS come before its IDR slice
	rtpBad                 // malformed: nothing to send
	rtpNoMedia             // nothing to send: end of sequence, metadata, a command
)

// rtpHeaderLen is the shared encoding's header: codec, flags, and the
// composition time offset (PTS - DTS, signed 32-bit milliseconds).
const rtpHeaderLen = 6

// rtpPayloads is the shared WebRTC encoding of frames: the RTP payloads of
// a frame, computed once per frame for all viewers, so that a viewer's
// cost is the RTP header and SRTP. Its bytes are an rtpFrame.
var rtpPayloads = NewEncoding(appendRTPPayloads)

// rtpEncoding returns the frame's shared RTP payloads, computed once per
// frame for every WebRTC viewer.
func (f *Frame) rtpEncoding() rtpFrame { return rtpFrame(f.Encoded(rtpPayloads)) }

// rtpFrame is the shared encoding of one frame: a 6-byte header (codec,
// flags, composition time) and then, for each RTP payload in sending
// order, a 16-bit length and the payload.
type rtpFrame []byte

func (f rtpFrame) codec() byte {
	if len(f) < rtpHeaderLen {
		return rtpCodecNone
	}
	return f[0]
}

func (f rtpFrame) has(flag byte) bool { return len(f) >= rtpHeaderLen && f[1]&flag != 0 }

// cts is the composition time offset in milliseconds.
func (f rtpFrame) cts() int32 {
	if len(f) < rtpHeaderLen {
		return 0
	}
	return int32(binary.BigEndian.Uint32(f[2:]))
}

// payloads returns the frame's RTP payloads.
func (f rtpFrame) payloads() rtpPayloadIter {
	if len(f) < rtpHeaderLen {
		return nil
	}
	return rtpPayloadIter(f[rtpHeaderLen:])
}

// rtpPayloadIter walks the length-prefixed payloads of an rtpFrame.
type rtpPayloadIter []byte

// next returns the next payload and whether it is the frame's last.
func (it *rtpPayloadIter) next() (payload []byte, last, ok bool) {
	b := *it
	if len(b) < 2 {
		return nil, false, false
	}
	n := int(binary.BigEndian.Uint16(b))
	payload, *it = b[2:2+n], b[2+n:]
	return payload, len(*it) == 0, true
}

func appendRTPHeader(dst []byte, codec, flags byte, cts int32) []byte {
	return binary.BigEndian.AppendUint32(append(dst, codec, flags), uint32(cts))
}

func appendRTPPayload(dst, payload []byte) []byte {
	return append(binary.BigEndian.AppendUint16(dst, uint16(len(payload))), payload...)
}

// appendRTPPayloads is the shared encoding's function: p's RTP payloads.
func appendRTPPayloads(dst []byte, p *Packet) []byte {
	// Room for the payloads at once: the tag's bytes, less its header,
	// plus a length and an FU-A header per payload.
	dst = slices.Grow(dst, rtpHeaderLen+len(p.Payload)+len(p.Payload)/(RTPMaxPayload-2)*4+64)
	switch p.Type {
	case Video:
		return appendVideoRTP(dst, p.Payload)
	case Audio:
		return appendAudioRTP(dst, p.Payload)
	}
	return appendRTPHeader(dst, rtpCodecNone, 0, 0)
}

// appendVideoRTP encodes a video tag: H.264 (legacy AVC or Enhanced RTMP
// avc1) and VP8 (Enhanced RTMP vp08) single-track tags. Other codecs and
// multitrack tags are not sendable.
func appendVideoRTP(dst, payload []byte) []byte {
	t, err := flv.ParseVideoTag(payload)
	switch {
	case err != nil:
		return appendRTPHeader(dst, rtpCodecNone, rtpBad, 0)
	case t.Multitrack:
		return appendRTPHeader(dst, rtpCodecNone, 0, 0)
	case t.FrameType == flv.FrameCommand || t.PacketType != flv.VideoSequenceStart &&
		t.PacketType != flv.VideoCodedFrames && t.PacketType != flv.VideoCodedFramesX:
		return appendRTPHeader(dst, rtpCodecOf4CC(t.FourCC), rtpNoMedia, 0)
	}
	seq := t.PacketType == flv.VideoSequenceStart
	switch {
	case t.FourCC == flv.FourCCAVC && seq:
		return appendAVCParamsRTP(dst, t.Data)
	case t.FourCC == flv.FourCCAVC:
		return appendAVCFrameRTP(dst, t.Data, t.CompositionTime)
	case t.FourCC == flv.FourCCVP8 && seq:
		return appendRTPHeader(dst, rtpCodecVP8, 0, 0) // vpcC: nothing goes over RTP
	case t.FourCC == flv.FourCCVP8:
		return appendVP8FrameRTP(dst, t.Data)
	}
	return appendRTPHeader(dst, rtpCodecNone, 0, 0)
}

// rtpCodecOf4CC is the RTP codec of an Enhanced RTMP FourCC.
func rtpCodecOf4CC(f flv.FourCC) byte {
	switch f {
	case flv.FourCCAVC:
		return rtpCodecH264
	case flv.FourCCVP8:
		return rtpCodecVP8
	case flv.FourCCOpus:
		return rtpCodecOpus
	}
	return rtpCodecNone
}

// appendAVCParamsRTP encodes a sequence header's SPS and PPS: one STAP-A
// when they fit in one payload, as libwebrtc sends them, else each NAL
// unit on its own (fragmented if need be) by pion's payloader. Viewers
// send these payloads before every IDR frame that lacks its own.
func appendAVCParamsRTP(dst, record []byte) []byte {
	cfg, err := flv.ParseAVCDecoderConfig(record)
	sets := slices.Concat(cfg.SPS, cfg.PPS)
	if err != nil || len(cfg.SPS) == 0 || len(cfg.PPS) == 0 || slices.ContainsFunc(sets, isEmpty) {
		return appendRTPHeader(dst, rtpCodecH264, rtpBad, 0)
	}
	dst = appendRTPHeader(dst, rtpCodecH264, 0, 0)
	size := 1
	for _, s := range sets {
		size += 2 + len(s)
	}
	if size <= RTPMaxPayload {
		dst = binary.BigEndian.AppendUint16(dst, uint16(size))
		return appendSTAPA(dst, sets...)
	}
	pl := codecs.H264Payloader{DisableStapA: true}
	for _, s := range sets {
		for _, pkt := range pl.Payload(RTPMaxPayload, s) {
			dst = appendRTPPayload(dst, pkt)
		}
	}
	return dst
}

func isEmpty(b []byte) bool { return len(b) == 0 }

// appendAVCFrameRTP encodes an AVCC coded frame with pion's payloader:
// single NAL unit packets, FU-A for the larger ones, and a STAP-A for an
// in-band SPS and PPS; AUD and filler NAL units are left out.
func appendAVCFrameRTP(dst, data []byte, cts int32) []byte {
	n, err := avccLengthSize(data)
	if err != nil {
		return appendRTPHeader(dst, rtpCodecH264, rtpBad, cts)
	}
	start := len(dst)
	dst = appendRTPHeader(dst, rtpCodecH264, 0, cts)
	var flags byte
	var sps, pps bool
	var pl codecs.H264Payloader // one per frame: it keeps SPS/PPS until the next NAL unit
	it := flv.NewNALUIter(data, n)
	for nalu, ok := it.Next(); ok; nalu, ok = it.Next() {
		switch nalu[0] & 0x1f {
		case naluSPS:
			sps = true
		case naluPPS:
			pps = true
		case naluIDR:
			flags |= rtpKey
			if sps && pps {
				flags |= rtpInband
			}
			fallthrough
		case naluSlice:
			if isBSlice(nalu) {
				flags |= rtpBSlice
			}
		}
		for _, pkt := range pl.Payload(RTPMaxPayload, nalu) {
			dst = appendRTPPayload(dst, pkt)
		}
	}
	dst[start+1] = flags
	return dst
}

// appendVP8FrameRTP encodes a VP8 frame with pion's payloader. A key frame
// has the inverse key frame bit of its frame tag clear (RFC 6386 §9.1).
func appendVP8FrameRTP(dst, frame []byte) []byte {
	if len(frame) == 0 {
		return appendRTPHeader(dst, rtpCodecVP8, rtpBad, 0)
	}
	var flags byte
	if frame[0]&1 == 0 {
		flags = rtpKey
	}
	dst = appendRTPHeader(dst, rtpCodecVP8, flags, 0)
	var pl codecs.VP8Payloader
	for _, pkt := range pl.Payload(RTPMaxPayload, frame) {
		dst = appendRTPPayload(dst, pkt)
	}
	return dst
}

// maxOpusPayload bounds an Opus packet sent whole in one RTP packet: with
// the RTP header, abs-send-time and the SRTP tag it must fit a 1,500-byte
// datagram (peer.MaxPacketSize). WebRTC's 20 ms packets are far smaller
// (at most 1,275 bytes per frame, RFC 6716 §3.4).
const maxOpusPayload = 1400

// appendAudioRTP encodes an Enhanced RTMP Opus tag: one Opus packet per
// tag, one RTP payload per packet (RFC 7587 §4.2). The OpusHead of a
// sequence start has no RTP form. AAC, MP3 and the rest are not
// sendable: browsers decode none of them over WebRTC (AAC is marked, so
// that viewers take the stream's transcoded Opus instead).
func appendAudioRTP(dst, payload []byte) []byte {
	t, err := flv.ParseAudioTag(payload)
	switch {
	case err != nil:
		return appendRTPHeader(dst, rtpCodecNone, rtpBad, 0)
	case t.FourCC == flv.FourCCAAC && !t.Multitrack:
		return appendRTPHeader(dst, rtpCodecAAC, 0, 0)
	case t.FourCC != flv.FourCCOpus || t.Multitrack:
		return appendRTPHeader(dst, rtpCodecNone, 0, 0)
	case t.PacketType == flv.AudioSequenceStart:
		return appendRTPHeader(dst, rtpCodecOpus, 0, 0) // OpusHead: nothing goes over RTP
	case t.PacketType != flv.AudioCodedFrames || len(t.Data) == 0:
		return appendRTPHeader(dst, rtpCodecOpus, rtpNoMedia, 0)
	case len(t.Data) > maxOpusPayload:
		return appendRTPHeader(dst, rtpCodecOpus, rtpBad, 0)
	}
	dst = appendRTPHeader(dst, rtpCodecOpus, 0, 0)
	var pl codecs.OpusPayloader
	for _, pkt := range pl.Payload(RTPMaxPayload, t.Data) {
		dst = appendRTPPayload(dst, pkt)
	}
	return dst
}
