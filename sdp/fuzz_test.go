package sdp

import (
	"bytes"
	"testing"

	psdp "github.com/pion/sdp/v3"
)

// FuzzAnswer mutates real offers (the seed corpus in testdata/fuzz/FuzzAnswer holds
// every file of testdata/offers): each input must give an answer or an error, never a
// panic, and an answer must be SDP that pion parses, with one m-section per offered
// one and a mid on every accepted section that had one.
func FuzzAnswer(f *testing.F) {
	for _, name := range []string{"chrome156_recvonly.sdp", "obs30_whip_sendonly.sdp"} {
		f.Add(readOffer(f, name))
	}
	f.Fuzz(func(t *testing.T, offer []byte) {
		cfg := testConfig()
		cfg.Video.RED, cfg.Video.ULPFEC, cfg.Audio.RED = true, true, true
		sess, err := Answer(offer, cfg)
		if err != nil {
			return
		}
		var answer psdp.SessionDescription
		if err := answer.Unmarshal(sess.SDP); err != nil {
			t.Fatalf("answer does not parse: %v\n%s", err, sess.SDP)
		}
		if len(answer.MediaDescriptions) != len(sess.Sections) {
			t.Fatalf("%d m-sections in the answer, %d in the session", len(answer.MediaDescriptions), len(sess.Sections))
		}
		for i, s := range sess.Sections {
			mid, _ := answer.MediaDescriptions[i].Attribute("mid")
			if mid != s.Mid {
				t.Fatalf("section %d: mid %q in the answer, %q in the session", i, mid, s.Mid)
			}
			if !s.Rejected && s.Kind != KindApplication && len(answer.MediaDescriptions[i].MediaName.Formats) == 0 {
				t.Fatalf("section %d accepted without formats", i)
			}
		}
	})
}

// FuzzParseSDPFrag checks that any input parses or fails cleanly, and that what
// parses writes back to a fragment that parses to the same bytes again.
func FuzzParseSDPFrag(f *testing.F) {
	f.Add([]byte(whipFrag))
	f.Fuzz(func(t *testing.T, b []byte) {
		frag, err := ParseSDPFrag(b)
		if err != nil {
			return
		}
		out := frag.AppendTo(nil)
		again, err := ParseSDPFrag(out)
		if err != nil {
			t.Fatalf("re-parse of %q: %v", out, err)
		}
		if out2 := again.AppendTo(nil); !bytes.Equal(out, out2) {
			t.Fatalf("not stable:\n%q\n%q", out, out2)
		}
	})
}
