//go:build linux

package bench

// The WHEP fan-out load (issue 10, "Performance"): one RTMP publisher of
// a 600 kbit/s H.264 test pattern and N WHEP viewers from the wheplab load
// client, against our server (examples/server built into a temporary
// binary) and against pion_whep (pion/webrtc v4, one PeerConnection per
// viewer, the MediaMTX way), each a separate process so that
// /proc/PID/task/*/schedstat counts the server's CPU alone.

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streamwire/streamwire/bench/internal/wheplab"
)

var (
	whepViewers   = flag.Int("whep.viewers", 300, "WHEP viewers of BenchmarkWHEPLoad")
	whepWindow    = flag.Duration("whep.window", 10*time.Second, "measuring window per benchmark iteration")
	whepWarmup    = flag.Duration("whep.warmup", 5*time.Second, "wait between the last viewer's setup and the window")
	whepRounds    = flag.Int("whep.rounds", 2, "rounds over the servers, each the servers in turn, every other one in reverse order")
	whepProcs     = flag.Int("whep.procs", 1, "GOMAXPROCS of the servers")
	whepServerSrc = flag.String("whep.server-src", "../examples", "module directory whose ./server is our server (e.g. /path/to/checkout/examples)")
	whepOnly      = flag.String("whep.only", "", "run only this server: streamwire or pion")
	whepOut       = flag.String("whep.out", "", "append one JSON line per run to this file (bench/results/whep-*.jsonl)")
	whepMaxFailed = flag.Float64("whep.max-failed", 0.01, "fraction of the viewers that may fail their setup (the run goes on without them)")
	whepLogs      = flag.String("whep.logs", "", "directory for the servers' logs (default: the benchmark's temporary directory)")
	whepClip      = flag.Duration("whep.clip", 20*time.Second, "length of the encoded test pattern the publisher loops")
)

// Publisher: a test pattern encoded once per benchmark (libx264 baseline,
// 640x360 at 30 fps, 600 kbit/s CBR-like, a keyframe every 2 s, no B-frames,
// no audio: AAC would start the server's AAC→Opus ffmpeg transcoder, whose
// CPU is not the relay's), then published with -c copy in real time, so
// that the publisher costs next to no CPU.
const whepEncodeArgs = "-f lavfi -i testsrc2=size=640x360:rate=30 -c:v libx264 -preset veryfast -tune zerolatency " +
	"-profile:v baseline -b:v 600k -maxrate 600k -bufsize 600k -g 60 -keyint_min 60 -sc_threshold 0 -bf 0 -pix_fmt yuv420p -an"

// whepServer is how to start one of the compared servers.
type whepServer struct {
	name  string
	start func(b *testing.B) *whepProc
	// dropsMetric is the server's counter of frames (ours) or access units
	// (pion_whep) dropped for viewers that fell behind.
	dropsMetric string
}

// BenchmarkWHEPLoad measures the server CPU one WHEP viewer costs: one
// publisher at 600 kbit/s and -whep.viewers viewers on loopback, against
// our server and pion_whep (GOMAXPROCS=-whep.procs each), with the same
// load client, taking turns: -whep.rounds rounds (round=N/server=NAME),
// every other one in reverse order, so that drifts of the machine's load
// hit both; benchstat -col /server -ignore /round compares them. (-count
// would run each server's repetitions back to back.) Metrics: the server's CPU seconds per viewer-second
// beyond its CPU with the publisher alone (cpu-s/viewer-s, from
// /proc/PID/task/*/schedstat; tick-cpu-s/viewer-s from utime+stime in
// /proc/PID/stat), the viewers one core carries at that cost
// (viewers/core), the server's whole CPU (server-cpu-%) and the client's
// (client-cpu-%, this process), the loss (loss-%: sequence numbers
// expected but not received, RFC 3550 §A.3), what each viewer received
// (kbps/viewer), and the server's growth per viewer in RSS (rss-kB/viewer),
// Go heap in use (heap-kB/viewer) and goroutines (goroutines/viewer). The
// run fails when a viewer gets nothing in the window, when an SRTP
// check fails, or when the loss exceeds 1%; the bar is 0.1%.
//
//	cd bench && go test -run '^$' -bench WHEPLoad -benchtime 1x -whep.rounds 4 -whep.viewers 300 -whep.out results/whep-load.jsonl
func BenchmarkWHEPLoad(b *testing.B) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		b.Fatalf("ffmpeg: %v (./scripts/install-deps.sh installs it)", err)
	}
	if err := raiseFDSoftLimit(uint64(*whepViewers + sigLoadSpareFDs)); err != nil {
		b.Fatal(err)
	}
	clip := encodeWHEPClip(b)
	ours := buildBinary(b, *whepServerSrc, "./server", "server")
	pion := buildBinary(b, ".", "./pion_whep", "pion_whep")
	servers := []whepServer{
		{"server=streamwire", func(b *testing.B) *whepProc { return startOurWHEPServer(b, ours) },
			`streamwire_slow_consumer_drops_total{protocol="whep"}`},
		{"server=pion", func(b *testing.B) *whepProc { return startPionWHEP(b, pion) },
			"pion_whep_slow_consumer_drops_total"},
	}
	if *whepOnly != "" {
		servers = slices.DeleteFunc(servers, func(s whepServer) bool { return !strings.HasSuffix(s.name, "="+*whepOnly) })
	}
	for round := 1; round <= *whepRounds; round++ {
		order := slices.Clone(servers)
		if round%2 == 0 {
			slices.Reverse(order)
		}
		b.Run(fmt.Sprintf("round=%d", round), func(b *testing.B) {
			for _, srv := range order {
				b.Run(srv.name, func(b *testing.B) { benchWHEP(b, srv, clip) })
			}
		})
	}
}

// encodeWHEPClip encodes the publisher's test pattern into the
// benchmark's temporary directory.
func encodeWHEPClip(b *testing.B) string {
	clip := filepath.Join(b.TempDir(), "pattern.flv")
	args := append([]string{"-hide_banner", "-loglevel", "error", "-y"}, strings.Fields(whepEncodeArgs)...)
	args = append(args, "-t", strconv.Itoa(int(whepClip.Seconds())), clip)
	if out, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		b.Fatalf("ffmpeg encoding the test pattern: %v\n%s", err, out)
	}
	return clip
}

// buildBinary builds pkg of the module in dir into the benchmark's
// temporary directory, once per benchmark, with GOWORK=off as CI builds.
func buildBinary(b *testing.B, dir, pkg, name string) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), name)
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build %s in %s: %v\n%s", pkg, dir, err, out)
	}
	return bin
}

// whepProc is a server process under measurement.
type whepProc struct {
	cmd             *exec.Cmd
	http, rtmp, udp string
	stderr          *os.File
}

func (p *whepProc) pid() int { return p.cmd.Process.Pid }

func (p *whepProc) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
	p.stderr.Close()
}

// warnings summarizes the server's log: how many WARN and ERROR lines,
// and the first few.
func (p *whepProc) warnings() string {
	log, err := os.ReadFile(p.stderr.Name())
	if err != nil {
		return err.Error()
	}
	var n int
	var first []string
	for line := range strings.Lines(string(log)) {
		if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
			n++
			if len(first) < 5 {
				first = append(first, strings.TrimSpace(line))
			}
		}
	}
	return fmt.Sprintf("%d lines\n%s", n, strings.Join(first, "\n"))
}

// freePort returns a loopback port free for network ("tcp" or "udp") now.
func freePort(b *testing.B, network string) string {
	b.Helper()
	var addr string
	if network == "udp" {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		addr = c.LocalAddr().String()
		c.Close()
	} else {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		addr = l.Addr().String()
		l.Close()
	}
	return addr
}

// startWHEPProc runs bin with args (which name the three addresses) and
// GOMAXPROCS=-whep.procs, its stderr in a file of the benchmark's
// temporary directory, and waits until /metrics answers.
func startWHEPProc(b *testing.B, bin string, p *whepProc, args ...string) *whepProc {
	b.Helper()
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(os.Environ(), fmt.Sprintf("GOMAXPROCS=%d", *whepProcs))
	dir := *whepLogs
	if dir == "" {
		dir = b.TempDir()
	}
	f, err := os.CreateTemp(dir, filepath.Base(bin)+"-*.log")
	if err != nil {
		b.Fatal(err)
	}
	p.stderr = f
	p.cmd.Stdout, p.cmd.Stderr = io.Discard, f
	if _, err := p.cmd.StdinPipe(); err != nil { // closed when we exit: pion_whep stops then
		b.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(p.stop)
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, err := scrape(p.http); err == nil {
			return p
		}
	}
	log, _ := os.ReadFile(f.Name())
	b.Fatalf("%s did not serve /metrics:\n%s", bin, log)
	return nil
}

func startOurWHEPServer(b *testing.B, bin string) *whepProc {
	p := &whepProc{http: freePort(b, "tcp"), rtmp: freePort(b, "tcp"), udp: freePort(b, "udp")}
	return startWHEPProc(b, bin, p, "-http", p.http, "-udp", p.udp, "-tcp", "", "-rtmp", p.rtmp, "-http-max-conns-per-ip", "-1")
}

func startPionWHEP(b *testing.B, bin string) *whepProc {
	p := &whepProc{http: freePort(b, "tcp"), rtmp: freePort(b, "tcp"), udp: freePort(b, "udp")}
	return startWHEPProc(b, bin, p, "-http", p.http, "-udp", p.udp, "-rtmp", p.rtmp)
}

// scrape reads the server's /metrics: the unlabelled samples and the
// labelled ones under their whole name ("name{labels}").
func scrape(addr string) (map[string]float64, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/metrics: %s", resp.Status)
	}
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			m[line[:i]] = v
		}
	}
	return m, sc.Err()
}

// publish runs ffmpeg publishing clip in a loop, in real time, to url.
func publish(b *testing.B, clip, url string) *exec.Cmd {
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", clip,
		"-c", "copy", "-f", "flv", url)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatalf("ffmpeg: %v", err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return cmd
}

// whepSample is the server's and the client's state at one moment.
type whepSample struct {
	at                time.Time
	cpu, tick, client float64 // CPU seconds: server (schedstat, ticks), this process
	publisherCPU      float64
	rss               int64
	threads           int
	snapshot          wheplab.Snapshot
	err               error
}

// sampleCPU reads the counters that cost the server nothing: /proc and
// the client's own.
func sampleCPU(p *whepProc, pub *exec.Cmd, l *wheplab.Load) whepSample {
	s := whepSample{at: time.Now()}
	if l != nil {
		s.snapshot = l.Snapshot()
	}
	s.cpu, s.err = wheplab.ProcCPU(p.pid())
	s.tick, _ = wheplab.ProcTickCPU(p.pid())
	s.client, _ = wheplab.SelfCPU()
	s.publisherCPU, _ = wheplab.ProcCPU(pub.Process.Pid)
	s.rss, s.threads, _ = wheplab.ProcStatus(p.pid())
	return s
}

// whepMetrics is what the benchmark reads from the server's /metrics, a
// scrape that costs the server CPU (ours polls every session: 34 s for
// 1,000 viewers on one P in one run), so it is taken before the viewers
// come and after the window, never in the window or the warm-up.
type whepMetrics struct {
	heap, goroutines, drops float64
	latency                 map[float64]float64 // cumulative bucket counts by upper bound (s): ours only
	took                    time.Duration
}

// latencyMetric is our server's histogram of the time from a video
// frame's arrival (the RTMP message read) to its last RTP packet written,
// up to the bucket's bound.
const latencyMetric = `streamwire_webrtc_send_latency_seconds_bucket{kind="video",le="`

func scrapeWHEP(b *testing.B, p *whepProc, dropsMetric string) whepMetrics {
	t := time.Now()
	m, err := scrape(p.http)
	if err != nil {
		b.Fatalf("server: %v", err)
	}
	wm := whepMetrics{heap: m["go_memstats_heap_inuse_bytes"], goroutines: m["go_goroutines"], drops: m[dropsMetric],
		latency: map[float64]float64{}, took: time.Since(t)}
	for k, v := range m {
		le, ok := strings.CutPrefix(k, latencyMetric)
		if !ok {
			continue
		}
		bound, err := strconv.ParseFloat(strings.TrimSuffix(le, `"}`), 64)
		if err == nil {
			wm.latency[bound] = v
		}
	}
	return wm
}

// latencyQuantile is Prometheus's histogram_quantile over the
// difference of two scrapes: the q-quantile in seconds, interpolated
// linearly inside its bucket; NaN without observations.
func latencyQuantile(q float64, from, to map[float64]float64) float64 {
	bounds := make([]float64, 0, len(to))
	for b := range to {
		bounds = append(bounds, b)
	}
	slices.Sort(bounds)
	if len(bounds) == 0 {
		return math.NaN()
	}
	total := to[bounds[len(bounds)-1]] - from[bounds[len(bounds)-1]] // +Inf is the last
	if total <= 0 {
		return math.NaN()
	}
	rank, lower, below := q*total, 0.0, 0.0
	for _, b := range bounds {
		n := to[b] - from[b]
		if n >= rank {
			if math.IsInf(b, 1) {
				return lower // above the highest finite bound: Prometheus answers that bound
			}
			return lower + (b-lower)*(rank-below)/(n-below)
		}
		lower, below = b, n
	}
	return lower
}

// whepRecord is one run as bench/results/whep-*.jsonl keeps it.
type whepRecord struct {
	Server           string  `json:"server"`
	Time             string  `json:"time"`
	Viewers          int     `json:"viewers"`
	ViewersLive      int     `json:"viewers_live"` // Viewers less the setups that failed: the per-viewer figures' divisor
	Procs            int     `json:"gomaxprocs"`
	WindowS          float64 `json:"window_s"`
	Load1            string  `json:"loadavg"`
	IdleCPUPct       float64 `json:"server_idle_cpu_pct"`
	ServerCPUPct     float64 `json:"server_cpu_pct"`
	ServerTickCPUPct float64 `json:"server_tick_cpu_pct"`
	ClientCPUPct     float64 `json:"client_cpu_pct"`
	PublisherCPUPct  float64 `json:"publisher_cpu_pct"`
	CPUPerViewerS    float64 `json:"cpu_s_per_viewer_s"`
	ViewersPerCore   float64 `json:"viewers_per_core"`
	Packets          uint64  `json:"packets"`
	Expected         uint64  `json:"expected"`
	Lost             uint64  `json:"lost"`
	LossPct          float64 `json:"loss_pct"`
	KbpsPerViewer    float64 `json:"kbps_per_viewer"`
	MinViewerPackets uint64  `json:"min_viewer_packets"`
	MedViewerPackets uint64  `json:"median_viewer_packets"`
	SRTPVerified     uint64  `json:"srtp_verified"`
	SRTPFailed       uint64  `json:"srtp_failed"`
	ServerDrops      float64 `json:"server_drops"` // from the setup's start to the window's end
	RSSBytes0        int64   `json:"rss_bytes_publisher_only"`
	RSSBytes         int64   `json:"rss_bytes"`
	HeapBytes0       float64 `json:"heap_inuse_bytes_publisher_only"`
	HeapBytes        float64 `json:"heap_inuse_bytes"`
	Goroutines0      float64 `json:"goroutines_publisher_only"`
	Goroutines       float64 `json:"goroutines"`
	Threads          int     `json:"threads"`
	LatencyP50Ms     float64 `json:"send_latency_p50_ms,omitempty"`
	LatencyP99Ms     float64 `json:"send_latency_p99_ms,omitempty"`
	LatencyFrames    float64 `json:"send_latency_frames,omitempty"`
	Unanswered       int     `json:"viewers_unanswered"`
	SetupFailed      int     `json:"viewers_failed_setup"`
	ClientGoroutines int     `json:"client_goroutines"`
	ClientRSSBytes   int64   `json:"client_rss_bytes"`
	ServerUDPDrops   uint64  `json:"server_udp_rcvbuf_drops"`
	ClientUDPDrops   uint64  `json:"client_udp_rcvbuf_drops"`
	ClientUDPDropsW  uint64  `json:"client_udp_rcvbuf_drops_in_window"`
	ScrapeMs         float64 `json:"metrics_scrape_ms"`
	SetupS           float64 `json:"setup_s"`
	SetupP50Ms       float64 `json:"setup_p50_ms"`
	SetupP99Ms       float64 `json:"setup_p99_ms"`
}

func benchWHEP(b *testing.B, srv whepServer, clip string) {
	p := srv.start(b)
	pub := publish(b, clip, "rtmp://"+p.rtmp+"/live/bench")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The publisher alone: what the server spends without viewers.
	time.Sleep(3 * time.Second)
	idle0 := sampleCPU(p, pub, nil)
	time.Sleep(3 * time.Second)
	idle1 := sampleCPU(p, pub, nil)
	if idle1.err != nil {
		b.Fatalf("server: %v", idle1.err)
	}
	idleRate := (idle1.cpu - idle0.cpu) / idle1.at.Sub(idle0.at).Seconds()
	m0 := scrapeWHEP(b, p, srv.dropsMetric)

	n := *whepViewers
	t0 := time.Now()
	udp0, _ := wheplab.ProcUDPDrops(p.pid())
	// A minute per viewer's setup: a server sending to hundreds of viewers
	// on one P takes many seconds for a handshake.
	l, err := wheplab.Start(ctx, wheplab.Config{URL: "http://" + p.http + "/whep/live/bench", Viewers: n, SetupTimeout: time.Minute,
		MaxFailed: int(*whepMaxFailed * float64(n))})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	setup := time.Since(t0)
	failed, failedErr := l.Failed()
	if failed > 0 {
		b.Logf("%d of %d viewers failed their setup; the first: %v", failed, n, failedErr)
	}
	live := n - failed // the viewers the figures are per
	time.Sleep(*whepWarmup)
	// The latency histogram from here on: the joins' cached GOPs, sent
	// seconds after they arrived, are over. The scrape costs the server;
	// a second lets that pass before the window.
	mw := scrapeWHEP(b, p, srv.dropsMetric)
	time.Sleep(time.Second)

	clientDrops0, _ := wheplab.ProcUDPDrops(os.Getpid())
	b.ResetTimer()
	s0 := sampleCPU(p, pub, l)
	for range b.N {
		time.Sleep(*whepWindow)
	}
	s1 := sampleCPU(p, pub, l)
	b.StopTimer()
	clientDrops1, _ := wheplab.ProcUDPDrops(os.Getpid())
	if s1.err != nil {
		b.Fatalf("server: %v", s1.err)
	}
	m1 := scrapeWHEP(b, p, srv.dropsMetric)
	udp1, _ := wheplab.ProcUDPDrops(p.pid())
	clientDrops, _ := wheplab.ProcUDPDrops(os.Getpid())
	clientRSS, _, _ := wheplab.ProcStatus(os.Getpid())
	w := wheplab.Between(s0.snapshot, s1.snapshot)
	secs := s1.at.Sub(s0.at).Seconds()
	perViewer := ((s1.cpu - s0.cpu) - idleRate*secs) / (secs * float64(live))
	ts := l.SetupTimes()
	load, _ := os.ReadFile("/proc/loadavg")
	rec := whepRecord{
		Server: strings.TrimPrefix(srv.name, "server="), Time: time.Now().UTC().Format(time.RFC3339), Viewers: n, ViewersLive: live,
		Procs: *whepProcs, WindowS: secs, Load1: strings.Join(strings.Fields(string(load))[:3], " "),
		IdleCPUPct: 100 * idleRate, ServerCPUPct: 100 * (s1.cpu - s0.cpu) / secs,
		ServerTickCPUPct: 100 * (s1.tick - s0.tick) / secs, ClientCPUPct: 100 * (s1.client - s0.client) / secs,
		PublisherCPUPct: 100 * (s1.publisherCPU - s0.publisherCPU) / secs,
		CPUPerViewerS:   perViewer, ViewersPerCore: 1 / perViewer,
		Packets: w.Packets, Expected: w.Expected, Lost: w.Lost, LossPct: 100 * w.LossRatio(),
		KbpsPerViewer: w.KbpsPerViewer(), MinViewerPackets: w.MinViewerPackets, MedViewerPackets: w.MedianViewerPackets,
		SRTPVerified: w.Verified, SRTPFailed: w.AuthFailed, ServerDrops: m1.drops - m0.drops,
		RSSBytes0: idle1.rss, RSSBytes: s1.rss, HeapBytes0: m0.heap, HeapBytes: m1.heap,
		Goroutines0: m0.goroutines, Goroutines: m1.goroutines, Threads: s1.threads, ScrapeMs: whepMs(m1.took),
		Unanswered: s1.snapshot.Unanswered, SetupFailed: failed, ServerUDPDrops: udp1 - udp0, ClientUDPDrops: clientDrops,
		ClientUDPDropsW:  clientDrops1 - clientDrops0,
		ClientGoroutines: runtime.NumGoroutine(), ClientRSSBytes: clientRSS,
		SetupS: setup.Seconds(), SetupP50Ms: whepMs(ts[len(ts)/2]), SetupP99Ms: whepMs(ts[len(ts)*99/100]),
	}
	if p50, p99 := latencyQuantile(0.5, mw.latency, m1.latency), latencyQuantile(0.99, mw.latency, m1.latency); !math.IsNaN(p99) {
		rec.LatencyP50Ms, rec.LatencyP99Ms = p50*1000, p99*1000
		rec.LatencyFrames = m1.latency[math.Inf(1)] - mw.latency[math.Inf(1)]
		b.ReportMetric(rec.LatencyP50Ms, "send-p50-ms")
		b.ReportMetric(rec.LatencyP99Ms, "send-p99-ms")
	}
	writeWHEPRecord(b, rec)
	b.ReportMetric(perViewer, "cpu-s/viewer-s")
	b.ReportMetric(rec.ViewersPerCore, "viewers/core")
	b.ReportMetric(((s1.tick-s0.tick)-idleRate*secs)/(secs*float64(live)), "tick-cpu-s/viewer-s")
	b.ReportMetric(rec.ServerCPUPct, "server-cpu-%")
	b.ReportMetric(rec.ClientCPUPct, "client-cpu-%")
	b.ReportMetric(rec.LossPct, "loss-%")
	b.ReportMetric(rec.KbpsPerViewer, "kbps/viewer")
	b.ReportMetric(float64(s1.rss-idle1.rss)/1024/float64(live), "rss-kB/viewer")
	b.ReportMetric((m1.heap-m0.heap)/1024/float64(live), "heap-kB/viewer")
	b.ReportMetric((m1.goroutines-m0.goroutines)/float64(live), "goroutines/viewer")
	b.ReportMetric(float64(live), "viewers")
	b.Logf("%s: %d viewers, load %s, server %.0f%% (idle %.1f%%), client %.0f%%, loss %.4f%%, %.0f kbit/s per viewer, "+
		"setup %.1f s (p50 %.0f ms, p99 %.0f ms), server drops %.0f, SRTP checks %d (%d failed), "+
		"UDP receive-buffer drops: server %d (since the setup began), client %d (%d in the window); viewers whose checks go unanswered %d",
		srv.name, n, rec.Load1, rec.ServerCPUPct, rec.IdleCPUPct, rec.ClientCPUPct, rec.LossPct, rec.KbpsPerViewer,
		rec.SetupS, rec.SetupP50Ms, rec.SetupP99Ms, rec.ServerDrops, w.Verified, w.AuthFailed,
		rec.ServerUDPDrops, rec.ClientUDPDrops, rec.ClientUDPDropsW, rec.Unanswered)
	if w.MinViewerPackets == 0 || w.AuthFailed > 0 || w.LossRatio() > 0.01 {
		b.Logf("%s's warnings: %s", srv.name, p.warnings())
	}
	switch {
	case w.MinViewerPackets == 0:
		b.Fatalf("a viewer received nothing in the window (median %d packets)", w.MedianViewerPackets)
	case w.AuthFailed > 0:
		b.Fatalf("%d SRTP checks failed: %v", w.AuthFailed, s1.snapshot.AuthError)
	case w.LossRatio() > 0.01:
		b.Fatalf("loss %.3f%% (%d of %d): the server or the client is not keeping up", 100*w.LossRatio(), w.Lost, w.Expected)
	case w.LossRatio() > 0.001:
		b.Logf("loss %.3f%% is above the issue's 0.1%%", 100*w.LossRatio())
	}
}

func whepMs(d time.Duration) float64 { return math.Round(float64(d)/1e4) / 100 }

// writeWHEPRecord appends rec to -whep.out, if set.
func writeWHEPRecord(b *testing.B, rec whepRecord) {
	if *whepOut == "" {
		return
	}
	line, err := json.Marshal(rec)
	if err != nil {
		b.Fatal(err)
	}
	f, err := os.OpenFile(*whepOut, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(append(line, '\n')); err != nil {
		b.Fatal(err)
	}
}

func TestLatencyQuantile(t *testing.T) {
	inf := math.Inf(1)
	from := map[float64]float64{0.001: 10, 0.005: 10, 0.01: 10, inf: 10}
	// 100 new observations: 50 up to 1 ms, 40 in (1, 5] ms, 9 in (5, 10] ms, 1 above.
	to := map[float64]float64{0.001: 60, 0.005: 100, 0.01: 109, inf: 110}
	for _, c := range []struct{ q, want float64 }{
		{0.5, 0.001},   // the 50th of 100 ends the first bucket
		{0.7, 0.003},   // the 70th: 20 of 40 into (1, 5] ms
		{0.99, 0.01},   // the 99th ends (5, 10] ms
		{0.995, 0.01},  // in +Inf: the highest finite bound
		{0.25, 0.0005}, // 25 of 50 into [0, 1] ms
	} {
		if got := latencyQuantile(c.q, from, to); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("q=%v: %v, want %v", c.q, got, c.want)
		}
	}
	if got := latencyQuantile(0.5, to, to); !math.IsNaN(got) {
		t.Errorf("no observations: %v, want NaN", got)
	}
}
