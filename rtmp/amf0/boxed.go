package amf0

// Putting a float64 or a string into an any allocates (except +0 and the
// empty string). Commands and metadata repeat a few numbers and strings
// (transaction ids, codec ids, frame sizes, sample rates, command names,
// status codes), so the decoder returns these already boxed, shared by
// every call. They are immutable, so sharing them is safe.

// smallIntegers holds the boxed numbers 0 to 255: transaction ids, codec
// ids, frame rates, bit depths, kbit/s rates.
var smallIntegers = func() (t [256]any) {
	for i := range t {
		t[i] = float64(i)
	}
	return t
}()

// commonNumbers are the other numbers of onMetaData worth sharing, sorted:
// frame sizes, NTSC frame rates, sample rates and usual bit rates (kbit/s).
var commonNumbers = []float64{
	24000.0 / 1001, 30000.0 / 1001, 60000.0 / 1001,
	320, 352, 360, 384, 400, 480, 540, 576, 600, 640, 720, 768, 800, 854,
	960, 1000, 1024, 1080, 1152, 1200, 1280, 1440, 1500, 1600, 1920, 2000,
	2048, 2160, 2500, 2560, 3000, 3500, 3840, 4000, 4096, 4500, 5000, 6000,
	7000, 8000, 9000, 10000, 11025, 12000, 15000, 16000, 20000, 22050,
	24000, 32000, 44100, 48000, 88200, 96000,
}

var commonNumbersBoxed = func() []any {
	t := make([]any, len(commonNumbers))
	for i, f := range commonNumbers {
		t[i] = f
	}
	return t
}()

// boxNumber returns f as an any, shared rather than allocated when it is
// one of smallIntegers or commonNumbers. -0 and NaN keep their bits.
func boxNumber(f float64) any {
	if i := int(f); float64(i) == f && uint(i-1) < uint(len(smallIntegers)-1) {
		return smallIntegers[i]
	}
	// Binary search with plain comparisons (slices.BinarySearch orders
	// NaNs, at twice the cost).
	lo, hi := 0, len(commonNumbers)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if commonNumbers[m] < f {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(commonNumbers) && commonNumbers[lo] == f {
		return commonNumbersBoxed[lo]
	}
	return f
}

// commonStrings are the command names, data names and values that RTMP
// peers send in most sessions (RTMP §7.2, FMS legacy commands, Enhanced
// RTMP FourCCs).
var commonStrings = []string{
	// Commands and their replies.
	"connect", "_result", "_error", "onStatus", "call", "close",
	"createStream", "deleteStream", "closeStream", "releaseStream",
	"FCPublish", "FCUnpublish", "onFCPublish", "onFCUnpublish",
	"FCSubscribe", "onFCSubscribe", "publish", "play", "play2", "pause",
	"seek", "receiveAudio", "receiveVideo", "getStreamLength",
	"_checkbw", "onBWDone", "onBWCheck",
	// Data messages.
	"@setDataFrame", "@clearDataFrame", "onMetaData", "onTextData",
	"onCuePoint", "|RtmpSampleAccess",
	// Values: app, publish type, onStatus levels and codes.
	"live", "record", "append", "nonprivate", "status", "error", "warning",
	"NetConnection.Connect.Success", "NetConnection.Connect.Rejected",
	"NetConnection.Connect.Closed", "NetStream.Publish.Start",
	"NetStream.Publish.BadName", "NetStream.Unpublish.Success",
	"NetStream.Play.Start", "NetStream.Play.Reset", "NetStream.Play.Stop",
	"NetStream.Play.StreamNotFound", "NetStream.Data.Start",
	"NetStream.Play.PublishNotify", "NetStream.Play.UnpublishNotify",
	// Enhanced RTMP FourCCs (fourCcList, videocodecid as a string).
	"avc1", "hvc1", "av01", "vp08", "vp09", "mp4a", "Opus", ".mp3",
	"ac-3", "ec-3", "fLaC",
}

// commonStringMax is the length of the longest common string: longer
// strings skip the lookup.
const commonStringMax = len("NetStream.Play.UnpublishNotify")

// boxedStrings is commonStrings boxed, in an open-addressing hash table
// (linear probing) on a hash of the length and three bytes: a lookup is a
// few instructions and usually one comparison, about four times cheaper
// than a map's.
var boxedStrings = func() (t [256]boxedString) {
	for _, s := range commonStrings {
		h := stringHash([]byte(s))
		for t[h].v != nil {
			h++ // wraps around the table, which has free slots
		}
		t[h] = boxedString{s, s}
	}
	return t
}()

type boxedString struct {
	s string
	v any
}

func stringHash(b []byte) uint8 {
	w := uint32(len(b)) | uint32(b[0])<<8 | uint32(b[len(b)/2])<<16 | uint32(b[len(b)-1])<<24
	return uint8((w * 0x9E3779B1) >> 24)
}

// commonString returns b as a shared boxed string, or nil if it is not one
// of commonStrings.
func commonString(b []byte) any {
	if len(b) == 0 || len(b) > commonStringMax {
		return nil
	}
	for h := stringHash(b); ; h++ {
		e := &boxedStrings[h]
		if e.v == nil || e.s == string(b) {
			return e.v
		}
	}
}
