// Command rtmp_server is the streamwire RTMP relay alone in a process, for
// the fan-out benchmark (bench/rtmp_fanout_test.go builds and runs it so that
// /proc/PID/stat counts the server's CPU only). It prints "listening ADDR"
// once it accepts connections and serves until SIGTERM or stdin closes.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/streamwire/streamwire/relay"
	"github.com/streamwire/streamwire/rtmp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "TCP address to serve RTMP on")
	interval := flag.Duration("write-interval", 0, "rtmp.ServerConfig.PlayWriteInterval (merged writes to players)")
	nagle := flag.Bool("nagle", false, "turn Nagle's algorithm on for accepted connections (TCP_NODELAY off), as nginx-rtmp leaves it")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { // the parent closing our stdin also stops us
		io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	if path := os.Getenv("RTMP_SERVER_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if *nagle {
		ln = nagleListener{ln}
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	hub := relay.NewHub(relay.Config{Logger: log})
	fmt.Println("listening", ln.Addr())
	srv := rtmp.NewServer(rtmp.ServerConfig{Handler: &relay.RTMPHandler{Hub: hub}, Logger: log, PlayWriteInterval: *interval})
	if err := srv.Serve(ctx, ln); err != nil && err != rtmp.ErrServerClosed {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// nagleListener turns Nagle's algorithm back on for each accepted
// connection: Go sets TCP_NODELAY on every TCP socket, nginx-rtmp never
// does.
type nagleListener struct{ net.Listener }

func (l nagleListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(false)
	}
	return c, err
}
