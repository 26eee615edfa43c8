//go:build linux

package wheplab

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/streamwire/streamwire/dtlsparams"
	"github.com/streamwire/streamwire/dtlssrtp"
	"github.com/streamwire/streamwire/sdp"
	"github.com/streamwire/streamwire/stun"
)

// Defaults of Config's zero fields.
const (
	DefaultSetupConcurrency = 16
	DefaultShards           = 2
	DefaultVerifyEvery      = 16
	DefaultPollInterval     = 50 * time.Millisecond
	DefaultSetupTimeout     = 20 * time.Second
	DefaultNotPublished     = 10 * time.Second
	// ConsentInterval is how often each viewer sends a consent check
	// (RFC 7675 §5.1: 5 s on average).
	ConsentInterval = 5 * time.Second
)

// ErrSetup reports viewers that could not be set up; it wraps the first
// failure.
var ErrSetup = errors.New("wheplab: viewer setup failed")

// Config shapes a load. URL and Viewers are required.
type Config struct {
	// URL is the WHEP endpoint: http://127.0.0.1:8080/whep/live/bench.
	URL string
	// Viewers is the number of sessions.
	Viewers int
	// SetupConcurrency is how many viewers are set up at once. Zero means
	// DefaultSetupConcurrency (16).
	SetupConcurrency int
	// Shards is the number of epoll goroutines reading the sockets. Zero
	// means DefaultShards (2).
	Shards int
	// VerifyEvery checks the SRTP authentication tag of every n-th packet
	// of each SSRC (1: all). Zero means DefaultVerifyEvery (16).
	VerifyEvery int
	// PollInterval is how long each shard sleeps between looks at its
	// sockets (see shard.run). Zero means DefaultPollInterval (50 ms);
	// negative means no sleep (a wake-up per burst: more client CPU).
	PollInterval time.Duration
	// LocalIP is the address the sockets bind to. The zero value means
	// 127.0.0.1.
	LocalIP netip.Addr
	// SetupTimeout bounds one viewer's POST, ICE and DTLS. Zero means
	// DefaultSetupTimeout (20 s).
	SetupTimeout time.Duration
	// NotPublished is how long a viewer retries a 409 (stream not
	// published yet) or 503 answer. Zero means DefaultNotPublished (10 s).
	NotPublished time.Duration
	// HTTPClient posts the offers. Nil means a client of its own.
	HTTPClient *http.Client
	// MaxFailed is how many viewers may fail their setup before Start
	// gives up; the load goes on without them (Load.Failed counts them).
	// Zero means none may fail.
	MaxFailed int
}

// Load is a running set of viewers.
type Load struct {
	cfg    Config
	cert   *dtlssrtp.Certificate
	fps    []dtlsparams.Fingerprint
	client *http.Client
	table  fdTable
	shards []*shard
	stop   chan struct{}
	wg     sync.WaitGroup

	authErr atomic.Pointer[error] // the first SRTP check that failed

	mu         sync.Mutex
	viewers    []*viewer // established, in order
	setupTimes []time.Duration
	failed     int
	failedErr  error // the first setup failure
}

// Start sets up cfg.Viewers viewers and returns once all are established
// (their DTLS handshakes done), or fails with ErrSetup, closing what it
// started, when any cannot be, or with ctx's error when ctx ends first.
func Start(ctx context.Context, cfg Config) (*Load, error) {
	if cfg.URL == "" || cfg.Viewers < 1 {
		return nil, fmt.Errorf("wheplab: want a URL and at least one viewer, have %q and %d", cfg.URL, cfg.Viewers)
	}
	cfg.SetupConcurrency = positive(cfg.SetupConcurrency, DefaultSetupConcurrency)
	cfg.Shards = positive(cfg.Shards, DefaultShards)
	cfg.VerifyEvery = positive(cfg.VerifyEvery, DefaultVerifyEvery)
	if cfg.PollInterval == 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if !cfg.LocalIP.IsValid() {
		cfg.LocalIP = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	cfg.SetupTimeout = positive(cfg.SetupTimeout, DefaultSetupTimeout)
	cfg.NotPublished = positive(cfg.NotPublished, DefaultNotPublished)
	cert, err := dtlssrtp.GenerateCertificate(dtlssrtp.CertificateConfig{})
	if err != nil {
		return nil, err
	}
	fp, err := cert.Fingerprint(dtlsparams.SHA256)
	if err != nil {
		return nil, err
	}
	l := &Load{cfg: cfg, cert: cert, fps: []dtlsparams.Fingerprint{fp}, client: cfg.HTTPClient, stop: make(chan struct{})}
	if l.client == nil {
		l.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: cfg.SetupConcurrency}}
	}
	for range cfg.Shards {
		s, err := newShard(&l.table)
		if err != nil {
			l.Close()
			return nil, err
		}
		l.shards = append(l.shards, s)
		l.wg.Add(1)
		go func() { defer l.wg.Done(); s.run(l.stop, l.cfg.PollInterval) }()
	}
	// The pacer runs during the setup: a setup of thousands of viewers can
	// outlast the server's consent timeout (30 s), and the first viewers
	// would expire before the last one is up.
	l.wg.Add(1)
	go func() { defer l.wg.Done(); l.pace() }()
	if err := l.setupAll(ctx); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

func positive[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// setupAll sets the viewers up, SetupConcurrency at a time, and stops when
// more than MaxFailed have failed.
func (l *Load) setupAll(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan struct{})
	var wg sync.WaitGroup
	for range l.cfg.SetupConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				err := l.setupViewer(ctx)
				if err == nil {
					continue
				}
				l.mu.Lock()
				l.failed++
				if l.failedErr == nil {
					l.failedErr = err
				}
				if l.failed > l.cfg.MaxFailed {
					cancel()
				}
				l.mu.Unlock()
			}
		}()
	}
feed:
	for range l.cfg.Viewers {
		select {
		case next <- struct{}{}:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failed > l.cfg.MaxFailed {
		return fmt.Errorf("%w: %d of %d: %w", ErrSetup, l.failed, l.cfg.Viewers, l.failedErr)
	}
	return ctx.Err()
}

// Failed returns how many viewers failed their setup (at most
// Config.MaxFailed once Start has returned the load) and the first
// failure's error.
func (l *Load) Failed() (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failed, l.failedErr
}

// setupViewer opens a socket, posts an offer, checks ICE and runs DTLS.
func (l *Load) setupViewer(ctx context.Context) error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, l.cfg.SetupTimeout)
	defer cancel()
	fd, local, err := openSocket(l.cfg.LocalIP)
	if err != nil {
		return err
	}
	offer, err := sdp.Offer(&sdp.Config{
		Audio:           sdp.MediaConfig{Direction: sdp.RecvOnly},
		Video:           sdp.MediaConfig{Direction: sdp.RecvOnly},
		Candidates:      []string{fmt.Sprintf("candidate:1 1 udp 2130706431 %s %d typ host", local.Addr(), local.Port())},
		EndOfCandidates: true,
		Fingerprints:    l.fps,
	})
	if err != nil {
		unix.Close(fd)
		return fmt.Errorf("offer: %w", err)
	}
	v := &viewer{l: l, fd: fd, local: local, localInteg: stun.NewShortTermIntegrity(offer.LocalPwd),
		verifyN: uint64(l.cfg.VerifyEvery), iceOK: make(chan struct{}), dtlsIn: make(chan []byte, 32)}
	v.shard = l.shards[fd%len(l.shards)]
	l.table.set(fd, v)
	if err := v.shard.add(fd); err != nil {
		l.release(v)
		return err
	}
	if err := l.negotiate(ctx, v, offer); err != nil {
		l.release(v)
		return err
	}
	l.mu.Lock()
	l.viewers = append(l.viewers, v)
	l.setupTimes = append(l.setupTimes, time.Since(start))
	l.mu.Unlock()
	return nil
}

// negotiate runs a viewer's WHEP POST, ICE check and DTLS handshake.
func (l *Load) negotiate(ctx context.Context, v *viewer, offer *sdp.LocalOffer) error {
	answer, err := l.post(ctx, offer.SDP)
	if err != nil {
		return err
	}
	desc, err := offer.Accept(answer)
	if err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	i := slices.IndexFunc(desc.Sections, func(s sdp.Section) bool { return !s.Rejected })
	if i < 0 {
		return errors.New("answer: every m-section rejected")
	}
	sec := &desc.Sections[i]
	remote, err := firstUDPCandidate(answerCandidates(answer))
	if err != nil {
		return err
	}
	var tb [8]byte
	if _, err := rand.Read(tb[:]); err != nil {
		return err
	}
	v.remote, v.sa = remote, &unix.SockaddrInet4{Addr: remote.Addr().As4(), Port: int(remote.Port())}
	v.username = sec.RemoteUfrag + ":" + offer.LocalUfrag
	v.remoteInteg = stun.NewShortTermIntegrity(sec.RemotePwd)
	v.tiebreaker = binary.BigEndian.Uint64(tb[:])
	if err := v.nominate(ctx); err != nil {
		return err
	}
	s, err := dtlssrtp.Handshake(ctx, newDTLSConn(v), sec.LocalRole, dtlssrtp.Config{
		Certificate: l.cert, RemoteFingerprints: sec.RemoteFingerprints, RetransmitInterval: 200 * time.Millisecond,
	})
	if err != nil {
		return fmt.Errorf("dtls: %w", err)
	}
	v.sess.Store(s)
	v.established.Store(true)
	return nil
}

// post sends the offer and returns the answer, retrying 409 and 503
// (draft-ietf-wish-whep: the stream is not published yet, or the server
// is busy) for up to NotPublished.
func (l *Load) post(ctx context.Context, offer []byte) ([]byte, error) {
	giveUp := time.Now().Add(l.cfg.NotPublished)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.cfg.URL, bytes.NewReader(offer))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/sdp")
		resp, err := l.client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("POST: %w", err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("POST: %w", err)
		}
		switch {
		case resp.StatusCode == http.StatusCreated:
			return body, nil
		case (resp.StatusCode == http.StatusConflict || resp.StatusCode == http.StatusServiceUnavailable) && time.Now().Before(giveUp):
			select {
			case <-time.After(200 * time.Millisecond):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		default:
			return nil, fmt.Errorf("POST: %s: %.200q", resp.Status, body)
		}
	}
}

// answerCandidates returns the a=candidate values of every m-section of
// an answer, after "candidate:". The parsed sections are not enough: pion
// writes the bundle's candidates into the first m-section even when it
// rejects it (port 0), and a rejected section's attributes are not parsed.
func answerCandidates(answer []byte) []string {
	var cands []string
	for line := range strings.Lines(string(answer)) {
		if c, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "a=candidate:"); ok {
			cands = append(cands, c)
		}
	}
	return cands
}

// firstUDPCandidate returns the address of the first UDP candidate of an
// answer (a=candidate values after "candidate:", RFC 8839 §5.1).
func firstUDPCandidate(cands []string) (netip.AddrPort, error) {
	for _, c := range cands {
		f := strings.Fields(c)
		if len(f) < 8 || !strings.EqualFold(f[2], "udp") {
			continue
		}
		ip, err1 := netip.ParseAddr(f[4])
		port, err2 := strconv.ParseUint(f[5], 10, 16)
		if err1 == nil && err2 == nil && ip.Is4() {
			return netip.AddrPortFrom(ip, uint16(port)), nil
		}
	}
	return netip.AddrPort{}, fmt.Errorf("answer: no IPv4 UDP candidate in %q", cands)
}

// nominate sends the Binding request with USE-CANDIDATE every 200 ms until
// its success response arrives (RFC 8445 §7.2.5.3; loopback needs no
// 500 ms RTO).
func (v *viewer) nominate(ctx context.Context) error {
	id, err := stun.NewTransactionID(rand.Reader)
	if err != nil {
		return err
	}
	v.mu.Lock()
	v.checkID = id
	v.mu.Unlock()
	req, err := v.check(make([]byte, 0, 256), id, true)
	if err != nil {
		return err
	}
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		if err := unix.Sendto(v.fd, req, 0, v.sa); err != nil {
			return fmt.Errorf("ice: send check: %w", err)
		}
		select {
		case <-v.iceOK:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("ice: no response to the check: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// check builds a Binding request of the controlling agent (RFC 8445
// §7.1.1-§7.1.3) into buf.
func (v *viewer) check(buf []byte, id stun.TransactionID, nominate bool) ([]byte, error) {
	var b stun.Builder
	b.Start(buf[:0], stun.BindingRequest, id)
	b.AddUsername(v.username)
	b.AddPriority(110<<24 | 65535<<8 | 255) // peer-reflexive type preference, component 1 (§5.1.2.1)
	b.AddICEControlling(v.tiebreaker)
	if nominate {
		b.AddUseCandidate()
	}
	b.AddMessageIntegrity(v.remoteInteg)
	b.AddFingerprint()
	return b.Finish()
}

// pace sends each established viewer a consent check every
// ConsentInterval, spread over 100 ms ticks, until Close. The number sent
// per tick follows the time elapsed, not the tick count, so that a busy
// machine delaying or dropping ticks does not stretch the interval.
func (l *Load) pace() {
	const tick = 100 * time.Millisecond
	t := time.NewTicker(tick)
	defer t.Stop()
	buf := make([]byte, 0, 256)
	next := 0
	last := time.Now()
	var owed float64 // checks due but not yet sent
	for {
		select {
		case <-l.stop:
			return
		case now := <-t.C:
			l.mu.Lock()
			vs := l.viewers
			l.mu.Unlock()
			owed += float64(len(vs)) * float64(now.Sub(last)) / float64(ConsentInterval)
			last = now
			for ; owed >= 1 && len(vs) > 0; owed-- {
				if next >= len(vs) {
					next = 0
				}
				v := vs[next]
				next++
				id, err := stun.NewTransactionID(rand.Reader)
				if err != nil {
					continue
				}
				if req, err := v.check(buf, id, false); err == nil && unix.Sendto(v.fd, req, 0, v.sa) == nil {
					v.consentSent.Add(1)
				}
			}
		}
	}
}

// release unregisters and closes a viewer's socket.
func (l *Load) release(v *viewer) {
	v.shard.remove(v.fd)
	l.table.set(v.fd, nil)
	unix.Close(v.fd)
}

// Close ends every session with a DTLS close_notify, closes the sockets
// and stops the goroutines.
func (l *Load) Close() error {
	select {
	case <-l.stop:
		return nil
	default:
	}
	l.mu.Lock()
	vs := l.viewers
	l.viewers = nil
	l.mu.Unlock()
	for _, v := range vs {
		if s := v.sess.Load(); s != nil {
			_ = s.Close()
		}
	}
	close(l.stop)
	l.wg.Wait()
	for _, v := range vs {
		l.release(v)
	}
	for _, s := range l.shards {
		s.close()
	}
	return nil
}
