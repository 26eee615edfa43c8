package bench

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"testing"
	"time"
)

var (
	rtmpPlayers = flag.Int("rtmp.players", 300, "players of the RTMP fan-out benchmark")
	rtmpWindow  = flag.Duration("rtmp.window", 3*time.Second, "measuring window per benchmark iteration")
	rtmpRounds  = flag.Int("rtmp.rounds", 2, "rounds over the servers (alternating them)")
	rtmpNagle   = flag.Bool("rtmp.nagle", false, "also run our relay with Nagle's algorithm on (TCP_NODELAY off), as nginx-rtmp runs")
)

// BenchmarkRTMPFanout measures the server CPU one RTMP player costs: one
// publisher at ~630 kbit/s and -rtmp.players players on loopback, against
// our relay (a separate process built from ./rtmp_server, GOMAXPROCS=1) and
// nginx-rtmp (one process), with the same load generator. Our relay runs
// three times: writing each message as soon as it is ready (the default,
// like nginx-rtmp), and with merged writes every 100 ms and every 350 ms
// (rtmp.ServerConfig.PlayWriteInterval; 350 ms is SRS's default
// mw_latency). Each iteration is one measuring window (-rtmp.window) after a
// warm-up; the metrics are the server's CPU seconds per player-second
// (cpu-s/player-s, from /proc/PID/task/*/schedstat; tick-cpu-s/player-s is
// utime+stime from /proc/PID/stat, for comparison), the players one core
// carries at this bitrate (players/core), and what each player received
// (kbps/player; the run fails below 90% of the published rate). The servers take turns -rtmp.rounds times,
// every other round in reverse order (repeated names get a #01 suffix), so
// that load from elsewhere on the machine hits them alike:
//
//	cd bench && go test -run '^$' -bench RTMPFanout -benchtime 3x
//
// nginx-rtmp never sets TCP_NODELAY on its sockets, Go always does;
// -rtmp.nagle adds a run of our relay with Nagle's algorithm on, to show
// that this difference costs no server CPU here (loopback ACKs are quick,
// so Nagle holds nothing back).
func BenchmarkRTMPFanout(b *testing.B) {
	type server struct {
		name  string
		start func(*testing.B) *rtmpServerProc
	}
	bin := buildOurRTMPServer(b)
	servers := []server{
		{"server=streamwire", func(b *testing.B) *rtmpServerProc { return startOurRTMPServer(b, bin) }},
		{"server=streamwire-mw100ms", func(b *testing.B) *rtmpServerProc { return startOurRTMPServer(b, bin, "-write-interval", "100ms") }},
		{"server=streamwire-mw350ms", func(b *testing.B) *rtmpServerProc { return startOurRTMPServer(b, bin, "-write-interval", "350ms") }},
		{"server=nginx-rtmp", startNginxRTMP},
	}
	if *rtmpNagle {
		servers = append(servers, server{"server=streamwire-nagle", func(b *testing.B) *rtmpServerProc { return startOurRTMPServer(b, bin, "-nagle") }})
	}
	for round := 0; round < *rtmpRounds; round++ {
		// Every other round in reverse order: the first run after the
		// build and the load generator's start measured slower, and it
		// was always ours.
		order := slices.Clone(servers)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for _, srv := range order {
			b.Run(srv.name, func(b *testing.B) { benchFanout(b, srv.start(b), *rtmpPlayers) })
		}
	}
}

func benchFanout(b *testing.B, p *rtmpServerProc, n int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url := fmt.Sprintf("rtmp://%s/live/bench", p.Addr)
	pubErr := make(chan error, 1)
	go func() { pubErr <- publishSynthetic(ctx, b, url) }()
	time.Sleep(500 * time.Millisecond)
	ps, err := startPlayers(ctx, url, n)
	if err != nil {
		b.Fatal(err)
	}
	defer ps.close()
	time.Sleep(2 * time.Second) // warm-up: joins and GOP bursts are over

	b.ResetTimer()
	cpu0, err := p.CPUSeconds()
	if err != nil {
		b.Fatal(err)
	}
	tick0, err := p.TickCPUSeconds()
	if err != nil {
		b.Fatal(err)
	}
	bytes0, t0 := ps.bytes.Load(), time.Now()
	for i := 0; i < b.N; i++ {
		time.Sleep(*rtmpWindow)
	}
	cpu1, err := p.CPUSeconds()
	if err != nil {
		b.Fatal(err)
	}
	tick1, err := p.TickCPUSeconds()
	if err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(t0).Seconds()
	bytes1 := ps.bytes.Load()
	b.StopTimer()

	select {
	case err := <-pubErr:
		b.Fatalf("publisher stopped: %v", err)
	default:
	}
	if f := ps.failed.Load(); f > 0 {
		b.Fatalf("%d players failed", f)
	}
	kbps := float64(bytes1-bytes0) * 8 / 1000 / elapsed / float64(n)
	want := float64(fanoutBitrate+fanoutAACBytes*8*fanoutAACPerSec) / 1000
	if kbps < 0.9*want {
		b.Fatalf("players received %.0f kbit/s each, want about %.0f: the server is not keeping up", kbps, want)
	}
	perPlayerSec := (cpu1 - cpu0) / (elapsed * float64(n))
	b.ReportMetric(perPlayerSec, "cpu-s/player-s")
	if perPlayerSec > 0 {
		b.ReportMetric(1/perPlayerSec, "players/core")
	}
	b.ReportMetric((tick1-tick0)/(elapsed*float64(n)), "tick-cpu-s/player-s")
	b.ReportMetric(kbps, "kbps/player")
	b.ReportMetric(float64(n), "players")
}
