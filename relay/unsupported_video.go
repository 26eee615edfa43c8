package relay

import (
	"errors"
	"strconv"

	"github.com/streamwire/streamwire/internal/logstr"
	"github.com/streamwire/streamwire/rtmp/flv"
)

// ErrVideoCodec is what Subscriber.UnsupportedVideo's error matches: the
// stream's video is of a codec that no WebRTC viewer can get.
var ErrVideoCodec = errors.New("relay: the stream's video codec cannot be sent over WebRTC")

// VideoCodecError is the error of Subscriber.UnsupportedVideo; it
// matches ErrVideoCodec.
type VideoCodecError struct {
	// Codec names the stream's video codec, e.g. "Sorenson H.263 (FLV1,
	// ffmpeg's default for FLV output)".
	Codec string
}

// Error names the codec first, and what to publish instead.
func (e *VideoCodecError) Error() string {
	return "relay: the stream's video is " + e.Codec + ", which WebRTC viewers cannot get " +
		"(publish H.264: ffmpeg -c:v libx264 -bf 0; H.265, AV1 and VP8 play in browsers that decode them)"
}

// Is reports whether target is ErrVideoCodec.
func (e *VideoCodecError) Is(target error) bool { return target == ErrVideoCodec }

// UnsupportedVideo returns a *VideoCodecError naming the stream's video
// codec, once the stream has carried video that no WebRTC
// viewer can get: FLV's Sorenson H.263 (what ffmpeg's flv muxer picks
// when no video codec is given), screen video, On2 VP6, or an Enhanced
// RTMP FourCC the relay does not know. It returns nil otherwise,
// malformed tags included. A server refuses new WebRTC viewers of such a
// stream with it (the WHEP POST), rather than a session that shows
// nothing; RTMP players still get the stream as it came.
func (sub *Subscriber) UnsupportedVideo() error {
	s := sub.s
	if s == nil {
		return nil
	}
	s.mu.Lock()
	name := s.badVideo
	s.mu.Unlock()
	if name == "" {
		return nil
	}
	return &VideoCodecError{Codec: name}
}

// unsupportedVideoCodec names the codec of an RTMP video tag that no
// WebRTC viewer can get, "" for a codec it can, a command or multitrack
// tag, or one that does not parse.
func unsupportedVideoCodec(tag []byte) string {
	t, err := flv.ParseVideoTag(tag)
	switch {
	case err != nil || t.Multitrack || t.FrameType == flv.FrameCommand:
		return ""
	case t.Enhanced && codecOf4CC(t.FourCC).kind() == Video:
		return ""
	case t.Enhanced:
		return "Enhanced RTMP FourCC " + logstr.Bound(strconv.Quote(t.FourCC.String()))
	}
	switch t.CodecID {
	case flv.CodecAVC, flv.CodecHEVCLegacy:
		return ""
	case flv.CodecSorensonH263:
		return "Sorenson H.263 (FLV1, ffmpeg's default for FLV output)"
	case flv.CodecScreen, flv.CodecScreen2:
		return "Screen Video"
	case flv.CodecVP6, flv.CodecVP6Alpha:
		return "On2 VP6"
	}
	return "FLV video codec " + strconv.Itoa(int(t.CodecID))
}
