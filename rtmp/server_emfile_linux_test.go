package rtmp

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// emfileChildEnv makes the test binary run as the server of
// TestServeSurvivesEMFILE, in a process of its own: the descriptor limit
// it lowers is process-wide and must not reach the other tests.
const emfileChildEnv = "STREAMWIRE_RTMP_EMFILE_CHILD"

// TestServeSurvivesEMFILE is the reported fault, for real: a server
// process limited to 64 descriptors is sent 150 idle connections, so that
// accept fails with EMFILE. Serve must log, wait and go on: once the idle
// connections close, a client publishes. (Serve used to return
// "accept4: too many open files" and leave the port dead.)
func TestServeSurvivesEMFILE(t *testing.T) {
	if os.Getenv(emfileChildEnv) == "1" {
		emfileChild()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestServeSurvivesEMFILE$", "-test.count=1")
	cmd.Env = append(os.Environ(), emfileChildEnv+"=1")
	stdin, err := cmd.StdinPipe() // the child ends when it is closed
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("server process: %v", err)
		}
	}()
	lines := make(chan string, 256)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	addr := expectLine(t, lines, "addr=")
	idle := make([]net.Conn, 0, 150)
	for range cap(idle) {
		c, err := net.Dial("tcp", strings.TrimPrefix(addr, "addr="))
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	expectLine(t, lines, "too many open files")
	for _, c := range idle {
		c.Close()
	}
	cl, err := Dial(ctx, "rtmp://"+strings.TrimPrefix(addr, "addr=")+"/live/after", ClientConfig{})
	if err != nil {
		t.Fatalf("dial after EMFILE: %v", err)
	}
	defer cl.Close()
	if err := cl.Publish(ctx); err != nil {
		t.Fatalf("publish after EMFILE: %v", err)
	}
}

// expectLine returns the first line of the child containing want, failing
// if the child says that Serve returned or if nothing comes in 10 s.
func expectLine(t *testing.T, lines <-chan string, want string) string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("server process ended before %q", want)
			}
			if strings.Contains(l, "serve returned") {
				t.Fatalf("server process: %s", l)
			}
			if strings.Contains(l, want) {
				return l
			}
		case <-timeout:
			t.Fatalf("no %q from the server process in 10 s", want)
		}
	}
}

// emfileChild serves with at most 64 descriptors until stdin closes,
// printing its address, its log and Serve's return on stdout.
func emfileChild() {
	lim := syscall.Rlimit{Cur: 64, Max: 64}
	var cur syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &cur); err == nil && cur.Max < lim.Max {
		lim.Max = cur.Max
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		fmt.Println("serve returned: setrlimit:", err)
		os.Exit(1)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("serve returned: listen:", err)
		os.Exit(1)
	}
	fmt.Println("addr=" + l.Addr().String())
	srv := NewServer(ServerConfig{Handler: &memHandler{}, Logger: slog.New(slog.NewTextHandler(os.Stdout, nil))})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	go func() {
		io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	if err := srv.Serve(ctx, l); ctx.Err() == nil {
		fmt.Println("serve returned:", err)
		os.Exit(1)
	}
}
