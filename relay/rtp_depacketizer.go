package relay

import (
	"encoding/binary"

	"github.com/pion/rtp/codecs"
)

// depacketizer rebuilds video frames from in-order RTP packets, one frame
// per RTP timestamp, closed by the marker bit (RFC 6184 §5.1, RFC 7741
// §4.1) or, when that packet is lost, by the first packet of the next
// timestamp. A frame that lost a packet is handed on as broken rather than
// half-built: the publisher drops it and asks for a keyframe.
//
// H.264 comes as single NAL unit packets, STAP-A and FU-A (RFC 6184
// packetization-mode 1, what browsers send) and leaves as AVCC: each NAL
// unit with a 4-byte length. VP8 leaves as the frame's bytes. The frame's
// RTP payloads leave too, as they came (length-prefixed, as an rtpFrame
// holds them), so that WebRTC viewers of the same codec get them
// unchanged.
type depacketizer struct {
	codec    Codec // H264 or VP8
	maxBytes int   // a larger frame is broken (Config.MaxFrameBytes)

	seq      uint16 // the last sequence number seen
	seqKnown bool

	frame  []byte // the frame being built, reused
	pays   []byte // its RTP payloads, each after a 16-bit length, reused
	big    bool   // a payload too large to forward: pays is not handed on
	ts     uint32
	active bool // a frame is being built
	broken bool // it lost a packet or holds a malformed one
	fu     int  // H.264: offset in frame of the FU-A NAL unit being built, -1 if none
	head   bool // VP8: the frame's first partition has started
	vp8    codecs.VP8Packet
}

// frameFunc receives a finished frame and its RTP payloads (in the form
// of rtpFrame.buf; nil when one is larger than maxForwardPayload): ok is
// false for a broken one. frame and payloads are the depacketizer's
// buffers, valid only during the call.
type frameFunc func(frame, payloads []byte, ts uint32, ok bool)

func newDepacketizer(codec Codec, maxBytes int) *depacketizer {
	return &depacketizer{codec: codec, maxBytes: maxBytes, fu: -1}
}

// push adds one packet, in sequence order; done receives the frames it
// finishes (none, one or two: the one the packet's timestamp closes, and
// its own when it carries the marker).
func (d *depacketizer) push(seq uint16, ts uint32, marker bool, payload []byte, done frameFunc) {
	gap := false
	if d.seqKnown {
		switch diff := seq - d.seq; {
		case diff == 0 || diff >= 0x8000:
			return // a duplicate or a late packet: the frame went on without it
		case diff != 1:
			gap = true
		}
	}
	d.seq, d.seqKnown = seq, true
	if len(payload) == 0 && !gap {
		return // padding only (bandwidth probes): no media, no timestamp of its own
	}
	if d.active && ts != d.ts {
		d.broken = d.broken || gap // the lost packets may have been its tail
		d.finish(done)
	}
	if !d.active {
		d.active, d.ts, d.broken = true, ts, false
	}
	// The lost packets may also have been this frame's head: in doubt the
	// frame is broken, since publishing a frame that lacks a slice would
	// show a corrupt picture until the next keyframe.
	d.broken = d.broken || gap
	if !d.broken && len(payload) > 0 {
		if d.codec == VP8 {
			d.addVP8(payload)
		} else {
			d.addH264(payload)
		}
		d.keep(payload)
	}
	if marker {
		d.finish(done)
	}
}

// finish hands the frame being built to done and starts afresh.
func (d *depacketizer) finish(done frameFunc) {
	ok := !d.broken && len(d.frame) > 0 && d.fu < 0 && (d.codec != VP8 || d.head)
	pays := d.pays
	if d.big {
		pays = nil
	}
	done(d.frame, pays, d.ts, ok)
	d.frame, d.pays, d.big, d.active, d.broken, d.fu, d.head = d.frame[:0], d.pays[:0], false, false, false, -1, false
}

// maxForwardPayload bounds the publisher's RTP payloads that viewers get
// as they came: with a viewer's RTP header, abs-send-time and SRTP tag a
// packet must fit a 1,500-byte datagram (peer.MaxPacketSize). A frame
// with a larger payload (a sender that assumed a larger MTU) is cut
// afresh, into RTPMaxPayload bytes.
const maxForwardPayload = maxOpusPayload

// keep adds a payload to the frame's RTP payloads. Their bytes are
// bounded as the frame's are, with room for the headers (a few bytes per
// packet): tiny packets that add nothing to the frame, such as empty
// FU-A fragments, break it rather than grow the payloads without end.
func (d *depacketizer) keep(payload []byte) {
	switch {
	case len(d.pays)+2+len(payload) > d.maxBytes+d.maxBytes/4:
		d.broken = true
	case len(payload) > maxForwardPayload:
		d.big = true
	case !d.big:
		d.pays = appendRTPPayload(d.pays, payload)
	}
}

// grow reports whether n more bytes fit in the frame, and breaks it if not.
func (d *depacketizer) grow(n int) bool {
	if len(d.frame)+n > d.maxBytes {
		d.broken = true
		return false
	}
	return true
}

// appendNALU adds a whole NAL unit to the frame.
func (d *depacketizer) appendNALU(nalu []byte) {
	if len(nalu) == 0 || nalu[0]&0x80 != 0 || !d.grow(4+len(nalu)) {
		d.broken = true
		return
	}
	d.frame = binary.BigEndian.AppendUint32(d.frame, uint32(len(nalu)))
	d.frame = append(d.frame, nalu...)
}

// addH264 adds an RFC 6184 payload.
func (d *depacketizer) addH264(p []byte) {
	typ := p[0] & 0x1f
	if typ != naluFUA && d.fu >= 0 {
		d.broken = true // a fragmented NAL unit lost its end
		return
	}
	switch {
	case typ >= 1 && typ <= 23:
		d.appendNALU(p)
	case typ == naluSTAPA:
		for p = p[1:]; len(p) > 0 && !d.broken; {
			if len(p) < 2 || int(binary.BigEndian.Uint16(p)) > len(p)-2 {
				d.broken = true
				return
			}
			n := int(binary.BigEndian.Uint16(p))
			d.appendNALU(p[2 : 2+n])
			p = p[2+n:]
		}
	case typ == naluFUA:
		d.addFUA(p)
	default: // STAP-B, MTAP, FU-B, reserved: not in packetization-mode 1
		d.broken = true
	}
}

// addFUA adds one fragment of a NAL unit (RFC 6184 §5.8).
func (d *depacketizer) addFUA(p []byte) {
	if len(p) < 2 {
		d.broken = true
		return
	}
	start, end := p[1]&0x80 != 0, p[1]&0x40 != 0
	switch {
	case start && (end || d.fu >= 0), !start && d.fu < 0:
		d.broken = true // a one-fragment FU, a lost end, or a lost start
		return
	case start:
		if !d.grow(5) {
			return
		}
		d.fu = len(d.frame)
		d.frame = append(d.frame, 0, 0, 0, 0, p[0]&0xe0|p[1]&0x1f) // length, then the NAL unit header
	}
	if !d.grow(len(p) - 2) {
		return
	}
	d.frame = append(d.frame, p[2:]...)
	if end {
		binary.BigEndian.PutUint32(d.frame[d.fu:], uint32(len(d.frame)-d.fu-4))
		d.fu = -1
	}
}

// addVP8 adds an RFC 7741 payload: the frame starts with the packet whose
// S bit is set and partition index is 0 (§4.2).
func (d *depacketizer) addVP8(p []byte) {
	body, err := d.vp8.Unmarshal(p)
	switch {
	case err != nil:
		d.broken = true
		return
	case d.vp8.S == 1 && d.vp8.PID == 0:
		if d.head || len(d.frame) > 0 {
			d.broken = true // two frame starts in one timestamp
			return
		}
		d.head = true
	case !d.head:
		d.broken = true // the frame's start was lost
		return
	}
	if d.grow(len(body)) {
		d.frame = append(d.frame, body...)
	}
}
