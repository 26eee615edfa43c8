package transcode

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestPipeSize: ffmpeg's stdin pipe holds one page, so that a backlog
// waits in the bounded, counted queue rather than in the pipe.
func TestPipeSize(t *testing.T) {
	tc, _ := newTranscoder(t, Config{})
	waitProcess(t, tc, 1)
	p := tc.proc.Load()
	if p == nil {
		t.Fatal("no ffmpeg")
	}
	rc, err := p.stdin.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var size int
	if err := rc.Control(func(fd uintptr) { size, err = unix.FcntlInt(fd, unix.F_GETPIPE_SZ, 0) }); err != nil {
		t.Fatal(err)
	}
	if err != nil || size != pipeSize {
		t.Fatalf("stdin pipe of %d bytes (%v), want %d", size, err, pipeSize)
	}
}
