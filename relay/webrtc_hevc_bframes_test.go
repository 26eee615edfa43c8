package relay

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/pion/rtp/codecs"

	"github.com/streamwire/streamwire/internal/syncbuf"
	"github.com/streamwire/streamwire/relay/internal/ffmpegtest"
	"github.com/streamwire/streamwire/rtmp/flv"
)

// hevcTagsInband is hevcTags with each coded frame keeping the parameter
// sets it came with, as x265's repeat-headers (and OBS) send them.
func hevcTagsInband(t testing.TB, aus [][][]byte) []flvMsg {
	t.Helper()
	msgs := hevcTags(t, aus)
	for i, au := range aus {
		tag, err := flv.ParseVideoTag(msgs[1+i].Payload)
		if err != nil {
			t.Fatal(err)
		}
		p := msgs[1+i].Payload
		hdr := len(p) - len(tag.Data)
		msgs[1+i].Payload = append(p[:hdr:hdr], avcc(au)...)
	}
	return msgs
}

// TestWebRTCSubscriberHEVCBFrames: HEVC from x265 with B-frames,
// published over RTMP: with b-pyramid (one slice per picture), and
// without it (three slices per picture, parameter sets in-band). By
// default the viewer is refused with ErrBFrames, logged once, and the
// stream reports HasBFrames (the server's WHEP 422). With DropBFrames
// the viewer gets no B slice and ffmpeg decodes every picture it got
// without an error: without b-pyramid that is every I and P picture (as
// ffprobe counts them); with it, x265's P-frames predict from its
// reference B-frames, so the viewer gets each IRAP picture and the P
// pictures before the GOP's first reference B-frame.
func TestWebRTCSubscriberHEVCBFrames(t *testing.T) {
	for _, c := range []struct {
		path   string
		inband bool
		refB   bool // b-pyramid: some B-frames are references
	}{
		{testHEVCBFile, false, true},
		{testHEVCSlicesFile, true, false},
	} {
		aus := hevcPictures(t, c.path)
		types := ffprobePictTypes(t, c.path)
		msgs := hevcTags(t, aus)
		if c.inband {
			msgs = hevcTagsInband(t, aus)
		}
		params := configOf(t, aus[0]).hevc
		irap := 0
		for _, au := range aus {
			if slices.ContainsFunc(au, isIRAP) {
				irap++
			}
		}
		for _, policy := range []BFramePolicy{RefuseBFrames, DropBFrames} {
			var logs syncbuf.Buffer
			h := NewHub(Config{})
			pub, _ := h.Publish("live/hevcb")
			sub, _ := h.Subscribe("live/hevcb")
			later, _ := h.Subscribe("live/hevcb")
			video := newFakeLocal("H265")
			v, wait := runViewer(t, sub, WebRTCSubscriberConfig{BFrames: policy, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, video, nil)
			writeTags(t, pub, msgs...)
			pub.Close()
			err := wait()
			if !later.HasBFrames() {
				t.Errorf("%s, %v: HasBFrames false after a viewer met B-frames", c.path, policy)
			}
			later.Close()
			if policy == RefuseBFrames {
				if !errors.Is(err, ErrBFrames) || strings.Count(logs.String(), "B-frames, which") != 1 {
					t.Fatalf("%s: refused: Run %v, log %q", c.path, err, logs.String())
				}
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			frames := depacketize(t, video.sent(), &codecs.H265Depacketizer{})
			var stream []byte
			keys := 0
			for i, f := range frames {
				nalus := annexBNALUs(f.data)
				if slices.ContainsFunc(nalus, isIRAP) {
					keys++
				}
				for _, n := range nalus {
					if hevcType(n) >= hevcVPS {
						continue
					}
					if st, err := params.sliceType(n); err != nil || st == hevcSliceB {
						t.Fatalf("%s: frame %d: a B slice was sent (%v)", c.path, i, err)
					}
				}
				stream = append(stream, f.data...)
			}
			skipped := int(v.Stats().Skipped)
			ip := types["I"] + types["P"]
			switch {
			case len(frames)+skipped != len(aus) || keys != irap:
				t.Fatalf("%s: %d frames sent (%d IRAP), %d skipped; want %d in all, every IRAP picture (%d) sent",
					c.path, len(frames), keys, skipped, len(aus), irap)
			case !c.refB && len(frames) != ip:
				t.Fatalf("%s: %d frames sent, want the %d I and P pictures", c.path, len(frames), ip)
			case c.refB && (len(frames) <= irap || len(frames) >= ip):
				t.Fatalf("%s: %d frames sent, want more than the %d IRAP pictures, fewer than the %d I and P", c.path, len(frames), irap, ip)
			}
			if n := decodedFrames(t, writeTemp(t, "ip.hevc", stream), "-f", "hevc"); n != len(frames) {
				t.Fatalf("%s: ffmpeg decoded %d of the %d pictures sent", c.path, n, len(frames))
			}
		}
	}
}

// x265's P-frames predict from its b-pyramid's reference B-frames, which
// is why a viewer that drops one waits for a keyframe: the I and P
// pictures alone do not decode.
func TestHEVCPFramesUseReferenceBFrames(t *testing.T) {
	aus := hevcPictures(t, testHEVCBFile)
	p := configOf(t, aus[0]).hevc
	var ip []byte
	for _, au := range aus {
		if typ, _ := pictType(t, p, au); typ != "B" {
			ip = append(ip, annexB(au)...)
		}
	}
	ffmpegtest.Need(t)
	ctx, cancel := context.WithTimeout(context.Background(), ffmpegtest.Timeout)
	defer cancel()
	_, err := ffmpegtest.Exec(ctx, "-f", "hevc", "-i", writeTemp(t, "ip.hevc", ip), "-f", "null", "-")
	if err == nil || !strings.Contains(err.Error(), "Could not find ref") {
		t.Fatalf("the I and P pictures alone: %v, want ffmpeg missing references", err)
	}
}

// hevcScanB counts the access units that a scan with cfg finds B slices
// in.
func hevcScanB(cfg *DecoderConfig, aus [][][]byte) int {
	n := 0
	for _, au := range aus {
		s := newHEVCBScan(cfg)
		b := false
		for _, nalu := range au {
			b = s.isB(nalu) || b
		}
		if b {
			n++
		}
	}
	return n
}

// The parameter sets a frame carries apply to its slices, over the
// configuration's and without changing them: with a configuration whose
// PPS has the wrong num_extra_slice_header_bits, the B-frames are found
// only in frames that bring the right PPS. Without a configuration or
// parameter sets, nothing is a B-frame.
func TestHEVCBScanInband(t *testing.T) {
	aus := hevcPictures(t, testHEVCBFile)
	want := ffprobePictTypes(t, testHEVCBFile)["B"]
	good := configOf(t, aus[0])
	vps, sps := aus[0][0], aus[0][1]
	wrong, err := NewDecoderConfig(H265, hevcRecord(vps, sps, synthPPS(0, 0, false, 7)))
	if err != nil {
		t.Fatal(err)
	}
	var withSets [][][]byte
	for _, au := range aus {
		withSets = append(withSets, append(slices.Clone(aus[0][:3]), slices.DeleteFunc(slices.Clone(au), isHEVCParam)...))
	}
	for _, c := range []struct {
		name string
		cfg  *DecoderConfig
		aus  [][][]byte
		want int
	}{
		{"the configuration's sets", good, aus, want},
		{"in-band sets over a wrong configuration", wrong, withSets, want},
		{"in-band sets only", nil, withSets, want},
		{"no sets", nil, aus[1:], 0},
	} {
		if got := hevcScanB(c.cfg, c.aus); got != c.want {
			t.Errorf("%s: %d B-frames, want %d", c.name, got, c.want)
		}
	}
	if got := hevcScanB(wrong, aus); got == want {
		t.Errorf("the wrong configuration alone finds the %d B-frames", got)
	}
	if wrong.hevc.pps[0].extraBits != 7 {
		t.Error("a frame's in-band PPS changed the configuration's")
	}
}

// hevcAVCCFrames are the access units of the HEVC files as units carry
// them, with the configurations they refer to.
func hevcAVCCFrames(t testing.TB) (cfgs []*DecoderConfig, frames [][][][]byte) {
	t.Helper()
	for _, path := range []string{testHEVCBFile, testHEVCSlicesFile} {
		aus := hevcPictures(t, path)
		cfgs = append(cfgs, configOf(t, aus[0]))
		frames = append(frames, aus)
	}
	return cfgs, frames
}

// Finding B slices, which runs on every frame of every HEVC stream,
// allocates nothing, in-band parameter sets included.
func TestHEVCBScanAllocs(t *testing.T) {
	cfgs, frames := hevcAVCCFrames(t)
	found := 0
	allocs := testing.AllocsPerRun(20, func() {
		found = 0
		for i, cfg := range cfgs {
			found += hevcScanB(cfg, frames[i])
		}
	})
	if allocs != 0 || found == 0 {
		t.Errorf("%v allocations per run over %d B-frames, want 0", allocs, found)
	}
}

// BenchmarkHEVCBScan: the B slice search of one HEVC access unit (x265,
// one slice per picture; three slices with in-band parameter sets).
func BenchmarkHEVCBScan(b *testing.B) {
	cfgs, frames := hevcAVCCFrames(b)
	for i, name := range []string{"OneSlice", "ThreeSlicesInband"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			aus := frames[i]
			for n := 0; b.Loop(); n++ {
				hevcScanB(cfgs[i], aus[n%len(aus):n%len(aus)+1])
			}
		})
	}
}

// FuzzHEVCSliceType: any SPS, PPS and slice segment give a slice type or
// an error, never a panic, and a frame of them is cut into RTP payloads,
// flagged B when the slice reads as one.
// Seeds: the parameter sets and the slices (their first 40 bytes, which
// hold the headers) of x265's output.
func FuzzHEVCSliceType(f *testing.F) {
	for _, path := range []string{testHEVCBFile, testHEVCSlicesFile} {
		aus := hevcPictures(f, path)
		for _, au := range aus[:12] {
			for _, n := range au {
				if hevcType(n) < hevcVPS {
					f.Add(aus[0][1], aus[0][2], n[:min(len(n), 40)])
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, sps, pps, slice []byte) {
		p := newHEVCParamSets([][]byte{sps}, [][]byte{pps})
		st, err := p.sliceType(slice)
		if err == nil && (st < hevcSliceB || st > hevcSliceDependent) {
			t.Fatalf("slice type %d", st)
		}
		if len(sps) < 2 || len(pps) < 2 || len(slice) < 2 {
			return
		}
		u := Unit{Type: Video, Codec: H265, Data: avcc([][]byte{sps, pps, slice})}
		rf := cutRTP(&u)
		// With a real SPS and PPS in front, the frame is flagged as its
		// slice reads.
		inband := hevcType(sps) == hevcSPS && hevcType(pps) == hevcPPS
		if b := rf.has(rtpBSlice); inband && validAVCC(u.Data, 4) && b != (err == nil && st == hevcSliceB) {
			t.Fatalf("frame flagged B %v, slice type %d, %v", b, st, err)
		}
	})
}
