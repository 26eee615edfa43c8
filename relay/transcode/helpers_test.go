package transcode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/streamwire/streamwire/relay/internal/ffmpegtest"
	"github.com/streamwire/streamwire/rtmp/flv"
)

// Every test ends with no goroutine of a Transcoder left: Close waits for
// all of them.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func tempPath(t testing.TB, name string) string { return filepath.Join(t.TempDir(), name) }

// accessUnit is an AAC frame of an FLV file.
type accessUnit struct {
	ms   uint32
	data []byte
}

// source is the AAC of an FLV file that ffmpeg made.
type source struct {
	asc  []byte
	aus  []accessUnit
	rate int
}

// makeAAC encodes lavfi audio (a filter graph such as "sine") with
// ffmpeg's AAC-LC encoder into an FLV file and returns its audio.
func makeAAC(t testing.TB, lavfi string, rate, channels int, seconds float64) source {
	t.Helper()
	path := tempPath(t, "src.flv")
	ffmpegtest.Run(t, "-f", "lavfi", "-i", lavfi, "-t", strconv.FormatFloat(seconds, 'f', -1, 64), "-ar", strconv.Itoa(rate), "-ac", strconv.Itoa(channels),
		"-c:a", "aac", "-b:a", "96k", "-y", "-f", "flv", path)
	return readFLVAudio(t, path)
}

// readFLVAudio reads the AAC sequence header and frames of an FLV file.
func readFLVAudio(t testing.TB, path string) source {
	t.Helper()
	var s source
	for _, tag := range ffmpegtest.ReadFLV(t, path) {
		if tag.Type != flv.TagAudio {
			continue
		}
		a, err := flv.ParseAudioTag(tag.Data)
		if err != nil || a.FourCC != flv.FourCCAAC {
			t.Fatalf("audio tag: %v, codec %v", err, a.FourCC)
		}
		if a.IsSequenceHeader() {
			s.asc = a.Data
			continue
		}
		s.aus = append(s.aus, accessUnit{ms: tag.Timestamp, data: a.Data})
	}
	c, err := flv.ParseAudioSpecificConfig(s.asc)
	if err != nil || len(s.aus) == 0 {
		t.Fatalf("%s: config %v, %d frames", path, err, len(s.aus))
	}
	s.rate = c.SampleRate
	return s
}

// sink collects a Transcoder's output.
type sink struct {
	mu   sync.Mutex
	pkts []Packet
	more chan struct{}
}

func newSink() *sink { return &sink{more: make(chan struct{}, 1)} }

func (s *sink) out(p Packet) {
	p.Data = bytes.Clone(p.Data)
	s.mu.Lock()
	s.pkts = append(s.pkts, p)
	s.mu.Unlock()
	select {
	case s.more <- struct{}{}:
	default:
	}
}

func (s *sink) packets() []Packet {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.pkts)
}

// waitFor waits until the sink holds n packets, at most d.
func (s *sink) waitFor(t testing.TB, n int, d time.Duration) []Packet {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		if p := s.packets(); len(p) >= n {
			return p
		}
		select {
		case <-s.more:
		case <-deadline.C:
			t.Fatalf("%d Opus packets after %v, want %d", len(s.packets()), d, n)
		}
	}
}

// newTranscoder makes an AAC→Opus Transcoder into a new sink, closed at
// the end of the test.
func newTranscoder(t testing.TB, cfg Config) (*Transcoder, *sink) {
	t.Helper()
	return newTranscoderWith(t, New, cfg)
}

// newTranscoderWith makes a Transcoder with New or NewOpusToAAC into a
// new sink, closed at the end of the test.
func newTranscoderWith(t testing.TB, ctor func(Config, func(Packet)) (*Transcoder, error), cfg Config) (*Transcoder, *sink) {
	t.Helper()
	ffmpegtest.Need(t)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(testLog{t}, nil))
	}
	s := newSink()
	tc, err := ctor(cfg, s.out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tc.Close() })
	return tc, s
}

// testLog writes a Transcoder's log into the test's (Close comes before
// the test ends: nothing is logged after).
type testLog struct{ t testing.TB }

func (w testLog) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// feed writes the access units, shifted by shift ms, paced at speed times
// real time (0: as fast as the queue takes them), waiting up to 10 s for
// room in the queue when it is full (a drop, which Stats count).
func feed(t testing.TB, tc *Transcoder, aus []accessUnit, shift uint32, speed float64) {
	t.Helper()
	start := time.Now()
	for i, au := range aus {
		if speed > 0 {
			due := time.Duration(float64(au.ms-aus[0].ms)*float64(time.Millisecond)/speed) - time.Since(start)
			time.Sleep(due)
		}
		for wait := time.Now(); ; {
			err := tc.Write(au.ms+shift, au.data)
			if err == nil {
				break
			}
			if !errors.Is(err, ErrQueueFull) || time.Since(wait) > 10*time.Second {
				t.Fatalf("access unit %d: %v", i, err)
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// appendOggOpus appends an Ogg Opus file (RFC 7845) of the packets, one
// per page, with the given pre-skip: what a recorder of the output would
// write.
func appendOggOpus(b []byte, pkts []Packet, preSkip int) []byte {
	head := []byte("OpusHead\x01\x02\x00\x00\x80\xbb\x00\x00\x00\x00\x00")
	binary.LittleEndian.PutUint16(head[10:], uint16(preSkip))
	tags := []byte("OpusTags\x04\x00\x00\x00test\x00\x00\x00\x00")
	b = appendOggPage(b, 0x02, 0, 0, head)
	b = appendOggPage(b, 0, 0, 1, tags)
	var g int64
	for i, p := range pkts {
		g += int64(p.Samples)
		typ := byte(0)
		if i == len(pkts)-1 {
			typ = 0x04
		}
		b = appendOggPage(b, typ, g, uint32(i+2), p.Data)
	}
	return b
}

// appendOggPage appends one page holding one whole packet.
func appendOggPage(b []byte, typ byte, granule int64, seq uint32, pkt []byte) []byte {
	start := len(b)
	b = append(b, "OggS\x00"...)
	b = append(b, typ)
	b = binary.LittleEndian.AppendUint64(b, uint64(granule))
	b = binary.LittleEndian.AppendUint32(b, 0x5157) // serial
	b = binary.LittleEndian.AppendUint32(b, seq)
	b = append(b, 0, 0, 0, 0) // checksum, set below
	var lacing []byte
	n := len(pkt)
	for ; n >= 255; n -= 255 {
		lacing = append(lacing, 255)
	}
	lacing = append(lacing, byte(n))
	b = append(b, byte(len(lacing)))
	b = append(b, lacing...)
	b = append(b, pkt...)
	binary.LittleEndian.PutUint32(b[start+22:], oggChecksum(0, b[start:]))
	return b
}

// decodeOpus decodes packets with ffmpeg, failing on any message it
// writes, and returns the left channel at 48 kHz, pre-skip dropped.
func decodeOpus(t testing.TB, pkts []Packet, preSkip int) []int16 {
	t.Helper()
	path := tempPath(t, "out.opus")
	if err := os.WriteFile(path, appendOggOpus(nil, pkts, preSkip), 0o644); err != nil {
		t.Fatal(err)
	}
	return leftChannel(ffmpegtest.Run(t, "-i", path, "-f", "s16le", "-ac", "2", "-ar", "48000", "-"))
}

// decodeAAC decodes the source's frames (through our ADTS framing) with
// ffmpeg at 48 kHz: the reference that the Opus output is held to.
func decodeAAC(t testing.TB, s source) []int16 {
	t.Helper()
	c, err := parseADTSConfig(s.asc)
	if err != nil {
		t.Fatal(err)
	}
	var b []byte
	for _, au := range s.aus {
		b = append(appendADTS(b, &c, len(au.data)), au.data...)
	}
	path := tempPath(t, "src.aac")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return leftChannel(ffmpegtest.Run(t, "-f", "aac", "-i", path, "-f", "s16le", "-ac", "2", "-ar", "48000", "-"))
}

func leftChannel(pcm []byte) []int16 {
	out := make([]int16, len(pcm)/4)
	for i := range out {
		out[i] = int16(binary.LittleEndian.Uint16(pcm[4*i:]))
	}
	return out
}

// onsets returns the sample indices where the signal's magnitude first
// rises above level after at least gap samples below it: the starts of
// the beeps of a beep track.
func onsets(pcm []int16, level int16, gap int) []int {
	var out []int
	quiet := gap
	for i, v := range pcm {
		if v > level || v < -level {
			if quiet >= gap {
				out = append(out, i)
			}
			quiet = 0
			continue
		}
		quiet++
	}
	return out
}

// beeps is a lavfi source of 50 ms 1 kHz beeps at the start of every
// second, silence between: sharp onsets to find in decoded audio.
const beeps = "aevalsrc=if(lt(mod(t\\,1)\\,0.05)\\,0.8*sin(2*PI*1000*t)\\,0):s=48000"

// dirCase is one direction of a Transcoder with a source for it, for
// the tests of what both directions share (process supervision).
type dirCase struct {
	name string
	ctor func(Config, func(Packet)) (*Transcoder, error)
	src  source // asc is nil for Opus input
	// unitSamples and outSamples are the samples of an input unit (at
	// src.rate) and of an output packet (at 48 kHz).
	unitSamples, outSamples int
	// spacing checks the output's timestamps, with so many jumps.
	spacing func(*testing.T, []Packet, int64)
}

// directions returns both directions, each with seconds of a sine: AAC
// (44.1 kHz stereo, ffmpeg's encoder) to Opus, and Opus (48 kHz stereo,
// libopus) to AAC.
func directions(t *testing.T, seconds float64) []dirCase {
	opus, _, _ := makeOpus(t, "sine", 2, seconds)
	return []dirCase{
		{name: "aac-opus", ctor: New, src: makeAAC(t, "sine", 44100, 2, seconds), unitSamples: frameSamples, outSamples: 960, spacing: checkSpacing},
		{name: "opus-aac", ctor: NewOpusToAAC, src: opus, unitSamples: 960, outSamples: 1024, spacing: checkAACFrames},
	}
}

// start makes the Transcoder, closed at the end of the test, and gives
// it the source's config if it has one.
func (d dirCase) start(t *testing.T, cfg Config) (*Transcoder, *sink) {
	t.Helper()
	tc, out := newTranscoderWith(t, d.ctor, cfg)
	if d.src.asc != nil {
		if err := tc.SetConfig(d.src.asc); err != nil {
			t.Fatal(err)
		}
	}
	return tc, out
}

// packets is how many output packets n input units make.
func (d dirCase) packets(n int) int {
	return n * d.unitSamples * 48000 / d.src.rate / d.outSamples
}
