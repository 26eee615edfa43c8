package transcode

import (
	"sync"
	"time"
)

// timeline maps the positions of ffmpeg's output (48 kHz samples since
// the process started, which is the input's sample count resampled:
// neither ADTS nor the Ogg the package writes carries the input's
// timestamps) back to the input's millisecond timestamps and to the
// wall-clock times of the input's writes. It serves both directions:
// the input is AAC at its rate, or Opus at 48 kHz. It is one per
// process: the writer adds the access units or packets it writes, the
// reader looks up the packets it reads.
//
// The input's timestamps are trusted only as far as they agree with its
// sample count: within a segment, a position's time is the segment's
// first timestamp plus the samples since, so that consecutive 20 ms
// packets get timestamps exactly 20 ms apart whatever the rounding of the
// input's milliseconds. An access unit whose timestamp is off by more
// than the threshold from the one its predecessors predict (a gap in the
// input, a publisher that skipped or repeated audio, a timestamp jump)
// starts a new segment at its own timestamp: the output's timestamps
// jump with the input's, as the video's do, and no silence is made up.
type timeline struct {
	rate      int64  // the input's sample rate in Hz
	threshold uint32 // milliseconds

	mu      sync.Mutex
	samples int64       // input samples written so far, at rate
	segs    []segment   // in order; the first is the oldest still needed
	aus     [256]auMark // ring of the latest access units' write times
	first   int         // index in aus of the oldest
	n       int
	resyncs int64
}

// segment is a stretch of the input with continuous timestamps.
type segment struct {
	start int64  // 48 kHz position of its first sample
	ms    uint32 // the input timestamp of that sample
}

// auMark is when an access unit was handed to Write.
type auMark struct {
	start int64 // 48 kHz position of its first sample
	at    time.Time
}

func newTimeline(rate int, threshold time.Duration) *timeline {
	return &timeline{rate: int64(rate), threshold: uint32(threshold.Milliseconds())}
}

// pos48 is the 48 kHz position of input sample n: from the total, so that
// rounding does not add up.
func (t *timeline) pos48(n int64) int64 { return n * 48000 / t.rate }

// add records an access unit of samples samples with timestamp ms,
// handed to Write at at, as the next one written to ffmpeg. It reports
// whether it started a new segment after the first.
func (t *timeline) add(ms uint32, samples int, at time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.pos48(t.samples)
	t.samples += int64(samples)
	t.mark(p, at)
	if len(t.segs) > 0 {
		s := t.segs[len(t.segs)-1]
		want := s.ms + uint32((p-s.start)/48) // wraps with the input's 32-bit milliseconds
		if d := int32(ms - want); d <= int32(t.threshold) && d >= -int32(t.threshold) {
			return false
		}
		t.resyncs++
	}
	t.segs = append(t.segs, segment{start: p, ms: ms})
	return len(t.segs) > 1
}

// written is the 48 kHz position of the end of the input written so far.
func (t *timeline) written() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.pos48(t.samples)
}

// mark appends to the ring of write times, forgetting the oldest.
func (t *timeline) mark(p int64, at time.Time) {
	if t.n == len(t.aus) {
		t.first = (t.first + 1) % len(t.aus)
		t.n--
	}
	t.aus[(t.first+t.n)%len(t.aus)] = auMark{start: p, at: at}
	t.n++
}

// lookup returns the input timestamp of 48 kHz position p, which may be
// negative (the encoder's pre-skip comes before the first input sample),
// and when the access unit holding it was handed to Write (the zero Time
// if it is no longer known). Positions are looked up in increasing
// order: the segments and marks before p are forgotten.
func (t *timeline) lookup(p int64) (ms uint32, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(t.segs) > 1 && t.segs[1].start <= p {
		t.segs = t.segs[1:]
	}
	if len(t.segs) > 0 {
		s := t.segs[0]
		ms = s.ms + uint32(floorDiv(p-s.start, 48))
	}
	for t.n > 1 && t.aus[(t.first+1)%len(t.aus)].start <= p {
		t.first = (t.first + 1) % len(t.aus)
		t.n--
	}
	if t.n > 0 && t.aus[t.first].start <= p {
		at = t.aus[t.first].at
	}
	return ms, at
}

// floorDiv is a / b rounded down (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}
