package ice

import (
	"testing"
)

func TestSortForAnswer(t *testing.T) {
	lines := []string{
		"candidate:1 1 tcp 2128609279 192.0.2.10 8443 typ host tcptype passive", // highest priority, but TCP
		"candidate:2 1 udp 2113937151 abcd.local 5000 typ host",                 // UDP host, but a name
		"candidate:3 1 udp 1694498815 203.0.113.1 8443 typ srflx raddr 192.0.2.10 rport 8443",
		"candidate:4 1 udp 2122252543 2001:db8::10 8443 typ host",
		"candidate:5 1 udp 2130706431 192.0.2.10 8443 typ host",
		"candidate:6 1 udp 16777215 198.51.100.1 3478 typ relay raddr 203.0.113.1 rport 8443",
		"candidate:7 1 udp 2122252543 2001:db8::11 8443 typ host", // ties with 4: keeps its place
	}
	cands := make([]Candidate, len(lines))
	for i, l := range lines {
		cands[i] = mustParse(t, l)
	}
	SortForAnswer(cands)
	want := []string{"5", "4", "7", "1", "2", "3", "6"}
	for i, c := range cands {
		if c.Foundation != want[i] {
			t.Fatalf("position %d: foundation %s, want order %v", i, c.Foundation, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { SortForAnswer(cands) }); n != 0 {
		t.Errorf("SortForAnswer: %v allocs", n)
	}
	SortForAnswer(nil) // no candidates: nothing to do, no panic
}
