package relay

import (
	"bytes"
	"encoding/binary"
	"os"
	"slices"
	"testing"

	"github.com/pion/rtp/codecs"

	"github.com/streamwire/streamwire/rtmp/flv"
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
// fields are the SPS's profile_tier_level (§7.3.3), its bytes 3 to 14.
func hevcRecord(vps, sps, pps []byte) []byte {
	b := append([]byte{1}, sps[3:15]...)
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

// TestWebRTCSubscriberHEVC: Enhanced RTMP hvc1 reaches viewers that
// negotiated H265 as RFC 7798 RTP: single NAL unit packets and
// fragmentation units within RTPMaxPayload, the marker on each access
// unit's last packet, 90 kHz timestamps, and the VPS, SPS and PPS in an
// aggregation packet before every IRAP picture, so that a viewer joining
// on the cached GOP decodes from its first picture: ffmpeg decodes every
// picture each viewer got, without an error.
func TestWebRTCSubscriberHEVC(t *testing.T) {
	needFFmpeg(t)
	aus := readHEVCAUs(t)
	msgs := hevcTags(t, aus)
	h := NewHub(Config{})
	pub, _ := h.Publish("live/hevc")
	first, _ := h.Subscribe("live/hevc")
	video := newFakeLocal("H265")
	_, wait := runViewer(t, first, WebRTCSubscriberConfig{Rand: zeroRand()}, video, nil)
	writeTags(t, pub, msgs[:13]...) // the sequence header and 12 frames
	late, _ := h.Subscribe("live/hevc")
	lateVideo := newFakeLocal("h265")
	_, lateWait := runViewer(t, late, WebRTCSubscriberConfig{Rand: zeroRand()}, lateVideo, nil)
	writeTags(t, pub, msgs[13:]...)
	pub.Close()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if err := lateWait(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		track  *fakeLocal
		first  int // the first access unit it gets
		frames int
	}{{"first viewer", video, 0, 20}, {"late joiner", lateVideo, 10, 10}} {
		sent := c.track.sent()
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
