package peer

import (
	"testing"
	"time"
)

func TestNTPTime(t *testing.T) {
	for _, c := range []struct {
		t    time.Time
		want uint64
	}{
		{time.Unix(0, 0), 2208988800 << 32},
		{time.Unix(0, 500_000_000), 2208988800<<32 | 1<<31},
		{time.Unix(1_700_000_000, 250_000_000), (1_700_000_000+2208988800)<<32 | 1<<30},
		{time.Unix(2085978496, 0), 0}, // 2036-02-07: NTP era 1 starts
	} {
		if got := ntpTime(c.t); got != c.want {
			t.Errorf("ntpTime(%v) = %#x, want %#x", c.t.UTC(), got, c.want)
		}
	}
	if got := ntpShort(time.Unix(0, 500_000_000)); got != uint32((2208988800<<16|0x8000)&0xFFFFFFFF) {
		t.Errorf("ntpShort = %#x", got)
	}
}

func TestNTPShortDuration(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want uint32
	}{
		{-time.Second, 0},
		{0, 0},
		{time.Second, 65536},
		{1500 * time.Millisecond, 98304},
		{100000 * time.Second, 0xFFFFFFFF}, // saturates beyond 65,536 s
	} {
		if got := ntpShortDuration(c.d); got != c.want {
			t.Errorf("ntpShortDuration(%v) = %d, want %d", c.d, got, c.want)
		}
	}
	if d := durationFromNTPShort(98304); d != 1500*time.Millisecond {
		t.Errorf("durationFromNTPShort(98304) = %v", d)
	}
}
