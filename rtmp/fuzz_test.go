package rtmp

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/streamwire/streamwire/rtmp/amf0"
)

// FuzzChunkReader feeds arbitrary bytes to a ChunkReader: it must return
// messages within the limits or an error, never panic or hang.
func FuzzChunkReader(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 1 << 16
		r := NewChunkReader(bytes.NewReader(data), ReaderConfig{MaxMessageSize: limit, MaxChunkStreams: 8})
		for i := 0; i < 10000; i++ {
			m, err := r.ReadMessage()
			if err != nil {
				return
			}
			if len(m.Payload) > limit {
				t.Fatalf("payload of %d bytes above the limit", len(m.Payload))
			}
			if m.Type == TypeAggregate {
				it := NewAggregateIter(m)
				var sub Message
				for it.Next(&sub) {
				}
			}
		}
	})
}

// rwPair is an io.ReadWriter reading from r and writing to w.
type rwPair struct {
	io.Reader
	io.Writer
}

// FuzzServerHandshake runs ServerHandshake on an arbitrary C0+C1 (and a
// zero C2): a complex answer must validate, a simple one must echo C1.
func FuzzServerHandshake(f *testing.F) {
	f.Fuzz(func(t *testing.T, c0c1 []byte) {
		in := make([]byte, 1+2*HandshakeSize)
		copy(in, c0c1)
		var out bytes.Buffer
		info, err := ServerHandshake(context.Background(), rwPair{bytes.NewReader(in), &out}, HandshakeConfig{Rand: zeroRand{}})
		if err != nil {
			if in[0] != 3 && errors.Is(err, ErrHandshakeVersion) {
				return
			}
			t.Fatal(err)
		}
		b := out.Bytes()
		if len(b) != 1+2*HandshakeSize || b[0] != 3 {
			t.Fatalf("%d bytes out", len(b))
		}
		s1, s2, c1 := b[1:1+HandshakeSize], b[1+HandshakeSize:], in[1:1+HandshakeSize]
		if !info.Complex {
			if !bytes.Equal(s2, c1) || !bytes.Equal(s1[4:8], []byte{0, 0, 0, 0}) {
				t.Fatal("simple answer does not echo C1 or has a version")
			}
			return
		}
		l, c1Digest := findDigest(c1, flashPlayerC1)
		if l != info.PeerLayout {
			t.Fatalf("layout %v, info %v", l, info.PeerLayout)
		}
		if sl, _ := findDigest(s1, mediaServerS1); sl == LayoutNone {
			t.Fatal("S1 digest does not validate")
		}
		if !bytes.Equal(s2[HandshakeSize-digestLen:], signature(s2, mediaServerKey, c1Digest)) {
			t.Fatal("S2 signature does not validate")
		}
	})
}

var writeSeeds = flag.Bool("seeds", false, "rewrite testdata/fuzz seed corpora from the vectors and the recorded stream")

// seedDir is the corpus directory of a fuzz target; a target "pkg/FuzzXxx"
// belongs to the subpackage pkg.
func seedDir(target string) string {
	pkg, name := filepath.Split(target)
	return filepath.Join(pkg, "testdata/fuzz", name)
}

// TestFuzzSeeds regenerates the committed seed corpora with -seeds, and
// otherwise checks that every fuzz target has one.
func TestFuzzSeeds(t *testing.T) {
	targets := []string{"FuzzChunkReader", "amf0/FuzzDecode", "FuzzServerHandshake", "flv/FuzzVideoTag", "flv/FuzzAudioTag"}
	if !*writeSeeds {
		for _, name := range targets {
			files, _ := filepath.Glob(filepath.Join(seedDir(name), "*"))
			if len(files) < 3 {
				t.Errorf("%s: %d seeds", name, len(files))
			}
		}
		return
	}
	seeds := map[string]map[string][]byte{}
	add := func(target, name string, b []byte) {
		if seeds[target] == nil {
			seeds[target] = map[string][]byte{}
		}
		seeds[target][name] = bytes.Clone(b)
	}
	rec := loadRecording(t)
	add("FuzzChunkReader", "ffmpeg-publish-start", rec[:4096])
	add("FuzzChunkReader", "ffmpeg-publish-middle", rec[20000:24000])
	ext, err := os.ReadFile(recordingExtTSPath)
	if err != nil {
		t.Fatal(err)
	}
	add("FuzzChunkReader", "ffmpeg-publish-extended-timestamps", ext[:6000])
	var buf bytes.Buffer
	w := NewChunkWriter(&buf)
	_ = w.WriteSetChunkSize(100)
	_ = w.WriteMessage(Message{ChunkStreamID: 6, Type: TypeVideo, StreamID: 1, Timestamp: 0x1000000, Payload: make([]byte, 250)})
	_ = w.WriteMessage(Message{ChunkStreamID: 6, Type: TypeVideo, StreamID: 1, Timestamp: 0x2000000, Payload: make([]byte, 250)})
	_ = w.WriteMessage(Message{ChunkStreamID: 400, Type: TypeAudio, StreamID: 1, Timestamp: 5, Payload: make([]byte, 10)})
	_ = w.WriteAbort(6)
	_ = w.WriteWindowAckSize(10)
	add("FuzzChunkReader", "extended-timestamps", buf.Bytes())

	for _, c1 := range []string{"ffmpeg-5.1.9_C1.bin", "digest_first_ptr8_c1.bin", "key_first_ptr772_c1.bin"} {
		add("FuzzServerHandshake", c1, append([]byte{3}, readBin(t, c1)...))
	}
	add("FuzzServerHandshake", "simple", append([]byte{3}, make([]byte, HandshakeSize)...))
	add("FuzzServerHandshake", "rtmpe", append([]byte{6}, readBin(t, "ffmpeg-5.1.9_C1.bin")...))

	r := NewChunkReader(bytes.NewReader(rec), ReaderConfig{})
	var video, audio, amf int
	for {
		m, err := r.ReadMessage()
		if err != nil {
			break
		}
		switch m.Type {
		case TypeCommandAMF0, TypeDataAMF0:
			if amf < 4 {
				add("amf0/FuzzDecode", fmt.Sprintf("ffmpeg-%d", amf), m.Payload)
			}
			amf++
		case TypeVideo:
			if video < 3 {
				add("flv/FuzzVideoTag", fmt.Sprintf("ffmpeg-avc-%d", video), m.Payload[:min(len(m.Payload), 2000)])
			}
			video++
		case TypeAudio:
			if audio < 2 {
				add("flv/FuzzAudioTag", fmt.Sprintf("ffmpeg-aac-%d", audio), m.Payload)
			}
			audio++
		}
	}
	all, _ := amf0.AppendValues(nil, 1.5, true, "s", nil, amf0.Undefined{}, amf0.ECMAArray{{Key: "a", Value: 1.0}}, []any{"x", amf0.Object{{Key: "b", Value: false}}},
		amf0.XMLDocument("<x/>"), amf0.TypedObject{ClassName: "C", Properties: amf0.Object{{Key: "k", Value: "v"}}})
	add("amf0/FuzzDecode", "all-types", all)
	add("amf0/FuzzDecode", "amf3-object", unhex(t, `11 0a 0b 01 07 617070 06 096c697665 03 6e 04 05 03 6c 09 05 01 04 01 04 02 01`))
	add("amf0/FuzzDecode", "reference", unhex(t, "0a 00000002 03 0001 78 00 4000000000000000 000009 07 0001"))

	hvcC := readMedia(t, "hvcC.bin")
	add("flv/FuzzVideoTag", "hevc-sequence-start", cat([]byte{0x90}, []byte("hvc1"), hvcC[:200]))
	add("flv/FuzzVideoTag", "multitrack-many-codecs", cat([]byte{0x80 | 1<<4 | 6, 2<<4 | 1}, []byte("avc1"), []byte{0, 0, 0, 4, 0, 0, 10, 0x65}, []byte("av01"), []byte{1, 0, 0, 2, 0x12, 0x00}))
	add("flv/FuzzVideoTag", "modex", cat([]byte{0x80 | 1<<4 | 7, 2, 0x01, 0xE2, 0x40, 0<<4 | 1}, []byte("avc1"), []byte{0, 0, 0}, be32(1), []byte{0x65}))
	add("flv/FuzzAudioTag", "opus-sequence-start", cat([]byte{0x90}, []byte("Opus"), readMedia(t, "OpusHead.bin")))
	add("flv/FuzzAudioTag", "multitrack", cat([]byte{0x95, 2<<4 | 1}, []byte("Opus"), []byte{0, 0, 0, 1, 0xF8}, []byte("mp4a"), []byte{1, 0, 0, 2, 0x21, 0x10}))
	add("flv/FuzzAudioTag", "multichannel", cat([]byte{0x94}, []byte("Opus"), []byte{2, 2, 0, 1}))

	for target, m := range seeds {
		dir := seedDir(target)
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

// readMedia reads a codec configuration record from flv/testdata/media.
func readMedia(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("flv/testdata/media/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
