//go:build linux

// Command whepload runs the wheplab load client against any WHEP URL and
// prints what the viewers received: N viewers of one stream, measured over
// a window after a warm-up. BenchmarkWHEPLoad (../../whep_load_test.go)
// drives the same client against servers it starts itself.
//
//	whepload -url http://127.0.0.1:8080/whep/live/bench -viewers 500 -window 10s
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/streamwire/streamwire/bench/internal/wheplab"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:8080/whep/live/bench", "WHEP endpoint of the stream")
	viewers := flag.Int("viewers", 100, "WHEP sessions")
	warmup := flag.Duration("warmup", 3*time.Second, "wait after the last viewer is set up")
	window := flag.Duration("window", 10*time.Second, "measuring window")
	shards := flag.Int("shards", wheplab.DefaultShards, "epoll goroutines")
	poll := flag.Duration("poll", wheplab.DefaultPollInterval, "sleep of each epoll goroutine between looks at its sockets (negative: none)")
	verify := flag.Int("verify-every", wheplab.DefaultVerifyEvery, "check the SRTP tag of every n-th packet per SSRC")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the measuring window to this file")
	flag.Parse()
	cpuProfile = *profile
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, wheplab.Config{URL: *url, Viewers: *viewers, Shards: *shards, VerifyEvery: *verify, PollInterval: *poll}, *warmup, *window); err != nil {
		fmt.Fprintln(os.Stderr, "whepload:", err)
		os.Exit(1)
	}
}

var cpuProfile string

func run(ctx context.Context, cfg wheplab.Config, warmup, window time.Duration) error {
	t0 := time.Now()
	l, err := wheplab.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer l.Close()
	ts := l.SetupTimes()
	fmt.Printf("%d viewers set up in %v (setup p50 %v, p99 %v)\n", len(ts), time.Since(t0).Round(time.Millisecond),
		ts[len(ts)/2].Round(time.Millisecond), ts[len(ts)*99/100].Round(time.Millisecond))
	select {
	case <-time.After(warmup):
	case <-ctx.Done():
		return ctx.Err()
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	drops0, _ := wheplab.ProcUDPDrops(os.Getpid())
	cpu0, _ := wheplab.SelfCPU()
	a := l.Snapshot()
	select {
	case <-time.After(window):
	case <-ctx.Done():
		return ctx.Err()
	}
	b := l.Snapshot()
	cpu1, _ := wheplab.SelfCPU()
	pprof.StopCPUProfile()
	drops1, _ := wheplab.ProcUDPDrops(os.Getpid())
	w := wheplab.Between(a, b)
	fmt.Printf("window %.1f s: %d packets, %d expected, %d lost (%.4f%%), %.0f kbit/s per viewer, per-viewer packets min %d median %d\n",
		w.Seconds, w.Packets, w.Expected, w.Lost, 100*w.LossRatio(), w.KbpsPerViewer(), w.MinViewerPackets, w.MedianViewerPackets)
	fmt.Printf("SRTP verified %d, failed %d; bad %d, stray %d; client CPU %.1f%% of a core\n",
		w.Verified, w.AuthFailed, w.Bad, w.Stray, 100*(cpu1-cpu0)/w.Seconds)
	rss, _, _ := wheplab.ProcStatus(os.Getpid())
	fmt.Printf("client: %d goroutines, RSS %.0f MB\n", runtime.NumGoroutine(), float64(rss)/1e6)
	if os.Getenv("WHEPLOAD_GOROUTINES") != "" {
		_ = pprof.Lookup("goroutine").WriteTo(os.Stdout, 1)
	}
	fmt.Printf("client sockets: %d datagrams dropped before the window, %d in it (full receive buffers)\n", drops0, drops1-drops0)
	fmt.Printf("STUN: %d consent checks sent, %d responses, %d server checks answered, %d other\n",
		b.ConsentSent, b.STUNResponses, b.STUNRequests, b.STUNErrors)
	if b.AuthError != nil {
		fmt.Printf("first SRTP check that failed: %v\n", b.AuthError)
	}
	return nil
}
