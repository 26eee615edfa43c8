package relay

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp/codecs"

	"github.com/streamwire/streamwire/relay/internal/ffmpegtest"
	"github.com/streamwire/streamwire/rtmp"
	"github.com/streamwire/streamwire/rtmp/flv"
	"github.com/streamwire/streamwire/sdp"
)

const (
	// testHEVCFile: 20 frames of 160x120 30 fps HEVC (libx265, an IRAP
	// picture every 10 frames, no B-frames, one slice per picture),
	// Annex-B, made by ffmpeg 5.1:
	//   ffmpeg -f lavfi -i testsrc=s=160x120:r=30 -frames:v 20 -pix_fmt yuv420p -c:v libx265
	//     -x265-params keyint=10:min-keyint=10:bframes=0:scenecut=0 -f hevc testsrc-160x120-20f.hevc
	testHEVCFile = "testdata/testsrc-160x120-20f.hevc"
	// testAV1File: the same picture in AV1 (libaom, a key frame every
	// 10 frames), as a low-overhead OBU stream with temporal delimiters:
	//   ffmpeg -f lavfi -i testsrc=s=160x120:r=30 -frames:v 20 -pix_fmt yuv420p -c:v libaom-av1
	//     -cpu-used 8 -g 10 -keyint_min 10 -usage realtime -b:v 200k -f obu testsrc-160x120-20f.obu
	testAV1File = "testdata/testsrc-160x120-20f.obu"
)

// readHEVCAUs returns the access units of the HEVC file: with one slice
// per picture, each ends at its VCL NAL unit (types 0 to 31).
func readHEVCAUs(t testing.TB) [][][]byte {
	t.Helper()
	b, err := os.ReadFile(testHEVCFile)
	if err != nil {
		t.Fatal(err)
	}
	var aus [][][]byte
	var cur [][]byte
	for _, n := range annexBNALUs(b) {
		cur = append(cur, n)
		if hevcType(n) < 32 {
			aus, cur = append(aus, cur), nil
		}
	}
	if len(aus) != 20 {
		t.Fatalf("%s: %d access units, want 20", testHEVCFile, len(aus))
	}
	return aus
}

func isHEVCParam(n []byte) bool { return hevcType(n) >= hevcVPS && hevcType(n) <= hevcPPS }

func isIRAP(n []byte) bool { return hevcType(n) >= hevcIRAPFirst && hevcType(n) <= hevcIRAPLast }

// hevcRecord is an HEVCDecoderConfigurationRecord (ISO/IEC 14496-15
// §8.3.3.1) with 4-byte NAL unit lengths: the profile, tier and level
// fields are the SPS's profile_tier_level (§7.3.3), bytes 3 to 14 of its
// RBSP (the NAL unit without emulation prevention bytes, §7.4.2).
func hevcRecord(vps, sps, pps []byte) []byte {
	var rbsp []byte
	for i, c := range sps {
		if c == 3 && i >= 2 && sps[i-1] == 0 && sps[i-2] == 0 {
			continue
		}
		rbsp = append(rbsp, c)
	}
	b := append([]byte{1}, rbsp[3:15]...)
	b = append(b, 0xf0, 0, 0xfc, 0xfd, 0xf8, 0xf8, 0, 0, 0x0f, 3)
	for _, n := range [][]byte{vps, sps, pps} {
		b = append(b, 0x80|hevcType(n), 0, 1)
		b = binary.BigEndian.AppendUint16(b, uint16(len(n)))
		b = append(b, n...)
	}
	return b
}

// hevcTags makes Enhanced RTMP hvc1 tags of the access units, as an
// encoder sends them: a sequence start, then the coded frames without
// their parameter sets.
func hevcTags(t testing.TB, aus [][][]byte) []flvMsg {
	t.Helper()
	first := aus[0]
	seq := flv.AppendVideoTagHeader(nil, flv.FrameKey, flv.FourCCHEVC, flv.VideoSequenceStart, 0, true)
	msgs := []flvMsg{{Type: Video, Payload: append(seq, hevcRecord(first[0], first[1], first[2])...)}}
	if hevcType(first[0]) != hevcVPS || hevcType(first[1]) != hevcSPS || hevcType(first[2]) != hevcPPS {
		t.Fatal("the first access unit does not start with VPS, SPS, PPS")
	}
	for i, au := range aus {
		ft := flv.FrameInter
		if slices.ContainsFunc(au, isIRAP) {
			ft = flv.FrameKey
		}
		p := flv.AppendVideoTagHeader(nil, ft, flv.FourCCHEVC, flv.VideoCodedFrames, 0, true)
		msgs = append(msgs, flvMsg{Type: Video, Timestamp: frameMs(i), Payload: append(p, avcc(slices.DeleteFunc(slices.Clone(au), isHEVCParam))...)})
	}
	return msgs
}

// viewerRun is what one viewer of twoViewers was sent.
type viewerRun struct {
	name   string
	sent   []sentPacket
	first  int // the first frame it gets
	frames int // how many
}

// twoViewers publishes msgs, a sequence header and 20 frames with key
// frames at 0 and 10, to two viewers of codec: one from the start, and
// one that joins after frame 11, on the cached GOP of frame 10.
func twoViewers(t *testing.T, codec string, msgs []flvMsg) []viewerRun {
	t.Helper()
	h := NewHub(Config{})
	pub, _ := h.Publish("live/two")
	runs := []viewerRun{{name: "first viewer", first: 0, frames: 20}, {name: "late joiner", first: 10, frames: 10}}
	var tracks []*fakeLocal
	var waits []func() error
	for i, part := range [][]flvMsg{msgs[:13], msgs[13:]} {
		sub, _ := h.Subscribe("live/two")
		tracks = append(tracks, newFakeLocal(codec))
		_, wait := runViewer(t, sub, WebRTCSubscriberConfig{Rand: zeroRand()}, tracks[i], nil)
		waits = append(waits, wait)
		writeTags(t, pub, part...)
	}
	pub.Close()
	for i := range runs {
		if err := waits[i](); err != nil {
			t.Fatalf("%s: %v", runs[i].name, err)
		}
		runs[i].sent = tracks[i].sent()
	}
	return runs
}

// TestWebRTCSubscriberHEVC: Enhanced RTMP hvc1 reaches viewers that
// negotiated H265 as RFC 7798 RTP: single NAL unit packets and
// fragmentation units within RTPMaxPayload, the marker on each access
// unit's last packet, 90 kHz timestamps, and the VPS, SPS and PPS in an
// aggregation packet before every IRAP picture, so that a viewer joining
// on the cached GOP decodes from its first picture: ffmpeg decodes every
// picture each viewer got, without an error.
func TestWebRTCSubscriberHEVC(t *testing.T) {
	ffmpegtest.Need(t)
	aus := readHEVCAUs(t)
	msgs := hevcTags(t, aus)
	for _, c := range twoViewers(t, "H265", msgs) {
		sent := c.sent
		frames := depacketize(t, sent, &codecs.H265Depacketizer{})
		if len(frames) != c.frames {
			t.Fatalf("%s: %d frames, want %d", c.name, len(frames), c.frames)
		}
		fus, aps := 0, 0
		for _, p := range sent {
			switch hevcType(p.payload) {
			case 49:
				fus++
			case hevcAP:
				aps++
			}
		}
		if fus == 0 || aps != (c.frames+9)/10 {
			t.Errorf("%s: %d fragmentation units, %d aggregation packets (want some, and one per IRAP picture)", c.name, fus, aps)
		}
		var stream []byte
		for i, f := range frames {
			n := c.first + i
			if f.ts != uint32(frameMs(n))*90 {
				t.Errorf("%s: frame %d at %d, want %d", c.name, n, f.ts, frameMs(n)*90)
			}
			nalus := annexBNALUs(f.data)
			want := slices.DeleteFunc(slices.Clone(aus[n]), isHEVCParam)
			if slices.ContainsFunc(want, isIRAP) {
				want = append(slices.Clone(aus[0][:3]), want...) // the sequence header's VPS, SPS, PPS first
			}
			if !slices.EqualFunc(nalus, want, bytes.Equal) {
				t.Fatalf("%s: frame %d: %d NAL units differ from the access unit's %d", c.name, n, len(nalus), len(want))
			}
			stream = append(stream, f.data...)
		}
		if n := decodedFrames(t, writeTemp(t, "viewer.hevc", stream), "-f", "hevc"); n != c.frames {
			t.Errorf("%s: ffmpeg decoded %d of %d pictures", c.name, n, c.frames)
		}
	}
}

// obus splits a low-overhead AV1 bitstream (OBUs with size fields) into
// its OBUs.
func obus(t testing.TB, b []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for len(b) > 0 {
		n := 1 + int(b[0]>>2&1)
		size, m := leb128(b[n:])
		if m == 0 || len(b) < n+m+int(size) {
			t.Fatalf("a malformed OBU: %x", b[:min(len(b), 8)])
		}
		out, b = append(out, b[:n+m+int(size)]), b[n+m+int(size):]
	}
	return out
}

func obuType(o []byte) byte { return o[0] >> 3 & 0xf }

// readAV1TUs returns the AV1 file's temporal units, without their
// temporal delimiters, and its sequence header OBU.
func readAV1TUs(t testing.TB) (tus [][][]byte, seqHeader []byte) {
	t.Helper()
	b, err := os.ReadFile(testAV1File)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range obus(t, b) {
		switch obuType(o) {
		case obuTemporalDelimiter:
			tus = append(tus, nil)
		case obuSequenceHeader:
			seqHeader = o
			fallthrough
		default:
			tus[len(tus)-1] = append(tus[len(tus)-1], o)
		}
	}
	if len(tus) != 20 || seqHeader == nil {
		t.Fatalf("%s: %d temporal units, sequence header %x", testAV1File, len(tus), seqHeader)
	}
	return tus, seqHeader
}

// TestWebRTCSubscriberAV1: Enhanced RTMP av01 frames whose key frames
// lack a sequence header OBU (it is in the av1C record only) reach
// viewers that negotiated AV1 with the record's sequence header in front
// of every key frame, the N bit set on its first packet (AV1 RTP
// specification §4.4), so that ffmpeg decodes every picture of the first
// viewer and of one that joins on the cached GOP.
func TestWebRTCSubscriberAV1(t *testing.T) {
	ffmpegtest.Need(t)
	tus, seqHeader := readAV1TUs(t)
	seq := flv.AppendVideoTagHeader(nil, flv.FrameKey, flv.FourCCAV1, flv.VideoSequenceStart, 0, true)
	msgs := []flvMsg{{Type: Video, Payload: append(append(seq, 0x81, 0x00, 0x0c, 0x00), seqHeader...)}}
	var keys []bool
	for i, tu := range tus {
		key := slices.ContainsFunc(tu, func(o []byte) bool { return obuType(o) == obuSequenceHeader })
		keys = append(keys, key)
		ft := flv.FrameInter
		if key {
			ft = flv.FrameKey
		}
		p := flv.AppendVideoTagHeader(nil, ft, flv.FourCCAV1, flv.VideoCodedFrames, 0, true)
		tu = slices.DeleteFunc(slices.Clone(tu), func(o []byte) bool { return obuType(o) == obuSequenceHeader })
		msgs = append(msgs, flvMsg{Type: Video, Timestamp: frameMs(i), Payload: append(p, slices.Concat(tu...)...)})
	}
	if !keys[0] || !keys[10] {
		t.Fatalf("key frames at %v, want 0 and 10", keys)
	}
	for _, c := range twoViewers(t, "AV1", msgs) {
		sent := c.sent
		frames := depacketize(t, sent, &codecs.AV1Depacketizer{})
		if len(frames) != c.frames {
			t.Fatalf("%s: %d frames, want %d", c.name, len(frames), c.frames)
		}
		newSeqs := 0
		for i, p := range sent {
			if p.payload[0]&0x08 != 0 { // N: the first packet of a coded video sequence
				newSeqs++
				if i > 0 && !sent[i-1].marker {
					t.Errorf("%s: packet %d has N set inside a frame", c.name, i)
				}
			}
		}
		var stream []byte
		for i, f := range frames {
			n := c.first + i
			if f.ts != uint32(frameMs(n))*90 {
				t.Errorf("%s: frame %d at %d, want %d", c.name, n, f.ts, frameMs(n)*90)
			}
			got := obus(t, f.data)
			if hasSeq := obuType(got[0]) == obuSequenceHeader; hasSeq != keys[n] {
				t.Errorf("%s: frame %d (key %v) starts with a sequence header: %v", c.name, n, keys[n], hasSeq)
			}
			stream = append(append(stream, 0x12, 0), f.data...) // a temporal delimiter, then the frame
		}
		if want := (c.frames + 9) / 10; newSeqs != want {
			t.Errorf("%s: %d packets with N set, want one per key frame (%d)", c.name, newSeqs, want)
		}
		if n := decodedFrames(t, writeTemp(t, "viewer.obu", stream), "-f", "obu"); n != c.frames {
			t.Errorf("%s: ffmpeg decoded %d of %d pictures", c.name, n, c.frames)
		}
	}
}

// A viewer of an HEVC or AV1 stream is answered with that codec first
// (with the stream's profile), then the defaults; of an H.264 stream, or
// one without a sequence header yet, with the defaults (nil).
func TestSubscriberVideoCodecs(t *testing.T) {
	aus := readHEVCAUs(t)
	_, seqHeader := readAV1TUs(t)
	av1Seq := flv.AppendVideoTagHeader(nil, flv.FrameKey, flv.FourCCAV1, flv.VideoSequenceStart, 0, true)
	for _, c := range []struct {
		name string
		seq  []flvMsg
		want string // the first codec's name and fmtp, "" for nil
	}{
		{"HEVC", hevcTags(t, aus[:1])[:1], "H265 level-id=60;profile-id=1;tier-flag=0;tx-mode=SRST"},
		{"AV1", []flvMsg{{Type: Video, Payload: append(append(av1Seq, 0x81, 0x00, 0x0c, 0x00), seqHeader...)}}, "AV1 profile=0"},
		{"H.264", avcPackets(t, readH264AUs(t)[:1], false)[:1], ""},
		{"no sequence header", nil, ""},
	} {
		h := NewHub(Config{})
		pub, _ := h.Publish("live/c")
		writeTags(t, pub, c.seq...)
		sub, _ := h.Subscribe("live/c")
		got := sub.VideoCodecs()
		switch {
		case c.want == "" && got != nil:
			t.Errorf("%s: %v, want nil (the defaults)", c.name, got)
		case c.want != "" && (len(got) != 1+len(sdp.DefaultVideoCodecs) || got[0].Name+" "+got[0].Fmtp != c.want || got[0].ClockRate != 90000):
			t.Errorf("%s: %v, want %q then the defaults", c.name, got, c.want)
		}
		pub.Close()
	}
	// VP8 (a WebRTC publisher's) goes first, and is not listed twice.
	h := NewHub(Config{})
	pub, _ := h.Publish("live/vp8")
	vp8Seq := flv.AppendVideoTagHeader(nil, flv.FrameKey, flv.FourCCVP8, flv.VideoSequenceStart, 0, true)
	writeTags(t, pub, flvMsg{Type: Video, Payload: vp8Seq})
	sub, _ := h.Subscribe("live/vp8")
	got := sub.VideoCodecs()
	if len(got) != len(sdp.DefaultVideoCodecs) || got[0].Name != "VP8" || got[1].Name != "H264" {
		t.Errorf("VP8: %v, want VP8 then the other defaults", got)
	}
	pub.Close()
	var zero Subscriber
	if zero.VideoCodecs() != nil {
		t.Error("zero Subscriber has codecs")
	}
}

// An RTMP player of an Enhanced RTMP publisher gets every tag byte for
// byte through the hub's units: HEVC with 2-byte NAL unit lengths (which
// the unit rewrites to 4), Opus, MP3 (which no unit describes), script
// data.
func TestRTMPEnhancedTagsUnchanged(t *testing.T) {
	msgs := hevcTags(t, readHEVCAUs(t)[:12])
	rec := bytes.Clone(msgs[0].Payload)
	rec[5+21] = 0xfd // lengthSizeMinusOne 1
	msgs[0].Payload = rec
	for i := range msgs[1:] {
		p := msgs[1+i].Payload
		tag, _ := flv.ParseVideoTag(p)
		hdr := len(p) - len(tag.Data)
		var two []byte
		it := flv.NewNALUIter(tag.Data, 4)
		for n, ok := it.Next(); ok; n, ok = it.Next() {
			two = append(binary.BigEndian.AppendUint16(two, uint16(len(n))), n...)
		}
		msgs[1+i].Payload = append(p[:hdr:hdr], two...)
	}
	msgs = append(msgs, opusPackets([][]byte{{0xfc, 1, 2}})...)
	msgs = append(msgs, flvMsg{Type: Audio, Timestamp: 500, Payload: []byte{byte(flv.SoundMP3)<<4 | 0xf, 0xff, 0xfb, 0x90}},
		flvMsg{Type: Data, Timestamp: 500, Payload: []byte{2, 0, 4, 't', 'e', 's', 't'}})

	hub := NewHub(Config{})
	base := startRTMP(t, &RTMPHandler{Hub: hub})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pub, err := rtmp.Dial(ctx, base+"/live/ex", rtmp.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := pub.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	// The players join first: they get every message, in order.
	sub, err := hub.Subscribe("live/ex")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	// The player announces the Enhanced RTMP codecs: a legacy one would get
	// the Opus as AAC (TestRTMPPlayerOpusAsAAC).
	play, err := rtmp.Dial(ctx, base+"/live/ex", rtmp.ClientConfig{FourCCList: []string{"hvc1", "Opus", ".mp3"}})
	if err != nil {
		t.Fatal(err)
	}
	defer play.Close()
	if err := play.Play(ctx); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the RTMP player", func() bool { return hub.Subscribers("live/ex") == 2 })
	for _, m := range msgs {
		if err := pub.WriteMedia(ctx, rtmp.Media{Type: rtmp.MessageType(m.Type), Timestamp: m.Timestamp, Payload: m.Payload}); err != nil {
			t.Fatal(err)
		}
	}
	for i, want := range msgs {
		m, err := play.ReadMedia(ctx)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if Type(m.Type) != want.Type || m.Timestamp != want.Timestamp || !bytes.Equal(m.Payload, want.Payload) {
			t.Fatalf("message %d: %v at %d, %d bytes; want %v at %d, %d bytes", i, m.Type, m.Timestamp, len(m.Payload), want.Type, want.Timestamp, len(want.Payload))
		}
		f, err := sub.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if f.Codec == H265 && !f.SequenceHeader && !validAVCC(f.Data, 4) {
			t.Fatalf("frame %d: HEVC data not in 4-byte lengths: %x", i, f.Data[:min(8, len(f.Data))])
		}
	}
}
