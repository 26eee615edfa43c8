package bench

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamwire/streamwire/bench/internal/loadgen"
	"github.com/streamwire/streamwire/stun"
)

// loadShape is the generator configuration every server gets: 2 client
// sockets with 128 requests outstanding each, 32 datagrams per syscall.
var loadShape = loadgen.Config{Clients: 2, Window: 128, Batch: 32, LossAfter: time.Second}

// BenchmarkBindingServer sends STUN Binding requests (with FINGERPRINT) over
// loopback UDP to coturn and to streamwire's stun.Server with the same
// generator and reports responses per second (resp/s) and requests left
// unanswered (loss). One op is one request.
//
//   - coturn, streamwire: closed loop (each of 2 client sockets keeps 128
//     requests outstanding): the most each server answers on this machine.
//   - coturn_at_coturn_rate, streamwire_at_coturn_rate: open loop, requests
//     sent at the rate coturn reached above whatever comes back: does each
//     server keep up with that offered load without loss?
//
// The machine's cores are shared by the server and the generator (and by
// whatever else runs), so the figures compare servers, not absolute capacity.
func BenchmarkBindingServer(b *testing.B) {
	var coturnRate float64
	for _, s := range bindingServers {
		p := s.start(b)
		b.Run(s.name, func(b *testing.B) {
			res := runLoad(b, p, loadShape)
			if s.name == "coturn" {
				coturnRate = res.RespPerSec()
			}
		})
		p.stop()
	}
	if coturnRate <= 0 {
		return
	}
	for _, s := range bindingServers {
		p := s.start(b)
		cfg := loadShape
		cfg.Rate = int(coturnRate)
		b.Run(s.name+"_at_coturn_rate", func(b *testing.B) {
			runLoad(b, p, cfg)
			b.ReportMetric(float64(cfg.Rate), "offered/s")
		})
		p.stop()
	}
}

// bindingServer is a server under test.
type bindingServer struct {
	name  string
	start func(testing.TB) serverProcess
}

var bindingServers = []bindingServer{
	{"coturn", func(tb testing.TB) serverProcess { return startCoturn(tb) }},
	{"streamwire", startStreamwire},
}

// serverProcessEnv makes the test binary a STUN server (see
// TestHelperSTUNServerProcess).
const serverProcessEnv = "STREAMWIRE_BENCH_STUN_SERVER"

// startStreamwire runs stun.Server (default settings: 2 workers,
// batches of 32) in a child process, as coturn runs in its own: a server in
// the benchmark's process would share the Go scheduler and the garbage
// collector with the generator. Receive buffers are equal in total: coturn
// opens one SO_REUSEPORT socket per relay thread (2 here) and asks 2 MiB for
// each, which the kernel doubles (ss -uam shows rb4194304 twice); our one
// socket asks 4 MiB (rb8388608; net.core.rmem_max is 4 MiB here).
func startStreamwire(tb testing.TB) serverProcess {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperSTUNServerProcess$")
	cmd.Env = append(os.Environ(), serverProcessEnv+"=1")
	cmd.Stderr = os.Stderr
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		tb.Fatal(err)
	}
	var once sync.Once
	p := serverProcess{pid: cmd.Process.Pid, stop: func() { once.Do(func() { cancel(); _ = cmd.Wait() }) }}
	tb.Cleanup(p.stop)
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		tb.Fatalf("stun server process: %v", err)
	}
	p.addr = strings.TrimSpace(line)
	if err := waitBinding(p.addr, 10*time.Second); err != nil {
		tb.Fatal(err)
	}
	return p
}

// TestHelperSTUNServerProcess is the child process of startStreamwire, not
// a test: without serverProcessEnv it returns at once. With it, it serves
// stun.Server on a free loopback port, prints the address on stdout and
// serves until killed.
func TestHelperSTUNServerProcess(t *testing.T) {
	if os.Getenv(serverProcessEnv) != "1" {
		return
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadBuffer(4 << 20)
	_ = conn.SetWriteBuffer(4 << 20)
	fmt.Println(conn.LocalAddr())
	err = (&stun.Server{Software: "streamwire"}).Serve(context.Background(), conn)
	t.Fatal(err)
}

// runLoad sends b.N requests to p and reports resp/s, loss and the CPU
// time the server process spent per response (µs-cpu/resp: user plus
// system time, all threads; less sensitive than resp/s to what else runs).
func runLoad(b *testing.B, p serverProcess, cfg loadgen.Config) loadgen.Result {
	cfg.Target = p.addr
	cfg.Requests = b.N
	cpu0, err := p.cpuTime()
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	res, err := loadgen.Run(context.Background(), cfg)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	cpu1, err := p.cpuTime()
	if err != nil {
		b.Fatal(err)
	}
	if res.Matched > 0 {
		b.ReportMetric(float64((cpu1-cpu0).Microseconds())/float64(res.Matched), "µs-cpu/resp")
	}
	if res.Bad > 0 {
		b.Errorf("%d invalid responses", res.Bad)
	}
	b.ReportMetric(res.RespPerSec(), "resp/s")
	b.ReportMetric(float64(res.Lost()), "loss")
	if res.Late > 0 {
		b.ReportMetric(float64(res.Late), "late")
	}
	return res
}
