package peer

import (
	"testing"
	"time"
)

func TestMonoClock(t *testing.T) {
	var c monoClock
	start := time.Now()
	m0 := c.at(start)
	if m0 != monotime(monoOriginLead) {
		t.Fatalf("first instant %v, want %v", time.Duration(m0), monoOriginLead)
	}
	later := start.Add(1500 * time.Millisecond)
	m1 := c.at(later)
	if m1.sub(m0) != 1500*time.Millisecond || !c.time(m1).Equal(later) {
		t.Fatalf("at(+1.5 s) = %v, back to %v", time.Duration(m1), c.time(m1))
	}
	if m := c.at(start.Add(-10 * time.Millisecond)); m != m0.add(-10*time.Millisecond) || m <= 0 {
		t.Fatalf("an instant before the first maps to %v", time.Duration(m))
	}
}
