package relay_test

import (
	"context"
	"fmt"

	"github.com/streamwire/streamwire/relay"
)

func Example() {
	hub := relay.NewHub(relay.Config{})
	pub, _ := hub.Publish("live/cam")
	// An H.264 stream: the AVCDecoderConfigurationRecord (SPS 67 42 00 1e,
	// PPS 68 ce 3c 80), then access units in AVCC form.
	record := []byte{1, 0x42, 0, 0x1e, 0xff, 0xe1, 0, 4, 0x67, 0x42, 0, 0x1e, 1, 0, 4, 0x68, 0xce, 0x3c, 0x80}
	cfg, err := relay.NewDecoderConfig(relay.H264, record)
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = pub.Write(relay.Unit{Type: relay.Video, Codec: relay.H264, SequenceHeader: true, Keyframe: true, Config: cfg, Data: record})
	_ = pub.Write(relay.Unit{Type: relay.Video, Codec: relay.H264, DTS: 0, Keyframe: true, Config: cfg, Data: []byte{0, 0, 0, 2, 0x65, 0x88}})
	_ = pub.Write(relay.Unit{Type: relay.Video, Codec: relay.H264, DTS: 40, Config: cfg, Data: []byte{0, 0, 0, 2, 0x41, 0x9a}})

	// A late subscriber starts with the sequence header and the cached GOP.
	sub, _ := hub.Subscribe("live/cam")
	_ = pub.Close()
	for {
		f, err := sub.Read(context.Background())
		if err != nil {
			fmt.Println(err)
			break
		}
		// RTMP players get the frame's FLV tag, built once for all of them.
		fmt.Println(f.Codec, f.DTS, f.RTPTime, f.Keyframe, f.SequenceHeader, fmt.Sprintf("% x", f.FLVTag()[:5]))
	}
	// Output:
	// H264 0 0 true true 17 00 00 00 00
	// H264 0 0 true false 17 01 00 00 00
	// H264 40 3600 false false 27 01 00 00 00
	// EOF
}
