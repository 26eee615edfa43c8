package relay

import "sync/atomic"

// bridgeState is what a stream keeps for its protocol bridges: the
// publisher's answer to key frame requests and the warnings logged once
// per stream.
type bridgeState struct {
	keyFrame atomic.Pointer[func()]
	warned   atomic.Uint32 // warnXxx bits
}

// Warnings the WebRTC bridge logs once per stream, not once per viewer.
const (
	warnAudioCodec uint32 = 1 << iota // audio that WebRTC viewers cannot get (AAC)
	warnVideoCodec                    // video of a codec the viewer did not negotiate
	warnBFrames                       // H.264 or H.265 B-frames
	warnBadFrame                      // a malformed frame
	warnAACConfig                     // an AAC config the transcoder cannot take
	warnOpusToAAC                     // Opus that RTMP players cannot get as AAC
)

// warnOnce reports whether warning w is new for the stream.
func (s *stream) warnOnce(w uint32) bool { return s.bridge.warned.Or(w)&w == 0 }

// HasBFrames reports whether a WebRTC viewer of the stream has met an
// H.264 B-frame (H.264 §7.4.3 slice_type 1 or 6) or an H.265 one (H.265
// §7.4.7.1 slice_type 0), which browsers do not decode: a server refuses new WebRTC viewers of it under RefuseBFrames
// (the WHEP POST, rather than a session that connects and is closed at
// once). It stays false until a viewer has looked at a B-frame: a stream
// whose B-frames start later ends its viewers with ErrBFrames then.
func (sub *Subscriber) HasBFrames() bool {
	return sub.s != nil && sub.s.bridge.warned.Load()&warnBFrames != 0
}

// OnKeyFrameRequest makes fn the publisher's answer to key frame requests:
// those of Subscriber.RequestKeyFrame (a WebRTC viewer's PLI or FIR), and
// those the hub makes itself when a subscriber must wait for the next
// keyframe (it joined without a usable cached GOP, or the slow-consumer
// policy emptied its queue). fn may be called on any goroutine, with the
// stream locked: it must only note the request, for example by setting a
// flag that the publisher's own goroutine acts on. A publisher that
// cannot make a keyframe on demand, such as an RTMP encoder, sets none.
// Nil removes it.
func (p *Publisher) OnKeyFrameRequest(fn func()) {
	if p.s == nil {
		return
	}
	if fn == nil {
		p.s.bridge.keyFrame.Store(nil)
		return
	}
	p.s.bridge.keyFrame.Store(&fn)
}

// RequestKeyFrame asks the stream's publisher for a keyframe and reports
// whether it takes such requests (see Publisher.OnKeyFrameRequest): a
// WebRTC publisher does, an RTMP publisher does not.
func (sub *Subscriber) RequestKeyFrame() bool {
	if sub.s == nil {
		return false
	}
	return sub.s.requestKeyFrame()
}

func (s *stream) requestKeyFrame() bool {
	fn := s.bridge.keyFrame.Load()
	if fn == nil {
		return false
	}
	(*fn)()
	return true
}
