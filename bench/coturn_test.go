package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
// tb.Cleanup), in a serverProcess. A start that does not answer within 10 s (the port was taken
// meanwhile, for TCP or UDP) is retried on another port, three times at most.
func startCoturn(tb testing.TB, extra ...string) serverProcess {
	tb.Helper()
	path, err := exec.LookPath("turnserver")
	if err != nil {
		tb.Fatalf("turnserver (coturn) is not installed (make deps installs it): %v", err)
	}
	var failures []string
	for range 3 {
		p, err := tryCoturn(tb, path, extra)
		if err == nil {
			tb.Cleanup(p.stop)
			return p
		}
		failures = append(failures, err.Error())
	}
	tb.Fatalf("coturn did not start:\n%s", strings.Join(failures, "\n"))
	return serverProcess{}
}

// tryCoturn starts turnserver once; on error it has already stopped it.
func tryCoturn(tb testing.TB, path string, extra []string) (serverProcess, error) {
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
		return serverProcess{}, fmt.Errorf("start turnserver: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	var once sync.Once
	p := serverProcess{
		addr: fmt.Sprintf("127.0.0.1:%d", port),
		pid:  cmd.Process.Pid,
		stop: func() { once.Do(func() { cancel(); <-done }) },
	}
	if err := waitBinding(p.addr, 10*time.Second); err != nil {
		p.stop()
		log, _ := os.ReadFile(filepath.Join(dir, "turn.log"))
		return serverProcess{}, fmt.Errorf("%w\noutput:\n%s\nlog:\n%s", err, out.String(), log)
	}
	return p, nil
}

// serverProcess is a server under test running in a child process.
type serverProcess struct {
	addr string // "127.0.0.1:port"
	pid  int
	stop func() // kills it and waits for it to exit; idempotent
}

// cpuTime returns the user plus system CPU time the process has used, from
// /proc/PID/stat (utime and stime, in USER_HZ = 100 ticks per second).
func (p serverProcess) cpuTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // after "pid (comm)"
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", p.pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
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
