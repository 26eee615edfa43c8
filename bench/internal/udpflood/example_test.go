//go:build linux

package udpflood_test

import (
	"fmt"
	"net"
	"sync/atomic"

	"github.com/streamwire/streamwire/bench/internal/udpflood"
)

// A hundred peers send ten datagrams each to a server that counts them; the
// window keeps the flood within what the server's socket buffer holds.
func Example() {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	var received atomic.Int64
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := conn.ReadFromUDPAddrPort(buf); err != nil {
				return
			}
			received.Add(1)
		}
	}()

	peers, err := udpflood.NewPeers(100, 0)
	if err != nil {
		panic(err)
	}
	defer peers.Close()
	f, err := udpflood.New(peers, udpflood.Config{
		Target:   conn.LocalAddr().(*net.UDPAddr).AddrPort(),
		Datagram: func(j int) []byte { return []byte{0x80, byte(j)} },
		Done:     received.Load,
		Window:   100, // 100 small datagrams fit the default 208 KiB SO_RCVBUF
	})
	if err != nil {
		panic(err)
	}
	m := udpflood.StartMeter()
	for range 1000 {
		if err := f.Send(); err != nil {
			panic(err)
		}
	}
	done, err := f.Settle()
	u := m.Stop()
	fmt.Println(f.Sent(), done, err, u.Wall > 0)
	// Output: 1000 1000 <nil> true
}
