package sockio

import (
	"fmt"
	"net/netip"
	"testing"
)

// BenchmarkBatchLoopback moves batches of 32 datagrams of 200 bytes over
// loopback: the peer writes them, the BatchConn reads and echoes them, the
// peer reads the echoes. One op is one batch; ns/datagram divides by the
// 32 datagrams (each crossing loopback twice).
func BenchmarkBatchLoopback(b *testing.B) {
	const k, size = 32, 200
	for _, im := range impls {
		for _, pktinfo := range []bool{false, true} {
			if pktinfo && im.name != "native" {
				continue
			}
			b.Run(fmt.Sprintf("%s/pktinfo=%v", im.name, pktinfo), func(b *testing.B) {
				network, host := "udp4", "127.0.0.1:0"
				if pktinfo {
					host = "0.0.0.0:0"
				}
				srv := listenUDP(b, network, host)
				cl := listenUDP(b, "udp4", "127.0.0.1:0")
				sb := im.new(b, srv, BatchConfig{Size: k, PacketInfo: pktinfo})
				cb := im.new(b, cl, BatchConfig{Size: k})
				out := NewMessages(k, size)
				// 127.0.0.1 at the server's port: its address may be the
				// wildcard.
				dst := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), addrPort(srv).Port())
				cycle := batchCycle(b, sb, cb, NewMessages(k, 2048), out, dst)
				cycle()
				b.ReportAllocs()
				b.SetBytes(k * size)
				for b.Loop() {
					cycle()
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*k), "ns/datagram")
			})
		}
	}
}
