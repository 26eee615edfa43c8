package transcode

import (
	"math"
	"slices"
	"testing"
	"time"
)

// alignCase is a source and how its timestamps are cut.
type alignCase struct {
	name      string
	rate, ch  int
	cutAt     int   // access unit from which the timestamps are shifted
	shift     int64 // ms added to the timestamps from cutAt on
	speed     float64
	resyncs   int64
	wantBeeps int
}

// TestAlignment: ffmpeg-made AAC with a beep at 0.5 s into every second
// goes through the Transcoder; the Opus is decoded back by ffmpeg
// without a message; and every beep starts, on the output's timeline,
// within 80 ms of where it starts on the input's (the AAC decoded by
// ffmpeg, mapped through the input's timestamps), including after a gap
// and a backward jump of the input's timestamps. Within each stretch the
// packets are exactly 20 ms apart. The real-time case gives the latency
// figures.
func TestAlignment(t *testing.T) {
	for _, c := range []alignCase{
		{name: "44100-stereo-realtime", rate: 44100, ch: 2, speed: 1, wantBeeps: 4},
		{name: "48000-mono", rate: 48000, ch: 1, speed: 8, wantBeeps: 4},
		{name: "44100-gap", rate: 44100, ch: 2, cutAt: 86, shift: 1500, speed: 8, resyncs: 1, wantBeeps: 4},
		{name: "48000-backward", rate: 48000, ch: 2, cutAt: 94, shift: -1000, speed: 8, resyncs: 1, wantBeeps: 4},
	} {
		t.Run(c.name, func(t *testing.T) { testAlignment(t, c) })
	}
}

func testAlignment(t *testing.T, c alignCase) {
	src := makeAAC(t, beeps, c.rate, c.ch, 4)
	ref := decodeAAC(t, src)
	tc, out := newTranscoder(t, Config{})
	if err := tc.SetConfig(src.asc); err != nil {
		t.Fatal(err)
	}
	shifted := slices.Clone(src.aus)
	if c.cutAt > 0 {
		for i := c.cutAt; i < len(shifted); i++ {
			shifted[i].ms = uint32(int64(shifted[i].ms) + c.shift)
		}
	}
	feed(t, tc, shifted, 0, c.speed)
	// ffmpeg keeps the last few packets until more input comes.
	inMs := float64(len(src.aus)*frameSamples) * 1000 / float64(src.rate)
	pkts := out.waitFor(t, int(inMs/20)-4, 10*time.Second)
	st := tc.Stats()
	if st.Written != int64(len(src.aus)) || st.Rejected != 0 || st.Crashes != 0 || st.Resyncs != c.resyncs {
		t.Fatalf("stats %+v, want %d resyncs and every access unit written", st, c.resyncs)
	}
	if c.speed == 1 && st.Dropped != 0 { // faster, a loaded machine may fill the queue
		t.Fatalf("%d access units dropped in real time", st.Dropped)
	}
	checkSpacing(t, pkts, c.resyncs)
	pcm := decodeOpus(t, pkts, 0)

	// Where the beeps are on the input's timeline: the reference's
	// samples from the first access unit's timestamp, shifted after the
	// cut as the timestamps were.
	cutMs := math.Inf(1)
	if c.cutAt > 0 {
		cutMs = float64(c.cutAt*frameSamples) * 1000 / float64(src.rate)
	}
	var want []float64
	for _, i := range onsets(ref, 8000, 4800) {
		ms := float64(src.aus[0].ms) + float64(i)/48
		if ms >= cutMs {
			ms += float64(c.shift)
		}
		want = append(want, ms)
	}
	checkBeeps(t, pcm, pkts, 960, want, c.wantBeeps)
	if c.speed == 1 {
		logDelays(t, pkts)
	}
}

// checkBeeps finds the beeps in the decoded 48 kHz output pcm, whose
// packets pkts hold perPacket samples each, places each on the input's
// timeline through its packet's timestamp, and checks that there are
// wantBeeps of them, each within 80 ms of the input's (want, in ms).
func checkBeeps(t *testing.T, pcm []int16, pkts []Packet, perPacket int, want []float64, wantBeeps int) {
	t.Helper()
	var got []float64
	for _, i := range onsets(pcm, 8000, 4800) {
		p := pkts[i/perPacket]
		got = append(got, float64(int32(p.Timestamp))+float64(i%perPacket)/48)
	}
	if len(want) != wantBeeps || len(got) != len(want) {
		t.Fatalf("beeps at %.1f ms in the output, %.1f ms in the input, want %d", got, want, wantBeeps)
	}
	worst := 0.0
	for k := range want {
		d := got[k] - want[k]
		worst = max(worst, math.Abs(d))
		if math.Abs(d) > 80 {
			t.Errorf("beep %d at %.1f ms, %.1f ms from the input's %.1f", k, got[k], d, want[k])
		}
	}
	t.Logf("beeps at %.1f ms (input %.1f): worst offset %.1f ms", got, want, worst)
}

// checkSpacing checks that the packets' timestamps are exactly 20 ms
// apart, except at resyncs places.
func checkSpacing(t *testing.T, pkts []Packet, resyncs int64) {
	t.Helper()
	jumps := 0
	for i := 1; i < len(pkts); i++ {
		if pkts[i-1].Samples != 960 {
			t.Fatalf("packet %d: %d samples, want 960", i-1, pkts[i-1].Samples)
		}
		if d := int32(pkts[i].Timestamp - pkts[i-1].Timestamp); d != 20 {
			jumps++
			t.Logf("packet %d: timestamp %d ms after the last", i, d)
		}
	}
	if int64(jumps) != resyncs {
		t.Fatalf("%d timestamp jumps, want %d", jumps, resyncs)
	}
}

// logDelays logs the delays of the first packet (ffmpeg's start is in
// it) and the percentiles of the packets after the first second, and
// holds the median to the 20 ms Opus frame plus the AAC frame that
// completes it plus ffmpeg's own time.
func logDelays(t *testing.T, pkts []Packet) {
	var d []time.Duration
	var first time.Duration
	for i, p := range pkts {
		switch {
		case p.Delay > 0 && first == 0:
			first = p.Delay
		case i >= 50 && p.Delay > 0:
			d = append(d, p.Delay)
		}
	}
	slices.Sort(d)
	if len(d) == 0 {
		t.Fatal("no packet has a delay")
	}
	pct := func(q float64) time.Duration { return d[int(q*float64(len(d)-1))] }
	t.Logf("delay, write of a packet's first sample to its delivery: first packet %v (ffmpeg starting); "+
		"after 1 s (%d packets): p50 %v, p90 %v, p99 %v, max %v", first, len(d), pct(0.5), pct(0.9), pct(0.99), d[len(d)-1])
	if p50 := pct(0.5); p50 > 100*time.Millisecond {
		t.Errorf("median delay %v, want under 100 ms", p50)
	}
}
