package rtmp_test

import (
	"bytes"
	"context"
	"fmt"
	"net"

	"github.com/streamwire/streamwire/rtmp/flv"

	"github.com/streamwire/streamwire/rtmp/amf0"

	"github.com/streamwire/streamwire/rtmp"
)

// Encode a connect command and decode it again.
func ExampleCommand() {
	cmd := rtmp.Command{
		Name:          "connect",
		TransactionID: 1,
		Object:        amf0.Object{{Key: "app", Value: "live"}, {Key: "tcUrl", Value: "rtmp://127.0.0.1/live"}},
	}
	payload, err := cmd.AppendTo(nil)
	if err != nil {
		panic(err)
	}
	fmt.Printf("% x\n", payload[:12])

	got, err := rtmp.ParseCommand(rtmp.Message{Type: rtmp.TypeCommandAMF0, Payload: payload})
	if err != nil {
		panic(err)
	}
	fmt.Println(got.Name, got.TransactionID, got.Object.(amf0.Object).String("app"))
	// Output:
	// 02 00 07 63 6f 6e 6e 65 63 74 00 3f
	// connect 1 live
}

// Write messages as a chunk stream and read them back. The payload returned
// by ReadMessage is only valid until the next ReadMessage call.
func ExampleChunkReader() {
	var conn bytes.Buffer
	w := rtmp.NewChunkWriter(&conn)
	_ = w.WriteSetChunkSize(4096)
	_ = w.WriteMessage(rtmp.Message{ChunkStreamID: rtmp.CSIDVideo, Type: rtmp.TypeVideo, StreamID: 1, Timestamp: 0, Payload: make([]byte, 5000)})
	_ = w.WriteMessage(rtmp.Message{ChunkStreamID: rtmp.CSIDVideo, Type: rtmp.TypeVideo, StreamID: 1, Timestamp: 40, Payload: make([]byte, 5000)})
	fmt.Println("chunk stream bytes:", conn.Len())

	r := rtmp.NewChunkReader(&conn, rtmp.ReaderConfig{})
	for i := 0; i < 3; i++ {
		m, err := r.ReadMessage()
		if err != nil {
			panic(err)
		}
		fmt.Println(m.Type, m.Timestamp, len(m.Payload))
	}
	// Output:
	// chunk stream bytes: 10034
	// SetChunkSize 0 4
	// Video 0 5000
	// Video 40 5000
}

// Parse an Enhanced RTMP video tag header.
func ExampleParseVideoTag() {
	p := flv.AppendVideoTagHeader(nil, flv.FrameKey, flv.FourCCHEVC, flv.VideoCodedFrames, 40, true)
	p = append(p, 0, 0, 0, 2, 0x26, 0x01) // one length-prefixed NAL unit
	tag, err := flv.ParseVideoTag(p)
	if err != nil {
		panic(err)
	}
	it := flv.NewNALUIter(tag.Data, 4)
	nalu, _ := it.Next()
	fmt.Println(tag.FourCC, tag.IsKeyFrame(), tag.CompositionTime, nalu[0]>>1&0x3f)
	// Output: hvc1 true 40 19
}

// Run both sides of the handshake in process.
func ExampleServerHandshake() {
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	done := make(chan rtmp.HandshakeInfo)
	go func() {
		info, err := rtmp.ServerHandshake(context.Background(), server, rtmp.HandshakeConfig{})
		if err != nil {
			panic(err)
		}
		done <- info
	}()
	if _, err := rtmp.ClientHandshake(context.Background(), client, rtmp.HandshakeConfig{}); err != nil {
		panic(err)
	}
	info := <-done
	fmt.Println(info.Complex, info.PeerLayout, info.PeerVersion, info.C2Signed)
	// Output: true digest-first [9 0 124 2] true
}
