package transcript

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Step is one step line.
type Step struct {
	Line  int    // 1-based line number in the file
	Text  string // the whole line
	Party string // "=>" for an answer
	Verb  string // "=>" for an answer
	Arg   string // the rest of the line after the verb (the answer)
}

// Parse returns the steps of text; comments and blank lines are skipped.
// Lines may be up to 1 MiB long; a longer one is bufio.ErrTooLong.
func Parse(text string) ([]Step, error) {
	var steps []Step
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		party, rest, _ := strings.Cut(line, " ")
		verb, arg, _ := strings.Cut(rest, " ")
		if party == "=>" {
			verb, arg = "=>", rest
		}
		steps = append(steps, Step{Line: n, Text: line, Party: party, Verb: verb, Arg: arg})
	}
	return steps, sc.Err()
}

// Play runs play, in a subtest named for the file, on the steps of every
// file matching glob (at least one must); with update, the lines play
// returns replace the files' step lines, in order.
func Play(t *testing.T, glob string, update bool, play func(t *testing.T, steps []Step) []string) {
	t.Helper()
	files, err := filepath.Glob(glob)
	if err != nil || len(files) == 0 {
		t.Fatalf("transcripts %s: %v (%d files)", glob, err, len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			steps, err := Parse(string(b))
			if err != nil {
				t.Fatal(err)
			}
			got := play(t, steps)
			if update {
				if err := os.WriteFile(f, []byte(Rewrite(string(b), got)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// Steps returns the steps of every file matching glob, for fuzz seeds.
func Steps(tb testing.TB, glob string) []Step {
	tb.Helper()
	files, err := filepath.Glob(glob)
	if err != nil {
		tb.Fatal(err)
	}
	var all []Step
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		steps, err := Parse(string(b))
		if err != nil {
			tb.Fatal(err)
		}
		all = append(all, steps...)
	}
	return all
}

// Rewrite replaces the step lines of text with lines, keeping comments and
// blank lines; step lines past len(lines) stay as they are.
func Rewrite(text string, lines []string) string {
	var b strings.Builder
	i := 0
	for _, l := range strings.SplitAfter(text, "\n") {
		if trimmed := strings.TrimSuffix(l, "\n"); trimmed != "" && trimmed[0] != '#' && i < len(lines) {
			b.WriteString(lines[i] + "\n")
			i++
			continue
		}
		b.WriteString(l)
	}
	return b.String()
}

// UnescapeEnd turns a final `\n` (two characters) into a newline: how a
// transcript writes a body or frame that ends in one.
func UnescapeEnd(s string) string {
	if strings.HasSuffix(s, `\n`) {
		return strings.TrimSuffix(s, `\n`) + "\n"
	}
	return s
}

// EscapeEnd is UnescapeEnd's inverse.
func EscapeEnd(s string) string {
	if strings.HasSuffix(s, "\n") {
		return strings.TrimSuffix(s, "\n") + `\n`
	}
	return s
}
