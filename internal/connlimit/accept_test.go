package connlimit

import (
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

func acceptErr(err error) error {
	return &net.OpError{Op: "accept", Net: "tcp", Err: err}
}

// TestAcceptRetry: descriptor and buffer exhaustion, aborted connections
// and time-outs are retried after 5 ms, doubling to 1 s, as net/http does;
// a closed listener and other errors are not.
func TestAcceptRetry(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED} {
		if !RetryAccept(acceptErr(os.NewSyscallError("accept4", errno))) {
			t.Errorf("%v not retried", errno)
		}
	}
	if !RetryAccept(acceptErr(os.ErrDeadlineExceeded)) {
		t.Error("time-out not retried")
	}
	for _, err := range []error{net.ErrClosed, acceptErr(os.NewSyscallError("accept4", syscall.EINVAL)), errors.New("x")} {
		if RetryAccept(err) {
			t.Errorf("%v retried", err)
		}
	}
	var got []time.Duration
	for d := time.Duration(0); len(got) < 10; {
		d = NextAcceptDelay(d)
		got = append(got, d)
	}
	want := []time.Duration{5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("delays %v, want %v ms", got, want)
		}
	}
}
