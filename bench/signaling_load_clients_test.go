//go:build linux

package bench

// The load generator of BenchmarkSignalingLoad, in a process of its own:
// the benchmark re-executes its test binary with SIGLOAD_CHILD set, and
// TestMain runs runSigLoadChild instead of the tests. Each process then
// holds one end of each WebSocket, which keeps both under the container's
// RLIMIT_NOFILE, and the server process's heap is the servers' alone.
//
// The protocol, on the child's stdin and stdout: the child connects every
// client and writes "ready"; the parent measures its heap and writes
// "go"; the child sends, drains, and writes one JSON sigLoadResult.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/streamwire/streamwire/signaling/apprtc"
)

// Environment of the child: SIGLOAD_CHILD=1, the two base URLs, and
// SIGLOAD_CLIENTS and SIGLOAD_SECONDS as the parent read them.
const (
	sigChildEnv = "SIGLOAD_CHILD"
	sigURLsEnv  = "SIGLOAD_URLS" // "URL0 URL1"
)

// TestMain runs the load generator when the benchmark started this
// process as its child, else the tests and benchmarks.
func TestMain(m *testing.M) {
	if os.Getenv(sigChildEnv) != "" {
		os.Exit(runSigLoadChild(os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

// sigLoadResult is what the child reports.
type sigLoadResult struct {
	Delivered, Lost, SendFailures int
	Bad                           int           // clients with a lost, reordered or error frame, or a broken connection
	FirstBad                      string        `json:",omitempty"`
	P50, P99, Max                 time.Duration // delivery latency
}

// runSigLoadChild is the child's main: it returns the exit status.
func runSigLoadChild(in io.Reader, out io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintf(out, "error: %v\n", err)
		return 1
	}
	clients, err1 := strconv.Atoi(os.Getenv("SIGLOAD_CLIENTS"))
	seconds, err2 := strconv.Atoi(os.Getenv("SIGLOAD_SECONDS"))
	urls := strings.Fields(os.Getenv(sigURLsEnv))
	if err := errors.Join(err1, err2); err != nil || len(urls) != 2 {
		return fail(fmt.Errorf("bad environment: %v, %d URLs", err, len(urls)))
	}
	if err := raiseFDSoftLimit(uint64(clients + sigLoadSpareFDs)); err != nil {
		return fail(err)
	}
	cs, err := connectSigClients([2]string{urls[0], urls[1]}, clients, seconds)
	defer closeSigClients(cs)
	if err != nil {
		return fail(fmt.Errorf("set-up: %w", err))
	}
	fmt.Fprintln(out, "ready")
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil || line != "go\n" {
		return fail(fmt.Errorf("want go, read %q: %v", line, err))
	}
	res := sigLoadResult{SendFailures: sendSigLoad(cs, seconds)}
	drain := time.After(sigLoadDrainAfter)
wait:
	for _, c := range cs {
		select {
		case <-c.full:
		case <-c.ended:
		case <-drain:
			break wait
		}
	}
	// The readers' fields are read once they have returned.
	closeSigClients(cs)
	lat := make([]time.Duration, 0, clients*seconds)
	for _, c := range cs {
		res.Lost += seconds - c.got
		lat = append(lat, c.lat...)
		if c.bad != nil {
			res.Bad++
			if res.FirstBad == "" {
				res.FirstBad = c.bad.Error()
			}
		}
	}
	slices.Sort(lat)
	res.Delivered = len(lat)
	if len(lat) > 0 {
		res.P50, res.P99, res.Max = lat[len(lat)*50/100], lat[len(lat)*99/100], lat[len(lat)-1]
	}
	if err := json.NewEncoder(out).Encode(res); err != nil {
		return 1
	}
	return 0
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
			if c.got < expect {
				c.fail(fmt.Errorf("after %d messages: %w", c.got, err))
			}
			return
		}
		now := time.Since(sigEpoch)
		p, ok := parseSigFrame(frame)
		switch {
		case !ok:
			c.fail(describeSigFrame(frame))
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

// describeSigFrame says what a frame that is not a message frame is.
func describeSigFrame(frame []byte) error {
	var f struct{ Msg, Error string }
	if json.Unmarshal(frame, &f) != nil || f.Error != "" {
		return fmt.Errorf("frame %.200q", frame)
	}
	return fmt.Errorf("message %.200q", f.Msg)
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
		frame := appendSigSend(nil, seq, int64(time.Since(sigEpoch)))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := c.c.Write(ctx, websocket.MessageText, frame)
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}

// The send frame of a message and the frame the server sends for it,
// around the sequence number and the send time: built and parsed by hand,
// so that the load generator leaves the cores to the server.
const (
	sigSendHead  = `{"cmd":"send","msg":"{\"seq\":`
	sigFrameHead = `{"msg":"{\"seq\":`
	sigMid       = `,\"t\":`
	sigSendTail  = `}"}`
	sigFrameTail = `}","error":""}` + "\n"
)

// appendSigSend appends the send frame of message seq sent at t.
func appendSigSend(b []byte, seq int, t int64) []byte {
	b = append(b, sigSendHead...)
	b = strconv.AppendInt(b, int64(seq), 10)
	b = append(b, sigMid...)
	b = strconv.AppendInt(b, t, 10)
	return append(b, sigSendTail...)
}

// parseSigFrame parses the server's frame of a message, or reports false.
func parseSigFrame(f []byte) (sigPayload, bool) {
	var p sigPayload
	rest, ok := bytes.CutPrefix(f, []byte(sigFrameHead))
	if !ok {
		return p, false
	}
	seq, rest, ok := bytes.Cut(rest, []byte(sigMid))
	if !ok {
		return p, false
	}
	t, ok := bytes.CutSuffix(rest, []byte(sigFrameTail))
	if !ok {
		return p, false
	}
	var err1, err2 error
	p.Seq, err1 = strconv.Atoi(string(seq))
	p.T, err2 = strconv.ParseInt(string(t), 10, 64)
	return p, err1 == nil && err2 == nil
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

// TestSigFrames: the hand-built send frame is the JSON a client sends, and
// the hand parser reads the frame the Collider sends for its message.
func TestSigFrames(t *testing.T) {
	frame := appendSigSend(nil, 42, 123456789)
	var send struct{ Cmd, Msg string }
	if err := json.Unmarshal(frame, &send); err != nil || send.Cmd != "send" {
		t.Fatalf("send frame %q: %v", frame, err)
	}
	var p sigPayload
	if err := json.Unmarshal([]byte(send.Msg), &p); err != nil || p != (sigPayload{42, 123456789}) {
		t.Fatalf("message %q: %+v, %v", send.Msg, p, err)
	}
	server, _ := json.Marshal(struct {
		Msg   string `json:"msg"`
		Error string `json:"error"`
	}{send.Msg, ""})
	got, ok := parseSigFrame(append(server, '\n'))
	if !ok || got != p {
		t.Fatalf("parse %q: %+v, %v", server, got, ok)
	}
	for _, bad := range []string{"", `{"msg":"","error":"Too many messages"}` + "\n", string(server)} {
		if _, ok := parseSigFrame([]byte(bad)); ok {
			t.Errorf("parsed %q", bad)
		}
	}
}
