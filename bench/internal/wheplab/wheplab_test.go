//go:build linux

package wheplab

import (
	"net/netip"
	"testing"
	"time"
)

func TestSeqCounter(t *testing.T) {
	for _, tc := range []struct {
		name               string
		seqs               []uint16
		received, expected uint64
	}{
		{"in order", []uint16{10, 11, 12, 13}, 4, 4},
		{"one gap", []uint16{10, 11, 13, 14}, 4, 5},
		{"wrap", []uint16{65534, 65535, 0, 1}, 4, 4},
		{"gap across the wrap", []uint16{65534, 0, 1}, 3, 4},
		{"reordered", []uint16{10, 12, 11, 13}, 4, 4},
		{"duplicate", []uint16{10, 11, 11, 12}, 4, 3},
		{"older than the first", []uint16{10, 9, 11}, 3, 2},
		{"half range ahead counts as older", []uint16{0, 1, 32769}, 3, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c seqCounter
			for _, s := range tc.seqs {
				c.add(s)
			}
			if r, e := c.received.Load(), c.expected.Load(); r != tc.received || e != tc.expected {
				t.Errorf("received %d expected %d, want %d and %d", r, e, tc.received, tc.expected)
			}
		})
	}
}

func TestSeqCounterLongRun(t *testing.T) {
	// Four wraps of the 16-bit sequence number with every 1000th packet
	// missing: the extended numbers keep counting.
	var c seqCounter
	const n = 4 << 16
	lost := 0
	for i := range n {
		if i%1000 == 500 {
			lost++
			continue
		}
		c.add(uint16(i + 40000))
	}
	if e, r := c.expected.Load(), c.received.Load(); e != n || r != uint64(n-lost) {
		t.Errorf("expected %d received %d, want %d and %d", e, r, n, n-lost)
	}
}

func TestBetween(t *testing.T) {
	t0 := time.Unix(100, 0)
	a := Snapshot{At: t0, Viewers: 3, Packets: 100, Expected: 100, Bytes: 1000, PerViewer: []uint64{30, 30, 40}}
	b := Snapshot{At: t0.Add(2 * time.Second), Viewers: 3, Packets: 390, Expected: 400, Bytes: 76000,
		PerViewer: []uint64{130, 120, 140}}
	w := Between(a, b)
	if w.Packets != 290 || w.Expected != 300 || w.Lost != 10 || w.Seconds != 2 {
		t.Fatalf("window %+v", w)
	}
	if w.MinViewerPackets != 90 || w.MedianViewerPackets != 100 {
		t.Errorf("per viewer min %d median %d, want 90 and 100", w.MinViewerPackets, w.MedianViewerPackets)
	}
	if got, want := w.LossRatio(), 10.0/300; got != want {
		t.Errorf("loss %v, want %v", got, want)
	}
	if got, want := w.KbpsPerViewer(), 75000*8/1000/2/3.0; got != want {
		t.Errorf("kbit/s per viewer %v, want %v", got, want)
	}
	if w := Between(b, b); w.LossRatio() != 0 || w.KbpsPerViewer() != 0 {
		t.Errorf("empty window: %+v", w)
	}
}

func TestAnswerCandidates(t *testing.T) {
	// pion's answer shape: the candidates in the rejected first m-section.
	answer := "v=0\r\nm=audio 0 UDP/TLS/RTP/SAVPF 0\r\n" +
		"a=candidate:2878742611 1 udp 2130706431 127.0.0.1 23478 typ host ufrag x generation 0\r\n" +
		"m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n"
	got, err := firstUDPCandidate(answerCandidates([]byte(answer)))
	if want := netip.MustParseAddrPort("127.0.0.1:23478"); err != nil || got != want {
		t.Errorf("got %v, %v; want %v", got, err, want)
	}
	for _, cands := range [][]string{
		nil,
		{"1 1 tcp 1518280447 127.0.0.1 3478 typ host tcptype passive"},
		{"1 1 udp 2130706431 ::1 3478 typ host"},
		{"1 1 udp 2130706431 127.0.0.1 port typ host"},
		{"1 1 udp"},
	} {
		if a, err := firstUDPCandidate(cands); err == nil {
			t.Errorf("%q: got %v, want an error", cands, a)
		}
	}
}
