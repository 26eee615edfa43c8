package relay

import (
	"errors"
	"strings"
	"testing"
)

// TestUnsupportedVideo: a stream whose RTMP video is of a codec WebRTC
// cannot carry names it from its first frame on (ffmpeg's FLV default,
// Sorenson H.263, most of all); streams of codecs the relay sends, and
// malformed tags, report nothing.
func TestUnsupportedVideo(t *testing.T) {
	for _, tc := range []struct {
		name string
		tag  []byte
		want string // "" for nil
	}{
		{"sorenson", []byte{0x12, 0, 0, 0x84}, "Sorenson H.263"},
		{"vp6", []byte{0x24, 0, 0}, "On2 VP6"},
		{"screen", []byte{0x13, 0}, "Screen Video"},
		{"legacy 9", []byte{0x19, 0}, "FLV video codec 9"},
		{"fourcc", append([]byte{0x80 | 1<<4 | 1}, "abcd\x00\x00\x00x"...), `FourCC "abcd"`},
		{"malformed", []byte{0x80}, ""},
		{"command", []byte{0x52, 0}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHub(Config{NoTranscode: true})
			pub, _ := h.Publish("live/v")
			sub, _ := h.Subscribe("live/v")
			defer sub.Close()
			if err := sub.UnsupportedVideo(); err != nil {
				t.Fatalf("before any video: %v", err)
			}
			mustWrite(t, pub, Unit{Type: Video, Codec: CodecUnknown, Keyframe: true, Data: tc.tag})
			err := sub.UnsupportedVideo()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("UnsupportedVideo = %v, want nil", err)
			case tc.want != "" && (!errors.Is(err, ErrVideoCodec) || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("UnsupportedVideo = %v, want ErrVideoCodec naming %s", err, tc.want)
			}
		})
	}
	h := NewHub(Config{NoTranscode: true})
	pub, _ := h.Publish("live/h264")
	sub, _ := h.Subscribe("live/h264")
	defer sub.Close()
	writeTags(t, pub, avcPackets(t, readH264AUs(t)[:3], false)...)
	if err := sub.UnsupportedVideo(); err != nil {
		t.Errorf("H.264 stream: %v", err)
	}
}
