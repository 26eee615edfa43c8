package peer

// Design note: REMB (draft-alvestrand-rmcat-remb-03), for a publisher that
// negotiated goog-remb but not transport-cc, and the incoming REMB of a
// viewer.
//
// rembEstimator is a receiver-side estimate built from what this side can
// see without a delay-based detector: the incoming bitrate (bytes over the
// last second, in ten 100 ms buckets) and the fraction lost from our
// receiver statistics. It is the loss-based controller of GCC
// (draft-ietf-rmcat-gcc-02 §6), run on the receiver:
//   - loss above 10 %: A = min(A, incoming) * (1 - 0.5 * loss);
//   - loss below 2 %: A grows by 8 % per second (libwebrtc's loss-based
//     increase; GCC's 5 % per report is slower than Chrome's own ramp,
//     and REMB would then be what holds the sender back);
//   - in between: A holds.
// An increase never takes A above 1.5 * incoming + 10 kbit/s (libwebrtc's
// AimdRateControl bound), so that an application-limited sender (a still
// scene) does not leave A far above anything the path has carried; an
// existing A is not lowered by that bound. A starts at startBitrate and
// stays within [minBitrate, maxBitrate].
//
// Chrome trusts a REMB above its own estimate during its first 2 s if no
// loss was reported (SendSideBandwidthEstimation's start phase), so the
// first REMB is due with the first packet: that is what lets a REMB-only
// publisher start near startBitrate instead of crawling up from 300
// kbit/s. After that REMB is due every rembInterval, or at once when A
// drops below 97 % of the last value sent (libwebrtc's PacketRouter rule).
//
// remoteREMB is the sending side: the last REMB a viewer sent about our
// SSRCs, exposed as the estimate.

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/pion/rtcp"
)

const (
	rembBucket       = 100 * time.Millisecond
	rembBuckets      = 10 // one second of incoming bytes
	rembInterval     = 500 * time.Millisecond
	rembDropResend   = 0.97
	rembLossHigh     = 0.10
	rembLossLow      = 0.02
	rembIncrease     = 1.08 // per second
	rembMaxStep      = time.Second
	rembCapRatio     = 1.5
	rembCapSlack     = 10_000
	rembStartBitrate = 1_000_000
	rembMinBitrate   = 30_000
	rembMaxBitrate   = 10_000_000
	// rembMaxAge is how long a viewer's REMB stays the estimate.
	rembMaxAge = 10 * time.Second
)

// rembConfig bounds a rembEstimator, in bits per second; zero fields take
// the defaults above (1 Mbit/s start, 30 kbit/s to 10 Mbit/s). A peer sets
// Max from the offer's b=AS or its own policy.
type rembConfig struct {
	Start, Min, Max float64
}

// rembEstimator computes the REMB of one publisher. Not safe for
// concurrent use: the peer calls onPacket from its read loop and update
// and appendREMB from its report timer, under one lock or on one
// goroutine.
type rembEstimator struct {
	buckets    [rembBuckets]uint64
	bucket     int64    // index of the current bucket, in rembBucket units
	first      monotime // first packet; 0 before
	estimate   float64
	min, max   float64
	lastUpdate monotime
	sentValue  float64  // last REMB value sent
	sentAt     monotime // 0 before the first REMB
}

// newREMBEstimator returns an estimator with cfg's bounds.
func newREMBEstimator(cfg rembConfig) *rembEstimator {
	e := &rembEstimator{min: max(orDefault(cfg.Min, rembMinBitrate), 1)}
	e.max = max(orDefault(cfg.Max, rembMaxBitrate), e.min)
	e.estimate = min(max(orDefault(cfg.Start, rembStartBitrate), e.min), e.max)
	return e
}

// onPacket counts an incoming packet of size bytes (any SSRC of the
// publisher) at now. It does not allocate.
func (e *rembEstimator) onPacket(size int, now monotime) {
	if e.first == 0 {
		e.first, e.bucket = now, int64(now)/int64(rembBucket)
	}
	e.advance(now)
	e.buckets[e.bucket%rembBuckets] += uint64(max(size, 0))
}

// advance moves the current bucket to now's, clearing the ones skipped.
func (e *rembEstimator) advance(now monotime) {
	b := int64(now) / int64(rembBucket)
	for i := e.bucket + 1; i <= b && i <= e.bucket+rembBuckets; i++ {
		e.buckets[i%rembBuckets] = 0
	}
	e.bucket = max(e.bucket, b)
}

// incoming returns the incoming bitrate at now in bits per second: the
// bytes of the last rembBuckets buckets over the time they span up to now
// (or since the first packet, if later), at least one bucket.
func (e *rembEstimator) incoming(now monotime) float64 {
	if e.first == 0 {
		return 0
	}
	e.advance(now)
	var sum uint64
	for _, b := range e.buckets {
		sum += b
	}
	from := max(monotime((e.bucket-rembBuckets+1)*int64(rembBucket)), e.first)
	span := max(now.sub(from), rembBucket)
	return float64(sum) * 8 / span.Seconds()
}

// update applies the loss fraction (0..1) of the receiver report just
// built at now, and returns the new estimate in bits per second.
func (e *rembEstimator) update(loss float64, now monotime) float64 {
	dt := min(now.sub(e.lastUpdate), rembMaxStep)
	if e.lastUpdate == 0 {
		dt = 0
	}
	e.lastUpdate = now
	in := e.incoming(now)
	switch {
	case loss > rembLossHigh:
		e.estimate = min(e.estimate, in) * (1 - 0.5*min(loss, 1))
	case loss < rembLossLow && dt > 0:
		grown := e.estimate * math.Pow(rembIncrease, dt.Seconds())
		e.estimate = max(e.estimate, min(grown, rembCapRatio*in+rembCapSlack))
	}
	e.estimate = min(max(e.estimate, e.min), e.max)
	return e.estimate
}

// due reports whether a REMB should be sent at now.
func (e *rembEstimator) due(now monotime) bool {
	if e.sentAt == 0 {
		return true
	}
	return e.estimate < rembDropResend*e.sentValue ||
		now.sub(e.sentAt) >= rembInterval
}

// appendREMB appends the REMB packet (sender senderSSRC, estimate for the
// media SSRCs ssrcs, at most 255) to dst and records it as sent at now. It
// allocates only when dst lacks room; the error, from pion/rtcp, reports
// too many SSRCs.
func (e *rembEstimator) appendREMB(dst []byte, senderSSRC uint32, ssrcs []uint32, now monotime) ([]byte, error) {
	p := rtcp.ReceiverEstimatedMaximumBitrate{SenderSSRC: senderSSRC, Bitrate: float32(e.estimate), SSRCs: ssrcs}
	n := p.MarshalSize()
	dst = slices.Grow(dst, n)
	k, err := p.MarshalTo(dst[len(dst) : len(dst)+n])
	if err != nil {
		return dst, fmt.Errorf("peer: REMB: %w", err)
	}
	e.sentValue, e.sentAt = e.estimate, now
	return dst[:len(dst)+k], nil
}

// remoteREMB keeps the last REMB a viewer sent. Not safe for concurrent
// use; the peer calls it from its RTCP path.
type remoteREMB struct {
	bitrate float64
	at      monotime // 0 before the first
	ssrcs   [4]uint32
	nssrcs  int
}

// onREMB takes a REMB received at now. It keeps up to four of the SSRCs it
// names, which is enough to tell which of our streams it covers.
func (r *remoteREMB) onREMB(p *rtcp.ReceiverEstimatedMaximumBitrate, now monotime) {
	r.bitrate = float64(p.Bitrate)
	r.at = now
	r.nssrcs = copy(r.ssrcs[:], p.SSRCs)
}

// estimate returns the last REMB in bits per second; ok is false before
// the first or when it is older than rembMaxAge at now.
func (r *remoteREMB) estimate(now monotime) (bps float64, ok bool) {
	if r.at == 0 || now.sub(r.at) > rembMaxAge {
		return 0, false
	}
	return r.bitrate, true
}

// covers reports whether the last REMB named ssrc.
func (r *remoteREMB) covers(ssrc uint32) bool {
	return slices.Contains(r.ssrcs[:r.nssrcs], ssrc)
}
