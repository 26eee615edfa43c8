package flv_test

import (
	"bytes"
	"fmt"
	"io"

	"github.com/streamwire/streamwire/rtmp/flv"
)

// Parse the body of an RTMP video message and walk its NAL units. The
// body here is a legacy AVC keyframe (frame type 1, codec 7, AVC packet
// type 1, composition time 0) holding one 4-byte length-prefixed NAL unit.
func ExampleParseVideoTag() {
	body := []byte{0x17, 0x01, 0, 0, 0, 0, 0, 0, 3, 0x65, 0x88, 0x84}
	tag, err := flv.ParseVideoTag(body)
	if err != nil {
		panic(err)
	}
	fmt.Println(tag.FourCC, tag.IsKeyFrame(), tag.IsSequenceHeader(), tag.CompositionTime)
	it := flv.NewNALUIter(tag.Data, 4)
	for nalu, ok := it.Next(); ok; nalu, ok = it.Next() {
		fmt.Printf("NAL unit type %d, %d bytes\n", nalu[0]&0x1f, len(nalu))
	}
	// Output:
	// avc1 true false 0
	// NAL unit type 5, 3 bytes
}

// Write an FLV file of two tags and read it back.
func ExampleReader() {
	var file []byte
	file = flv.AppendHeader(file, true, true)
	file = flv.AppendTag(file, flv.TagVideo, 0, []byte{0x17, 0x01, 0, 0, 0})
	file = flv.AppendTag(file, flv.TagAudio, 23, []byte{0xaf, 0x01, 0x21})

	r, err := flv.NewReader(bytes.NewReader(file))
	if err != nil {
		panic(err)
	}
	for {
		tag, err := r.ReadTag()
		if err == io.EOF {
			break
		}
		if err != nil {
			panic(err)
		}
		fmt.Println(tag.Type, tag.Timestamp, len(tag.Data))
	}
	// Output:
	// 9 0 5
	// 8 23 3
}
