package connlimit

import (
	"errors"
	"net"
	"syscall"
	"time"
)

// Retry delays of a server's accept loop after a temporary accept error,
// as net/http's Server.Serve: from AcceptRetryMin, doubling, to at most
// AcceptRetryMax.
const (
	AcceptRetryMin = 5 * time.Millisecond
	AcceptRetryMax = time.Second
)

// RetryAccept reports whether err, returned by a listener's Accept, is
// temporary, as net/http's Server.Serve judges it: the process or the
// system is out of descriptors or buffers (EMFILE, ENFILE, ENOBUFS,
// ENOMEM), one connection was aborted before it was accepted
// (ECONNABORTED), or Accept timed out. The server then waits
// (NextAcceptDelay) and accepts again; connections already served are
// untouched and, as they close, free the descriptors the next Accept
// needs.
func RetryAccept(err error) bool {
	for _, errno := range [...]syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED} {
		if errors.Is(err, errno) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// NextAcceptDelay is the wait after a temporary accept error that followed
// a wait of d (0 for the first error): AcceptRetryMin, then twice d, at
// most AcceptRetryMax.
func NextAcceptDelay(d time.Duration) time.Duration {
	if d == 0 {
		return AcceptRetryMin
	}
	return min(2*d, AcceptRetryMax)
}
