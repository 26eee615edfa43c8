package peer

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streamwire/streamwire/dtlsparams"
	"github.com/streamwire/streamwire/dtlssrtp"
	"github.com/streamwire/streamwire/ice"
	"github.com/streamwire/streamwire/sdp"
)

// Peer is one server-side WebRTC endpoint: an ICE-lite session on a shared
// ice.Mux, one DTLS-SRTP association over it, and the RTP/RTCP state of
// its tracks. Answer makes one from a remote offer.
//
// A connected Peer runs five goroutines: two of its own (the read loop,
// which also runs the RTCP timers, and the one that connects and then
// waits for the DTLS association to end) and the three that pion/dtls
// keeps per connection (its handshake loop, its read loop and the context
// watcher beside that read). Close, a consent expiry (RFC 7675) or a
// close_notify from the remote side stops all of them and releases the
// ICE session, timers and buffers.
type Peer struct {
	cfg       Config
	log       *slog.Logger
	now       func() time.Time
	realClock bool                        // now is time.Now, which a Batch reads once for many peers
	desc      atomic.Pointer[sdp.Session] // the latest answer
	renegMu   sync.Mutex                  // serialises Renegotiate
	ice       *ice.Session
	role      dtlsparams.Role
	fps       []dtlsparams.Fingerprint
	dtlsPipe  *dtlsConn
	srtp      atomic.Pointer[dtlssrtp.Session]
	srtpMu    sync.Mutex // orders publishing srtp against release
	released  bool       // guarded by srtpMu

	local  []*LocalTrack
	remote []*RemoteTrack
	demux  remoteDemux // read goroutine only
	stats  peerStats
	clock  monoClock // its origin is fixed at creation, so it is read-only

	// Read goroutine only: the RTCP timers and the bandwidth feedback.
	nextTimer, nextReport monotime
	feedback              bandwidthFeedback

	fbMu       sync.Mutex // guards remoteREMB, which Stats reads
	remoteREMB remoteREMB
	// rtcpSSRC is the sender SSRC of the peer's RTCP feedback (PLI, NACK,
	// receiver reports) when it sends no media of its own (RFC 4585 §6.1).
	rtcpSSRC uint32

	// ctx is cancelled, with the reason as its cause, to stop the peer;
	// stopped is set just after, for the send path's check of every
	// packet, which a cold context's channel made cost a cache miss or
	// two. A sender that sees stopped finds ctx's cause set.
	ctx       context.Context
	stop      context.CancelCauseFunc
	stopped   atomic.Bool
	connected chan struct{}  // closed when DTLS is up
	done      chan struct{}  // closed when everything is released
	wg        sync.WaitGroup // run and readLoop
}

// Answer answers offer (SDP, RFC 8829 §5.3) for the media that cfg.SDP
// describes, registers the peer's ICE session on cfg.Mux and starts
// connecting: the remote side's checks, then the DTLS handshake in the
// role the answer sets, both within cfg.ConnectTimeout. Send the returned
// peer's LocalDescription to the remote side. Every accepted m-section
// must be in one BUNDLE group (ErrUnbundled otherwise); the errors of
// sdp.Answer and ice.Mux.NewSession are returned wrapped.
func Answer(offer []byte, cfg Config) (*Peer, error) {
	sc, creds, err := localTransport(&cfg)
	if err != nil {
		return nil, err
	}
	desc, err := sdp.Answer(offer, &sc)
	if err != nil {
		return nil, fmt.Errorf("peer: answer: %w", err)
	}
	tr, err := transportSection(desc)
	if err != nil {
		return nil, err
	}
	is, err := cfg.Mux.NewSession(creds, ice.Credentials{Ufrag: tr.RemoteUfrag, Pwd: tr.RemotePwd})
	if err != nil {
		return nil, fmt.Errorf("peer: %w", err)
	}
	return newPeer(cfg, desc, is, tr).start(), nil
}

// localTransport checks cfg and returns cfg.SDP with the peer's transport
// (see answerConfig) and its new ICE credentials.
func localTransport(cfg *Config) (sdp.Config, ice.Credentials, error) {
	if cfg.Mux == nil || cfg.Certificate == nil {
		return sdp.Config{}, ice.Credentials{}, fmt.Errorf("%w: Mux and Certificate are required", ErrConfig)
	}
	fp, err := cfg.Certificate.Fingerprint(dtlsparams.SHA256)
	if err != nil {
		return sdp.Config{}, ice.Credentials{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	creds, err := ice.NewCredentials(nil)
	if err != nil {
		return sdp.Config{}, ice.Credentials{}, err
	}
	return answerConfig(cfg, creds, fp), creds, nil
}

// start runs the peer's goroutines.
func (p *Peer) start() *Peer {
	p.wg.Add(2)
	go p.readLoop()
	go p.run()
	context.AfterFunc(p.ctx, p.release)
	return p
}

// answerConfig is cfg.SDP with the peer's transport: its ICE credentials,
// ice-lite, candidates, certificate fingerprint, no data channel.
func answerConfig(cfg *Config, creds ice.Credentials, fp dtlsparams.Fingerprint) sdp.Config {
	sc := cfg.SDP
	sc.ICEUfrag, sc.ICEPwd, sc.ICELite = creds.Ufrag, creds.Pwd, true
	sc.Fingerprints = []dtlsparams.Fingerprint{fp}
	sc.DataChannel = false
	sc.Candidates = make([]string, len(cfg.Candidates))
	for i := range cfg.Candidates {
		sc.Candidates[i] = string(cfg.Candidates[i].AppendValue(nil))
	}
	sc.EndOfCandidates = true // a lite agent knows all its candidates (RFC 8840 §8.2)
	sc.Audio = withFeedbackDefaults(sc.Audio, sdp.DefaultAudioCodecs)
	sc.Video = withFeedbackDefaults(sc.Video, sdp.DefaultVideoCodecs)
	return sc
}

// transportSection returns the m-section whose transport every accepted
// section shares: the BUNDLE-tagged one.
func transportSection(desc *sdp.Session) (*sdp.Section, error) {
	var tagged *sdp.Section
	if len(desc.Bundle) > 0 {
		tagged = desc.Section(desc.Bundle[0])
	}
	for i := range desc.Sections {
		s := &desc.Sections[i]
		if s.Rejected {
			continue
		}
		if tagged == nil {
			tagged = s // a lone unbundled section is its own transport
		}
		if s != tagged && !slices.Contains(desc.Bundle, s.Mid) {
			return nil, fmt.Errorf("%w: mid %q", ErrUnbundled, s.Mid)
		}
	}
	if tagged == nil {
		return nil, fmt.Errorf("peer: answer: %w", sdp.ErrNoMedia)
	}
	return tagged, nil
}

func newPeer(cfg Config, desc *sdp.Session, is *ice.Session, tr *sdp.Section) *Peer {
	p := &Peer{
		cfg:       cfg,
		log:       cfg.Logger,
		now:       cfg.Now,
		ice:       is,
		role:      tr.LocalRole,
		fps:       tr.RemoteFingerprints,
		connected: make(chan struct{}),
		done:      make(chan struct{}),
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	p.ctx = ctx
	p.stop = func(cause error) {
		cancel(cause) // first: a sender that sees stopped finds the cause
		p.stopped.Store(true)
	}
	p.desc.Store(desc)
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.now == nil {
		p.realClock = true
		p.now = time.Now
	}
	p.clock.at(p.now()) // fixes the origin
	p.rtcpSSRC = randomSSRC()
	p.dtlsPipe = newDTLSConn(is)
	for i := range desc.Sections {
		s := &desc.Sections[i]
		if s.Rejected || s.Kind == sdp.KindApplication {
			continue
		}
		if s.Direction.Sends() {
			p.local = append(p.local, newLocalTrack(p, s))
		}
		if s.Direction.Receives() {
			p.remote = append(p.remote, newRemoteTrack(p, s))
		}
	}
	if len(p.local) > 0 {
		p.rtcpSSRC = p.local[0].ssrc // RFC 4585 §6.1: the sender's own SSRC
	}
	p.demux.init(p.remote, desc)
	p.feedback.init(p, desc)
	return p
}

// LocalDescription returns the answer to send to the remote side: the
// first one, or the latest one Renegotiate made.
func (p *Peer) LocalDescription() []byte { return p.desc.Load().SDP }

// Description returns the negotiated session: per m-section the codec,
// payload types, header extensions and SSRCs.
func (p *Peer) Description() *sdp.Session { return p.desc.Load() }

// ICE returns the peer's ICE session, for its selected address and for
// an ICE restart (ice.Session.Restart).
func (p *Peer) ICE() *ice.Session { return p.ice }

// Mux returns the ice.Mux the peer's media goes through (Config.Mux):
// a Batch sends the packets of peers on one Mux together.
func (p *Peer) Mux() *ice.Mux { return p.cfg.Mux }

// LocalTracks returns the tracks the peer sends, one per m-section whose
// answered direction sends, in m-section order.
func (p *Peer) LocalTracks() []*LocalTrack { return p.local }

// RemoteTracks returns the tracks the peer receives, one per m-section
// whose answered direction receives, in m-section order.
func (p *Peer) RemoteTracks() []*RemoteTrack { return p.remote }

// Connected returns a channel closed once the DTLS handshake has finished
// and media can flow.
func (p *Peer) Connected() <-chan struct{} { return p.connected }

// Done returns a channel closed once the peer has stopped and released
// its goroutines, ICE session and DTLS association.
func (p *Peer) Done() <-chan struct{} { return p.done }

// Err returns nil while the peer runs, then why it stopped: ErrClosed
// after Close, ErrConnectTimeout, ErrRemoteClosed, or an error wrapping
// ice.ErrConsentExpired or the DTLS handshake's error.
func (p *Peer) Err() error { return context.Cause(p.ctx) }

// Close stops the peer: it sends a DTLS close_notify if connected,
// releases the ICE session and stops the goroutines. It returns at once;
// Done is closed when all is released. It may be called more than once,
// and from the peer's callbacks.
func (p *Peer) Close() error {
	p.stop(ErrClosed)
	return nil
}

// write sends one RTP or RTCP datagram that is already protected.
func (p *Peer) write(b []byte) error {
	_, err := p.ice.Write(b)
	return err
}

// peerGoroutines is how many goroutines a connected Peer runs: its read
// loop, its connect-then-watch goroutine, and pion/dtls's handshake loop,
// read loop, and the goroutine pion/transport's netctx keeps beside each
// blocked read.
const peerGoroutines = 5

// randomSSRC draws the SSRC of a peer's RTCP when it sends no media.
func randomSSRC() uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint32(b[:]) | 1 // never 0
}
