package bench

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamwire/streamwire/bench/internal/loadgen"
)

// startCoturn starts coturn's turnserver as a plain STUN server on a free
// loopback port: no configuration file, TLS, DTLS, CLI or TURN; default relay
// threads (one per CPU, each with its own SO_REUSEPORT socket). extra are
// further turnserver options. It returns the server's "127.0.0.1:port" once
// it answers a Binding request, and a stop function (also registered with
// tb.Cleanup). A start that does not answer within 10 s (the port was taken
// meanwhile, for TCP or UDP) is retried on another port, three times at most.
func startCoturn(tb testing.TB, extra ...string) (addr string, stop func()) {
	tb.Helper()
	path, err := exec.LookPath("turnserver")
	if err != nil {
		tb.Fatalf("turnserver (coturn) is not installed (make deps installs it): %v", err)
	}
	var failures []string
	for range 3 {
		addr, stop, err := tryCoturn(tb, path, extra)
		if err == nil {
			tb.Cleanup(stop)
			return addr, stop
		}
		failures = append(failures, err.Error())
	}
	tb.Fatalf("coturn did not start:\n%s", strings.Join(failures, "\n"))
	return "", nil
}

// tryCoturn starts turnserver once; on error it has already stopped it.
func tryCoturn(tb testing.TB, path string, extra []string) (addr string, stop func(), err error) {
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
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		return "", nil, fmt.Errorf("start turnserver: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	addr = fmt.Sprintf("127.0.0.1:%d", port)
	if err := waitBinding(addr, 10*time.Second); err != nil {
		stop()
		log, _ := os.ReadFile(filepath.Join(dir, "turn.log"))
		return "", nil, fmt.Errorf("%w\noutput:\n%s\nlog:\n%s", err, out.String(), log)
	}
	return addr, stop, nil
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
