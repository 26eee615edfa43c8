package stun

import "net/netip"

// batchConn reads and writes datagrams in batches (recvmmsg/sendmmsg on
// Linux). One per worker goroutine; see newBatchConn.
type batchConn interface {
	// ReadBatch blocks until at least one datagram arrives and returns how
	// many were read.
	ReadBatch() (int, error)
	// Datagram returns the i-th datagram of the last ReadBatch and its
	// source; ok is false when it must be dropped (truncated, not IP).
	// b aliases a buffer reused by the next ReadBatch.
	Datagram(i int) (b []byte, from netip.AddrPort, ok bool)
	// ResponseBuffer returns an empty buffer with room for one datagram.
	ResponseBuffer() []byte
	// QueueResponse queues resp (built in ResponseBuffer) for the source of
	// datagram i.
	QueueResponse(i int, resp []byte)
	// Flush sends the queued responses.
	Flush() error
}
