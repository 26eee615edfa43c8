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
			back, err := parseFFmpegADTS(h)
			if err != nil || back.adtsConfig != c || back.length != n+adtsHeaderLen {
				t.Fatalf("config %+v, %d bytes: header % x reads back as %+v, %v", c, n, h, back, err)
			}
		}
	})
}

// FuzzADTSReader reads arbitrary bytes as ffmpeg's ADTS output: the
// reader returns access units it bounds, each with a 2-byte
// AudioSpecificConfig that parses back into the frame's header, and then
// an error it names, never a panic. Seeds: ffmpeg's own output (see
// TestFuzzSeeds) and a frame with a CRC.
func FuzzADTSReader(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		r := newADTSReader(bytes.NewReader(b))
		for range len(b)/adtsHeaderLen + 1 { // a frame takes at least 8 bytes
			au, h, err := r.nextFrame()
			if err != nil {
				if err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, errADTS) {
					t.Fatalf("error %v is not errADTS or EOF", err)
				}
				return
			}
			if len(au) == 0 || len(au) > adtsMaxFrame-adtsHeaderLen || len(au) != h.length-h.headerLen {
				t.Fatalf("access unit of %d bytes in a frame of %d", len(au), h.length)
			}
			c, err := parseADTSConfig(r.asc)
			if err != nil || len(r.asc) != 2 || c != h.adtsConfig {
				t.Fatalf("config % x parses as %+v, %v; the header says %+v", r.asc, c, err, h.adtsConfig)
			}
		}
		t.Fatal("more frames than headers' bytes")
	})
}

// FuzzOggOpusWriter writes arbitrary packets (2-byte big-endian lengths
// and bytes; those whose TOC gives no duration are left out, as Write
// refuses them) with the Ogg writer, and reads them back with the
// reader: the same packets at the positions of their samples, each on a
// page whose granule position is its end, after a stereo OpusHead with
// no pre-skip. Seeds: libopus's packets (see TestFuzzSeeds).
func FuzzOggOpusWriter(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		var w oggOpusWriter
		var pkts [][]byte
		var ogg []byte
		for len(b) >= 2 {
			n := min(int(b[0])<<8|int(b[1]), len(b)-2, MaxOpusPacket)
			p := b[2 : 2+n]
			b = b[2+n:]
			samples, err := opusSamples(p)
			if err != nil {
				continue
			}
			if len(pkts) == 0 {
				ogg = w.appendHeaders(ogg)
			}
			ogg = w.appendPacket(ogg, p, samples)
			pkts = append(pkts, p)
		}
		r := newOggOpusReader(bytes.NewReader(ogg))
		var pos int64
		for i, want := range pkts {
			p, err := r.nextPacket()
			if err != nil || !bytes.Equal(p.data, want) || p.start != pos || r.granule != pos+int64(p.samples) {
				t.Fatalf("packet %d: %d bytes at %d (granule %d), %v; want %d bytes at %d", i, len(p.data), p.start, r.granule, err, len(want), pos)
			}
			pos += int64(p.samples)
		}
		if _, err := r.nextPacket(); err != io.EOF {
			t.Fatalf("after the last packet: %v", err)
		}
		if len(pkts) > 0 && (r.head.channels != 2 || r.head.preSkip != 0) {
			t.Fatalf("OpusHead %+v", r.head)
		}
	})
}

var writeSeeds = flag.Bool("seeds", false, "rewrite testdata/fuzz from ffmpeg's output")

// TestFuzzSeeds rewrites the seed corpora from ffmpeg's output with
// -seeds (go test -run FuzzSeeds -seeds), and otherwise checks that each
// fuzz target has seeds.
func TestFuzzSeeds(t *testing.T) {
	targets := []string{"FuzzOggOpusReader", "FuzzADTSConfig", "FuzzADTSReader", "FuzzOggOpusWriter"}
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
	seeds["FuzzADTSReader"] = adtsSeeds(t)
	seeds["FuzzOggOpusWriter"] = oggWriterSeeds(t)
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

// adtsSeeds are the starts of ADTS streams of ffmpeg's AAC encoder (as
// NewOpusToAAC runs it, and mono at 44.1 kHz), and a frame with a CRC.
func adtsSeeds(t *testing.T) map[string][]byte {
	m := map[string][]byte{}
	for _, c := range []struct{ rate, ch int }{{48000, 2}, {44100, 1}} {
		path := tempPath(t, "seed.aac")
		ffmpegtest.Run(t, "-f", "lavfi", "-i", "sine=frequency=500", "-t", "0.3", "-ar", strconv.Itoa(c.rate), "-ac", strconv.Itoa(c.ch),
			"-c:a", "aac", "-b:a", "128k", "-f", "adts", "-y", path)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		m["ffmpeg-"+strconv.Itoa(c.rate)+"-"+strconv.Itoa(c.ch)] = b[:min(len(b), 3000)]
	}
	crc := append(appendADTS(nil, &adtsConfig{profile: 1, freqIndex: 3, channels: 2}, 5), 0xaa, 0xbb, 1, 2, 3)
	crc[1] &^= 1
	m["crc"] = crc
	return m
}

// oggWriterSeeds are libopus's packets, CELT and SILK, each with its
// 2-byte length.
func oggWriterSeeds(t *testing.T) map[string][]byte {
	m := map[string][]byte{}
	for _, c := range []struct {
		name     string
		channels int
		args     []string
	}{{"celt-stereo", 2, nil}, {"silk-mono", 1, []string{"-application", "voip", "-b:a", "16k"}}} {
		src, _, _ := makeOpus(t, "sine=frequency=500", c.channels, 0.2, c.args...)
		var b []byte
		for _, au := range src.aus {
			b = append(append(b, byte(len(au.data)>>8), byte(len(au.data))), au.data...)
		}
		m["libopus-"+c.name] = b
	}
	// Packets of every TOC code, and sizes on and around the 255-byte
	// lacing boundary.
	var edge []byte
	for _, p := range [][]byte{{0xfc, 1}, {0xfd, 2, 3}, {0xfe, 1, 4, 5}, {0xff, 0x83, 1, 2}, bytes.Repeat([]byte{0xf8}, 255), bytes.Repeat([]byte{0x08}, 510), bytes.Repeat([]byte{0x79}, 300)} {
		edge = append(append(edge, byte(len(p)>>8), byte(len(p))), p...)
	}
	m["edges"] = edge
	return m
}
