package interop

// Viewer groups (relay.WebRTCSubscriberConfig.GroupSize): pion/webrtc
// viewers of one stream first get the cached GOP on their own goroutine,
// then hand over to a group of the stream's viewers, whose goroutine
// sends each frame to all of them in batched writes. The hand-over must
// neither repeat nor lose a frame, and viewers must still leave, fail
// and end one by one.

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"
)

// TestRelayViewerGroups: with groups of two, four viewers joining at two
// moments make two groups; each viewer's packets have no repeated
// sequence number for two frames and no frame left out or repeated (RTP
// timestamps step by one frame interval). A viewer whose context ends, and one whose peer
// closes, leave at once while the others go on; the publisher's end ends
// the rest with nil.
func TestRelayViewerGroups(t *testing.T) {
	rig := newSlowRig(t)
	rig.groupSize = 2
	a, b, c := rig.viewer(t, "A", nil), rig.viewer(t, "B", nil), rig.viewer(t, "C", nil)
	rig.waitPackets(t, a, b, c)
	d := rig.viewer(t, "D", nil) // joins mid-GOP, from the cache
	rig.waitPackets(t, d)
	all := []*slowViewer{a, b, c, d}
	waitGrouped(t, all...)
	if n := rig.hub.Subscribers("live/slow"); n != 4 {
		t.Errorf("Subscribers = %d, want 4", n)
	}

	b.cancel()
	select {
	case <-b.ran:
		if !errors.Is(b.err, context.Canceled) {
			t.Errorf("B's Run = %v, want context.Canceled", b.err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("B's Run goes on after its context ended")
	}
	c.peer.Close()
	c.waitEnd(t, 5*time.Second)
	if c.err == nil {
		t.Error("C's Run = nil after its peer closed, want the write error")
	}
	if n := rig.hub.Subscribers("live/slow"); n != 2 {
		t.Errorf("Subscribers = %d after two left, want 2", n)
	}
	before := [2]int64{a.packets.Load(), d.packets.Load()}
	time.Sleep(time.Second)
	if a.packets.Load()-before[0] < 100 || d.packets.Load()-before[1] < 100 {
		t.Errorf("A and D got %d and %d packets in the second after B and C left",
			a.packets.Load()-before[0], d.packets.Load()-before[1])
	}

	rig.pub.stop()
	for _, v := range []*slowViewer{a, d} {
		v.waitRun(t, 5*time.Second)
		if v.err != nil {
			t.Errorf("%s's Run = %v after the publisher left, want nil", v.name, v.err)
		}
	}
	for _, v := range all {
		v.checkFrames(t)
	}
}

// waitGrouped waits until every viewer is sent to by a group.
func waitGrouped(t *testing.T, vs ...*slowViewer) {
	t.Helper()
	for _, v := range vs {
		for deadline := time.Now().Add(5 * time.Second); !v.w.Stats().Grouped; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("viewer %s is not in a group after 5 s", v.name)
			}
		}
	}
}

// waitRun waits until the viewer's Run has returned.
func (v *slowViewer) waitRun(t *testing.T, limit time.Duration) {
	t.Helper()
	select {
	case <-v.ran:
	case <-time.After(limit):
		t.Fatalf("viewer %s's Run goes on %v later", v.name, limit)
	}
}

// checkFrames: no sequence number came for two frames, and the RTP
// timestamps of consecutive sequence numbers step by at most one frame
// interval of the publisher's 30 frames a second (3,060 at 90 kHz) and
// never back. Sequence number order is the order we sent: pion may read
// packets out of it when its ICE agent moves to another local socket. A
// packet read twice for the same frame is a retransmission (pion NACKs
// what its socket dropped: 5 Mbit/s per viewer under -race), and
// packets lost leave gaps that are not checked.
func (v *slowViewer) checkFrames(t *testing.T) {
	t.Helper()
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.got) == 0 {
		t.Errorf("viewer %s read nothing", v.name)
		return
	}
	ts := make(map[int64]uint32, len(v.got)) // by extended sequence number
	ext, last := int64(0), v.got[0].seq
	for i, p := range v.got {
		ext += int64(int16(p.seq - last)) // reordering is far below 2^15
		last = p.seq
		if prev, dup := ts[ext]; dup && prev != p.ts {
			t.Errorf("viewer %s: sequence number %d read twice, for two frames (packet %d)", v.name, p.seq, i)
			return
		}
		ts[ext] = p.ts
	}
	seqs := slices.Sorted(maps.Keys(ts))
	frames, lost := 1, 0
	for i := 1; i < len(seqs); i++ {
		lost += int(seqs[i] - seqs[i-1] - 1)
		step := ts[seqs[i]] - ts[seqs[i-1]]
		if step == 0 {
			continue
		}
		frames++
		if step > 3060 && seqs[i] == seqs[i-1]+1 {
			t.Errorf("viewer %s: RTP timestamp steps by %d from sequence number %d: a frame was left out or repeated",
				v.name, int32(step), seqs[i-1])
			return
		}
	}
	t.Logf("viewer %s: %d packets (%d lost), %d frames, in order", v.name, len(seqs), lost, frames)
}
