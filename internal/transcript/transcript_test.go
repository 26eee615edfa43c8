package transcript

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sample = `# a comment

A POST /join/R body with spaces
=> 200 {"result":"SUCCESS"}
A recv {"msg":"x","error":""}\n
`

// TestParse: steps with their line numbers, answers as "=>" steps,
// comments and blank lines skipped.
func TestParse(t *testing.T) {
	steps, err := Parse(sample)
	require.NoError(t, err)
	assert.Equal(t, []Step{
		{Line: 3, Text: "A POST /join/R body with spaces", Party: "A", Verb: "POST", Arg: "/join/R body with spaces"},
		{Line: 4, Text: `=> 200 {"result":"SUCCESS"}`, Party: "=>", Verb: "=>", Arg: `200 {"result":"SUCCESS"}`},
		{Line: 5, Text: `A recv {"msg":"x","error":""}\n`, Party: "A", Verb: "recv", Arg: `{"msg":"x","error":""}\n`},
	}, steps)
	_, err = Parse(strings.Repeat("x", 2<<20))
	assert.Error(t, err, "a line over 1 MiB")
}

// TestRewrite: step lines replaced in order, comments kept.
func TestRewrite(t *testing.T) {
	got := Rewrite(sample, []string{"A", "B", "C"})
	assert.Equal(t, "# a comment\n\nA\nB\nC\n", got)
	assert.Equal(t, sample, Rewrite(sample, nil))
}

// TestEscapeEnd: a final newline round-trips through `\n`.
func TestEscapeEnd(t *testing.T) {
	assert.Equal(t, "x\n", UnescapeEnd(`x\n`))
	assert.Equal(t, `x\n`, EscapeEnd("x\n"))
	assert.Equal(t, "x", UnescapeEnd("x"))
	assert.Equal(t, "x", EscapeEnd("x"))
}

// TestPlay: every file is played; with update, its step lines become what
// play returned.
func TestPlay(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "a.txt")
	require.NoError(t, os.WriteFile(f, []byte(sample), 0o644))
	var played []string
	Play(t, filepath.Join(dir, "*.txt"), true, func(t *testing.T, steps []Step) []string {
		played = append(played, t.Name())
		out := make([]string, len(steps))
		for i, s := range steps {
			out[i] = strings.ToUpper(s.Text)
		}
		return out
	})
	assert.Equal(t, []string{"TestPlay/a.txt"}, played)
	b, err := os.ReadFile(f)
	require.NoError(t, err)
	assert.Contains(t, string(b), "# a comment\n\nA POST /JOIN/R BODY WITH SPACES\n")
	assert.Len(t, Steps(t, filepath.Join(dir, "*.txt")), 3)
}
