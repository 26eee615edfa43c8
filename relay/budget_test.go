package relay

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"
	"unsafe"
)

const mib = 1 << 20

// heapInuse returns HeapInuse after a full collection.
func heapInuse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}

// bigVideo is a video frame with a payload of its own of n bytes, as the
// RTMP sink makes them.
func bigVideo(ts uint32, key bool, n int) Unit {
	b := make([]byte, n)
	b[0] = 0x27
	if key {
		b[0] = 0x17
	}
	return Unit{Type: Video, DTS: ts, Keyframe: key, Data: b}
}

// A subscriber that never reads, fed 4 MiB frames, pins no more than
// MaxQueueBytes, by the hub's accounting and by the heap; under Disconnect
// it is disconnected once its queue reaches MaxQueueBytes instead of
// QueueLen frames. Before the byte bound its queue held all 64 frames
// (+259 MiB of heap).
func TestStalledSubscriberBytesBounded(t *testing.T) {
	const (
		frame     = 4 * mib
		frames    = 64
		maxQueue  = 32 * mib
		heapSlack = 8 * mib
	)
	for name, policy := range map[string]Policy{"DropToKeyframe": DropToKeyframe, "Disconnect": Disconnect} {
		t.Run(name, func(t *testing.T) {
			base := heapInuse()
			h := NewHub(Config{MaxQueueBytes: maxQueue, SlowConsumer: policy})
			p, err := h.Publish("live/big")
			if err != nil {
				t.Fatal(err)
			}
			mustWrite(t, p, Unit{Type: Video, SequenceHeader: true, Data: []byte{0x17, 0}})
			sub, err := h.Subscribe("live/big")
			if err != nil {
				t.Fatal(err)
			}
			maxHeld, maxQueued, grown := int64(0), int64(0), int64(0)
			for i := 0; i < frames; i++ {
				mustWrite(t, p, bigVideo(uint32(i*40), i%16 == 0, frame))
				maxHeld = max(maxHeld, h.BufferedBytes())
				maxQueued = max(maxQueued, sub.QueuedBytes())
				grown = max(grown, heapInuse()-base)
				if policy == Disconnect && i == maxQueue/frame+1 && h.Subscribers("live/big") != 0 {
					t.Fatalf("still subscribed after %d frames of %d MiB", i+1, frame/mib)
				}
			}
			t.Logf("%d frames of %d MiB: queue held at most %d MiB, the hub %d MiB, heap +%d MiB; %d dropped",
				frames, frame/mib, maxQueued/mib, maxHeld/mib, grown/mib, sub.Dropped())
			if maxQueued > maxQueue {
				t.Errorf("queue held %d bytes, above MaxQueueBytes %d", maxQueued, maxQueue)
			}
			// The GOP cache holds the frames since the last keyframe
			// (up to MaxGOPBytes), shared with the queue.
			if bound := int64(maxQueue + DefaultMaxGOPBytes); maxHeld > bound {
				t.Errorf("hub held %d bytes, above %d", maxHeld, bound)
			}
			if bound := int64(maxQueue + DefaultMaxGOPBytes + heapSlack); grown > bound {
				t.Errorf("heap grew by %d bytes, above %d", grown, bound)
			}
			if policy == Disconnect {
				if _, err := sub.Read(context.Background()); !errors.Is(err, ErrSlowConsumer) {
					t.Errorf("read: %v, want ErrSlowConsumer", err)
				}
			} else if sub.Dropped() == 0 {
				t.Error("no drops counted")
			}
			p.Close()
			sub.Close()
			if n := h.BufferedBytes(); n != 0 {
				t.Errorf("%d bytes still counted after everything closed", n)
			}
		})
	}
}

// The zero Config bounds queues by DefaultMaxQueueBytes: 1 MiB frames
// overflow it long before DefaultQueueLen frames.
func TestDefaultMaxQueueBytes(t *testing.T) {
	var h Hub
	p, _ := h.Publish("live/d")
	mustWrite(t, p, bigVideo(0, true, mib))
	sub, _ := h.Subscribe("live/d")
	for i := 1; i < DefaultMaxQueueBytes/mib+16; i++ {
		mustWrite(t, p, bigVideo(uint32(i), false, mib))
		if n := sub.QueuedBytes(); n > DefaultMaxQueueBytes {
			t.Fatalf("queue holds %d bytes, above DefaultMaxQueueBytes", n)
		}
	}
	if sub.Dropped() == 0 {
		t.Error("nothing dropped: the byte bound did not apply")
	}
	p.Close()
	sub.Close()
}

// A frame larger than MaxQueueBytes still reaches a subscriber that keeps
// up: an empty queue always takes a frame.
func TestFrameAboveMaxQueueBytes(t *testing.T) {
	h := NewHub(Config{MaxQueueBytes: mib, MaxBytes: mib})
	p, _ := h.Publish("live/l")
	sub, _ := h.Subscribe("live/l")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := 0; i < 3; i++ {
		mustWrite(t, p, bigVideo(uint32(i), i == 0, 2*mib))
		f, err := sub.Read(ctx)
		if err != nil || f.DTS != uint32(i) {
			t.Fatalf("frame %d: %v, %v", i, f, err)
		}
	}
	if sub.Dropped() != 0 {
		t.Errorf("%d dropped", sub.Dropped())
	}
	p.Close()
	sub.Close()
}

// Many streams with long GOPs of large frames (16 streams x 15 x 1 MiB, the
// review's bomb scaled down) stay within the hub's budget: the GOP caches
// stop at half of MaxBytes. Live media still flows to a subscriber, and a
// late joiner of a stream whose GOP was not cached starts on the next
// keyframe. Before the budget, the caches held all 240 MiB.
func TestGOPCacheBomb(t *testing.T) {
	const (
		maxBytes  = 64 * mib
		streams   = 16
		gop       = 15
		heapSlack = 8 * mib
	)
	base := heapInuse()
	h := NewHub(Config{MaxBytes: maxBytes})
	pubs := make([]*Publisher, streams)
	var live *Subscriber
	maxHeld, grown := int64(0), int64(0)
	for s := range pubs {
		name := "bomb/" + strconv.Itoa(s)
		p, err := h.Publish(name)
		if err != nil {
			t.Fatalf("publish %d: %v", s, err)
		}
		pubs[s] = p
		if s == streams-1 {
			live, _ = h.Subscribe(name)
		}
		for i := 0; i < gop; i++ {
			mustWrite(t, p, bigVideo(uint32(i*40), i == 0, mib))
			maxHeld = max(maxHeld, h.BufferedBytes())
		}
		grown = max(grown, heapInuse()-base)
	}
	t.Logf("%d streams x %d x 1 MiB: hub held at most %d MiB, heap +%d MiB", streams, gop, maxHeld/mib, grown/mib)
	if maxHeld > maxBytes {
		t.Errorf("hub held %d bytes, above MaxBytes %d", maxHeld, maxBytes)
	}
	if bound := int64(maxBytes + heapSlack); grown > bound {
		t.Errorf("heap grew by %d bytes, above %d", grown, bound)
	}
	got, err := live.TryReadBatch(nil, 0)
	if err != nil || len(got) != gop {
		t.Errorf("live subscriber got %d of %d frames, %v", len(got), gop, err)
	}

	late, err := h.Subscribe("bomb/" + strconv.Itoa(streams-1))
	if err != nil {
		t.Fatal(err)
	}
	last := pubs[streams-1]
	mustWrite(t, last, bigVideo(gop*40, false, 1000))
	mustWrite(t, last, bigVideo(gop*40+40, true, 1000))
	if got, _ := late.TryReadBatch(nil, 0); len(got) != 1 || !got[0].Keyframe {
		t.Errorf("late joiner got %d frames, want the next keyframe", len(got))
	}
	for _, p := range pubs {
		p.Close()
	}
	live.Close()
	late.Close()
	if n := h.BufferedBytes(); n != 0 {
		t.Errorf("%d bytes still counted after everything closed", n)
	}
}

// When the hub reaches MaxBytes, subscribers with a backlog are treated as
// full (here: dropped to the next keyframe), while one that keeps up gets
// every frame.
func TestMaxBytesShedsBacklogs(t *testing.T) {
	const maxBytes = 16 * mib
	h := NewHub(Config{MaxBytes: maxBytes})
	var stalled []*Subscriber
	var pubs []*Publisher
	for s := 0; s < 4; s++ {
		p, _ := h.Publish("s" + strconv.Itoa(s))
		mustWrite(t, p, bigVideo(0, true, 100))
		sub, _ := h.Subscribe("s" + strconv.Itoa(s))
		pubs, stalled = append(pubs, p), append(stalled, sub)
	}
	reader, _ := h.Subscribe("s0")
	var got []*Frame
	maxHeld := int64(0)
	for i := 1; i < 40; i++ {
		for _, p := range pubs {
			mustWrite(t, p, bigVideo(uint32(i), false, mib))
			maxHeld = max(maxHeld, h.BufferedBytes())
			got, _ = reader.TryReadBatch(got, 0)
		}
	}
	if maxHeld > maxBytes+2*mib {
		t.Errorf("hub held %d bytes, above MaxBytes %d and a frame", maxHeld, maxBytes)
	}
	if len(got) != 40 {
		t.Errorf("the subscriber that keeps up got %d of 40 frames", len(got))
	}
	for i, sub := range stalled {
		if sub.Dropped() == 0 {
			t.Errorf("stalled subscriber %d: nothing dropped", i)
		}
	}
	for _, p := range pubs {
		p.Close()
	}
	for _, sub := range append(stalled, reader) {
		sub.Close()
	}
	if n := h.BufferedBytes(); n != 0 {
		t.Errorf("%d bytes still counted after everything closed", n)
	}
}

// frameOverhead covers a Frame and its ring slot.
func TestFrameOverhead(t *testing.T) {
	if n := unsafe.Sizeof(Frame{}) + unsafe.Sizeof((*Frame)(nil)); n > frameOverhead {
		t.Errorf("a Frame and its slot take %d bytes, frameOverhead is %d", n, frameOverhead)
	}
}

// Fan-out allocates nothing per subscriber: a published packet costs its
// Frame, however many subscribers queue and take it.
func TestFanOutAllocs(t *testing.T) {
	h := NewHub(Config{})
	p, _ := h.Publish("a")
	subs := make([]*Subscriber, 10)
	for i := range subs {
		subs[i], _ = h.Subscribe("a")
	}
	payload := make([]byte, 3000)
	buf := make([]*Frame, 0, 8)
	ts := uint32(0)
	allocs := testing.AllocsPerRun(1000, func() {
		_ = p.Write(Unit{Type: Video, DTS: ts, Keyframe: ts%25 == 0, Data: payload})
		ts++
		for _, s := range subs {
			buf, _ = s.TryReadBatch(buf[:0], 0)
			clear(buf)
		}
	})
	if allocs > 1 {
		t.Errorf("%v allocations per packet for 10 subscribers, want 1 (the Frame)", allocs)
	}
}

// An RTMP player takes at most playerBatchBytes at once (at least one
// frame): a stalled player then holds little outside the hub's accounting.
func TestPlayerBatchBytes(t *testing.T) {
	h := NewHub(Config{})
	p, _ := h.Publish("live/b")
	sub, _ := h.Subscribe("live/b")
	src := &rtmpSource{sub: sub, max: 64}
	const frame = 300 << 10
	for i := 0; i < 7; i++ {
		mustWrite(t, p, bigVideo(uint32(i), i == 0, frame))
	}
	mustWrite(t, p, bigVideo(7, false, 3*mib))
	var sizes []int
	for {
		m, err := src.TryReadMedia(nil)
		if err != nil || len(m) == 0 {
			break
		}
		sizes = append(sizes, len(m))
	}
	if want := []int{3, 3, 1, 1}; !slices.Equal(sizes, want) {
		t.Errorf("batches of %v frames, want %v", sizes, want)
	}
	p.Close()
	sub.Close()
}
