package relay

import (
	"sync/atomic"
)

// Type is the kind of a [Packet]; the values are the FLV tag types.
type Type uint8

// Packet types (FLV TagType, which is also the RTMP message type id).
const (
	Audio Type = 8  // audio tag body
	Video Type = 9  // video tag body
	Data  Type = 18 // script data (AMF0), e.g. @setDataFrame/onMetaData
)

// String returns "audio", "video", "data" or "type(N)".
func (t Type) String() string {
	switch t {
	case Audio:
		return "audio"
	case Video:
		return "video"
	case Data:
		return "data"
	}
	return "type(" + itoa(int(t)) + ")"
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// Packet is one media message of a live stream.
type Packet struct {
	Type           Type   // Video, Audio or Data
	Timestamp      uint32 // milliseconds, as published (RTMP absolute timestamp)
	Keyframe       bool   // video: a random access point (FLV FrameType 1)
	SequenceHeader bool   // video/audio: decoder configuration, not media
	Payload        []byte // the FLV tag body; owned by the hub once written
}

// maxEncodings is how many distinct shared encodings a frame can memoize.
const maxEncodings = 4

// Frame is a published [Packet] as subscribers see it: immutable and shared by
// every subscriber of the stream. Its Payload must not be modified.
type Frame struct {
	Packet
	enc  [maxEncodings]atomic.Pointer[[]byte]
	size int          // bytes charged to the hub's budgets: frameSize(Payload)
	refs atomic.Int32 // the hub's owners holding the frame (see Hub.hold)
}

// Encoding is a function that serializes a frame for one protocol, for example
// into RTMP chunks. Create one with [NewEncoding] and use it with
// [Frame.Encoded]; every call for the same frame returns the same bytes. A zero
// Encoding (not made by NewEncoding) encodes every frame to nil.
type Encoding struct {
	slot int
	fn   func(dst []byte, p *Packet) []byte
}

var encodings atomic.Int32

// NewEncoding registers fn as a shared encoding. fn appends the encoding of p
// to dst and must be deterministic: two calls for the same packet must produce
// the same bytes, because concurrent first uses may both run it and either
// result may be kept. At most 4 encodings may be registered per process
// (typically from package-level variables); NewEncoding panics beyond that,
// which is a programming error, not an input error.
func NewEncoding(fn func(dst []byte, p *Packet) []byte) *Encoding {
	n := int(encodings.Add(1)) - 1
	if n >= maxEncodings {
		panic("relay: too many encodings registered")
	}
	return &Encoding{slot: n, fn: fn}
}

// Encoded returns e's encoding of f, computing it on first use. The returned
// slice is shared by all callers and stays valid (and unchanged) for as long as
// the frame is referenced; callers must not modify it.
func (f *Frame) Encoded(e *Encoding) []byte {
	if e == nil || e.fn == nil {
		return nil
	}
	if p := f.enc[e.slot].Load(); p != nil {
		return *p
	}
	b := e.fn(nil, &f.Packet)
	if f.enc[e.slot].CompareAndSwap(nil, &b) {
		return b
	}
	return *f.enc[e.slot].Load()
}
