package bench

import (
	"context"
	"net"
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
		addr, stop := s.start(b)
		b.Run(s.name, func(b *testing.B) {
			res := runLoad(b, addr, loadShape)
			if s.name == "coturn" {
				coturnRate = res.RespPerSec()
			}
		})
		stop()
	}
	if coturnRate <= 0 {
		return
	}
	for _, s := range bindingServers {
		addr, stop := s.start(b)
		cfg := loadShape
		cfg.Rate = int(coturnRate)
		b.Run(s.name+"_at_coturn_rate", func(b *testing.B) {
			runLoad(b, addr, cfg)
			b.ReportMetric(float64(cfg.Rate), "offered/s")
		})
		stop()
	}
}

// bindingServer is a server under test.
type bindingServer struct {
	name  string
	start func(testing.TB) (addr string, stop func())
}

var bindingServers = []bindingServer{
	{"coturn", func(tb testing.TB) (string, func()) { return startCoturn(tb) }},
	{"streamwire", startStreamwire},
}

// startStreamwire serves a stun.Server with default settings (one worker
// per CPU, batches of 32) on a free loopback port.
func startStreamwire(tb testing.TB) (addr string, stop func()) {
	tb.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	_ = conn.SetReadBuffer(4 << 20)
	_ = conn.SetWriteBuffer(4 << 20)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = (&stun.Server{Software: "streamwire"}).Serve(ctx, conn)
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done; conn.Close() }) }
	tb.Cleanup(stop)
	return conn.LocalAddr().String(), stop
}

// runLoad sends b.N requests to addr and reports resp/s and loss.
func runLoad(b *testing.B, addr string, cfg loadgen.Config) loadgen.Result {
	cfg.Target = addr
	cfg.Requests = b.N
	b.ResetTimer()
	res, err := loadgen.Run(context.Background(), cfg)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
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
