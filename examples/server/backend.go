package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/streamwire/streamwire/dtlssrtp"
	"github.com/streamwire/streamwire/ice"
	"github.com/streamwire/streamwire/internal/logstr"
	"github.com/streamwire/streamwire/peer"
	"github.com/streamwire/streamwire/relay"
	"github.com/streamwire/streamwire/sdp"
	"github.com/streamwire/streamwire/signaling/whip"
)

// backend is the whip.Backend of the server: a WHIP publisher becomes a
// relay publisher fed by a peer's RTP, a WHEP player a relay subscriber
// sent through a peer. Every peer shares the one ICE Mux (the UDP port and
// the ICE-TCP listener) and the one DTLS certificate.
type backend struct {
	hub      *relay.Hub
	mux      *ice.Mux
	gatherer *ice.Gatherer
	cert     *dtlssrtp.Certificate
	reg      *registry
	metrics  *metrics // nil in tests that do not scrape
	bframes  relay.BFramePolicy
	wait     bool // WHEP of an unpublished stream waits for its publisher (-whep-wait)
	log      *slog.Logger
	// Tests and benchmarks only: answered sees every peer that answer
	// makes; connectTimeout and now are the peers' peer.Config
	// ConnectTimeout and Now (zero: the defaults).
	answered       func(*peer.Peer)
	connectTimeout time.Duration
	now            func() time.Time
}

var _ whip.Backend = (*backend)(nil)

// Publish answers a WHIP offer, then claims the stream in the hub (409
// when someone publishes it already: RTMP or WHIP), and the peer's RTP
// feeds it until the peer ends. The answer comes first so that an offer
// that does not parse (400) or that the peer refuses (422) never holds
// the name, not even for a moment: an RTMP publisher of the same name
// would be refused meanwhile, and the hub would log a publish and an
// unpublish. The peer may get RTP before the claim (it exists, and so
// does its ICE session); onRTP drops that media, and a peer that loses
// the name to another publisher is closed.
func (b *backend) Publish(_ context.Context, o *whip.Offer) (whip.Session, []byte, error) {
	name := o.Stream.String()
	s := b.newSession(whip.KindWHIP, name, o.LogID)
	p, err := b.answer(o.SDP, sdp.RecvOnly, nil, peer.Config{OnRTP: s.onRTP})
	if err != nil {
		return nil, nil, err
	}
	pub, err := b.hub.Publish(name)
	if err != nil {
		p.Close()
		return nil, nil, hubError(err)
	}
	s.p = p
	s.pub.Store(relay.NewWebRTCPublisher(pub, relay.WebRTCPublisherConfig{Logger: b.log}))
	b.reg.add(s, entryOf(protoWHIP, name, true))
	go s.run(nil)
	return s, p.LocalDescription(), nil
}

// Play answers a WHEP offer for a published stream (409 with Retry-After
// otherwise, so that players retry) and sends the stream once the peer is
// connected.
func (b *backend) Play(_ context.Context, o *whip.Offer) (whip.Session, []byte, error) {
	name := o.Stream.String()
	subscribe := b.hub.Subscribe
	if b.wait {
		subscribe = b.hub.SubscribeWaiting
	}
	sub, err := subscribe(name)
	if err != nil {
		return nil, nil, hubError(err)
	}
	// A viewer answered before the stream's video codec is known gets
	// H.264; if the publisher brings another, the session ends, logged.
	closeOnMismatch := sub.VideoCodec() == relay.CodecUnknown
	if b.bframes == relay.RefuseBFrames && sub.HasBFrames() {
		sub.Close()
		// Refused here rather than connected and closed at the first
		// frame, so that the player can say why (the answer's body).
		return nil, nil, &whip.Error{Err: whip.ErrUnsupported, Reason: relay.ErrBFrames.Error()}
	}
	if err := sub.UnsupportedVideo(); err != nil {
		sub.Close() // FLV1, VP6...: refused with the codec's name, not played as a black picture
		return nil, nil, &whip.Error{Err: whip.ErrUnsupported, Reason: err.Error()}
	}
	s := b.newSession(whip.KindWHEP, name, o.LogID)
	vcfg := relay.WebRTCSubscriberConfig{BFrames: b.bframes, Logger: b.log, CloseOnCodecMismatch: closeOnMismatch}
	if b.metrics != nil {
		vcfg.Latency = b.metrics
	}
	v := relay.NewWebRTCSubscriber(sub, vcfg)
	s.sub, s.view = sub, v
	p, err := b.answer(o.SDP, sdp.SendOnly, sub.VideoCodecs(), peer.Config{OnKeyFrameRequest: v.OnKeyFrameRequest})
	if err != nil {
		sub.Close()
		return nil, nil, err
	}
	s.p = p
	b.reg.add(s, entryOf(protoWHEP, name, false))
	go s.run(s.send)
	return s, p.LocalDescription(), nil
}

// answer answers offer with a peer on the shared Mux whose audio and
// video have direction dir, with the video codecs in order of preference
// (nil: sdp.DefaultVideoCodecs); cfg brings the callbacks.
func (b *backend) answer(offer []byte, dir sdp.Direction, video []sdp.Codec, cfg peer.Config) (*peer.Peer, error) {
	cands, err := b.gatherer.Candidates(nil)
	if err != nil {
		return nil, fmt.Errorf("local candidates: %w", err)
	}
	cfg.Mux, cfg.Certificate, cfg.Candidates, cfg.Logger = b.mux, b.cert, cands, b.log
	cfg.ConnectTimeout, cfg.Now = b.connectTimeout, b.now
	cfg.SDP = sdp.Config{Audio: sdp.MediaConfig{Direction: dir}, Video: sdp.MediaConfig{Direction: dir, Codecs: video}}
	p, err := peer.Answer(offer, cfg)
	if errors.Is(err, peer.ErrUnbundled) {
		return nil, fmt.Errorf("%w: %w", whip.ErrUnsupported, err)
	}
	if err == nil && b.answered != nil {
		b.answered(p)
	}
	return p, err
}

// hubError maps the hub's refusals to the WHIP/WHEP answers.
func hubError(err error) error {
	switch {
	case errors.Is(err, relay.ErrNotFound):
		return fmt.Errorf("%w: %w", whip.ErrNotPublished, err)
	case errors.Is(err, relay.ErrStreamBusy):
		return fmt.Errorf("%w: %w", whip.ErrPublisherExists, err)
	case errors.Is(err, relay.ErrBadName):
		return fmt.Errorf("%w: %w", whip.ErrBadOffer, err)
	}
	return err
}

func (b *backend) newSession(kind whip.Kind, name, logID string) *session {
	return &session{b: b, kind: kind, stream: name, started: time.Now(), done: make(chan struct{}),
		log: b.log.With("kind", kind.String(), logstr.Attr("stream", name), "session", logID)}
}

// session is one WHIP or WHEP session: a peer and its relay side.
type session struct {
	b       *backend
	kind    whip.Kind
	stream  string
	started time.Time
	log     *slog.Logger
	p       *peer.Peer

	// pub is the WHIP side in the relay, stored once the stream is
	// claimed: the peer's OnRTP may run before that.
	pub  atomic.Pointer[relay.WebRTCPublisher]
	sub  *relay.Subscriber // WHEP: owned by view, kept for Dropped
	view *relay.WebRTCSubscriber

	bytesIn, packetsIn atomic.Uint64 // WHIP: RTP payload bytes and packets taken

	// WHEP: the counters that sit behind the media path's locks (the
	// tracks' NACK statistics, the subscriber's drops), copied every
	// refreshEvery by the registry's refresh loop, so that a scrape reads
	// atomics only.
	nacked, resent, dropped atomic.Uint64

	done chan struct{}
	err  error // set before done is closed
}

var _ whip.Session = (*session)(nil)

// onRTP is the WHIP peer's OnRTP: counted, then relayed. Media that
// comes before the stream is claimed (Publish) is dropped uncounted.
func (s *session) onRTP(t *peer.RemoteTrack, pkt *rtp.Packet) {
	pub := s.pub.Load()
	if pub == nil {
		return
	}
	s.packetsIn.Add(1)
	s.bytesIn.Add(uint64(len(pkt.Payload)))
	pub.OnRTP(t, pkt)
}

// run waits for the peer to connect (observing the connect time), runs
// media (nil for a publisher, whose media flows through OnRTP), and
// releases the relay side once the peer is done.
func (s *session) run(media func() error) {
	var err error
	ran := false
	select {
	case <-s.p.Connected():
		s.b.metrics.observeConnect(s.kind, time.Since(s.started))
		s.log.Info("webrtc: connected", "after", time.Since(s.started).Round(time.Millisecond))
		if media != nil {
			err, ran = media(), true
		}
	case <-s.p.Done():
	}
	<-s.p.Done()
	if pub := s.pub.Load(); pub != nil {
		pub.Close()
	}
	if s.sub != nil && !ran {
		s.sub.Close() // the viewer's Run, which owns it, never ran
	}
	if err == nil {
		err = s.p.Err()
	}
	s.err = err
	s.b.reg.remove(s)
	close(s.done)
}

// send runs the WHEP viewer until the stream ends, the peer ends or the
// viewer fails (a B-frame under the default policy), then closes the peer.
func (s *session) send() error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.p.Done():
			cancel()
		case <-ctx.Done():
		}
	}()
	video, audio := relay.PeerTracks(s.p)
	err := s.view.Run(ctx, video, audio)
	switch {
	case err == nil:
		s.log.Info("webrtc: stream ended")
	case errors.Is(err, context.Canceled) || s.p.Err() != nil:
		// The peer ended first (a DELETE, consent expiry), maybe while
		// its viewer group wrote to it: its Err says why.
		err = nil
	default:
		s.log.Warn("webrtc: viewer stopped", "err", err)
	}
	s.p.Close()
	return err
}

// Trickle accepts the client's candidates and drops them: the server is
// ICE-lite (RFC 8445 §2.5), so it sends no checks, and the Mux learns the
// client's addresses from the checks it receives (peer-reflexive).
func (s *session) Trickle(context.Context, *sdp.SDPFrag) error { return nil }

// Restart restarts ICE with the client's new credentials (RFC 9725 §4.3.3)
// and returns the server's new credentials and candidates.
func (s *session) Restart(_ context.Context, frag *sdp.SDPFrag) (*sdp.SDPFrag, error) {
	var m *sdp.FragMedia
	if len(frag.Media) > 0 {
		m = &frag.Media[0]
	}
	ufrag, pwd := frag.Credentials(m)
	local, err := s.p.RestartICE(ice.Credentials{Ufrag: ufrag, Pwd: pwd})
	if err != nil {
		return nil, err
	}
	cands, err := s.b.gatherer.Candidates(nil)
	if err != nil {
		return nil, err
	}
	media := sdp.FragMedia{EndOfCandidates: true}
	if sec := firstAccepted(s.p.Description()); sec != nil {
		media.Mid = sec.Mid
		media.MediaLine = fmt.Sprintf("%s 9 UDP/TLS/RTP/SAVPF %d", sec.Kind, sec.Codec.PayloadType)
	}
	for i := range cands {
		media.Candidates = append(media.Candidates, strings.TrimPrefix(cands[i].String(), "candidate:"))
	}
	return &sdp.SDPFrag{ICELite: true, Ufrag: local.Ufrag, Pwd: local.Pwd, Media: []sdp.FragMedia{media}}, nil
}

// firstAccepted is the first m-section of the answer that was not
// rejected: the one that carries the bundle's transport.
func firstAccepted(d *sdp.Session) *sdp.Section {
	for i := range d.Sections {
		if !d.Sections[i].Rejected {
			return &d.Sections[i]
		}
	}
	return nil
}

// Close ends the session (DTLS close_notify) and waits until its relay
// side is released.
func (s *session) Close() error {
	s.p.Close()
	<-s.done
	return nil
}

// Done is closed once the peer and its relay side are released.
func (s *session) Done() <-chan struct{} { return s.done }

// Connected is closed by the client's first nomination: the whip handler
// logs a session without one after 10 s, with the -public-ip hint.
func (s *session) Connected() <-chan struct{} { return s.p.ICE().Connected() }

// Err says why the session ended, once Done is closed.
func (s *session) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// statsEvery is how many reads of an RTMP player's media come between
// two copies of its locked counters.
const statsEvery = 64

// refresh implements refresher: a WHEP session copies the counters that
// sit behind its media path's locks.
func (s *session) refresh() {
	if s.kind == whip.KindWHEP {
		s.copyLocked()
	}
}

// copyLocked copies the WHEP counters that are read under locks which
// the send path holds while it writes to the socket (the tracks'
// statistics, the subscriber's drops).
func (s *session) copyLocked() {
	var nacked, resent uint64
	for _, t := range s.p.LocalTracks() {
		st := t.Stats()
		nacked += st.NACKed
		resent += st.Retransmitted
	}
	s.nacked.Store(nacked)
	s.resent.Store(resent)
	s.dropped.Store(uint64(s.view.Stats().Dropped)) // its group's drops included
}

// counters implements meter. A live session's counters are read without
// taking a lock of the media path: a scrape walks every session, and a
// lock that a sender holds across its socket write made it wait once per
// track, behind every busy viewer (34 s at 1,000 viewers). The WHEP
// counters behind locks are those copyLocked copied last; final reads
// them afresh, once, when the session ends.
func (s *session) counters() counters {
	var c counters
	if s.kind == whip.KindWHIP {
		c.bytesIn, c.packetsIn = s.bytesIn.Load(), s.packetsIn.Load()
		for _, t := range s.p.RemoteTracks() {
			st := t.Stats() // an atomic load
			c.nacksSent += st.NACKed
			c.plisSent += st.PLIs
		}
		return c
	}
	vs := s.view.Stats() // atomic loads, and the relay queues' locks, which no socket write holds
	c.bytesOut, c.packetsOut = uint64(vs.Bytes), uint64(vs.Packets)
	c.plisReceived = uint64(vs.KeyFrameRequests)
	c.nacksReceived, c.retransmits, c.drops = s.nacked.Load(), s.resent.Load(), s.dropped.Load()
	return c
}

// final implements meter: the counters once the session has ended.
func (s *session) final() counters {
	if s.kind == whip.KindWHEP {
		s.copyLocked()
	}
	return s.counters()
}
