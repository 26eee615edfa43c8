// Package loadgen is a STUN Binding load generator for loopback benchmarks.
//
// Run opens Config.Clients connected UDP sockets to one server. Each client
// sends Binding requests (20-byte header plus FINGERPRINT, 28 bytes, the shape
// browsers and turnutils_stunclient send) and matches responses by transaction
// ID. It works closed-loop (at most Window requests outstanding per client) or
// open-loop at a target rate (Config.Rate requests/s over all clients).
//
// Every response is checked: Binding success class, magic cookie, a
// transaction ID still outstanding, and an XOR-MAPPED-ADDRESS whose port is
// the client's own. A request with no valid response within Config.LossAfter is
// counted lost. Sockets are read and written in batches, with
// recvmmsg/sendmmsg on Linux (without allocating, see mmsgIO; elsewhere
// through golang.org/x/net/ipv4), so that the generator is not the
// bottleneck.
package loadgen

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// batchIO writes and reads batches of datagrams on a connected UDP socket,
// with buffers fixed at construction (newBatchIO).
type batchIO interface {
	// write sends write buffers [from, to) and returns how many went out.
	write(from, to int) (int, error)
	// read waits for datagrams and fills the read buffers; size(i) is the
	// length of the i-th.
	read() (int, error)
	size(i int) int
}

// Config sets the shape of the load. The zero value (apart from Target) is
// a closed loop of 2 clients with 64 outstanding requests each.
type Config struct {
	// Target is the server's UDP address ("127.0.0.1:3478"). Required.
	Target string
	// Requests is the total number of requests to send over all clients.
	// Default 100000.
	Requests int
	// Clients is the number of UDP sockets (each with its own goroutine).
	// Default 2.
	Clients int
	// Window is the number of outstanding requests per client in closed-loop
	// mode. Default 64.
	Window int
	// Rate, when > 0, switches to open loop: requests per second over all
	// clients, paced in batches, regardless of responses.
	Rate int
	// Batch is the number of datagrams per sendmmsg/recvmmsg. Default 32.
	Batch int
	// LossAfter is how long a request may wait for its response before it
	// counts as lost. Default 500ms.
	LossAfter time.Duration
	// SocketBuffer is SO_RCVBUF/SO_SNDBUF for each client. Default 4 MiB
	// (the kernel caps it at net.core.rmem_max / wmem_max).
	SocketBuffer int
}

// Result is what a run measured.
type Result struct {
	Sent    int           // requests sent
	Matched int           // valid responses to outstanding requests
	Late    int           // valid responses to requests already given up (or duplicates)
	Bad     int           // datagrams that were not a valid response to this client
	Elapsed time.Duration // from the first send to the last matched response (or give-up)
}

// Lost is the number of requests that got no valid response.
func (r Result) Lost() int { return r.Sent - r.Matched }

// RespPerSec is matched responses per second.
func (r Result) RespPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Matched) / r.Elapsed.Seconds()
}

func (c *Config) setDefaults() {
	if c.Requests <= 0 {
		c.Requests = 100000
	}
	if c.Clients <= 0 {
		c.Clients = 2
	}
	if c.Window <= 0 {
		c.Window = 64
	}
	if c.Batch <= 0 {
		c.Batch = 32
	}
	if c.LossAfter <= 0 {
		c.LossAfter = 500 * time.Millisecond
	}
	if c.SocketBuffer <= 0 {
		c.SocketBuffer = 4 << 20
	}
}

// Run sends cfg.Requests Binding requests to cfg.Target and returns what
// came back. It returns early, with the counts so far, when ctx is done.
func Run(ctx context.Context, cfg Config) (Result, error) {
	cfg.setDefaults()
	raddr, err := net.ResolveUDPAddr("udp", cfg.Target)
	if err != nil {
		return Result{}, fmt.Errorf("loadgen: target: %w", err)
	}
	clients := make([]*client, cfg.Clients)
	for i := range clients {
		share := cfg.Requests / cfg.Clients
		if i < cfg.Requests%cfg.Clients {
			share++
		}
		c, err := newClient(raddr, uint32(i), share, cfg)
		if err != nil {
			for _, o := range clients[:i] {
				o.conn.Close()
			}
			return Result{}, err
		}
		clients[i] = c
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(clients))
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.run(ctx, start)
		}()
	}
	wg.Wait()
	var res Result
	var last time.Time
	for _, c := range clients {
		c.conn.Close()
		res.Sent += c.sent
		res.Matched += c.matched
		res.Bad += c.bad
		res.Late += c.late
		if c.last.After(last) {
			last = c.last
		}
	}
	if last.IsZero() {
		last = time.Now()
	}
	res.Elapsed = last.Sub(start)
	return res, errors.Join(errs...)
}

// slot remembers one outstanding request; seq is the request's sequence number
// plus one so that zero means free; sentAt is nanoseconds since the run began.
type slot struct {
	seq    uint64
	sentAt int64
}

type client struct {
	cfg       Config
	conn      *net.UDPConn
	io        batchIO
	id        uint32
	quota     int
	localPort uint16

	ring        []slot // indexed by seq & mask
	mask        uint64
	nextSeq     uint64
	outstanding int

	wbufs, rbufs [][]byte

	start                    time.Time
	sent, matched, late, bad int
	last                     time.Time
}

func newClient(raddr *net.UDPAddr, id uint32, quota int, cfg Config) (*client, error) {
	conn, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		return nil, fmt.Errorf("loadgen: dial: %w", err)
	}
	_ = conn.SetReadBuffer(cfg.SocketBuffer)
	_ = conn.SetWriteBuffer(cfg.SocketBuffer)
	// The ring must span every request that may still be answered: in
	// closed loop the window bounds how many are outstanding, not how far
	// apart they are (a server worker descheduled with a batch in hand
	// answers it thousands of requests later), and in open loop LossAfter
	// worth of requests are in flight.
	ringSize := 1 << 16
	if cfg.Rate > 0 {
		for float64(ringSize) < 2*float64(cfg.Rate)/float64(cfg.Clients)*cfg.LossAfter.Seconds() {
			ringSize <<= 1
		}
	}
	c := &client{
		cfg: cfg, conn: conn, id: id, quota: quota,
		localPort: uint16(conn.LocalAddr().(*net.UDPAddr).Port),
		ring:      make([]slot, ringSize), mask: uint64(ringSize - 1),
		wbufs: make([][]byte, cfg.Batch), rbufs: make([][]byte, cfg.Batch),
	}
	for i := range c.wbufs {
		c.wbufs[i] = make([]byte, requestLen)
		c.rbufs[i] = make([]byte, 1500)
	}
	if c.io, err = newBatchIO(conn, c.wbufs, c.rbufs); err != nil {
		conn.Close()
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	return c, nil
}

// run is one client's loop: send what the mode allows, read a batch, match,
// expire old requests; until the quota is sent and answered or given up.
func (c *client) run(ctx context.Context, start time.Time) error {
	c.start = start
	var perClientRate float64
	if c.cfg.Rate > 0 {
		perClientRate = float64(c.cfg.Rate) / float64(c.cfg.Clients)
	}
	lastExpire := start
	var doneSending time.Time
	for {
		if ctx.Err() != nil {
			return nil
		}
		now := time.Now()
		if c.sent < c.quota {
			allowed := c.cfg.Window - c.outstanding
			if perClientRate > 0 {
				allowed = int(now.Sub(start).Seconds()*perClientRate) - c.sent
			}
			if allowed > c.quota-c.sent {
				allowed = c.quota - c.sent
			}
			if allowed > 0 {
				if err := c.send(allowed, now); err != nil {
					return err
				}
			}
			if c.sent == c.quota {
				doneSending = time.Now()
			}
		} else if c.outstanding == 0 || time.Since(doneSending) > c.cfg.LossAfter {
			return nil
		}
		wait := 20 * time.Millisecond
		if perClientRate > 0 && c.sent < c.quota {
			// Wake up in time for the next batch to be due.
			wait = time.Duration(float64(c.cfg.Batch) / perClientRate * float64(time.Second))
			wait = min(max(wait, 100*time.Microsecond), 20*time.Millisecond)
		}
		if err := c.receive(now.Add(wait)); err != nil {
			return err
		}
		if now.Sub(lastExpire) > c.cfg.LossAfter/4 {
			c.expire(now)
			lastExpire = now
		}
	}
}

// send writes up to n requests in batches.
func (c *client) send(n int, now time.Time) error {
	for n > 0 {
		k := min(n, len(c.wbufs))
		for i := 0; i < k; i++ {
			seq := c.nextSeq
			c.nextSeq++
			s := &c.ring[seq&c.mask]
			if s.seq != 0 { // wrapped over a request never answered: it stays lost
				c.outstanding--
			}
			s.seq, s.sentAt = seq+1, int64(now.Sub(c.start))
			putRequest(c.wbufs[i], c.id, seq)
		}
		off := 0
		for off < k {
			w, err := c.io.write(off, k)
			if err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) {
					continue
				}
				return fmt.Errorf("loadgen: write: %w", err)
			}
			off += w
		}
		c.sent += k
		c.outstanding += k
		n -= k
	}
	return nil
}

// receive reads batches until the socket has nothing more before deadline.
func (c *client) receive(deadline time.Time) error {
	if err := c.conn.SetReadDeadline(deadline); err != nil {
		return err
	}
	for {
		n, err := c.io.read()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return nil
			}
			if errors.Is(err, syscall.ECONNREFUSED) {
				continue // ICMP port unreachable: the server is not (yet) there
			}
			return fmt.Errorf("loadgen: read: %w", err)
		}
		for i := range n {
			if sz := c.io.size(i); sz <= len(c.rbufs[i]) {
				c.match(c.rbufs[i][:sz])
			} else {
				c.bad++
			}
		}
		c.last = time.Now()
		// In open loop, go back to sending after every batch: draining a
		// busy socket first would turn the pacing into bursts.
		if n < len(c.rbufs) || c.outstanding == 0 || c.cfg.Rate > 0 {
			return nil
		}
	}
}

// match validates a response and retires its request.
func (c *client) match(b []byte) {
	id, seq, ok := parseResponse(b, c.localPort)
	if !ok || id != c.id {
		c.bad++
		return
	}
	s := &c.ring[seq&c.mask]
	if s.seq != seq+1 {
		c.late++ // a response after the request was given up, or a duplicate
		return
	}
	s.seq = 0
	c.outstanding--
	c.matched++
}

// expire gives up on requests older than LossAfter.
func (c *client) expire(now time.Time) {
	limit := int64(now.Sub(c.start) - c.cfg.LossAfter)
	for i := range c.ring {
		s := &c.ring[i]
		if s.seq != 0 && s.sentAt < limit {
			s.seq = 0
			c.outstanding--
		}
	}
}

const (
	magicCookie    = 0x2112A442
	requestLen     = 28 // header + FINGERPRINT
	fingerprintXOR = 0x5354554e
	attrXORMapped  = 0x0020
	attrFinger     = 0x8028
)

// putRequest writes a Binding request with FINGERPRINT whose transaction ID
// carries the client id and sequence number.
func putRequest(b []byte, id uint32, seq uint64) {
	binary.BigEndian.PutUint16(b[0:], 0x0001)
	binary.BigEndian.PutUint16(b[2:], 8)
	binary.BigEndian.PutUint32(b[4:], magicCookie)
	binary.BigEndian.PutUint32(b[8:], id)
	binary.BigEndian.PutUint64(b[12:], seq)
	binary.BigEndian.PutUint16(b[20:], attrFinger)
	binary.BigEndian.PutUint16(b[22:], 4)
	binary.BigEndian.PutUint32(b[24:], crc32.ChecksumIEEE(b[:20])^fingerprintXOR)
}

// Request returns a Binding request as the generator sends it, for tests.
func Request(id uint32, seq uint64) []byte {
	b := make([]byte, requestLen)
	putRequest(b, id, seq)
	return b
}

// parseResponse checks b is a Binding success response carrying an
// XOR-MAPPED-ADDRESS with port wantPort, and returns the id and sequence from
// its transaction ID.
func parseResponse(b []byte, wantPort uint16) (id uint32, seq uint64, ok bool) {
	if len(b) < 20 || binary.BigEndian.Uint16(b) != 0x0101 ||
		binary.BigEndian.Uint32(b[4:]) != magicCookie ||
		int(binary.BigEndian.Uint16(b[2:]))+20 != len(b) {
		return 0, 0, false
	}
	id = binary.BigEndian.Uint32(b[8:])
	seq = binary.BigEndian.Uint64(b[12:])
	for a := b[20:]; len(a) >= 4; {
		typ, n := binary.BigEndian.Uint16(a), int(binary.BigEndian.Uint16(a[2:]))
		if 4+n > len(a) {
			return 0, 0, false
		}
		if typ == attrXORMapped && n >= 8 {
			port := binary.BigEndian.Uint16(a[6:]) ^ uint16(magicCookie>>16)
			return id, seq, port == wantPort
		}
		next := (4 + n + 3) &^ 3
		if next > len(a) {
			break
		}
		a = a[next:]
	}
	return 0, 0, false
}
