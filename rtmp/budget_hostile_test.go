package rtmp

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streamwire/streamwire/rtmp/amf0"
)

// vmRSS returns the process's resident set size from /proc/self/status.
func vmRSS() (int64, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

func heapInuse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// hostileConn connects, sends connect, then opens streams chunk streams each
// starting a message announced at 16 MiB, and trickles chunkSize bytes per
// stream and round until it has sent total bytes per stream or the server
// closes the connection. With streams 1 and chunk size 0xFFFFFF it is the
// report's 28-byte header (Set Chunk Size + a type 0 header) followed by a
// trickle of the one 16 MiB chunk. It reports whether the server closed.
func hostileConn(ctx context.Context, addr string, streams int, chunkSize uint32, step, total int, sent func()) (closed bool, err error) {
	defer sent()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return false, err
	}
	defer nc.Close()
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	if _, err := ClientHandshake(ctx, nc, HandshakeConfig{Simple: true}); err != nil {
		return false, err
	}
	c := NewConn(nc, ConnConfig{})
	m, _ := Command{Name: "connect", TransactionID: 1, Object: amf0.Object{{Key: "app", Value: "live"}}}.Message(0)
	if err := c.WriteMessage(ctx, m); err != nil {
		return false, err
	}
	go func() { // drain the server's replies so that it never blocks on us
		for {
			if _, err := c.ReadMessage(context.Background()); err != nil {
				return
			}
		}
	}()
	if _, err := nc.Write(setChunkSize(chunkSize)); err != nil {
		return false, err
	}
	// One buffer, written from its end: no garbage on the client side.
	frame := make([]byte, 12+step)
	for done := 0; done < total; done += step {
		for i := 0; i < streams; i++ {
			csid := byte(4 + i)
			var hdr []byte
			switch {
			case done == 0:
				hdr = header0(csid, 0xFFFFFF, TypeVideo)
			case done%int(min(chunkSize, 0xFFFFFF)) == 0:
				hdr = []byte{0xC0 | csid} // type 3: the next chunk of the message
			}
			p := frame[12-len(hdr):]
			copy(p, hdr)
			nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if _, err := nc.Write(p); err != nil {
				return ctx.Err() == nil, nil
			}
		}
		select {
		case <-ctx.Done():
			return false, nil
		case <-time.After(2 * time.Millisecond):
		}
	}
	// Hold the partial messages until the test ends or the server closes.
	sent()
	var one [1]byte
	nc.SetReadDeadline(time.Time{})
	_, err = nc.Read(one[:])
	return ctx.Err() == nil, nil
}

// 100 hostile connections against one server: its accounting never passes
// the server-wide budget, its RSS stays within baseline + 2x the budget,
// and after the connections close the heap is back near its baseline.
//
// The server runs in this process: the accounting is read directly, and
// RSS is the whole test binary's (client goroutines write from one zero
// buffer each and hold little). GOMEMLIMIT is set to the baseline plus
// the budget plus 8 MiB for the goroutines, see below.
func TestHostileConnectionsBudget(t *testing.T) {
	const (
		conns        = 100
		perConn      = 16 << 20 // a 16 MiB message is allowed: the server-wide budget must hold
		serverBudget = 24 << 20
	)
	srv := NewServer(ServerConfig{
		Handler:          &memHandler{},
		Reader:           ReaderConfig{MaxMessageSize: 16 << 20, MaxBufferedBytes: perConn},
		MaxBufferedBytes: serverBudget,
		IdleTimeout:      20 * time.Second,
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, l) }()
	defer func() {
		scancel()
		<-served
	}()

	debug.FreeOSMemory()
	baseHeap := heapInuse()
	baseRSS, haveRSS := vmRSS()
	// GOMEMLIMIT for the test: the runtime's memory at the baseline plus
	// the budget, as an operator would set it: the GC then collects the
	// garbage of growing buffers before RSS reaches twice the budget.
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(int64(ms.Sys-ms.HeapReleased) + serverBudget + 8<<20))

	var peakBuffered, peakRSS atomic.Int64
	peakRSS.Store(baseRSS)
	sampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for i := 0; ; i++ {
			if b := srv.BufferedBytes(); b > peakBuffered.Load() {
				peakBuffered.Store(b)
			}
			if haveRSS && i%10 == 0 {
				if r, ok := vmRSS(); ok && r > peakRSS.Load() {
					peakRSS.Store(r)
				}
			}
			select {
			case <-sampling:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	var wg, sending sync.WaitGroup
	sending.Add(conns)
	var closedByServer, failed atomic.Int32
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sent := sync.OnceFunc(sending.Done)
			var closed bool
			var err error
			if i%4 == 0 { // the 28-byte header, then a trickle of one 16 MiB chunk
				closed, err = hostileConn(ctx, l.Addr().String(), 1, 0xFFFFFF, 16<<10, 2<<20, sent)
			} else { // 32 chunk streams with a 16 MiB message each
				closed, err = hostileConn(ctx, l.Addr().String(), 32, 16<<10, 16<<10, 64<<10, sent)
			}
			if err != nil {
				failed.Add(1)
				t.Log(err)
			}
			if closed {
				closedByServer.Add(1)
			}
		}()
	}
	// Let every connection send all it meant to or be closed, then hold
	// the partial messages a little.
	sending.Wait()
	time.Sleep(200 * time.Millisecond)
	cancel()
	wg.Wait()

	deadline := time.Now().Add(5 * time.Second)
	for srv.BufferedBytes() != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	close(sampling)
	<-sampled
	afterHeap := heapInuse()
	t.Logf("server budget %d MiB, per connection %d MiB: accounting peak %.1f MiB, closed by the server %d of %d",
		serverBudget>>20, perConn>>20, float64(peakBuffered.Load())/(1<<20), closedByServer.Load(), conns)
	t.Logf("RSS baseline %.1f MiB, peak %.1f MiB (+%.1f); HeapInuse baseline %.1f MiB, after close %.1f MiB",
		float64(baseRSS)/(1<<20), float64(peakRSS.Load())/(1<<20), float64(peakRSS.Load()-baseRSS)/(1<<20),
		float64(baseHeap)/(1<<20), float64(afterHeap)/(1<<20))

	if failed.Load() > 0 {
		t.Fatalf("%d hostile clients failed to connect", failed.Load())
	}
	if b := srv.BufferedBytes(); b != 0 {
		t.Errorf("%d bytes still accounted after every connection closed", b)
	}
	if p := peakBuffered.Load(); p > serverBudget || p < serverBudget/2 {
		t.Errorf("accounting peaked at %d bytes: want it to reach the budget %d, never pass it", p, serverBudget)
	}
	if closedByServer.Load() < conns/4 {
		t.Errorf("the server closed %d connections over budget, want at least %d", closedByServer.Load(), conns/4)
	}
	switch {
	case raceEnabled:
		// The race detector's shadow memory (several times the memory
		// touched) and per-goroutine state are in RSS: measure RSS in a
		// build without it.
		t.Run("RSS without the race detector", hostileRSSChild)
	case haveRSS && peakRSS.Load()-baseRSS > 2*serverBudget:
		t.Errorf("RSS grew by %d MiB, more than twice the %d MiB budget", (peakRSS.Load()-baseRSS)>>20, serverBudget>>20)
	}
	if afterHeap > baseHeap+4<<20 {
		t.Errorf("HeapInuse %d MiB after close, baseline %d MiB", afterHeap>>20, baseHeap>>20)
	}
}

// hostileRSSChild runs TestHostileConnectionsBudget in a child process
// built without the race detector, where its RSS bound applies.
func hostileRSSChild(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, "test", "-count=1", "-v", "-run", "^TestHostileConnectionsBudget$", ".")
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	out, err := cmd.CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "budget_hostile_test.go") {
			t.Log(strings.TrimSpace(line))
		}
	}
	if err != nil {
		t.Fatalf("%s without -race: %v\n%s", goTool, err, out)
	}
}
