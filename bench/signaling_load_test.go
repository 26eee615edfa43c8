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
// e.g. SIGLOAD_CLIENTS=2000 SIGLOAD_SECONDS=10 for a quick run.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
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
	// sigLoadSpareFDs are the descriptors beyond the two of each WebSocket:
	// the pooled join connections (2*sigLoadSetupConc), NATS, listeners,
	// the runtime's and go test's.
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

// raiseFDLimit raises RLIMIT_NOFILE's soft limit to its hard limit (and
// the hard limit to need when the process may) and fails when the result
// is below need: both ends of every WebSocket are in this process.
func raiseFDLimit(b *testing.B, need uint64) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatalf("getrlimit: %v", err)
	}
	var hardErr error
	if lim.Max < need {
		// Raising the hard limit needs CAP_SYS_RESOURCE; without it the
		// limit stays as it was and the error goes in the failure below.
		if hardErr = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: need, Max: need}); hardErr == nil {
			lim = syscall.Rlimit{Cur: need, Max: need}
		}
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			b.Fatalf("setrlimit: %v", err)
		}
	}
	if lim.Cur < need {
		b.Fatalf("RLIMIT_NOFILE is %d, the load needs %d file descriptors (raising the hard limit: %v); run fewer SIGLOAD_CLIENTS or raise ulimit -Hn", lim.Cur, need, hardErr)
	}
}

// BenchmarkSignalingLoad runs the load once per iteration in each
// set-up and reports p50/p99 delivery latency (ms), lost messages (the
// benchmark fails when any is lost or reordered), heap bytes per client
// (the whole process: the servers and both ends of every WebSocket), and
// in the NATS set-up the messages that crossed NATS.
func BenchmarkSignalingLoad(b *testing.B) {
	clients, seconds := sigLoadScale(b)
	raiseFDLimit(b, uint64(2*clients+sigLoadSpareFDs))
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
			forwarded := func() uint64 { return bp1.Stats().Forwarded + bp2.Stats().Forwarded }
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

// sigClient is one load client: a registered Collider WebSocket that
// sends numbered messages and checks those of its peer.
type sigClient struct {
	c     *websocket.Conn
	got   int             // messages received in order
	bad   error           // first out-of-order, duplicate or error frame
	lat   []time.Duration // delivery latencies
	full  chan struct{}   // closed when got reaches the expected count
	ended chan struct{}   // closed when the reader returned
}

// sigPayload is the signaling message the clients send: a sequence number
// and the send time (nanoseconds since sigEpoch, on the monotonic clock).
type sigPayload struct {
	Seq int   `json:"seq"`
	T   int64 `json:"t"`
}

var sigEpoch = time.Now()

// runSignalingLoad runs clients clients in clients/2 rooms, the first
// member of each room on urls[0], the second on urls[1], for seconds
// seconds, and reports the metrics. forwarded, when not nil, counts the
// messages that crossed NATS.
func runSignalingLoad(b *testing.B, clients, seconds int, urls [2]string, forwarded func() uint64) {
	heapBefore := sigHeapInuse()
	cs, err := connectSigClients(urls, clients, seconds)
	b.Cleanup(func() { closeSigClients(cs) })
	if err != nil {
		b.Fatalf("set-up: %v", err)
	}
	perClient := float64(int64(sigHeapInuse())-int64(heapBefore)) / float64(clients)
	var fwdBefore uint64
	if forwarded != nil {
		fwdBefore = forwarded()
	}

	b.ResetTimer()
	sendErrs := sendSigLoad(cs, seconds)
	deadline := time.After(sigLoadDrainAfter)
	for _, c := range cs {
		select {
		case <-c.full:
		case <-c.ended:
		case <-deadline:
		}
	}
	b.StopTimer()
	// The readers' fields are read once they have returned.
	closeSigClients(cs)

	lost, lat := 0, make([]time.Duration, 0, clients*seconds)
	var firstBad error
	for _, c := range cs {
		lost += seconds - c.got
		lat = append(lat, c.lat...)
		if c.bad != nil && firstBad == nil {
			firstBad = c.bad
		}
	}
	slices.Sort(lat)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(clients), "clients")
	b.ReportMetric(float64(len(lat)), "msgs-delivered")
	b.ReportMetric(float64(lost), "lost-msgs")
	b.ReportMetric(perClient, "heap-B/client")
	if len(lat) > 0 {
		b.ReportMetric(ms(lat[len(lat)*50/100]), "p50-latency-ms")
		b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-latency-ms")
		b.ReportMetric(ms(lat[len(lat)-1]), "max-latency-ms")
	}
	if forwarded != nil {
		fwd := forwarded() - fwdBefore
		b.ReportMetric(float64(fwd), "nats-forwarded-msgs")
		if fwd < uint64(len(lat)) {
			b.Errorf("%d messages crossed NATS, fewer than the %d delivered between instances", fwd, len(lat))
		}
	}
	if sendErrs > 0 {
		b.Errorf("%d clients failed to send", sendErrs)
	}
	if firstBad != nil {
		b.Errorf("delivery: %v", firstBad)
	}
	if lost != 0 {
		b.Errorf("%d of %d messages lost", lost, clients*seconds)
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

// connectSigClients makes the rooms: for each, both members join over
// HTTP (the first on urls[0], the second on urls[1]), open the Collider
// WebSocket and register. Client 2k and 2k+1 are the two members of room
// k. It returns the clients made so far with the first error.
func connectSigClients(urls [2]string, clients, seconds int) ([]*sigClient, error) {
	joinHTTP := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: sigLoadSetupConc * 2}}
	defer joinHTTP.CloseIdleConnections()
	wsHTTP := make([]*http.Client, sigLoadSources)
	for i := range wsHTTP {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i))}}
		wsHTTP[i] = &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	}
	cs := make([]*sigClient, clients)
	var (
		next     atomic.Int64
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	for range sigLoadSetupConc {
		wg.Go(func() {
			for {
				room := int(next.Add(1) - 1)
				if room >= clients/2 {
					return
				}
				mu.Lock()
				stop := firstErr != nil
				mu.Unlock()
				if stop {
					return
				}
				for m := range 2 {
					i := 2*room + m
					c, err := connectSigClient(joinHTTP, wsHTTP[i%sigLoadSources], urls[m], "load"+strconv.Itoa(room), seconds)
					if err != nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = fmt.Errorf("client %d: %w", i, err)
						}
						mu.Unlock()
						return
					}
					cs[i] = c
				}
			}
		})
	}
	wg.Wait()
	made := slices.DeleteFunc(cs, func(c *sigClient) bool { return c == nil })
	return made, firstErr
}

// connectSigClient joins room on base, opens the WebSocket and registers.
func connectSigClient(joinHTTP, wsHTTP *http.Client, base, room string, seconds int) (*sigClient, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id, err := sigJoin(ctx, joinHTTP, base, room)
	if err != nil {
		return nil, err
	}
	conn, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+apprtc.ColliderPrefix+"/ws",
		&websocket.DialOptions{HTTPClient: wsHTTP})
	if res != nil && res.Body != nil {
		_ = res.Body.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("websocket: %w", err)
	}
	reg, _ := json.Marshal(map[string]string{"cmd": "register", "roomid": room, "clientid": id})
	if err := conn.Write(ctx, websocket.MessageText, reg); err != nil {
		_ = conn.CloseNow()
		return nil, fmt.Errorf("register: %w", err)
	}
	c := &sigClient{c: conn, lat: make([]time.Duration, 0, seconds), full: make(chan struct{}), ended: make(chan struct{})}
	go c.read(seconds)
	return c, nil
}

// sigJoin POSTs /join/room and returns the client id.
func sigJoin(ctx context.Context, hc *http.Client, base, room string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/join/"+room, nil)
	if err != nil {
		return "", err
	}
	res, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("join: %w", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("join: %w", err)
	}
	var a struct {
		Result string `json:"result"`
		Params struct {
			ClientID string `json:"client_id"`
		} `json:"params"`
	}
	if err := json.Unmarshal(body, &a); err != nil || a.Result != "SUCCESS" || a.Params.ClientID == "" {
		return "", fmt.Errorf("join: status %d, answer %.200q", res.StatusCode, body)
	}
	return a.Params.ClientID, nil
}

// read takes the peer's messages until the connection closes: each must
// carry the next sequence number.
func (c *sigClient) read(expect int) {
	defer close(c.ended)
	for {
		_, frame, err := c.c.Read(context.Background())
		if err != nil {
			return
		}
		now := time.Since(sigEpoch)
		var f struct{ Msg, Error string }
		var p sigPayload
		switch {
		case json.Unmarshal(frame, &f) != nil || f.Error != "":
			c.fail(fmt.Errorf("frame %.200q", frame))
		case json.Unmarshal([]byte(f.Msg), &p) != nil:
			c.fail(fmt.Errorf("message %.200q", f.Msg))
		case p.Seq != c.got:
			c.fail(fmt.Errorf("got sequence number %d, want %d", p.Seq, c.got))
		default:
			c.lat = append(c.lat, now-time.Duration(p.T))
			if c.got++; c.got == expect {
				close(c.full)
			}
		}
	}
}

func (c *sigClient) fail(err error) {
	if c.bad == nil {
		c.bad = err
	}
}

// sendSigLoad has every client send one message a second for seconds
// seconds, the clients' first sends spread over the first second. It
// returns the number of clients whose sending failed.
func sendSigLoad(cs []*sigClient, seconds int) int {
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for i, c := range cs {
		wg.Go(func() {
			if err := c.send(start.Add(time.Duration(i)*time.Second/time.Duration(len(cs))), seconds); err != nil {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	return int(failed.Load())
}

// send writes seconds numbered messages, one a second from first.
func (c *sigClient) send(first time.Time, seconds int) error {
	for seq := range seconds {
		time.Sleep(time.Until(first.Add(time.Duration(seq) * time.Second)))
		msg, _ := json.Marshal(sigPayload{Seq: seq, T: int64(time.Since(sigEpoch))})
		frame, _ := json.Marshal(map[string]string{"cmd": "send", "msg": string(msg)})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := c.c.Write(ctx, websocket.MessageText, frame)
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}

// closeSigClients closes every WebSocket and waits for its reader.
func closeSigClients(cs []*sigClient) {
	for _, c := range cs {
		_ = c.c.CloseNow()
	}
	for _, c := range cs {
		<-c.ended
	}
}
