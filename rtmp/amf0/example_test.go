package amf0_test

import (
	"fmt"

	"github.com/streamwire/streamwire/rtmp/amf0"
)

// Decode AMF0 values: numbers are float64, objects keep their order.
func ExampleDecodeAll() {
	b, _ := amf0.AppendValues(nil, "onMetaData", amf0.ECMAArray{{Key: "width", Value: 1280}, {Key: "height", Value: 720}}, nil)
	vs, err := amf0.DecodeAll(b)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q %v %v\n", vs[0], vs[1], vs[2])
	// Output: "onMetaData" [{width 1280} {height 720}] <nil>
}
