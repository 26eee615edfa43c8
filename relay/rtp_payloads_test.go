package relay

import (
	"slices"
	"testing"

	"github.com/streamwire/streamwire/rtmp/flv"
)

// FuzzRTPPayloads: any video or audio tag body, made a unit by the RTMP
// edge, gives a well-formed RTP encoding, never a panic: whole
// length-prefixed payloads, each video payload within RTPMaxPayload.
// Seeds: the H.264 and HEVC files' sequence headers and frames and an
// AV1 key frame (cut to 200 bytes, so that fragmentation is reached by
// the fuzzer growing them), and an Opus tag.
func FuzzRTPPayloads(f *testing.F) {
	for _, p := range avcPackets(f, readH264AUs(f)[:2], true) {
		f.Add(uint8(Video), p.Payload[:min(len(p.Payload), 200)])
	}
	f.Add(uint8(Audio), opusPackets([][]byte{{0xfc, 1, 2, 3}})[1].Payload)
	f.Add(uint8(Audio), opusHeadTag(2))
	for _, p := range hevcTags(f, readHEVCAUs(f)[:2]) {
		f.Add(uint8(Video), p.Payload[:min(len(p.Payload), 200)])
	}
	av1 := flv.AppendVideoTagHeader(nil, flv.FrameKey, flv.FourCCAV1, flv.VideoCodedFrames, 0, true)
	tus, _ := readAV1TUs(f)
	f.Add(uint8(Video), append(av1, slices.Concat(tus[0]...)[:200]...))
	f.Fuzz(func(t *testing.T, typ uint8, payload []byte) {
		var conv flvUnits
		u, _ := conv.unit(Type(typ), 0, payload)
		if !rtpCodec(u.Codec) {
			return
		}
		rf := cutRTP(&u)
		it := rf.payloads()
		n := 0
		for p, _, ok := it.next(); ok; p, _, ok = it.next() {
			if len(p) == 0 || Type(typ) == Video && len(p) > RTPMaxPayload || len(p) > maxOpusPayload {
				t.Fatalf("payload of %d bytes", len(p))
			}
			n += 2 + len(p)
		}
		if n != len(rf.buf) {
			t.Fatalf("payloads cover %d of %d bytes", n, len(rf.buf))
		}
	})
}
