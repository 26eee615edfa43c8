package ice

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// fieldLine is one candidate line of testdata/candidates.txt and the source
// comment above it.
type fieldLine struct {
	source string // the last "# captured:", "# written after" or "# quoted" comment
	line   string
}

// readFieldLines returns the candidate lines of testdata/candidates.txt.
func readFieldLines(tb testing.TB) []fieldLine {
	tb.Helper()
	f, err := os.Open("testdata/candidates.txt")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []fieldLine
	source := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "# captured:"), strings.HasPrefix(l, "# written after"), strings.HasPrefix(l, "# quoted"):
			source = l
		case strings.HasPrefix(l, "#"), l == "":
		default:
			out = append(out, fieldLine{source, l})
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	if len(out) < 100 {
		tb.Fatalf("testdata/candidates.txt has %d lines, want the >100 real ones", len(out))
	}
	return out
}

// mustParse parses s or fails the test.
func mustParse(tb testing.TB, s string) Candidate {
	tb.Helper()
	c, err := ParseCandidate(s)
	if err != nil {
		tb.Fatalf("ParseCandidate(%q): %v", s, err)
	}
	return c
}
