package flv

import (
	"errors"
	"strings"
	"testing"
)

// The seed corpora in testdata/fuzz come from a recorded ffmpeg publish and
// Enhanced RTMP vectors; ../fuzz_test.go regenerates them (go test -run Seeds -seeds).
// FuzzVideoTag parses arbitrary video payloads, their tracks, codec
// configurations and NAL units.
func FuzzVideoTag(f *testing.F) {
	f.Fuzz(func(t *testing.T, p []byte) {
		tag, err := ParseVideoTag(p)
		if err != nil {
			checkError(t, err)
			return
		}
		it := tag.Tracks()
		var tr Track
		for it.Next(&tr) {
			if tag.PacketType == VideoSequenceStart {
				switch tr.FourCC {
				case FourCCAVC:
					_, err := ParseAVCDecoderConfig(tr.Data)
					checkError(t, err)
				case FourCCHEVC:
					_, err := ParseHEVCDecoderConfig(tr.Data)
					checkError(t, err)
				}
				continue
			}
			n := NewNALUIter(tr.Data, 4)
			for _, ok := n.Next(); ok; _, ok = n.Next() {
			}
			checkError(t, n.Err())
		}
		checkError(t, it.Err())
	})
}

// FuzzAudioTag parses arbitrary audio payloads, their tracks and codec
// configurations.
func FuzzAudioTag(f *testing.F) {
	f.Fuzz(func(t *testing.T, p []byte) {
		tag, err := ParseAudioTag(p)
		if err != nil {
			checkError(t, err)
			return
		}
		it := tag.Tracks()
		var tr Track
		for it.Next(&tr) {
			if tag.PacketType != AudioSequenceStart {
				continue
			}
			switch tr.FourCC {
			case FourCCAAC:
				_, err := ParseAudioSpecificConfig(tr.Data)
				checkError(t, err)
			case FourCCOpus:
				_, err := ParseOpusHead(tr.Data)
				checkError(t, err)
			}
		}
		checkError(t, it.Err())
	})
}

// checkError holds a parse error to the package's form: ErrMalformed, the
// "flv: " prefix, and a short text (no payload bytes are quoted).
func checkError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if msg := err.Error(); !errors.Is(err, ErrMalformed) || !strings.HasPrefix(msg, "flv: ") || len(msg) > 200 {
		t.Errorf("error %.300q: want ErrMalformed, the \"flv: \" prefix and at most 200 bytes", msg)
	}
}
