package peer

// Design note: RTCP carries wall clock time as NTP timestamps (RFC 3550
// §4): 32 bits of seconds since 1900 and 32 bits of fraction. Sender
// reports carry the full 64 bits; reception reports carry the middle 32
// bits (LSR, DLSR: 16.16 fixed point seconds), from which the sender
// computes the round-trip time (RFC 3550 §6.4.1). Both ends use their own
// wall clock, so a step of the local clock between an SR and its RR skews
// one RTT sample; the estimators clamp what they accept.

import "time"

// ntpEpochOffset is the number of seconds from 1900-01-01 (NTP era 0) to
// 1970-01-01 (Unix).
const ntpEpochOffset = 2208988800

// ntpTime returns t as a 64-bit NTP timestamp (RFC 5905 §6).
func ntpTime(t time.Time) uint64 {
	sec := uint64(t.Unix() + ntpEpochOffset) // wraps in 2036, as NTP era 1 does
	frac := (uint64(t.Nanosecond()) << 32) / 1e9
	return sec<<32 | frac
}

// ntpShort returns the middle 32 bits of t's NTP timestamp (RFC 3550 §4).
func ntpShort(t time.Time) uint32 { return uint32(ntpTime(t) >> 16) }

// ntpShortDuration converts d to 1/65536 s units, saturating at the 32-bit
// range (RFC 3550 §6.4.1 DLSR).
func ntpShortDuration(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	v := (uint64(d) << 16) / uint64(time.Second)
	if v > 0xFFFFFFFF {
		return 0xFFFFFFFF
	}
	return uint32(v)
}

// durationFromNTPShort converts 1/65536 s units to a duration.
func durationFromNTPShort(v uint32) time.Duration {
	return time.Duration((uint64(v) * uint64(time.Second)) >> 16)
}
