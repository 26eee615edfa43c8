package bench

// AMF0 decode of the two commands a server decodes from every publisher:
// the real connect command and @setDataFrame onMetaData that ffmpeg 5.1.9
// sent in the recorded publish (rtmp/testdata/ffmpeg_publish.chunks), each
// decoded whole into Go values: streamwire's amf0.DecodeAll against
// gortmplib's amf0.Unmarshal.
//
//	cd bench && go test -run '^$' -bench RTMPAMF0 -benchmem .

import (
	"bytes"
	"testing"

	gamf0 "github.com/bluenviron/gortmplib/pkg/amf0"

	"github.com/streamwire/streamwire/rtmp"
	"github.com/streamwire/streamwire/rtmp/amf0"
)

// recordedPayload returns the payload of the first message of type typ in
// the recording whose first AMF0 value is the string name.
func recordedPayload(b *testing.B, typ rtmp.MessageType, name string) []byte {
	b.Helper()
	for _, m := range recordedMessages(b, recordedRTMP(b)) {
		if m.Type != typ {
			continue
		}
		if v, _, err := amf0.Decode(m.Payload); err == nil && v == name {
			return m.Payload
		}
	}
	b.Fatalf("no %v %q in the recording", typ, name)
	return nil
}

// BenchmarkRTMPAMF0Decode decodes ffmpeg's connect (140 bytes: name,
// transaction id, command object of 4 properties) and onMetaData (309
// bytes: @setDataFrame, onMetaData, ECMA array of 13 properties).
func BenchmarkRTMPAMF0Decode(b *testing.B) {
	for _, c := range []struct {
		name   string
		typ    rtmp.MessageType
		first  string
		values int
	}{
		{"msg=connect", rtmp.TypeCommandAMF0, "connect", 3},
		{"msg=onMetaData", rtmp.TypeDataAMF0, "@setDataFrame", 3},
	} {
		p := bytes.Clone(recordedPayload(b, c.typ, c.first))
		b.Run(c.name+"/impl=streamwire", func(b *testing.B) {
			b.SetBytes(int64(len(p)))
			b.ReportAllocs()
			for b.Loop() {
				vs, err := amf0.DecodeAll(p)
				if err != nil || len(vs) != c.values || vs[0] != c.first {
					b.Fatalf("%v %v", vs, err)
				}
			}
		})
		b.Run(c.name+"/impl=gortmplib", func(b *testing.B) {
			b.SetBytes(int64(len(p)))
			b.ReportAllocs()
			for b.Loop() {
				vs, err := gamf0.Unmarshal(p)
				if err != nil || len(vs) != c.values || vs[0] != c.first {
					b.Fatalf("%v %v", vs, err)
				}
			}
		})
	}
}
