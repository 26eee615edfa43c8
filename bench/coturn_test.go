package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/streamwire/streamwire/bench/internal/loadgen"
)

// startCoturn starts coturn's turnserver as a plain STUN server on a free
// loopback port: no configuration file, TLS, DTLS, CLI or TURN; default relay
// threads (one per CPU). extra are further turnserver options. It returns the
// server's "127.0.0.1:port" once it answers a Binding request, and a stop
// function (also registered with tb.Cleanup).
func startCoturn(tb testing.TB, extra ...string) (addr string, stop func()) {
	tb.Helper()
	path, err := exec.LookPath("turnserver")
	if err != nil {
		tb.Fatalf("turnserver (coturn) is not installed (make deps installs it): %v", err)
	}
	port := freeUDPPort(tb)
	dir := tb.TempDir()
	args := []string{
		"-n", "--stun-only",
		"--listening-ip=127.0.0.1", fmt.Sprintf("--listening-port=%d", port),
		"--no-tls", "--no-dtls", "--no-cli", "--no-stdout-log",
		"--log-file=" + filepath.Join(dir, "turn.log"), "--simple-log",
		"--pidfile=" + filepath.Join(dir, "turn.pid"),
		"--userdb=" + filepath.Join(dir, "turndb"),
		"--cli-password=unused",
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	cmd := exec.CommandContext(ctx, path, append(args, extra...)...)
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		tb.Fatalf("start turnserver: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stop = func() { cancel(); <-done }
	tb.Cleanup(stop)
	addr = fmt.Sprintf("127.0.0.1:%d", port)
	if err := waitBinding(addr, 10*time.Second); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "turn.log"))
		tb.Fatalf("coturn: %v\nlog:\n%s", err, log)
	}
	return addr, stop
}

// freeUDPPort returns a UDP port on 127.0.0.1 that was free a moment ago.
func freeUDPPort(tb testing.TB) int {
	tb.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("free udp port: %v", err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// waitBinding polls addr with single Binding requests until one is answered
// correctly or limit passes.
func waitBinding(addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		res, err := loadgen.Run(context.Background(), loadgen.Config{
			Target: addr, Requests: 1, Clients: 1, Window: 1, LossAfter: 200 * time.Millisecond,
		})
		if err == nil && res.Matched == 1 {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("nothing answers STUN Binding at %s after %v", addr, limit)
}
