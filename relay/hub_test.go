package relay

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"
)

func video(ts uint32, key bool) Unit {
	return Unit{Type: Video, DTS: ts, Keyframe: key, Data: []byte{byte(ts)}}
}

func audio(ts uint32) Unit { return Unit{Type: Audio, DTS: ts, Data: []byte{0xaf, 1}} }

func readAll(t *testing.T, sub *Subscriber) []*Frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out []*Frame
	for {
		b, err := sub.ReadBatch(ctx, nil, 0)
		out = append(out, b...)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("read: %v", err)
		}
	}
}

func mustWrite(t *testing.T, p *Publisher, u Unit) {
	t.Helper()
	if err := p.Write(u); err != nil {
		t.Fatal(err)
	}
}

func TestLateJoinerStartsOnKeyframe(t *testing.T) {
	h := NewHub(Config{})
	p, err := h.Publish("live/a")
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, p, Unit{Type: Data, Data: []byte("meta")})
	mustWrite(t, p, Unit{Type: Video, SequenceHeader: true, Keyframe: true, Data: []byte{0x17, 0}})
	mustWrite(t, p, Unit{Type: Audio, SequenceHeader: true, Data: []byte{0xaf, 0}})
	mustWrite(t, p, video(0, true))
	mustWrite(t, p, audio(10))
	mustWrite(t, p, video(40, false))
	mustWrite(t, p, video(80, true)) // new GOP
	mustWrite(t, p, audio(90))
	mustWrite(t, p, video(120, false))

	sub, err := h.Subscribe("live/a")
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, p, video(160, false))
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, sub)
	want := []struct {
		typ Type
		ts  uint32
		seq bool
	}{{Data, 0, false}, {Video, 0, true}, {Audio, 0, true}, {Video, 80, false}, {Audio, 90, false}, {Video, 120, false}, {Video, 160, false}}
	if len(got) != len(want) {
		t.Fatalf("got %d frames, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].Type != w.typ || got[i].DTS != w.ts || got[i].SequenceHeader != w.seq {
			t.Errorf("frame %d = %v@%d seq=%v, want %v@%d seq=%v", i, got[i].Type, got[i].DTS, got[i].SequenceHeader, w.typ, w.ts, w.seq)
		}
	}
	if got[3].Keyframe != true {
		t.Error("first media frame is not a keyframe")
	}
	if _, err := sub.Read(context.Background()); err != io.EOF {
		t.Errorf("read after EOF: %v", err)
	}
}

func TestNamesAndErrors(t *testing.T) {
	h := NewHub(Config{MaxNameLen: 8})
	if _, err := h.Subscribe("x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("subscribe missing: %v", err)
	}
	if _, err := h.Publish(""); !errors.Is(err, ErrBadName) {
		t.Errorf("empty name: %v", err)
	}
	if _, err := h.Publish("123456789"); !errors.Is(err, ErrBadName) {
		t.Errorf("long name: %v", err)
	}
	p, err := h.Publish("x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Publish("x"); !errors.Is(err, ErrStreamBusy) {
		t.Errorf("second publisher: %v", err)
	}
	if got := h.Streams(); len(got) != 1 || got[0] != "x" {
		t.Errorf("Streams = %v", got)
	}
	s, _ := h.Subscribe("x")
	if h.Subscribers("x") != 1 {
		t.Errorf("Subscribers = %d", h.Subscribers("x"))
	}
	s.Close()
	if h.Subscribers("x") != 0 {
		t.Errorf("Subscribers after close = %d", h.Subscribers("x"))
	}
	if _, err := s.Read(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("read after close: %v", err)
	}
	p.Close()
	p.Close()
	if err := p.Write(audio(1)); !errors.Is(err, ErrClosed) {
		t.Errorf("write after close: %v", err)
	}
	if _, err := h.Publish("x"); err != nil {
		t.Errorf("republish after close: %v", err)
	}
}

func TestSlowConsumerDropsToKeyframe(t *testing.T) {
	h := NewHub(Config{QueueLen: 4})
	p, _ := h.Publish("s")
	mustWrite(t, p, Unit{Type: Video, SequenceHeader: true, Data: []byte{0x17, 0}})
	sub, _ := h.Subscribe("s") // no GOP yet: waits for a keyframe
	mustWrite(t, p, video(0, false))
	mustWrite(t, p, video(40, true))
	for ts := uint32(80); ts < 400; ts += 40 { // overflows the queue of 4
		mustWrite(t, p, video(ts, false))
	}
	mustWrite(t, p, Unit{Type: Video, SequenceHeader: true, Data: []byte{0x17, 0}}) // passes while skipping
	mustWrite(t, p, video(400, false))
	mustWrite(t, p, video(440, true))
	mustWrite(t, p, video(480, false))
	p.Close()
	got := readAll(t, sub)
	if len(got) != 4 || !got[0].SequenceHeader || !got[1].SequenceHeader || got[2].DTS != 440 || !got[2].Keyframe || got[3].DTS != 480 {
		for _, f := range got {
			t.Logf("%v@%d key=%v seq=%v", f.Type, f.DTS, f.Keyframe, f.SequenceHeader)
		}
		t.Fatalf("unexpected frames after overflow")
	}
	if sub.Dropped() == 0 {
		t.Error("no drops counted")
	}
}

func TestSlowConsumerDisconnect(t *testing.T) {
	h := NewHub(Config{QueueLen: 4, SlowConsumer: Disconnect})
	p, _ := h.Publish("s")
	mustWrite(t, p, video(0, true))
	sub, _ := h.Subscribe("s")
	for ts := uint32(40); ts < 400; ts += 40 {
		mustWrite(t, p, video(ts, false))
	}
	if _, err := sub.Read(context.Background()); !errors.Is(err, ErrSlowConsumer) {
		t.Fatalf("read: %v", err)
	}
	if n := h.Subscribers("s"); n != 0 {
		t.Errorf("slow subscriber still attached (%d)", n)
	}
}

func TestGOPCacheBounded(t *testing.T) {
	h := NewHub(Config{MaxGOPPackets: 3})
	p, _ := h.Publish("g")
	mustWrite(t, p, video(0, true))
	for ts := uint32(40); ts < 400; ts += 40 {
		mustWrite(t, p, video(ts, false))
	}
	sub, _ := h.Subscribe("g")
	mustWrite(t, p, video(400, false)) // skipped: no keyframe yet
	mustWrite(t, p, audio(410))        // skipped too
	mustWrite(t, p, video(440, true))
	p.Close()
	got := readAll(t, sub)
	if len(got) != 1 || got[0].DTS != 440 {
		t.Fatalf("got %d frames, first ts %v", len(got), got)
	}
}

func TestReadContextCancel(t *testing.T) {
	h := NewHub(Config{})
	p, _ := h.Publish("c")
	defer p.Close()
	sub, _ := h.Subscribe("c")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := sub.Read(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("read: %v", err)
	}
}

// A frame's encodings are computed once and shared: concurrent first
// uses agree, and later ones return the same bytes.
func TestEncodingsMemoized(t *testing.T) {
	f := &Frame{Unit: Unit{Type: Video, Codec: H264, Keyframe: true, DTS: 40, CTS: 80, Data: []byte{0, 0, 0, 1, 0x65}}}
	want := []byte{0x17, 1, 0, 0, 80, 0, 0, 0, 1, 0x65}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got := f.FLVTag(); !bytes.Equal(got, want) {
				t.Errorf("FLVTag = %x, want %x", got, want)
			}
			_ = f.RTMPChunks()
			_ = f.rtpEncoding()
		}()
	}
	wg.Wait()
	tag, chunks, rf := f.FLVTag(), f.RTMPChunks(), f.rtpEncoding()
	for i := 0; i < 10; i++ {
		if &f.FLVTag()[0] != &tag[0] || &f.RTMPChunks()[0] != &chunks[0] || f.rtpEncoding() != rf {
			t.Fatal("encoding not memoized")
		}
	}
}

// TestConcurrentFanOut runs a publisher against subscribers that join, read and
// leave concurrently; run with -race. Every subscriber that stays must see
// strictly increasing timestamps starting on a keyframe.
func TestConcurrentFanOut(t *testing.T) {
	h := NewHub(Config{QueueLen: 64})
	p, _ := h.Publish("r")
	mustWrite(t, p, Unit{Type: Video, SequenceHeader: true, Data: []byte{0x17, 0}})
	mustWrite(t, p, video(0, true))
	var wg sync.WaitGroup
	errc := make(chan error, 100)
	for i := 0; i < 16; i++ {
		var early *Subscriber
		if i%2 == 0 {
			early, _ = h.Subscribe("r")
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sub := early
			if sub == nil {
				var err error
				if sub, err = h.Subscribe("r"); errors.Is(err, ErrNotFound) {
					return // the publisher already left
				} else if err != nil {
					errc <- err
					return
				}
			}
			defer sub.Close()
			ctx := context.Background()
			var last int64 = -1
			sawMedia := false
			for n := 0; ; n++ {
				if i%4 == 0 && n == 50 {
					return // leave early
				}
				f, err := sub.Read(ctx)
				if err == io.EOF {
					return
				}
				if err != nil {
					errc <- err
					return
				}
				if f.SequenceHeader {
					continue
				}
				if !sawMedia && !f.Keyframe {
					errc <- errors.New("first media frame is not a keyframe")
					return
				}
				sawMedia = true
				if int64(f.DTS) <= last {
					errc <- errors.New("timestamps not increasing")
					return
				}
				last = int64(f.DTS)
			}
		}(i)
	}
	for ts := uint32(1); ts < 3000; ts++ {
		mustWrite(t, p, video(ts, ts%25 == 0))
	}
	p.Close()
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if n := h.BufferedBytes(); n != 0 {
		t.Errorf("%d bytes still counted after every subscriber left", n)
	}
}

func BenchmarkFanOut100(b *testing.B) {
	h := NewHub(Config{})
	p, _ := h.Publish("b")
	subs := make([]*Subscriber, 100)
	for i := range subs {
		subs[i], _ = h.Subscribe("b")
	}
	payload := make([]byte, 3000)
	b.ReportAllocs()
	b.ResetTimer()
	buf := make([]*Frame, 0, 8)
	for i := 0; i < b.N; i++ {
		_ = p.Write(Unit{Type: Video, DTS: uint32(i), Keyframe: i%25 == 0, Data: payload})
		for _, s := range subs {
			buf, _ = s.ReadBatch(context.Background(), buf[:0], 0)
		}
	}
}

// TestQueueGrowsToQueueLen checks that a subscriber's ring, which starts
// smaller than QueueLen, grows with the frames in order (also when its head
// has wrapped) and still overflows at exactly QueueLen frames.
func TestQueueGrowsToQueueLen(t *testing.T) {
	const queueLen = 3*initialQueue + 7
	h := NewHub(Config{QueueLen: queueLen, SlowConsumer: Disconnect})
	p, _ := h.Publish("s")
	mustWrite(t, p, video(0, true))
	sub, _ := h.Subscribe("s") // the GOP: one frame queued
	ctx := context.Background()
	ts := uint32(1)
	// Move the head, then fill the queue up to QueueLen frames.
	for i := 0; i < initialQueue/2; i++ {
		mustWrite(t, p, video(ts, false))
		ts++
	}
	got, err := sub.ReadBatch(ctx, nil, initialQueue/2)
	if err != nil || len(got) != initialQueue/2 || got[0].DTS != 0 {
		t.Fatalf("first batch: %d frames, %v", len(got), err)
	}
	next := got[len(got)-1].DTS + 1
	for sub.Ready() && h.Subscribers("s") == 1 {
		if queued := int(ts - next); queued == queueLen {
			break
		}
		mustWrite(t, p, video(ts, false))
		ts++
	}
	got, err = sub.ReadBatch(ctx, nil, 0)
	if err != nil || len(got) != queueLen {
		t.Fatalf("full queue: %d frames, %v; want %d", len(got), err, queueLen)
	}
	for _, f := range got {
		if f.DTS != next {
			t.Fatalf("frame %d after %d: order lost while growing", f.DTS, next-1)
		}
		next++
	}
	// QueueLen frames fit; one more disconnects the Disconnect policy.
	for i := 0; i <= queueLen; i++ {
		mustWrite(t, p, video(ts, false))
		ts++
	}
	if _, err := sub.ReadBatch(ctx, nil, 0); !errors.Is(err, ErrSlowConsumer) {
		t.Fatalf("after QueueLen+1 frames: %v, want ErrSlowConsumer", err)
	}
}

// A late joiner gets a cached GOP longer than the ring it starts with,
// whole and in order: the ring grows while the GOP is queued.
func TestLongGOPToLateJoiner(t *testing.T) {
	h := NewHub(Config{})
	p, _ := h.Publish("g")
	const n = 3*initialQueue + 5
	for ts := uint32(0); ts < n; ts++ {
		mustWrite(t, p, video(ts, ts == 0))
	}
	sub, _ := h.Subscribe("g")
	p.Close()
	got := readAll(t, sub)
	if len(got) != n {
		t.Fatalf("late joiner got %d of the GOP's %d frames", len(got), n)
	}
	for i, f := range got {
		if f.DTS != uint32(i) {
			t.Fatalf("frame %d has timestamp %d", i, f.DTS)
		}
	}
}
