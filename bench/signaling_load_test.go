//go:build linux

package bench

// The signaling load (issue 11, "Load"): N WebSocket clients in N/2 AppRTC
// rooms on loopback, against one apprtc.Server and against two on a NATS
// backplane (the two members of a room on different instances, so every
// message crosses NATS). Each client sends one message a second for D
// seconds; its peer checks the sequence numbers (no loss, no reordering)
// and records the delivery latency. Linux only: the clients dial from
// 127.0.0.2-127.0.0.9, which only Linux routes without configuration.
//
// Scale: SIGLOAD_CLIENTS (default 10,000) and SIGLOAD_SECONDS (default 60),
// e.g. SIGLOAD_CLIENTS=2000 SIGLOAD_SECONDS=10 for a quick run. The
// clients run in a child process (signaling_load_clients_test.go).

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/streamwire/streamwire/signaling/apprtc"
	"github.com/streamwire/streamwire/signaling/natsbackplane"
)

const (
	sigLoadClients    = 10000            // default N
	sigLoadSeconds    = 60               // default D
	sigLoadSources    = 8                // source addresses 127.0.0.2 .. 127.0.0.9
	sigLoadSetupConc  = 32               // pairs joining and registering at once
	sigLoadDrainAfter = 15 * time.Second // wait for the last messages after the send phase
	// sigLoadSpareFDs are the descriptors of a process beyond its end of
	// each WebSocket: the pooled join connections (2*sigLoadSetupConc),
	// NATS, listeners, the runtime's and go test's.
	sigLoadSpareFDs = 400
)

var sigQuiet = slog.New(slog.DiscardHandler)

// sigLoadScale reads SIGLOAD_CLIENTS (even, at least 2) and SIGLOAD_SECONDS.
func sigLoadScale(b *testing.B) (clients, seconds int) {
	clients, seconds = sigLoadClients, sigLoadSeconds
	for _, v := range []struct {
		name string
		p    *int
	}{{"SIGLOAD_CLIENTS", &clients}, {"SIGLOAD_SECONDS", &seconds}} {
		if s := os.Getenv(v.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				b.Fatalf("%s=%q: want a positive integer", v.name, s)
			}
			*v.p = n
		}
	}
	if clients < 2 || clients%2 != 0 {
		b.Fatalf("SIGLOAD_CLIENTS=%d: want an even number of at least 2", clients)
	}
	return clients, seconds
}

// raiseFDSoftLimit raises RLIMIT_NOFILE's soft limit to its hard limit,
// and fails when that is below need. The server process and the load
// generator each hold one end of every WebSocket.
func raiseFDSoftLimit(need uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("getrlimit: %w", err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return fmt.Errorf("setrlimit: %w", err)
		}
	}
	if lim.Cur < need {
		return fmt.Errorf("RLIMIT_NOFILE hard limit is %d, the load needs %d file descriptors per process; run fewer SIGLOAD_CLIENTS or raise ulimit -Hn", lim.Cur, need)
	}
	return nil
}

// BenchmarkSignalingLoad runs the load once per iteration in each
// set-up, the NATS one right after the one-instance one, and reports
// p50/p99 delivery latency (ms), lost messages (the benchmark fails when
// any is lost or reordered), heap bytes per client of the server process
// (the load generator is another process), and in the NATS set-up the
// messages that crossed NATS.
func BenchmarkSignalingLoad(b *testing.B) {
	clients, seconds := sigLoadScale(b)
	if err := raiseFDSoftLimit(uint64(clients + sigLoadSpareFDs)); err != nil {
		b.Fatal(err)
	}
	b.Run("one-instance", func(b *testing.B) {
		for range b.N {
			url := startSigInstance(b, apprtc.Config{Logger: sigQuiet})
			runSignalingLoad(b, clients, seconds, [2]string{url, url}, nil)
		}
	})
	b.Run("two-instances-nats", func(b *testing.B) {
		for range b.N {
			natsURL := startSigNATS(b)
			bp1, url1 := startSigNATSInstance(b, natsURL)
			bp2, url2 := startSigNATSInstance(b, natsURL)
			forwarded := func() natsCount {
				s1, s2 := bp1.Stats(), bp2.Stats()
				return natsCount{s1.Forwarded + s2.Forwarded, s1.Batches + s2.Batches}
			}
			runSignalingLoad(b, clients, seconds, [2]string{url1, url2}, forwarded)
		}
	})
}

// startSigInstance serves an apprtc.Server made from cfg on 127.0.0.1:0
// until the benchmark ends and returns its base URL.
func startSigInstance(b *testing.B, cfg apprtc.Config) string {
	srv, err := apprtc.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	for _, p := range apprtc.Paths() {
		mux.Handle(p, srv)
	}
	hs := httptest.NewServer(mux)
	b.Cleanup(func() {
		_ = srv.Close()
		hs.Close()
	})
	return hs.URL
}

// startSigNATS starts an embedded NATS server with JetStream on a free
// loopback port until the benchmark ends and returns its URL.
func startSigNATS(b *testing.B) string {
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: natsserver.RANDOM_PORT,
		JetStream: true, StoreDir: b.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		b.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		b.Fatal("NATS server not ready in 10 s")
	}
	b.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns.ClientURL()
}

// startSigNATSInstance starts one instance on the NATS server at natsURL:
// its own connection, Backplane, AppRTC store and apprtc.Server.
func startSigNATSInstance(b *testing.B, natsURL string) (*natsbackplane.Backplane, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bp, err := natsbackplane.Connect(ctx, natsURL, natsbackplane.Config{Logger: sigQuiet})
	if err != nil {
		b.Fatal(err)
	}
	// Cleanups run last-in first-out: the Server (registered below) closes
	// its WebSockets before the Backplane goes.
	b.Cleanup(func() { _ = bp.Close() })
	store, err := bp.AppRTC(ctx, apprtc.Config{Logger: sigQuiet})
	if err != nil {
		b.Fatal(err)
	}
	return bp, startSigInstance(b, apprtc.Config{Store: store, Logger: sigQuiet})
}

// runSignalingLoad runs clients clients in clients/2 rooms, the first
// member of each room on urls[0], the second on urls[1], for seconds
// seconds, from a child process (see signaling_load_clients_test.go), and
// reports the metrics. forwarded, when not nil, counts the messages that
// crossed NATS.
func runSignalingLoad(b *testing.B, clients, seconds int, urls [2]string, forwarded func() natsCount) {
	heapBefore := sigHeapInuse()
	child := startSigLoadChild(b, clients, seconds, urls)
	if line := child.line(); line != "ready" {
		b.Fatalf("load generator: %s", line)
	}
	perClient := float64(int64(sigHeapInuse())-int64(heapBefore)) / float64(clients)
	var fwdBefore natsCount
	if forwarded != nil {
		fwdBefore = forwarded()
	}

	b.ResetTimer()
	if _, err := io.WriteString(child.in, "go\n"); err != nil {
		b.Fatalf("load generator: %v", err)
	}
	var res sigLoadResult
	if line := child.line(); json.Unmarshal([]byte(line), &res) != nil {
		b.Fatalf("load generator: %s", line)
	}
	b.StopTimer()
	child.wait()

	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(clients), "clients")
	b.ReportMetric(float64(res.Delivered), "msgs-delivered")
	b.ReportMetric(float64(res.Lost), "lost-msgs")
	b.ReportMetric(perClient, "server-heap-B/client")
	if res.Delivered > 0 {
		b.ReportMetric(ms(res.P50), "p50-latency-ms")
		b.ReportMetric(ms(res.P99), "p99-latency-ms")
		b.ReportMetric(ms(res.Max), "max-latency-ms")
	}
	if forwarded != nil {
		after := forwarded()
		fwd := after.msgs - fwdBefore.msgs
		b.ReportMetric(float64(fwd), "nats-forwarded-msgs")
		b.ReportMetric(float64(after.requests-fwdBefore.requests), "nats-delivery-requests")
		if fwd < uint64(res.Delivered) {
			b.Errorf("%d messages crossed NATS, fewer than the %d delivered between instances", fwd, res.Delivered)
		}
	}
	if res.SendFailures > 0 {
		b.Errorf("%d clients failed to send", res.SendFailures)
	}
	if res.FirstBad != "" {
		b.Errorf("delivery: %d clients, the first: %s", res.Bad, res.FirstBad)
	}
	if res.Lost != 0 {
		b.Errorf("%d of %d messages lost", res.Lost, clients*seconds)
	}
}

// natsCount is what crossed NATS: messages, and the requests (batches)
// that carried them.
type natsCount struct{ msgs, requests uint64 }

// sigChild is the load generator's process.
type sigChild struct {
	b     *testing.B
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string   // its stdout, closed at its end
	done  chan struct{} // closed once cmd was waited for
}

// startSigLoadChild re-executes the test binary as the load generator; it
// is killed, if still running, when the benchmark ends.
func startSigLoadChild(b *testing.B, clients, seconds int, urls [2]string) *sigChild {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), sigChildEnv+"=1", sigURLsEnv+"="+urls[0]+" "+urls[1],
		"SIGLOAD_CLIENTS="+strconv.Itoa(clients), "SIGLOAD_SECONDS="+strconv.Itoa(seconds))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	c := &sigChild{b: b, cmd: cmd, in: in, lines: make(chan string, 16), done: make(chan struct{})}
	go func() {
		// Wait closes the pipe: only once everything was read.
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
		_ = cmd.Wait()
		close(c.done)
	}()
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-c.done
	})
	return c
}

// line reads the child's next line, or says why there is none.
func (c *sigChild) line() string {
	if l, ok := <-c.lines; ok {
		return l
	}
	<-c.done
	return fmt.Sprintf("exited without a line (%v)", c.cmd.ProcessState)
}

// wait waits for the child to exit on its own, at most a minute.
func (c *sigChild) wait() {
	_ = c.in.Close()
	select {
	case <-c.done:
		if !c.cmd.ProcessState.Success() {
			c.b.Errorf("load generator: %v", c.cmd.ProcessState)
		}
	case <-time.After(time.Minute):
		c.b.Errorf("load generator did not exit")
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// sigHeapInuse is HeapInuse after a full collection.
func sigHeapInuse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
