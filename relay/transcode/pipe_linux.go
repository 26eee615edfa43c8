//go:build linux

package transcode

import (
	"os"

	"golang.org/x/sys/unix"
)

// pipeSize is the capacity asked for ffmpeg's stdin pipe: one page, the
// smallest Linux allows (pipe(7)). The default 64 KiB would hide a
// second or more of audio from the queue's bound and its drop counter.
const pipeSize = 4096

// shrinkPipe sets the pipe's capacity to pipeSize, through SyscallConn
// so that the file stays non-blocking and its deadlines keep working.
// A failure leaves the default size, which only costs latency when
// ffmpeg falls behind.
func shrinkPipe(f *os.File) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, pipeSize)
	})
}
