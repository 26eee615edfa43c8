package transcode

import (
	"bytes"
	"errors"
	"math"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/streamwire/streamwire/relay/internal/ffmpegtest"
)

// beepsMid is a lavfi source of 50 ms 1 kHz beeps at 0.5 s into every
// second, silence between: sharp onsets away from the stream's start,
// where an AAC decoder that starts on the frame after the priming fades
// in.
const beepsMid = "aevalsrc=if(between(mod(t\\,1)\\,0.5\\,0.55)\\,0.8*sin(2*PI*1000*t)\\,0):s=48000"

// makeOpus encodes lavfi audio with libopus (20 ms frames, ffmpeg's
// defaults otherwise, then args) into Ogg Opus, and returns its packets
// stamped as a WebRTC sender stamps them (RFC 7587 §4.1): each at its
// first sample as decoded, pre-skip included, in ms from 0. It returns
// the file too, for the reference decoding, and the pre-skip.
func makeOpus(t testing.TB, lavfi string, channels int, seconds float64, args ...string) (src source, path string, preSkip int) {
	t.Helper()
	path = tempPath(t, "src.opus")
	ffmpegtest.Run(t, append(append([]string{"-f", "lavfi", "-i", lavfi, "-t", strconv.FormatFloat(seconds, 'f', -1, 64),
		"-ar", "48000", "-ac", strconv.Itoa(channels), "-c:a", "libopus", "-frame_duration", "20"}, args...), "-y", "-f", "opus", path)...)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, pkts, err := readAll(b)
	if err != nil || len(pkts) == 0 {
		t.Fatalf("%s: %d packets, %v", path, len(pkts), err)
	}
	src.rate = 48000
	for _, p := range pkts {
		src.aus = append(src.aus, accessUnit{ms: uint32(p.start / 48), data: p.data})
	}
	return src, path, r.head.preSkip
}

// decodeADTS decodes the AAC packets (through our ADTS framing of
// their Config) with ffmpeg, failing on any message it writes, and
// returns the left channel at 48 kHz.
func decodeADTS(t testing.TB, pkts []Packet) []int16 {
	t.Helper()
	c, err := parseADTSConfig(pkts[0].Config)
	if err != nil {
		t.Fatal(err)
	}
	var b []byte
	for _, p := range pkts {
		b = append(appendADTS(b, &c, len(p.Data)), p.Data...)
	}
	path := tempPath(t, "out.aac")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return leftChannel(ffmpegtest.Run(t, "-f", "aac", "-i", path, "-f", "s16le", "-ac", "2", "-ar", "48000", "-"))
}

// newOpusToAAC makes an Opus→AAC Transcoder into a new sink, closed at
// the end of the test.
func newOpusToAAC(t testing.TB, cfg Config) (*Transcoder, *sink) {
	t.Helper()
	return newTranscoderWith(t, NewOpusToAAC, cfg)
}

// opusCase is an Opus source and what is done to its packets.
type opusCase struct {
	name      string
	channels  int
	args      []string // libopus options
	stereoAt  int      // from this packet on, the packets of a stereo encoding of the same audio
	cutAt     int      // packet from which the timestamps are shifted
	shift     int64    // ms added to the timestamps from cutAt on
	dropN     int      // packets dropped from cutAt on (a gap; DTX)
	speed     float64
	resyncs   int64
	wantBeeps int
}

// TestOpusToAACAlignment: libopus-made Opus (CELT and SILK, mono,
// stereo, and mono switching to stereo as a browser may) with a beep at
// 0.5 s into every second goes through the Transcoder; the AAC is
// decoded back by ffmpeg without a message; every beep starts, on the
// output's timeline, within 80 ms of where it starts on the input's (the
// Opus decoded by ffmpeg, mapped through the input's timestamps),
// including after a gap in the packets and a backward jump of their
// timestamps. The frames carry the 48 kHz stereo AAC-LC config, 1024
// samples each, 21-22 ms apart within a stretch. The real-time case
// gives the latency figures.
func TestOpusToAACAlignment(t *testing.T) {
	for _, c := range []opusCase{
		{name: "stereo-realtime", channels: 2, speed: 1, wantBeeps: 4},
		{name: "mono-silk", channels: 1, args: []string{"-application", "voip", "-b:a", "16k"}, speed: 8, wantBeeps: 4},
		{name: "mono-to-stereo", channels: 1, stereoAt: 100, speed: 8, wantBeeps: 4},
		{name: "gap", channels: 2, cutAt: 60, dropN: 50, speed: 8, resyncs: 1, wantBeeps: 3},
		{name: "backward", channels: 2, cutAt: 110, shift: -1000, speed: 8, resyncs: 1, wantBeeps: 4},
	} {
		t.Run(c.name, func(t *testing.T) { testOpusToAAC(t, c) })
	}
}

func testOpusToAAC(t *testing.T, c opusCase) {
	src, path, preSkip := makeOpus(t, beepsMid, c.channels, 4, c.args...)
	ref := leftChannel(ffmpegtest.Run(t, "-i", path, "-f", "s16le", "-ac", "2", "-ar", "48000", "-"))
	in := slices.Clone(src.aus)
	if c.stereoAt > 0 {
		stereo, _, skip2 := makeOpus(t, beepsMid, 2, 4, c.args...)
		if skip2 != preSkip || len(stereo.aus) != len(in) {
			t.Fatalf("stereo encoding: pre-skip %d, %d packets; mono %d, %d", skip2, len(stereo.aus), preSkip, len(in))
		}
		copy(in[c.stereoAt:], stereo.aus[c.stereoAt:])
	}
	// Where the beeps are on the input's timeline: the reference's
	// samples, pre-skip included, in ms; dropped or shifted as the
	// packets were.
	var want []float64
	for _, i := range onsets(ref, 8000, 4800) {
		ms := float64(i+preSkip) / 48
		k := int(ms) / 20 // the packet that holds it
		switch {
		case c.cutAt == 0 || k < c.cutAt:
		case k < c.cutAt+c.dropN:
			continue
		default:
			ms += float64(c.shift)
		}
		want = append(want, ms)
	}
	if c.cutAt > 0 {
		for i := c.cutAt; i < len(in); i++ {
			in[i].ms = uint32(int64(in[i].ms) + c.shift)
		}
		in = slices.Delete(in, c.cutAt, c.cutAt+c.dropN)
	}

	tc, out := newOpusToAAC(t, Config{})
	feed(t, tc, in, 0, c.speed)
	// ffmpeg keeps the last few frames until more input comes.
	pkts := out.waitFor(t, len(in)*960/1024-5, 10*time.Second)
	st := tc.Stats()
	if st.Written != int64(len(in)) || st.Rejected != 0 || st.Crashes != 0 || st.Resyncs != c.resyncs {
		t.Fatalf("stats %+v, want %d resyncs and every packet written", st, c.resyncs)
	}
	if c.speed == 1 && st.Dropped != 0 {
		t.Fatalf("%d packets dropped in real time", st.Dropped)
	}
	checkAACFrames(t, pkts, c.resyncs)
	if pkts[0].Timestamp != in[0].ms {
		t.Errorf("first frame at %d ms, want the first packet's %d (the priming frame is not delivered)", pkts[0].Timestamp, in[0].ms)
	}
	pcm := decodeADTS(t, pkts)
	if len(pcm) != len(pkts)*1024 {
		t.Errorf("%d samples decoded from %d frames", len(pcm), len(pkts))
	}
	checkBeeps(t, pcm, pkts, 1024, want, c.wantBeeps)
	if c.speed == 1 {
		logDelays(t, pkts)
	}
}

// checkAACFrames checks that every frame has 1024 samples and the
// output's config, and that their timestamps are 21 or 22 ms apart
// (1024 samples at 48 kHz, in whole ms) except at resyncs places.
func checkAACFrames(t *testing.T, pkts []Packet, resyncs int64) {
	t.Helper()
	jumps := 0
	for i, p := range pkts {
		if p.Samples != 1024 || !bytes.Equal(p.Config, AACConfig) || len(p.Data) == 0 {
			t.Fatalf("frame %d: %d samples, config % x, %d bytes", i, p.Samples, p.Config, len(p.Data))
		}
		if i == 0 {
			continue
		}
		if d := int32(p.Timestamp - pkts[i-1].Timestamp); d != 21 && d != 22 {
			jumps++
			t.Logf("frame %d: timestamp %d ms after the last", i, d)
		}
	}
	if int64(jumps) != resyncs {
		t.Fatalf("%d timestamp jumps, want %d", jumps, resyncs)
	}
}

// TestOpusToAACTone: a 440 Hz sine, Opus from libopus, comes out as AAC
// that ffmpeg decodes, without a message, into a 440 Hz sine (counted by
// its zero crossings) as long as the input less what ffmpeg holds back.
func TestOpusToAACTone(t *testing.T) {
	src, _, _ := makeOpus(t, "sine=frequency=440:sample_rate=48000", 2, 3)
	tc, out := newOpusToAAC(t, Config{AACBitrate: 96000})
	feed(t, tc, src.aus, 0, 0)
	inMs := len(src.aus) * 20
	pkts := out.waitFor(t, inMs*48/1024-5, 10*time.Second)
	pcm := decodeADTS(t, pkts)
	if ms := len(pcm) / 48; ms < inMs-120 || ms > inMs {
		t.Errorf("%d ms decoded from %d ms of Opus", ms, inMs)
	}
	mid := pcm[len(pcm)/4 : 3*len(pcm)/4] // away from the ends
	var crossings int
	var peak int16
	for i := 1; i < len(mid); i++ {
		if (mid[i-1] < 0) != (mid[i] < 0) {
			crossings++
		}
		peak = max(peak, mid[i])
	}
	hz := float64(crossings) / 2 / (float64(len(mid)) / 48000)
	if math.Abs(hz-440) > 5 || peak < 1000 {
		t.Fatalf("decoded tone of %.1f Hz, peak %d; want 440 Hz", hz, peak)
	}
	t.Logf("%d frames, %d ms decoded of %d ms in: %.1f Hz, peak %d", len(pkts), len(pcm)/48, inMs, hz, peak)
}

// TestOpusToAACWriteErrors: packets that are empty, have no frame count
// or are over 120 ms are refused with ErrBadPacket, those over
// MaxOpusPacket with ErrTooLarge, all counted; SetConfig has no use and
// says so.
func TestOpusToAACWriteErrors(t *testing.T) {
	tc, _ := newOpusToAAC(t, Config{})
	for _, c := range []struct {
		name string
		pkt  []byte
		want error
	}{
		{"empty", nil, ErrBadPacket},
		{"code 3 without a count", []byte{0xfb}, ErrBadPacket},
		{"6 x 60 ms", []byte{0x1b, 6}, ErrBadPacket},
		{"too large", append([]byte{0xfc}, make([]byte, MaxOpusPacket)...), ErrTooLarge},
	} {
		if err := tc.Write(0, c.pkt); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if err := tc.SetConfig([]byte{0x12, 0x10}); !errors.Is(err, ErrUnsupportedConfig) {
		t.Errorf("SetConfig: %v", err)
	}
	if err := tc.Write(0, []byte{0xfc, 1, 2}); err != nil {
		t.Fatalf("a 20 ms CELT packet: %v", err)
	}
	if st := tc.Stats(); st.Rejected != 4 || st.Written != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// The Ogg writer and the ADTS reader allocate nothing per packet or
// frame once warm.
func TestOpusToAACFramingAllocs(t *testing.T) {
	var w oggOpusWriter
	buf := make([]byte, 0, oggPageMax)
	pkt := bytes.Repeat([]byte{0xfc}, 300)
	if n := testing.AllocsPerRun(100, func() { buf = w.appendPacket(buf[:0], pkt, 960) }); n != 0 {
		t.Errorf("appendPacket: %.0f allocations", n)
	}
	c := adtsConfig{profile: 1, freqIndex: 3, channels: 2, rate: 48000}
	var stream []byte
	for range 110 { // AllocsPerRun runs once more than asked
		stream = append(appendADTS(stream, &c, 300), pkt...)
	}
	src := bytes.NewReader(stream)
	r := newADTSReader(src)
	if _, _, err := r.nextFrame(); err != nil { // warm: the config
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() {
		if _, _, err := r.nextFrame(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("nextFrame: %.0f allocations", n)
	}
}
