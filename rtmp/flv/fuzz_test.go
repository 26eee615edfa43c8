package flv

import "testing"

// The seed corpora in testdata/fuzz come from a recorded ffmpeg publish and
// Enhanced RTMP vectors; ../fuzz_test.go regenerates them (go test -run Seeds -seeds).
// FuzzVideoTag parses arbitrary video payloads, their tracks, codec
// configurations and NAL units.
func FuzzVideoTag(f *testing.F) {
	f.Fuzz(func(t *testing.T, p []byte) {
		tag, err := ParseVideoTag(p)
		if err != nil {
			return
		}
		it := tag.Tracks()
		var tr Track
		for it.Next(&tr) {
			if tag.PacketType == VideoSequenceStart {
				switch tr.FourCC {
				case FourCCAVC:
					_, _ = ParseAVCDecoderConfig(tr.Data)
				case FourCCHEVC:
					_, _ = ParseHEVCDecoderConfig(tr.Data)
				}
				continue
			}
			n := NewNALUIter(tr.Data, 4)
			for _, ok := n.Next(); ok; _, ok = n.Next() {
			}
		}
	})
}

// FuzzAudioTag parses arbitrary audio payloads, their tracks and codec
// configurations.
func FuzzAudioTag(f *testing.F) {
	f.Fuzz(func(t *testing.T, p []byte) {
		tag, err := ParseAudioTag(p)
		if err != nil {
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
				_, _ = ParseAudioSpecificConfig(tr.Data)
			case FourCCOpus:
				_, _ = ParseOpusHead(tr.Data)
			}
		}
	})
}
