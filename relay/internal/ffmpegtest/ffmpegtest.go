package ffmpegtest

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
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

// Run runs ffmpeg with args (after -hide_banner -nostdin -v error), for
// at most Timeout, and returns what it wrote to stdout. It fails the test
// on an exit error and on anything written to stderr, so that a decoder's
// complaint about a stream fails it too.
func Run(t testing.TB, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, Need(t), append([]string{"-hide_banner", "-nostdin", "-v", "error"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("ffmpeg %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}
