package transcode

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/streamwire/streamwire/relay/internal/ffmpegtest"
)

// TestADTSMatchesFFmpeg: ffmpeg encodes the same AAC into FLV and into
// ADTS; the FLV's frames with our headers are byte for byte ffmpeg's ADTS
// file, and our reader reads ffmpeg's ADTS file back into the FLV's
// frames and AudioSpecificConfig, for several rates and channel layouts.
func TestADTSMatchesFFmpeg(t *testing.T) {
	for _, c := range []struct{ rate, channels int }{{44100, 2}, {48000, 1}, {22050, 6}, {8000, 2}} {
		t.Run(fmt.Sprintf("%d-%d", c.rate, c.channels), func(t *testing.T) {
			args := []string{"-f", "lavfi", "-i", "sine=frequency=440", "-t", "0.5", "-ar", fmt.Sprint(c.rate), "-ac", fmt.Sprint(c.channels), "-c:a", "aac", "-fflags", "+bitexact", "-y"}
			flvPath, adtsPath := tempPath(t, "a.flv"), tempPath(t, "a.aac")
			ffmpegtest.Run(t, append(args, "-f", "flv", flvPath)...)
			ffmpegtest.Run(t, append(args, "-f", "adts", adtsPath)...)
			src := readFLVAudio(t, flvPath)
			want, err := os.ReadFile(adtsPath)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := parseADTSConfig(src.asc)
			if err != nil {
				t.Fatal(err)
			}
			var got []byte
			for _, au := range src.aus {
				got = append(appendADTS(got, &cfg, len(au.data)), au.data...)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%d bytes of ADTS differ from ffmpeg's %d (first header % x, ffmpeg's % x)", len(got), len(want), got[:7], want[:7])
			}
			checkADTSReader(t, want, src)
		})
	}
}

// ascBits writes an AudioSpecificConfig from its fields.
type ascBits struct {
	b []byte
	n int
}

func (w *ascBits) put(v uint32, bits int) *ascBits {
	for i := bits - 1; i >= 0; i-- {
		if w.n%8 == 0 {
			w.b = append(w.b, 0)
		}
		w.b[len(w.b)-1] |= byte(v>>i&1) << (7 - w.n%8)
		w.n++
	}
	return w
}

// TestParseADTSConfig: what ADTS can carry, and the clear errors for
// what it cannot.
func TestParseADTSConfig(t *testing.T) {
	asc := func(fields ...uint32) []byte { // pairs of value, bit count
		var w ascBits
		for i := 0; i < len(fields); i += 2 {
			w.put(fields[i], int(fields[i+1]))
		}
		return w.b
	}
	for _, c := range []struct {
		name string
		asc  []byte
		want adtsConfig
		err  string
	}{
		{"LC 44.1 kHz stereo", asc(2, 5, 4, 4, 2, 4, 0, 3), adtsConfig{profile: 1, freqIndex: 4, channels: 2, rate: 44100}, ""},
		{"LC 48 kHz mono", asc(2, 5, 3, 4, 1, 4, 0, 3), adtsConfig{profile: 1, freqIndex: 3, channels: 1, rate: 48000}, ""},
		{"Main 32 kHz 5.1", asc(1, 5, 5, 4, 6, 4, 0, 3), adtsConfig{profile: 0, freqIndex: 5, channels: 6, rate: 32000}, ""},
		{"LTP 7.1", asc(4, 5, 3, 4, 7, 4, 0, 3), adtsConfig{profile: 3, freqIndex: 3, channels: 7, rate: 48000}, ""},
		// HE-AAC: SBR at 48 kHz on an AAC-LC core at 24 kHz.
		{"HE-AAC", asc(5, 5, 6, 4, 2, 4, 3, 4, 2, 5, 0, 3), adtsConfig{profile: 1, freqIndex: 6, channels: 2, rate: 24000}, ""},
		{"HE-AACv2", asc(29, 5, 6, 4, 1, 4, 3, 4, 2, 5, 0, 3), adtsConfig{profile: 1, freqIndex: 6, channels: 1, rate: 24000}, ""},
		{"960-sample frames", asc(2, 5, 4, 4, 2, 4, 4, 3), adtsConfig{}, "960-sample"},
		{"explicit rate", asc(2, 5, 15, 4, 44000, 24, 2, 4, 0, 3), adtsConfig{}, "explicit sampling rate 44000"},
		{"program config element", asc(2, 5, 4, 4, 0, 4, 0, 3), adtsConfig{}, "channel configuration 0"},
		{"ER AAC-ELD", asc(31, 5, 7, 6, 3, 4, 2, 4), adtsConfig{}, "object type 39"},
		{"USAC-like", asc(0, 5, 3, 4, 2, 4), adtsConfig{}, "object type 0"},
		{"truncated", []byte{0x12}, adtsConfig{}, "truncated"},
		{"empty", nil, adtsConfig{}, "truncated"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseADTSConfig(c.asc)
			if c.err != "" {
				if !errors.Is(err, ErrUnsupportedConfig) || !bytes.Contains([]byte(err.Error()), []byte(c.err)) {
					t.Fatalf("error %v, want ErrUnsupportedConfig with %q", err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, c.want)
			}
			h := appendADTS(nil, &got, 300)
			back, err := parseFFmpegADTS(h)
			if err != nil || back.adtsConfig != got || back.length != 307 {
				t.Fatalf("header % x reads back as %+v, %v", h, back, err)
			}
		})
	}
}

// parseFFmpegADTS reads back a header that appendADTS wrote: it parses
// and it has the form of ffmpeg's (no CRC, VBR, one raw data block).
func parseFFmpegADTS(h []byte) (adtsHeader, error) {
	a, err := parseADTSHeader(h)
	if err != nil {
		return a, err
	}
	if h[1]&0x09 != 0x01 || h[5]&0x1f != 0x1f || h[6] != 0xfc {
		return a, errors.New("not ffmpeg's MPEG-4, CRC-less, VBR, one-block header")
	}
	return a, nil
}

// checkADTSReader reads an ADTS stream and checks that it holds the
// frames and the AudioSpecificConfig of src (its first two bytes), and
// then ends with io.EOF.
func checkADTSReader(t *testing.T, adts []byte, src source) {
	t.Helper()
	r := newADTSReader(bytes.NewReader(adts))
	for i, au := range src.aus {
		data, _, err := r.nextFrame()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		// ffmpeg's encoder adds a sync extension that says "no SBR"
		// (0x2b7, object type 5, sbrPresentFlag 0: 56 e5 00), which
		// ADTS does not carry; the two bytes before it are the same.
		if !bytes.Equal(data, au.data) || !bytes.Equal(r.asc, src.asc[:2]) {
			t.Fatalf("frame %d: %d bytes, config % x; the FLV's: %d bytes, % x", i, len(data), r.asc, len(au.data), src.asc)
		}
	}
	if _, _, err := r.nextFrame(); err != io.EOF {
		t.Fatalf("after the last frame: %v", err)
	}
}

// TestADTSReader: a frame with a CRC gives its access unit without the
// CRC; a config change gives a new AudioSpecificConfig slice, and the
// old one stays as it was; malformed frames give errors wrapping
// errADTS, or io.ErrUnexpectedEOF when cut short.
func TestADTSReader(t *testing.T) {
	lc48 := adtsConfig{profile: 1, freqIndex: 3, channels: 2, rate: 48000}
	mono := adtsConfig{profile: 1, freqIndex: 4, channels: 1, rate: 44100}
	frame := func(c adtsConfig, au ...byte) []byte { return append(appendADTS(nil, &c, len(au)), au...) }
	withCRC := frame(lc48, 0xaa, 0xbb, 1, 2, 3) // 0xaa 0xbb become the CRC
	withCRC[1] &^= 1                            // protection_absent 0
	stream := append(append(withCRC, frame(lc48, 4, 5)...), frame(mono, 6)...)
	r := newADTSReader(bytes.NewReader(stream))
	var ascs [][]byte
	for i, want := range [][]byte{{1, 2, 3}, {4, 5}, {6}} {
		au, _, err := r.nextFrame()
		if err != nil || !bytes.Equal(au, want) {
			t.Fatalf("frame %d: % x, %v; want % x", i, au, err, want)
		}
		ascs = append(ascs, r.asc)
	}
	if !bytes.Equal(ascs[0], []byte{0x11, 0x90}) || &ascs[0][0] != &ascs[1][0] || &ascs[2][0] == &ascs[0][0] || !bytes.Equal(ascs[2], []byte{0x12, 0x08}) {
		t.Fatalf("configs % x", ascs)
	}
	for _, c := range []struct {
		name string
		b    []byte
		want error
	}{
		{"no syncword", []byte{0xff, 0xe1, 0x50, 0x80, 0x01, 0x1f, 0xfc, 0}, errADTS},
		{"layer 1", func() []byte { b := frame(lc48, 1); b[1] |= 2; return b }(), errADTS},
		{"frequency index 13", func() []byte { b := frame(lc48, 1); b[2] |= 0x34; return b }(), errADTS},
		{"channel configuration 0", frame(adtsConfig{profile: 1, freqIndex: 3}, 1), errADTS},
		{"two raw data blocks", func() []byte { b := frame(lc48, 1); b[6] |= 1; return b }(), errADTS},
		{"no access unit", frame(lc48), errADTS},
		{"length under the CRC header", func() []byte { b := frame(lc48, 1); b[1] &^= 1; return b }(), errADTS},
		{"cut in the header", frame(lc48, 1, 2)[:5], io.ErrUnexpectedEOF},
		{"cut in the frame", frame(lc48, 1, 2)[:8], io.ErrUnexpectedEOF},
	} {
		_, _, err := newADTSReader(bytes.NewReader(c.b)).nextFrame()
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}
