package main

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/streamwire/streamwire/stun"
)

// TestBinding runs the command's exchange against stun.Server over UDP and
// against a one-shot STUN-over-TCP responder.
func TestBinding(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	srv := &stun.Server{}
	serveCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(serveCtx, pc) }()
	defer func() { stop(); <-done }()
	got, err := binding(ctx, pc.LocalAddr().String(), false)
	if err != nil {
		t.Fatalf("udp: %v", err)
	}
	if host, _, _ := net.SplitHostPort(got); host != "127.0.0.1" {
		t.Errorf("udp: mapped %q", got)
	}

	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	remote := make(chan string, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		remote <- c.RemoteAddr().String()
		buf := make([]byte, 1500)
		n, err := c.Read(buf) // the 28-byte request arrives in one segment on loopback
		if err != nil {
			return
		}
		out, ok := srv.AppendResponse(nil, buf[:n], c.RemoteAddr().(*net.TCPAddr).AddrPort())
		if ok {
			_, _ = c.Write(out)
		}
	}()
	got, err = binding(ctx, l.Addr().String(), true)
	if err != nil {
		t.Fatalf("tcp: %v", err)
	}
	if want := <-remote; got != want {
		t.Errorf("tcp: mapped %q, want %q", got, want)
	}
	if _, err := binding(ctx, "not-a-host-port", false); err == nil {
		t.Error("bad address accepted")
	}
}
