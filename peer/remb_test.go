package peer

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// feedREMB sends a constant bitrate (bits/s) to e from ms to ms+dur in 10 ms
// steps.
func feedREMB(e *rembEstimator, bps float64, fromMs, durMs float64) {
	for ms := fromMs; ms < fromMs+durMs; ms += 10 {
		e.onPacket(int(bps/8/100), at(ms))
	}
}

func within(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

func TestREMBIncoming(t *testing.T) {
	e := newREMBEstimator(rembConfig{})
	if e.incoming(at(0)) != 0 {
		t.Fatal("incoming before any packet")
	}
	feedREMB(e, 1e6, 0, 2000)
	if r := e.incoming(at(1995)); !within(r, 1e6, 1e4) {
		t.Fatalf("incoming %.0f, want 1 Mbit/s", r)
	}
	feedREMB(e, 1e6, 2000, 300)
	if r := e.incoming(at(2999)); !within(r, 0.3e6, 1e4) { // 300 ms of the last second
		t.Fatalf("incoming %.0f after a pause, want 300 kbit/s", r)
	}
	if r := e.incoming(at(10000)); r != 0 {
		t.Fatalf("incoming %.0f after a long pause", r)
	}
	f := newREMBEstimator(rembConfig{})
	feedREMB(f, 2e6, 0, 300) // young stream: rate over its lifetime
	if r := f.incoming(at(295)); !within(r, 2e6, 1e5) {
		t.Fatalf("incoming %.0f over 300 ms, want 2 Mbit/s", r)
	}
}

func TestREMBUpdate(t *testing.T) {
	e := newREMBEstimator(rembConfig{})
	if e.estimate != rembStartBitrate {
		t.Fatalf("start %.0f", e.estimate)
	}
	feedREMB(e, 1e6, 0, 1000)
	e.update(0, at(1000)) // first update: no time has passed
	if e.estimate != 1e6 {
		t.Fatalf("first update moved the estimate to %.0f", e.estimate)
	}
	feedREMB(e, 1e6, 1000, 1000)
	if got := e.update(0.01, at(2000)); !within(got, 1.08e6, 1) {
		t.Fatalf("low loss: %.0f, want 1.08 Mbit/s", got)
	}
	feedREMB(e, 1e6, 2000, 1000)
	if got := e.update(0.05, at(3000)); !within(got, 1.08e6, 1) {
		t.Fatalf("moderate loss: %.0f, want unchanged", got)
	}
	feedREMB(e, 1e6, 3000, 1000)
	if got := e.update(0.2, at(4000)); !within(got, 0.9e6, 1e4) {
		t.Fatalf("high loss: %.0f, want min(A, incoming) * 0.9", got)
	}
	// Application-limited: 200 kbit/s in, the increase is capped at
	// 1.5 * 200k + 10k = 310k, which does not lower A.
	feedREMB(e, 0.2e6, 4000, 1000)
	before := e.estimate
	if got := e.update(0, at(5000)); got != before {
		t.Fatalf("app-limited: %.0f, want %.0f kept", got, before)
	}
	// A long gap counts as one second of growth.
	feedREMB(e, 2e6, 5000, 1000)
	feedREMB(e, 2e6, 60000, 1000)
	if got := e.update(0, at(61000)); !within(got, before*1.08, 1) {
		t.Fatalf("after a gap: %.0f, want %.0f", got, before*1.08)
	}
}

func TestREMBBounds(t *testing.T) {
	e := newREMBEstimator(rembConfig{Start: 5e6, Min: 100e3, Max: 2e6})
	if e.estimate != 2e6 {
		t.Fatalf("start %.0f, want clamped to max", e.estimate)
	}
	feedREMB(e, 10e3, 0, 1000)
	e.update(0, at(0))
	if got := e.update(1, at(1000)); got != 100e3 {
		t.Fatalf("total loss: %.0f, want the minimum", got)
	}
	feedREMB(e, 10e6, 1000, 5000)
	for s := 2; s < 60; s++ {
		e.update(0, at(float64(s)*1000))
		feedREMB(e, 10e6, float64(s)*1000, 1000)
	}
	if e.estimate != 2e6 {
		t.Fatalf("%.0f, want the maximum", e.estimate)
	}
	z := newREMBEstimator(rembConfig{Min: -5, Max: -1})
	if z.min != 1 || z.max != 1 {
		t.Fatalf("negative bounds gave [%v, %v]", z.min, z.max)
	}
}

func TestREMBPacket(t *testing.T) {
	e := newREMBEstimator(rembConfig{})
	if !e.due(at(0)) {
		t.Fatal("first REMB not due")
	}
	ssrcs := []uint32{0x1111, 0x2222}
	got, err := e.appendREMB([]byte{0xEE}, 0xABCD, ssrcs, at(0))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := rtcp.ReceiverEstimatedMaximumBitrate{SenderSSRC: 0xABCD, Bitrate: 1e6, SSRCs: ssrcs}.Marshal()
	if !bytes.Equal(got, append([]byte{0xEE}, want...)) {
		t.Fatalf("REMB %x, want ee%x", got, want)
	}
	pkts, err := rtcp.Unmarshal(got[1:])
	if err != nil {
		t.Fatal(err)
	}
	if p := pkts[0].(*rtcp.ReceiverEstimatedMaximumBitrate); !within(float64(p.Bitrate), 1e6, 8) || len(p.SSRCs) != 2 {
		t.Fatalf("decoded %+v", p)
	}
	if e.due(at(499)) || !e.due(at(500)) {
		t.Fatal("REMB interval")
	}
	feedREMB(e, 0.5e6, 0, 400)
	e.update(0.5, at(400))
	if !e.due(at(400)) {
		t.Fatal("a drop below 97 % is not due at once")
	}
	if _, err := e.appendREMB(nil, 1, make([]uint32, 256), at(400)); err == nil {
		t.Fatal("256 SSRCs accepted")
	}
}

func TestRemoteREMB(t *testing.T) {
	var r remoteREMB
	if _, ok := r.estimate(at(0)); ok {
		t.Fatal("estimate before any REMB")
	}
	r.onREMB(&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: 2.5e6, SSRCs: []uint32{1, 2, 3, 4, 5}}, at(0))
	if bps, ok := r.estimate(at(10000)); !ok || bps != 2.5e6 {
		t.Fatalf("estimate %v %v", bps, ok)
	}
	if _, ok := r.estimate(at(10001)); ok {
		t.Fatal("stale estimate")
	}
	if !r.covers(4) || r.covers(5) || r.covers(9) {
		t.Fatal("covers")
	}
}

func TestREMBNoAllocs(t *testing.T) {
	e := newREMBEstimator(rembConfig{})
	ms := 0.0
	assertNoAllocs(t, "onPacket", func() {
		ms += 3
		e.onPacket(1200, at(ms))
	})
	buf := make([]byte, 0, 64)
	ssrcs := []uint32{1}
	assertNoAllocs(t, "appendREMB", func() {
		buf, _ = e.appendREMB(buf[:0], 9, ssrcs, at(ms))
	})
}

func BenchmarkREMBOnPacket(b *testing.B) {
	e := newREMBEstimator(rembConfig{})
	now := at(0)
	b.ReportAllocs()
	for i := range b.N {
		if i%64 == 0 {
			now = now.add(10 * time.Millisecond)
		}
		e.onPacket(1200, now)
	}
}
