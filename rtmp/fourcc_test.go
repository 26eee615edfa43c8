package rtmp

import (
	"testing"

	"github.com/streamwire/streamwire/rtmp/amf0"
)

// TestAcceptsFourCC reads the connect command objects of Enhanced RTMP v1
// and v2 clients, decoded from the wire as a server gets them.
func TestAcceptsFourCC(t *testing.T) {
	connect := func(t *testing.T, props amf0.Object) *StreamRequest {
		t.Helper()
		b, err := amf0.AppendValues(nil, "connect", 1, props)
		if err != nil {
			t.Fatal(err)
		}
		vs, err := amf0.DecodeAll(b)
		if err != nil {
			t.Fatal(err)
		}
		obj, ok := vs[2].(amf0.Object)
		if !ok {
			t.Fatalf("command object %T", vs[2])
		}
		return &StreamRequest{Connect: obj}
	}
	tests := []struct {
		name   string
		props  amf0.Object
		accept []string
		refuse []string
	}{
		{"legacy player (ffmpeg 5.1)", amf0.Object{{Key: "app", Value: "live"}, {Key: "flashVer", Value: "LNX 9,0,124,2"}},
			nil, []string{"Opus", "hvc1", "avc1"}},
		{"v1 fourCcList", amf0.Object{{Key: "app", Value: "live"}, {Key: "fourCcList", Value: []any{"av01", "vp09", "hvc1"}}},
			[]string{"av01", "hvc1"}, []string{"Opus", "vp08"}},
		{"v1 wildcard", amf0.Object{{Key: "fourCcList", Value: []any{"*"}}},
			[]string{"Opus", "av01"}, nil},
		{"v2 info maps", amf0.Object{
			{Key: "videoFourCcInfoMap", Value: amf0.Object{{Key: "avc1", Value: float64(FourCCCanDecode)}, {Key: "hvc1", Value: float64(FourCCCanEncode)}}},
			{Key: "audioFourCcInfoMap", Value: amf0.ECMAArray{{Key: "Opus", Value: float64(FourCCCanForward)}}},
		}, []string{"avc1", "Opus"}, []string{"hvc1", "av01"}},
		{"v2 wildcard", amf0.Object{{Key: "audioFourCcInfoMap", Value: amf0.Object{{Key: "*", Value: float64(7)}}}},
			[]string{"Opus", "fLaC"}, nil},
		{"malformed values", amf0.Object{{Key: "fourCcList", Value: "Opus"},
			{Key: "audioFourCcInfoMap", Value: amf0.Object{{Key: "Opus", Value: "yes"}, {Key: "fLaC", Value: float64(-1)}}}},
			nil, []string{"Opus", "fLaC"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := connect(t, tt.props)
			for _, f := range tt.accept {
				if !r.AcceptsFourCC(f) {
					t.Errorf("AcceptsFourCC(%q) = false", f)
				}
			}
			for _, f := range tt.refuse {
				if r.AcceptsFourCC(f) {
					t.Errorf("AcceptsFourCC(%q) = true", f)
				}
			}
		})
	}
	var nilReq *StreamRequest
	if nilReq.AcceptsFourCC("Opus") {
		t.Error("a nil request accepts Opus")
	}
}
