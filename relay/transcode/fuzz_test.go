package transcode

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/streamwire/streamwire/relay/internal/ffmpegtest"
)

// FuzzOggOpusReader reads arbitrary bytes as ffmpeg's Ogg Opus output:
// the reader returns packets it bounds and then an error it names, never
// a panic or more than 64 KiB a packet. Seeds: ffmpeg's own output (see
// TestFuzzSeeds).
func FuzzOggOpusReader(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		r := newOggOpusReader(bytes.NewReader(b))
		var pos int64
		for range len(b) + 1 { // a packet takes at least one byte
			p, err := r.nextPacket()
			if err != nil {
				if err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, errOgg) {
					t.Fatalf("error %v is not errOgg or EOF", err)
				}
				return
			}
			if len(p.data) == 0 || len(p.data) > oggMaxPacket || p.samples <= 0 || p.samples > 5760 || p.start != pos {
				t.Fatalf("packet of %d bytes, %d samples at %d (want %d)", len(p.data), p.samples, p.start, pos)
			}
			pos += int64(p.samples)
		}
		t.Fatal("more packets than bytes")
	})
}

// FuzzADTSConfig parses arbitrary AudioSpecificConfigs: an accepted one
// gives ADTS headers that read back as the same config and length; a
// refused one gives ErrUnsupportedConfig.
func FuzzADTSConfig(f *testing.F) {
	f.Fuzz(func(t *testing.T, asc []byte) {
		c, err := parseADTSConfig(asc)
		if err != nil {
			if !errors.Is(err, ErrUnsupportedConfig) {
				t.Fatalf("error %v is not ErrUnsupportedConfig", err)
			}
			return
		}
		for _, n := range []int{0, 1, 300, MaxAccessUnit} {
			h := appendADTS(nil, &c, n)
			back, err := parseADTSHeader(h)
			if err != nil || back.adtsConfig != c || back.length != n+adtsHeaderLen {
				t.Fatalf("config %+v, %d bytes: header % x reads back as %+v, %v", c, n, h, back, err)
			}
		}
	})
}

var writeSeeds = flag.Bool("seeds", false, "rewrite testdata/fuzz from ffmpeg's output")

// TestFuzzSeeds rewrites the seed corpora from ffmpeg's output with
// -seeds (go test -run FuzzSeeds -seeds), and otherwise checks that each
// fuzz target has seeds.
func TestFuzzSeeds(t *testing.T) {
	targets := []string{"FuzzOggOpusReader", "FuzzADTSConfig"}
	if !*writeSeeds {
		for _, name := range targets {
			files, _ := filepath.Glob(filepath.Join("testdata/fuzz", name, "*"))
			if len(files) < 3 {
				t.Errorf("%s: %d seeds", name, len(files))
			}
		}
		return
	}
	ogg := func(args ...string) []byte {
		path := tempPath(t, "seed.opus")
		ffmpegtest.Run(t, append(append([]string{"-f", "lavfi", "-i", "sine=frequency=500:sample_rate=48000", "-t", "0.3", "-ac", "2", "-c:a", "libopus"}, args...), "-f", "opus", "-y", path)...)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		// Small seeds keep the fuzzer's minimization quick; a few pages
		// hold every kind of page (headers, audio, a packet over pages).
		return b[:min(len(b), 3000)]
	}
	seeds := map[string]map[string][]byte{
		"FuzzOggOpusReader": {
			"ffmpeg-page-per-packet":  ogg("-application", "lowdelay", "-frame_duration", "20", "-page_duration", "20000"),
			"ffmpeg-one-second-pages": ogg("-frame_duration", "20"),
			"ffmpeg-spanning-pages":   ogg("-frame_duration", "60", "-b:a", "256k", "-oggpagesize", "300"),
		},
		"FuzzADTSConfig": {},
	}
	for _, c := range []struct{ rate, ch int }{{44100, 2}, {48000, 1}, {22050, 6}} {
		src := makeAAC(t, "sine", c.rate, c.ch, 0.1)
		seeds["FuzzADTSConfig"]["ffmpeg-"+strconv.Itoa(c.rate)+"-"+strconv.Itoa(c.ch)] = src.asc
	}
	seeds["FuzzADTSConfig"]["he-aac"] = []byte{0x2b, 0x12, 0x08, 0x00}
	for target, m := range seeds {
		dir := filepath.Join("testdata/fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range m {
			body := "go test fuzz v1\n[]byte(" + strconv.Quote(string(b)) + ")\n"
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
