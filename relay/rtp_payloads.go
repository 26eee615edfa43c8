package relay

import (
	"encoding/binary"

	"github.com/pion/rtp/codecs"
)

// RTPMaxPayload is the largest RTP payload, in bytes, that frames are cut
// into for WebRTC viewers. With the RTP header (12 bytes), abs-send-time
// (8), the SRTP tag (at most 16) and IPv6/UDP (48) a packet stays below
// 1,300 bytes: under the 1,280-byte IPv6 minimum MTU plus a TURN
// channel's 4 bytes is out of reach, but it fits every path that carries
// libwebrtc's own packets (it cuts at about 1,200 bytes too).
const RTPMaxPayload = 1200

// Flags of an rtpFrame.
const (
	rtpKey     = 1 << iota // an IDR or IRAP access unit, an AV1 or VP8 key frame
	rtpBSlice              // holds B slices: browsers cannot decode it
	rtpInband              // its own parameter sets come before its IDR slice
	rtpBad                 // malformed: nothing to send
	rtpNoMedia             // nothing to send: end of sequence, empty data
	rtpRefB                // B slices of a picture that later P pictures may predict from (H.265)
)

// rtpFrame is a frame's RTP encoding, shared by every WebRTC viewer of its
// codec: its payloads in sending order, the marker bit going on the last
// one of a video frame. A viewer's cost is then its RTP header and SRTP.
type rtpFrame struct {
	flags byte
	buf   []byte // for each payload, a 16-bit length and the payload
}

// rtpEncoding returns the frame's RTP payloads: those a WebRTC publisher
// sent, kept on the frame, or else cut from Data on first use, once for
// every viewer. The frame's codec is one of rtpCodec's.
func (f *Frame) rtpEncoding() *rtpFrame {
	return memo(&f.rtp, func() rtpFrame { return cutRTP(&f.Unit) })
}

func (f *rtpFrame) has(flag byte) bool { return f.flags&flag != 0 }

// payloads returns the frame's RTP payloads.
func (f *rtpFrame) payloads() rtpPayloadIter { return rtpPayloadIter(f.buf) }

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

func appendRTPPayload(dst, payload []byte) []byte {
	return append(binary.BigEndian.AppendUint16(dst, uint16(len(payload))), payload...)
}

// rtpCodec reports whether WebRTC viewers can be sent c.
func rtpCodec(c Codec) bool { return c == H264 || c == H265 || c == AV1 || c == VP8 || c == Opus }

// cutRTP cuts u into RTP payloads. A sequence header gives the payloads
// that go before keyframes lacking their own parameter sets.
func cutRTP(u *Unit) rtpFrame {
	// Room for the payloads at once: the data, plus a length and an FU-A
	// header per payload.
	buf := make([]byte, 0, len(u.Data)+len(u.Data)/(RTPMaxPayload-2)*4+64)
	switch {
	case u.SequenceHeader && u.Codec == H264:
		return appendAVCParamsRTP(buf, u.Config)
	case u.SequenceHeader && u.Codec == H265:
		return appendHEVCParamsRTP(buf, u.Config)
	case u.SequenceHeader:
		return rtpFrame{} // av1C (sent with keyframes), vpcC, OpusHead: nothing goes over RTP
	case len(u.Data) == 0:
		return rtpFrame{flags: rtpNoMedia}
	case u.Codec == H264:
		return appendAVCFrameRTP(buf, u.Data)
	case u.Codec == H265:
		return appendHEVCFrameRTP(buf, u.Data, u.Config)
	case u.Codec == AV1:
		return appendAV1FrameRTP(buf, u)
	case u.Codec == VP8:
		return appendVP8FrameRTP(buf, u.Data)
	case u.Codec == Opus:
		return appendOpusRTP(buf, u.Data)
	}
	return rtpFrame{flags: rtpNoMedia}
}

// appendAVCParamsRTP encodes a configuration's SPS and PPS: one STAP-A
// when they fit in one payload, as libwebrtc sends them, else each NAL
// unit on its own (fragmented if need be) by pion's payloader. Viewers
// send these payloads before every IDR frame that lacks its own.
func appendAVCParamsRTP(dst []byte, cfg *DecoderConfig) rtpFrame {
	sets := cfg.ParamSets()
	if len(sets) == 0 {
		return rtpFrame{flags: rtpBad}
	}
	size := 1
	for _, s := range sets {
		size += 2 + len(s)
	}
	if size <= RTPMaxPayload {
		dst = binary.BigEndian.AppendUint16(dst, uint16(size))
		return rtpFrame{buf: appendSTAPA(dst, sets...)}
	}
	pl := codecs.H264Payloader{DisableStapA: true}
	for _, s := range sets {
		for _, pkt := range pl.Payload(RTPMaxPayload, s) {
			dst = appendRTPPayload(dst, pkt)
		}
	}
	return rtpFrame{buf: dst}
}

// appendAVCFrameRTP encodes an AVCC access unit (4-byte lengths) with
// pion's payloader: single NAL unit packets, FU-A for the larger ones,
// and a STAP-A for an in-band SPS and PPS; AUD and filler NAL units are
// left out. pion's payloader splits Annex-B on start codes, so it is
// given one NAL unit at a time, never the access unit.
func appendAVCFrameRTP(dst, data []byte) rtpFrame {
	if !validAVCC(data, 4) {
		return rtpFrame{flags: rtpBad}
	}
	var f rtpFrame
	var sps, pps bool
	var pl codecs.H264Payloader // one per frame: it keeps SPS/PPS until the next NAL unit
	it := newNALUs(data)
	for nalu, ok := it.Next(); ok; nalu, ok = it.Next() {
		switch nalu[0] & 0x1f {
		case naluSPS:
			sps = true
		case naluPPS:
			pps = true
		case naluIDR:
			f.flags |= rtpKey
			if sps && pps {
				f.flags |= rtpInband
			}
			fallthrough
		case naluSlice:
			if isBSlice(nalu) {
				f.flags |= rtpBSlice
			}
		}
		for _, pkt := range pl.Payload(RTPMaxPayload, nalu) {
			dst = appendRTPPayload(dst, pkt)
		}
	}
	f.buf = dst
	return f
}

// appendVP8FrameRTP encodes a VP8 frame with pion's payloader. A key frame
// has the inverse key frame bit of its frame tag clear (RFC 6386 §9.1).
func appendVP8FrameRTP(dst, frame []byte) rtpFrame {
	var f rtpFrame
	if frame[0]&1 == 0 {
		f.flags = rtpKey
	}
	var pl codecs.VP8Payloader
	for _, pkt := range pl.Payload(RTPMaxPayload, frame) {
		dst = appendRTPPayload(dst, pkt)
	}
	f.buf = dst
	return f
}

// maxOpusPayload bounds an Opus packet sent whole in one RTP packet: with
// the RTP header, abs-send-time and the SRTP tag it must fit a 1,500-byte
// datagram (peer.MaxPacketSize). WebRTC's 20 ms packets are far smaller
// (at most 1,275 bytes per frame, RFC 6716 §3.4).
const maxOpusPayload = 1400

// appendOpusRTP encodes an Opus packet: one RTP payload per packet (RFC
// 7587 §4.2).
func appendOpusRTP(dst, packet []byte) rtpFrame {
	if len(packet) > maxOpusPayload {
		return rtpFrame{flags: rtpBad}
	}
	return rtpFrame{buf: appendRTPPayload(dst, packet)}
}
