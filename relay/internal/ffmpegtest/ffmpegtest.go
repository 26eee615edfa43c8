package ffmpegtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/streamwire/streamwire/rtmp/flv"
)

// Timeout bounds one ffmpeg run.
const Timeout = 60 * time.Second

// Need returns the path of the ffmpeg binary on PATH, failing the test if
// there is none: scripts/install-deps.sh installs it (with libx264,
// libx265, libaom and libopus), and the tests that use it must not pass
// without running it.
func Need(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatalf("ffmpeg is needed by this test (./scripts/install-deps.sh installs it): %v", err)
	}
	return p
}

// Exec runs ffmpeg from PATH with args (after -hide_banner -nostdin -v
// error) until ctx ends, and returns what it wrote to stdout. Anything it
// wrote to stderr is an error too, so that a decoder's complaint about a
// stream counts as a failure; the error holds it.
func Exec(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "ffmpeg", append([]string{"-hide_banner", "-nostdin", "-v", "error"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err == nil && stderr.Len() > 0 {
		err = errors.New("wrote to stderr")
	}
	if err != nil {
		return out, fmt.Errorf("ffmpeg %s: %w\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out, nil
}

// Run is Exec for at most Timeout, failing the test on an error (and
// when there is no ffmpeg, see Need).
func Run(t testing.TB, args ...string) []byte {
	t.Helper()
	Need(t)
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	out, err := Exec(ctx, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// FLVTags returns the tags of the FLV file (Adobe FLV spec v10.1 annex E)
// r reads to its end, each with a Data of its own.
func FLVTags(r io.Reader) ([]flv.Tag, error) {
	fr, err := flv.NewReader(r)
	if err != nil {
		return nil, err
	}
	var tags []flv.Tag
	for {
		tag, err := fr.ReadTag()
		if errors.Is(err, io.EOF) {
			return tags, nil
		}
		if err != nil {
			return tags, err
		}
		tag.Data = bytes.Clone(tag.Data)
		tags = append(tags, tag)
	}
}

// ReadFLV is FLVTags of the file at path, failing the test on an error.
func ReadFLV(t testing.TB, path string) []flv.Tag {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tags, err := FLVTags(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return tags
}
