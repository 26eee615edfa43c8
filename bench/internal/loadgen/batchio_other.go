//go:build !linux

package loadgen

import (
	"net"

	"golang.org/x/net/ipv4"
)

// xnetIO batches through golang.org/x/net/ipv4 (one datagram per call
// outside Linux).
type xnetIO struct {
	pc           *ipv4.PacketConn
	wmsgs, rmsgs []ipv4.Message
}

func newBatchIO(conn *net.UDPConn, wbufs, rbufs [][]byte) (batchIO, error) {
	x := &xnetIO{pc: ipv4.NewPacketConn(conn),
		wmsgs: make([]ipv4.Message, len(wbufs)), rmsgs: make([]ipv4.Message, len(rbufs))}
	for i := range wbufs {
		x.wmsgs[i].Buffers = [][]byte{wbufs[i]}
	}
	for i := range rbufs {
		x.rmsgs[i].Buffers = [][]byte{rbufs[i]}
	}
	return x, nil
}

func (x *xnetIO) write(from, to int) (int, error) { return x.pc.WriteBatch(x.wmsgs[from:to], 0) }
func (x *xnetIO) read() (int, error)              { return x.pc.ReadBatch(x.rmsgs, 0) }
func (x *xnetIO) size(i int) int                  { return x.rmsgs[i].N }
