package ice

import (
	"errors"
	"testing"
)

// FuzzParseCandidate checks that Parse never panics, that every error is a
// *CandidateError matching ErrCandidate, and that a parsed candidate writes a
// line that parses back to the same candidate and writes the same line again.
// Seeds: every line of testdata/candidates.txt (captured Chromium 156 and
// Firefox ESR 153 lines, an SRS line, and lines written after OBS, GStreamer,
// Chromium and Firefox with mDNS, pion and libnice) plus
// testdata/fuzz/FuzzParseCandidate.
func FuzzParseCandidate(f *testing.F) {
	for _, fl := range readFieldLines(f) {
		f.Add(fl.line)
	}
	var c, back Candidate
	f.Fuzz(func(t *testing.T, line string) {
		err := c.Parse(line)
		if err != nil {
			var ce *CandidateError
			if !errors.Is(err, ErrCandidate) || !errors.As(err, &ce) || len(ce.Value) > 64+32 {
				t.Fatalf("Parse(%q) = %v", line, err)
			}
			return
		}
		out := c.AppendTo(nil)
		if err := back.Parse(string(out)); err != nil {
			t.Fatalf("Parse(%q) ok, but its output %q fails: %v", line, out, err)
		}
		if !back.sameAs(&c) || back.spell != c.spell {
			t.Fatalf("Parse(%q) = %+v, but its output %q parses to %+v", line, c, out, back)
		}
		if again := back.AppendTo(nil); string(again) != string(out) {
			t.Fatalf("writing is not stable: %q then %q", out, again)
		}
	})
}
