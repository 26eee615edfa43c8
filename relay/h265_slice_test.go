package relay

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/streamwire/streamwire/relay/internal/ffmpegtest"
)

const (
	// testHEVCBFile: 30 frames of 160x120 30 fps HEVC from libx265 with
	// B-frames (three between references, b-pyramid: x265's middle
	// B-frames are references, TRAIL_R like its P-frames), an IRAP picture
	// every 15 frames (an IDR, then a CRA with RASL pictures: open GOP),
	// one slice per picture, Annex-B, made by ffmpeg 5.1 (ffprobe: 2 I,
	// 7 P, 21 B pictures):
	//   ffmpeg -f lavfi -i testsrc2=size=160x120:rate=30 -frames:v 30 -pix_fmt yuv420p -c:v libx265
	//     -x265-params keyint=15:min-keyint=15:bframes=3:b-pyramid=1:scenecut=0:info=0
	//     -f hevc testsrc2-160x120-30f-bframes.hevc
	testHEVCBFile = "testdata/testsrc2-160x120-30f-bframes.hevc"
	// testHEVCSlicesFile: 20 frames of the same, with 16x16 CTBs (80 per
	// picture: 7-bit slice_segment_address), three slices per picture,
	// two B-frames between references and none of them a reference
	// (b-pyramid off: TRAIL_N and RASL_N), and the VPS, SPS and PPS
	// repeated before every IRAP picture (ffprobe: 2 I, 7 P, 11 B):
	//   ffmpeg -f lavfi -i testsrc2=size=160x120:rate=30 -frames:v 20 -pix_fmt yuv420p -c:v libx265
	//     -x265-params keyint=10:min-keyint=10:bframes=2:b-pyramid=0:ctu=16:slices=3:repeat-headers=1:scenecut=0:info=0
	//     -f hevc testsrc2-160x120-20f-slices.hevc
	testHEVCSlicesFile = "testdata/testsrc2-160x120-20f-slices.hevc"
)

// hevcPictures returns the access units of an Annex-B HEVC file: a
// picture starts at its VCL NAL unit with first_slice_segment_in_pic_flag
// set, with the non-VCL NAL units (parameter sets, prefix SEI) just
// before it; a suffix SEI (type 40) stays with the picture before.
func hevcPictures(t testing.TB, path string) [][][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var aus [][][]byte
	var pending [][]byte
	for _, n := range annexBNALUs(b) {
		switch typ := hevcType(n); {
		case typ < hevcVPS && n[2]&0x80 != 0:
			aus, pending = append(aus, append(pending, n)), nil
		case typ < hevcVPS || typ == 40:
			if len(aus) == 0 {
				t.Fatalf("%s: a NAL unit of type %d before the first picture", path, typ)
			}
			aus[len(aus)-1] = append(aus[len(aus)-1], n)
		default:
			pending = append(pending, n)
		}
	}
	return aus
}

// ffprobePictTypes returns how many pictures of each pict_type (I, P, B)
// ffprobe finds in the file.
func ffprobePictTypes(t testing.TB, path string) map[string]int {
	t.Helper()
	ffmpegtest.Need(t)
	ctx, cancel := context.WithTimeout(context.Background(), ffmpegtest.Timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-show_frames",
		"-show_entries", "frame=pict_type", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	counts := map[string]int{}
	for _, line := range strings.Fields(string(out)) {
		counts[strings.Split(line, ",")[0]]++
	}
	return counts
}

// configOf is the decoder configuration of an access unit's VPS, SPS and
// PPS, as an Enhanced RTMP sequence header carries them.
func configOf(t testing.TB, au [][]byte) *DecoderConfig {
	t.Helper()
	cfg, err := NewDecoderConfig(H265, hevcRecord(au[0], au[1], au[2]))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// pictType is the type of a picture as ffprobe names it: that of its
// first slice segment, as ffmpeg's decoder reports it.
func pictType(t testing.TB, p *hevcParamSets, au [][]byte) (typ string, slices int) {
	t.Helper()
	for _, n := range au {
		if hevcType(n) >= hevcVPS {
			continue
		}
		st, err := p.sliceType(n)
		if err != nil {
			t.Fatalf("slice of type %d: %v", hevcType(n), err)
		}
		if slices++; slices == 1 {
			typ = [...]string{"B", "P", "I", "dependent"}[st]
		}
	}
	return typ, slices
}

// sliceType reads every slice of x265's output, on one or several slices
// per picture (slice_segment_address read with the SPS's CTB count), and
// the pictures' types agree with ffprobe's pict_type.
func TestHEVCSliceType(t *testing.T) {
	for _, c := range []struct {
		path           string
		pictures, per  int // pictures, slices per picture
		wantReferenceB bool
	}{
		{testHEVCBFile, 30, 1, true},
		{testHEVCSlicesFile, 20, 3, false},
	} {
		aus := hevcPictures(t, c.path)
		if len(aus) != c.pictures {
			t.Fatalf("%s: %d pictures, want %d", c.path, len(aus), c.pictures)
		}
		p := configOf(t, aus[0]).hevc
		got := map[string]int{}
		refB := 0
		for i, au := range aus {
			typ, n := pictType(t, p, au)
			if n != c.per {
				t.Fatalf("%s: picture %d has %d slices, want %d", c.path, i, n, c.per)
			}
			got[typ]++
			if typ == "B" && slices.ContainsFunc(au, func(n []byte) bool { return hevcType(n) == 1 }) {
				refB++ // TRAIL_R: a reference picture
			}
		}
		if want := ffprobePictTypes(t, c.path); !mapsEqual(got, want) {
			t.Errorf("%s: pictures by type %v, ffprobe finds %v", c.path, got, want)
		}
		if (refB > 0) != c.wantReferenceB {
			t.Errorf("%s: %d reference B-frames, want some: %v", c.path, refB, c.wantReferenceB)
		}
		if got["B"] == 0 || got["P"] == 0 || got["I"] == 0 {
			t.Errorf("%s: %v: a type is missing", c.path, got)
		}
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// hevcBits writes an H.265 RBSP for the synthetic headers of the tests.
type hevcBits struct {
	b []byte
	n int // bits written
}

func (w *hevcBits) u(n int, v uint32) {
	for i := n - 1; i >= 0; i-- {
		if w.n%8 == 0 {
			w.b = append(w.b, 0)
		}
		w.b[len(w.b)-1] |= byte(v>>i&1) << (7 - w.n%8)
		w.n++
	}
}

func (w *hevcBits) ue(v uint32) {
	v++
	n := 0
	for x := v; x > 1; x >>= 1 {
		n++
	}
	w.u(n, 0)
	w.u(n+1, v)
}

// nalu ends the RBSP (rbsp_stop_one_bit, §7.3.2.11) and returns it as a
// NAL unit of type typ, with emulation prevention bytes (§7.4.2).
func (w *hevcBits) nalu(typ byte) []byte {
	w.u(1, 1)
	out := []byte{typ << 1, 1}
	zeros := 0
	for _, c := range w.b {
		if zeros >= 2 && c <= 3 {
			out, zeros = append(out, 3), 0
		}
		out = append(out, c)
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}

// synthPPS is a PPS (§7.3.2.3.1) as far as num_extra_slice_header_bits.
func synthPPS(id, sps uint32, dependent bool, extra uint32) []byte {
	var w hevcBits
	w.ue(id)
	w.ue(sps)
	w.u(1, map[bool]uint32{true: 1}[dependent])
	w.u(1, 0)
	w.u(3, extra)
	return w.nalu(hevcPPS)
}

// sliceType follows the slice segment header's layout where x265 does
// not go: dependent slice segments, extra slice header bits, a long
// slice_segment_address that the emulation prevention byte falls in, an
// IRAP slice's no_output_of_prior_pics_flag; and refuses what does not
// parse or refers to unknown parameter sets.
func TestHEVCSliceTypeLayout(t *testing.T) {
	var p hevcParamSets
	p.sps[3] = hevcSPSInfo{known: true, addrBits: 24} // 65536x65536 in 16x16 CTBs
	for _, pps := range [][]byte{synthPPS(0, 3, true, 7), synthPPS(63, 3, false, 0), synthPPS(5, 4, false, 2)} {
		if err := p.add(pps); err != nil {
			t.Fatalf("PPS %x: %v", pps, err)
		}
	}
	if got := p.pps[0]; got != (hevcPPSInfo{known: true, spsID: 3, dependentSlices: true, extraBits: 7}) {
		t.Fatalf("PPS 0 read as %+v", got)
	}
	type header struct {
		typ       byte // nal_unit_type
		first     bool
		pps       uint32
		dependent int // -1: no flag
		addr      uint32
		addrBits  int
		extra     int
		extraVal  uint32 // slice_reserved_flag values
		sliceType uint32
		want      int
		wantErr   error
		cut       int // payload bytes kept after the NAL unit header, 0 for all
	}
	for i, h := range []header{
		{typ: 1, first: true, pps: 0, dependent: -1, extra: 7, extraVal: 0x55, sliceType: 0, want: hevcSliceB},
		{typ: 19, first: true, pps: 63, dependent: -1, sliceType: 2, want: hevcSliceI},
		{typ: 1, pps: 0, dependent: 0, addr: 0, addrBits: 24, extra: 7, sliceType: 1, want: hevcSliceP}, // 31 zero bits: 00 00 03 00
		{typ: 0, pps: 0, dependent: 0, addr: 1 << 20, addrBits: 24, extra: 7, extraVal: 0x7f, sliceType: 0, want: hevcSliceB},
		{typ: 1, pps: 0, dependent: 1, want: hevcSliceDependent},
		{typ: 1, pps: 63, dependent: -1, addr: 77, addrBits: 24, sliceType: 0, want: hevcSliceB},
		{typ: 1, pps: 5, dependent: -1, addrBits: 3, extra: 2, extraVal: 3, sliceType: 1, wantErr: errHEVCNoParams}, // SPS 4 unknown
		{typ: 1, first: true, pps: 5, dependent: -1, extra: 2, extraVal: 3, sliceType: 1, want: hevcSliceP},         // a first slice needs no SPS
		{typ: 1, first: true, pps: 6, dependent: -1, sliceType: 1, wantErr: errHEVCNoParams},
		{typ: 1, first: true, pps: 64, dependent: -1, sliceType: 1, wantErr: errHEVCHeader},
		{typ: 1, first: true, pps: 0, dependent: -1, extra: 7, sliceType: 3, wantErr: errHEVCHeader},
		{typ: 12, first: true, pps: 0, dependent: -1, extra: 7, sliceType: 0, wantErr: errHEVCHeader},          // reserved
		{typ: 22, first: true, pps: 0, dependent: -1, extra: 7, sliceType: 2, wantErr: errHEVCHeader},          // reserved IRAP
		{typ: 1, first: true, pps: 0, dependent: -1, extra: 7, sliceType: 0, cut: 1, wantErr: errHEVCHeader},   // ends in the extra bits
		{typ: 1, pps: 63, dependent: -1, addr: 77, addrBits: 24, sliceType: 0, cut: 3, wantErr: errHEVCHeader}, // in the address
	} {
		var w hevcBits
		w.u(1, map[bool]uint32{true: 1}[h.first])
		if h.typ >= hevcIRAPFirst && h.typ <= hevcIRAPLast {
			w.u(1, 0)
		}
		w.ue(h.pps)
		if h.dependent >= 0 {
			w.u(1, uint32(h.dependent))
		}
		if !h.first && h.dependent != 1 {
			w.u(h.addrBits, h.addr)
		}
		w.u(h.extra, h.extraVal)
		w.ue(h.sliceType)
		nalu := w.nalu(h.typ)
		if h.cut > 0 {
			nalu = nalu[:2+h.cut]
		}
		if i == 2 && !strings.Contains(string(nalu), "\x00\x00\x03") {
			t.Fatalf("header %d: %x has no emulation prevention byte", i, nalu)
		}
		got, err := p.sliceType(nalu)
		if !errors.Is(err, h.wantErr) || err == nil && got != h.want {
			t.Errorf("header %d %x: %d, %v; want %d, %v", i, nalu, got, err, h.want, h.wantErr)
		}
	}
}
