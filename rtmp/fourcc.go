package rtmp

import (
	"github.com/streamwire/streamwire/rtmp/amf0"
)

// Capability flags of an Enhanced RTMP v2 FourCC info map
// (videoFourCcInfoMap, audioFourCcInfoMap in the connect command object;
// enhanced-rtmp-v2 "Enhancing NetConnection connect Command").
const (
	FourCCCanDecode  = 0x01 // the client can decode the codec
	FourCCCanEncode  = 0x02 // the client can encode it
	FourCCCanForward = 0x04 // the client can pass it on without decoding
)

// AcceptsFourCC reports whether the client announced in its connect
// command that it takes media of the Enhanced RTMP FourCC fourCC, e.g.
// "Opus", "hvc1", "av01": listed in fourCcList (Enhanced RTMP v1), or in
// videoFourCcInfoMap or audioFourCcInfoMap (v2) with FourCCCanDecode or
// FourCCCanForward set, where "*" stands for every codec. A client that
// announced nothing (every legacy player: ffmpeg 5.1, VLC, flv.js over
// a gateway) accepts no Enhanced RTMP FourCC, and a server should send it
// only the legacy codecs (AVC and AAC).
func (r *StreamRequest) AcceptsFourCC(fourCC string) bool {
	if r == nil {
		return false
	}
	if list, ok := r.Connect.Get("fourCcList"); ok {
		if items, ok := list.([]any); ok {
			for _, it := range items {
				if s, ok := it.(string); ok && (s == fourCC || s == "*") {
					return true
				}
			}
		}
	}
	for _, key := range []string{"videoFourCcInfoMap", "audioFourCcInfoMap"} {
		m, ok := r.Connect.Get(key)
		if !ok {
			continue
		}
		obj, ok := asObject(m)
		if !ok {
			continue
		}
		for _, name := range []string{fourCC, "*"} {
			if v, ok := obj.Get(name); ok {
				if f, ok := v.(float64); ok && f >= 0 && f < 256 && int(f)&(FourCCCanDecode|FourCCCanForward) != 0 {
					return true
				}
			}
		}
	}
	return false
}

// asObject returns v as an object: AMF0 encoders write these maps as
// objects or as ECMA arrays.
func asObject(v any) (amf0.Object, bool) {
	switch o := v.(type) {
	case amf0.Object:
		return o, true
	case amf0.ECMAArray:
		return amf0.Object(o), true
	}
	return nil, false
}
