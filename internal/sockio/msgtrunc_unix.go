//go:build unix

package sockio

import "syscall"

// msgTrunc is the flag of a datagram cut to the reader's buffer.
const msgTrunc = syscall.MSG_TRUNC
