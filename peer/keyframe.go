package peer

// Design note: key frame requests, both ways.
//
// keyframeLimiter is mediasoup's keyFrameRequestDelay: the requests for
// one source (PLI, RFC 4585 §6.3.1, and FIR, RFC 5104 §4.3.1, from any
// number of viewers, and the peer's own "NACK cannot repair this" signal)
// reach the publisher at most once per interval (1 s by default). A
// request inside the interval is not dropped but held, and passed when the
// interval ends, so that a viewer that joined just after another still
// gets its key frame; a key frame that arrives meanwhile satisfies it.
// Without the limit, N viewers that lose the same packet ask N times and
// the publisher's encoder sends N key frames, each several times the size
// of a delta frame.
//
// appendPLI and firCounter.appendFIR write the requests the peer sends to a
// publisher. FIR carries a sequence number that increases by one for each
// new request and stays the same when a request is repeated (RFC 5104
// §4.3.1.1), so that the encoder sends one key frame per request.

import (
	"encoding/binary"
	"time"
)

const (
	// defaultKeyframeInterval is the shortest interval between two
	// requests passed for one source when newKeyframeLimiter gets zero.
	defaultKeyframeInterval = time.Second
	// Payload-specific feedback (RFC 4585 §6.1): PT 206, PLI FMT 1,
	// FIR FMT 4.
	rtcpPSFB  = 206
	pliFormat = 1
	firFormat = 4
)

// keyframeLimiter rate-limits the key frame requests of one source. Not
// safe for concurrent use: the peer calls it from its RTCP path and its
// timer, under one lock or on one goroutine.
type keyframeLimiter struct {
	interval time.Duration
	last     monotime // last request passed; 0 for none
	pending  bool
}

// newKeyframeLimiter returns a limiter passing at most one request per
// interval (zero means defaultKeyframeInterval).
func newKeyframeLimiter(interval time.Duration) *keyframeLimiter {
	return &keyframeLimiter{interval: orDefault(interval, defaultKeyframeInterval)}
}

// request takes a key frame request at now and reports whether to pass it
// on now; otherwise it is held for poll.
func (l *keyframeLimiter) request(now monotime) bool {
	if l.last == 0 || now.sub(l.last) >= l.interval {
		l.last, l.pending = now, false
		return true
	}
	l.pending = true
	return false
}

// poll reports whether a held request is due at now, and if so passes it
// (the caller sends it).
func (l *keyframeLimiter) poll(now monotime) bool {
	if !l.pending || now.sub(l.last) < l.interval {
		return false
	}
	l.last, l.pending = now, false
	return true
}

// deadline returns when poll will pass the held request; ok is false when
// none is held.
func (l *keyframeLimiter) deadline() (t monotime, ok bool) {
	if !l.pending {
		return 0, false
	}
	return l.last.add(l.interval), true
}

// keyframeArrived drops a held request: the source sent a key frame since.
func (l *keyframeLimiter) keyframeArrived() { l.pending = false }

// appendPLI appends a Picture Loss Indication (RFC 4585 §6.3.1) from
// senderSSRC about mediaSSRC to dst.
func appendPLI(dst []byte, senderSSRC, mediaSSRC uint32) []byte {
	dst = append(dst, 0x80|pliFormat, rtcpPSFB, 0, 2)
	dst = binary.BigEndian.AppendUint32(dst, senderSSRC)
	return binary.BigEndian.AppendUint32(dst, mediaSSRC)
}

// firCounter numbers the Full Intra Requests sent for one media SSRC. The
// zero value is ready; the first request carries 0.
type firCounter struct {
	next uint8
	sent bool
}

// appendFIR appends a Full Intra Request (RFC 5104 §4.3.1) from
// senderSSRC for mediaSSRC to dst. repeat resends the previous request
// with its sequence number; otherwise the request is new and takes the
// next number.
func (f *firCounter) appendFIR(dst []byte, senderSSRC, mediaSSRC uint32, repeat bool) []byte {
	seq := f.next
	switch {
	case repeat && f.sent:
		seq--
	default:
		f.next++
		f.sent = true
	}
	dst = append(dst, 0x80|firFormat, rtcpPSFB, 0, 4)
	dst = binary.BigEndian.AppendUint32(dst, senderSSRC)
	dst = binary.BigEndian.AppendUint32(dst, 0) // §4.3.1.2: media source SSRC unused
	dst = binary.BigEndian.AppendUint32(dst, mediaSSRC)
	return append(dst, seq, 0, 0, 0)
}
