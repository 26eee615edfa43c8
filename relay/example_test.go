package relay_test

import (
	"context"
	"fmt"

	"github.com/streamwire/streamwire/relay"
)

func Example() {
	hub := relay.NewHub(relay.Config{})
	pub, _ := hub.Publish("live/cam")
	_ = pub.Write(relay.Packet{Type: relay.Video, SequenceHeader: true, Keyframe: true, Payload: []byte{0x17, 0x00}})
	_ = pub.Write(relay.Packet{Type: relay.Video, Timestamp: 0, Keyframe: true, Payload: []byte{0x17, 0x01}})
	_ = pub.Write(relay.Packet{Type: relay.Video, Timestamp: 40, Payload: []byte{0x27, 0x01}})

	// A late subscriber starts with the sequence header and the cached GOP.
	sub, _ := hub.Subscribe("live/cam")
	_ = pub.Close()
	for {
		f, err := sub.Read(context.Background())
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Println(f.Type, f.Timestamp, f.Keyframe, f.SequenceHeader)
	}
	// Output:
	// video 0 true true
	// video 0 true false
	// video 40 false false
	// EOF
}
