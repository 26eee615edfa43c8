package wsconn

import "time"

// RateLimit is a token bucket of messages: Rate a second sustained, Burst
// at once. Its zero value allows nothing; make one with NewRateLimit. It
// is not safe for concurrent use: the read loop owns it.
type RateLimit struct {
	rate, burst, tokens float64
	last                time.Time
}

// NewRateLimit returns a full bucket of burst tokens refilled at rate a
// second.
func NewRateLimit(rate, burst int) RateLimit {
	return RateLimit{rate: float64(rate), burst: float64(burst), tokens: float64(burst)}
}

// Allow spends a token if one is left at now, on whatever clock the
// caller keeps (it only compares times it is given).
func (b *RateLimit) Allow(now time.Time) bool {
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+b.rate*now.Sub(b.last).Seconds())
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
