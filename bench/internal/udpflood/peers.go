//go:build linux

// Package udpflood plays many remote peers of one UDP server on loopback,
// for benchmarks of servers that tell their peers apart by source address
// (an ICE mux, a STUN server): a thousand peers, each with its own address,
// sending round-robin in batches, without a thousand sockets' system calls.
//
// Peers holds the endpoints: endpoint j sends from its own address Addr(j),
// 127.1.x.y on the port of sender socket j mod Senders, through that sender
// socket with IP_PKTINFO's ipi_spec_dst as the source address (ip(7)), so
// that one sendmmsg(2) carries datagrams of many endpoints. What the server
// sends back to Addr(j) lands on Sink(j), a socket bound to exactly that
// address (127.0.0.0/8 is all loopback on Linux), with the smallest receive
// buffer: replies that nobody reads are dropped there at once instead of
// coming back as ICMP port-unreachable errors.
//
// Flood sends from Peers to one server, never more than a window ahead of
// a completion count the caller supplies (datagrams delivered, requests
// answered), so that the server's socket buffer does not overflow and the
// benchmark measures the server, not its drops. Meter splits the process's
// CPU time between the sending goroutine and everything else (the server
// under test), and counts heap allocations.
//
// Linux only: source addresses through IP_PKTINFO, thread CPU clocks.
package udpflood

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/streamwire/streamwire/internal/sockio"
	"golang.org/x/sys/unix"
)

// DefaultSenders is the number of sender sockets when NewPeers is given 0.
const DefaultSenders = 4

// firstPeerIP is the address of the first endpoint of each sender socket;
// 127.0.0.0/16 is left to everything else on the machine.
var firstPeerIP = [4]byte{127, 1, 0, 1}

// Peers is a set of remote endpoints on loopback; see the package comment.
// Its methods are not safe for concurrent use, apart from Addr and Len.
type Peers struct {
	senders []*net.UDPConn
	writers []*sockio.BatchConn
	sinks   []*net.UDPConn
	addrs   []netip.AddrPort
	one     [1]sockio.Message
}

// NewPeers opens n endpoints on senders sender sockets (0 means
// DefaultSenders), each sender socket bound to 127.0.0.1 with a 4 MiB
// send buffer, and one sink per endpoint. It fails when a sink's address
// is taken, which only another process binding 127.1.0.0/16 causes.
func NewPeers(n, senders int) (*Peers, error) {
	if senders <= 0 {
		senders = DefaultSenders
	}
	if n <= 0 || (n+senders-1)/senders >= 1<<16-2 {
		return nil, fmt.Errorf("udpflood: %d endpoints on %d senders", n, senders)
	}
	p := &Peers{}
	if err := p.open(n, senders); err != nil {
		_ = p.Close()
		return nil, err
	}
	return p, nil
}

func (p *Peers) open(n, senders int) error {
	for range senders {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return fmt.Errorf("udpflood: sender: %w", err)
		}
		p.senders = append(p.senders, c)
		_ = c.SetWriteBuffer(4 << 20)
		w, err := sockio.NewBatchConn(c, sockio.BatchConfig{Size: MaxBatch})
		if err != nil {
			return fmt.Errorf("udpflood: sender: %w", err)
		}
		p.writers = append(p.writers, w)
	}
	base := uint32(firstPeerIP[0])<<24 | uint32(firstPeerIP[1])<<16 | uint32(firstPeerIP[2])<<8 | uint32(firstPeerIP[3])
	for j := range n {
		ip := base + uint32(j/senders)
		port := p.senders[j%senders].LocalAddr().(*net.UDPAddr).Port
		a := netip.AddrPortFrom(netip.AddrFrom4([4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)}), uint16(port))
		sink, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(a))
		if err != nil {
			return fmt.Errorf("udpflood: sink %v: %w", a, err)
		}
		_ = sink.SetReadBuffer(1) // the kernel's minimum: a few datagrams
		p.sinks = append(p.sinks, sink)
		p.addrs = append(p.addrs, a)
	}
	return nil
}

// Len returns the number of endpoints.
func (p *Peers) Len() int { return len(p.addrs) }

// Senders returns the number of sender sockets.
func (p *Peers) Senders() int { return len(p.senders) }

// Addr returns the source address of endpoint j's datagrams.
func (p *Peers) Addr(j int) netip.AddrPort { return p.addrs[j] }

// Sink returns the socket that receives what is sent to Addr(j). Its
// receive buffer holds only a few datagrams; more are dropped.
func (p *Peers) Sink(j int) *net.UDPConn { return p.sinks[j] }

// WriteFrom sends b from endpoint j to to, as one datagram.
func (p *Peers) WriteFrom(j int, b []byte, to netip.AddrPort) error {
	m := &p.one[0]
	*m = sockio.Message{Buf: b, Addr: to, Local: p.addrs[j].Addr()}
	_, err := p.writers[j%len(p.writers)].WriteBatch(p.one[:])
	m.Buf = nil
	return err
}

// ReadSink reads the next datagram sent to endpoint j into b, waiting
// until deadline; the error is os.ErrDeadlineExceeded when none came.
func (p *Peers) ReadSink(j int, b []byte, deadline time.Time) (int, error) {
	s := p.sinks[j]
	if err := s.SetReadDeadline(deadline); err != nil {
		return 0, err
	}
	n, _, err := s.ReadFromUDPAddrPort(b)
	return n, err
}

// DrainSinks discards whatever the sinks hold, so that the next ReadSink
// returns what is sent from now on.
func (p *Peers) DrainSinks() error {
	buf := make([]byte, 1500)
	for _, s := range p.sinks {
		rc, err := s.SyscallConn()
		if err != nil {
			return err
		}
		if err := s.SetReadDeadline(time.Time{}); err != nil { // ReadSink's, passed
			return err
		}
		// A read deadline in the past would fail before reading, so read
		// without waiting until the socket is empty.
		err = rc.Read(func(fd uintptr) bool {
			for {
				_, _, err := unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT)
				if err != nil && err != unix.EINTR {
					return true // EAGAIN: empty
				}
			}
		})
		if err != nil {
			return fmt.Errorf("udpflood: drain: %w", err)
		}
	}
	return nil
}

// Close closes every socket.
func (p *Peers) Close() error {
	var errs []error
	for _, c := range p.senders {
		errs = append(errs, c.Close())
	}
	for _, c := range p.sinks {
		errs = append(errs, c.Close())
	}
	p.senders, p.writers, p.sinks = nil, nil, nil
	return errors.Join(errs...)
}
