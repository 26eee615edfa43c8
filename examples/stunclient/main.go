// Command stunclient asks a STUN server for the address it sees this host
// as (a Binding request, RFC 8489) and prints it.
//
//	go run ./examples/stunclient stun.l.google.com:19302
//	go run ./examples/stunclient -tcp 127.0.0.1:3478
//
// Over UDP the request is retransmitted on the RFC 8489 schedule (500 ms,
// doubling); over TCP it is sent once. -timeout bounds the whole exchange.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/streamwire/streamwire/stun"
)

func main() {
	useTCP := flag.Bool("tcp", false, "use TCP instead of UDP")
	timeout := flag.Duration("timeout", 10*time.Second, "give up after this long")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: stunclient [-tcp] [-timeout d] HOST:PORT\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	mapped, err := binding(ctx, flag.Arg(0), *useTCP)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stunclient:", err)
		os.Exit(1)
	}
	fmt.Println(mapped)
}

func binding(ctx context.Context, server string, useTCP bool) (string, error) {
	var c stun.Client
	if useTCP {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", server)
		if err != nil {
			return "", err
		}
		defer conn.Close()
		a, err := c.BindingStream(ctx, conn)
		return a.String(), err
	}
	raddr, err := net.ResolveUDPAddr("udp", server)
	if err != nil {
		return "", err
	}
	network := "udp4"
	if raddr.IP.To4() == nil {
		network = "udp6"
	}
	conn, err := net.ListenUDP(network, nil)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	a, err := c.Binding(ctx, conn, raddr)
	return a.String(), err
}
