package amf0

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The payloads of the connect command and the @setDataFrame onMetaData
// data message that ffmpeg 5.1 sent in ../testdata/ffmpeg_publish.chunks
// (message types 20 and 18), as read by rtmp.ChunkReader.
var recorded = []struct {
	name, file string
	// allocs is the most allocations DecodeAll may make: the values
	// slice, the copy of the input, the object and its box, and one box
	// per string or number that is not shared (flashVer and tcUrl; the
	// encoder name and an audio data rate of 67.38).
	allocs float64
}{
	{"connect", "testdata/ffmpeg_connect.amf0", 6},
	{"onMetaData", "testdata/ffmpeg_metadata.amf0", 6},
}

func readRecorded(t testing.TB, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeRecorded(t *testing.T) {
	connect := readRecorded(t, recorded[0].file)
	vs, err := DecodeAll(connect)
	want := []any{"connect", 1.0, Object{
		{"app", "live"},
		{"type", "nonprivate"},
		{"flashVer", "FMLE/3.0 (compatible; Lavf59.27.100)"},
		{"tcUrl", "rtmp://127.0.0.1:34721/live"},
	}}
	if err != nil || !reflect.DeepEqual(vs, want) {
		t.Errorf("connect: %#v %v", vs, err)
	}
	meta := readRecorded(t, recorded[1].file)
	vs, err = DecodeAll(meta)
	wantMeta := []any{"@setDataFrame", "onMetaData", ECMAArray{
		{"duration", 3.0}, {"width", 320.0}, {"height", 240.0},
		{"videodatarate", 0.0}, {"framerate", 30.0}, {"videocodecid", 7.0},
		{"audiodatarate", 67.3828125}, {"audiosamplerate", 44100.0},
		{"audiosamplesize", 16.0}, {"stereo", false}, {"audiocodecid", 10.0},
		{"encoder", "Lavf59.27.100"}, {"filesize", 0.0},
	}}
	if err != nil || !reflect.DeepEqual(vs, wantMeta) {
		t.Errorf("onMetaData: %#v %v", vs, err)
	}
}

// TestDecodeAllocs bounds the allocations of decoding the recorded
// commands (24 and 39 before strings shared one copy of the input, objects
// were sized before allocation and common values came pre-boxed).
func TestDecodeAllocs(t *testing.T) {
	for _, c := range recorded {
		b := readRecorded(t, c.file)
		got := testing.AllocsPerRun(100, func() {
			if _, err := DecodeAll(b); err != nil {
				t.Fatal(err)
			}
		})
		if got > c.allocs {
			t.Errorf("%s: %v allocations per DecodeAll, want at most %v", c.name, got, c.allocs)
		}
	}
}

// BenchmarkDecode decodes ffmpeg's connect (140 bytes) and onMetaData
// (309 bytes) whole. bench/ compares it with gortmplib.
func BenchmarkDecode(b *testing.B) {
	for _, c := range recorded {
		p := readRecorded(b, c.file)
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(p)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeAll(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Decoded strings stay valid when the input is overwritten, whether they
// are cut from the shared copy of a small input or copied one by one from
// a large one.
func TestDecodeStringsOutliveInput(t *testing.T) {
	for _, name := range []string{"small", "large"} {
		obj := Object{{"app", "myapp"}, {"tcUrl", "rtmp://h/myapp"}, {"x", XMLDocument("<a/>")}}
		if name == "large" {
			obj = append(obj, Property{"long", strings.Repeat("k", 70000)})
		}
		in, err := AppendValues(nil, "somecommand", TypedObject{"cls", obj}, "live", "yyy")
		if err != nil {
			t.Fatal(err)
		}
		if (len(in) > sharedCopyMax) != (name == "large") {
			t.Fatalf("%s: input of %d bytes", name, len(in))
		}
		vs, err := DecodeAll(in)
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("%#v", vs)
		for i := range in {
			in[i] = 0xEE
		}
		if got := fmt.Sprintf("%#v", vs); got != want {
			t.Errorf("%s: after reuse of the input\n%s\nwas\n%s", name, got, want)
		}
	}
}

// A Decoder kept between calls holds neither the input nor its copy.
func TestDecoderDropsInput(t *testing.T) {
	var d Decoder
	b, _ := AppendValues(nil, "publish", 0, nil, "stream", "live")
	if _, err := d.DecodeAll(b); err != nil {
		t.Fatal(err)
	}
	if d.in != nil || d.text != "" {
		t.Errorf("decoder keeps %d input bytes and a %d-byte copy", len(d.in), len(d.text))
	}
}

// Shared boxed numbers and strings decode to the same values as freshly
// boxed ones, and the others keep their bits (-0, NaN payloads).
func TestBoxedValues(t *testing.T) {
	if !slices.IsSorted(commonNumbers) {
		t.Fatal("commonNumbers is not sorted")
	}
	negZero := math.Copysign(0, -1)
	nan := math.Float64frombits(0x7ff8000000000123)
	nums := []float64{0, negZero, 1, 255, 256, -1, 0.5, 1e300, -320, nan, math.Inf(1), math.Inf(-1), 2 << 60}
	nums = append(nums, commonNumbers...)
	for _, f := range nums {
		b := AppendNumber(nil, f)
		v, _, err := Decode(b)
		got, ok := v.(float64)
		if err != nil || !ok || math.Float64bits(got) != math.Float64bits(f) {
			t.Errorf("%v (%#x): got %#v %v", f, math.Float64bits(f), v, err)
		}
	}
	for _, s := range append(slices.Clone(commonStrings), "", "x", "connectx", "Connect", "liv", "NetStream.Play.UnpublishNotifyX") {
		v, _, err := Decode(AppendString(nil, s))
		if err != nil || v != s {
			t.Errorf("%q: got %#v %v", s, v, err)
		}
	}
}

// Objects larger than the in-place buffer, ECMA arrays whose count is
// wrong either way, and more objects than the inline reference table.
func TestDecodeSizes(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 9, 16, 17, 100} {
		var o Object
		for i := range n {
			o = append(o, Property{fmt.Sprint("k", i), float64(i)})
		}
		if o == nil {
			o = Object{}
		}
		for _, v := range []any{o, ECMAArray(o)} {
			b, _ := Append(nil, v)
			got, m, err := Decode(b)
			if err != nil || m != len(b) || !reflect.DeepEqual(got, v) {
				t.Errorf("%T of %d: got %#v %d/%d %v", v, n, got, m, len(b), err)
			}
		}
		for _, count := range []uint32{0, 3, 20, 1 << 31} {
			b, _ := Append(nil, ECMAArray(o))
			b[1], b[2], b[3], b[4] = byte(count>>24), byte(count>>16), byte(count>>8), byte(count)
			got, _, err := Decode(b)
			if err != nil || !reflect.DeepEqual(got, ECMAArray(o)) {
				t.Errorf("ECMA array of %d announcing %d: got %#v %v", n, count, got, err)
			}
		}
	}
	// Ten objects, then references to each of them.
	var vs []any
	for i := range 10 {
		vs = append(vs, Object{{"i", float64(i)}})
	}
	b, _ := AppendValues(nil, vs...)
	for i := range 10 {
		b = append(b, amf0Reference, 0, byte(i))
	}
	got, err := DecodeAll(b)
	if err != nil || !reflect.DeepEqual(got, append(slices.Clone(vs), vs...)) {
		t.Errorf("references: %#v %v", got, err)
	}
	if _, err := DecodeAll(append(b, amf0Reference, 0, 10)); !errors.Is(err, ErrMalformed) {
		t.Errorf("reference past the table: %v", err)
	}
}

// The reference table spans Decode calls until Reset; DecodeAll resets it.
func TestDecoderReferencesAcrossCalls(t *testing.T) {
	var d Decoder
	obj := Object{{"a", "b"}}
	b, _ := Append(nil, obj)
	if _, _, err := d.Decode(b); err != nil {
		t.Fatal(err)
	}
	ref := []byte{amf0Reference, 0, 0}
	if v, _, err := d.Decode(ref); err != nil || !reflect.DeepEqual(v, obj) {
		t.Errorf("reference after Decode: %#v %v", v, err)
	}
	d.Reset()
	if _, _, err := d.Decode(ref); !errors.Is(err, ErrMalformed) {
		t.Errorf("reference after Reset: %v", err)
	}
	if _, err := d.DecodeAll(bytes.Clone(ref)); !errors.Is(err, ErrMalformed) {
		t.Errorf("reference in a fresh DecodeAll: %v", err)
	}
}

// Values inside an AVM+ switch count against MaxValues together with the
// AMF0 values around them.
func TestDecodeMaxValuesSpansAMF3(t *testing.T) {
	// AVM+, then an AMF3 dense array of two nulls, twice: 1 + 1 + 2
	// values each.
	one := []byte{0x11, 0x09, 0x05, 0x01, 0x01, 0x01}
	in := append(slices.Clone(one), one...)
	if _, err := (&Decoder{MaxValues: 8}).DecodeAll(in); err != nil {
		t.Errorf("8 values: %v", err)
	}
	if _, err := (&Decoder{MaxValues: 7}).DecodeAll(in); !errors.Is(err, ErrMalformed) {
		t.Errorf("8 values with MaxValues 7: %v", err)
	}
}

// A reference is charged the values of what it refers to, so that a small
// message cannot stand for an exponential tree: 26 arrays that each refer
// twice to the previous one (287 bytes) would re-encode to 1.4 GB (55 s
// here), and print or walk as slowly.
func TestDecodeReferencesCountTheirValues(t *testing.T) {
	amf0Doubling := func(n int) []byte {
		b := []byte{amf0StrictArray, 0, 0, 0, 1, amf0Null}
		for i := range n {
			b = append(b, amf0StrictArray, 0, 0, 0, 2, amf0Reference, 0, byte(i), amf0Reference, 0, byte(i))
		}
		return b
	}
	// Inside an AVM+ value: a dense array of n arrays, each but the first
	// referring twice to the one before it.
	amf3Doubling := func(n int) []byte {
		b := []byte{amf0AVMPlus, amf3Array, byte(n<<1 | 1), 0x01, amf3Array, 0x01, 0x01}
		for k := 1; k < n; k++ {
			b = append(b, amf3Array, 0x05, 0x01, amf3Array, byte(k<<1), amf3Array, byte(k<<1))
		}
		return b
	}
	for name, c := range map[string]struct {
		in   func(int) []byte
		ok   int // expands to less than DefaultMaxValues
		fail int
	}{
		"AMF0": {amf0Doubling, 10, 26},
		"AMF3": {amf3Doubling, 10, 40},
	} {
		if _, err := DecodeAll(c.in(c.ok)); err != nil {
			t.Errorf("%s: %d doublings: %v", name, c.ok, err)
		}
		if _, err := DecodeAll(c.in(c.fail)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %d doublings: %v, want ErrMalformed", name, c.fail, err)
		}
	}
	// The charge is what the referred value holds: [[null, null], ref 1,
	// ref 1] is 1 + 3 + 3 + 3 values.
	b := []byte{amf0StrictArray, 0, 0, 0, 3, amf0StrictArray, 0, 0, 0, 2, amf0Null, amf0Null, amf0Reference, 0, 1, amf0Reference, 0, 1}
	if _, err := (&Decoder{MaxValues: 10}).DecodeAll(b); err != nil {
		t.Errorf("10 values: %v", err)
	}
	if _, err := (&Decoder{MaxValues: 9}).DecodeAll(b); !errors.Is(err, ErrMalformed) {
		t.Errorf("10 values with MaxValues 9: %v", err)
	}
}
