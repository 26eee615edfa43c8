package transcode

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/streamwire/streamwire/relay/internal/ffmpegtest"
)

// TestADTSMatchesFFmpeg: ffmpeg encodes the same AAC into FLV and into
// ADTS; the FLV's frames with our headers are byte for byte ffmpeg's ADTS
// file, for several rates and channel layouts.
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
			back, err := parseADTSHeader(h)
			if err != nil || back.adtsConfig != got || back.length != 307 {
				t.Fatalf("header % x reads back as %+v, %v", h, back, err)
			}
		})
	}
}

// adtsHeader is an ADTS header read back (ISO/IEC 13818-7 §6.2), for the
// tests: the config and the frame length.
type adtsHeader struct {
	adtsConfig
	length int
}

func parseADTSHeader(h []byte) (adtsHeader, error) {
	if len(h) < adtsHeaderLen || h[0] != 0xff || h[1]&0xf6 != 0xf0 {
		return adtsHeader{}, errors.New("no ADTS syncword, MPEG-4 layer 0")
	}
	var a adtsHeader
	a.profile = h[2] >> 6
	a.freqIndex = h[2] >> 2 & 0xf
	a.channels = h[2]&1<<2 | h[3]>>6
	a.length = int(h[3]&3)<<11 | int(h[4])<<3 | int(h[5]>>5)
	if a.freqIndex > 12 {
		return a, errors.New("bad frequency index")
	}
	a.rate = [...]int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}[a.freqIndex]
	if h[1]&1 != 1 || h[5]&0x1f != 0x1f || h[6] != 0xfc {
		return a, errors.New("not ffmpeg's CRC-less, VBR, one-block header")
	}
	return a, nil
}
