package peer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/streamwire/streamwire/dtlssrtp"
)

// run connects the peer, then sends its periodic RTCP until the peer
// stops, and releases everything.
func (p *Peer) run() {
	defer p.release()
	s, err := p.connect()
	if err != nil {
		p.stop(err)
		return
	}
	p.srtp.Store(s)
	p.wg.Add(1)
	go p.watchDTLS(s)
	close(p.connected)
	p.log.Debug("peer: connected", "remote", p.ice.RemoteAddr(), "role", p.role, "profile", s.Profile())
	p.reportLoop()
}

// connect waits for the remote side's nomination (a lite agent cannot
// send before the first check reaches it, RFC 8445 §2.5), then runs the
// DTLS handshake over the session's DTLS packets.
func (p *Peer) connect() (*dtlssrtp.Session, error) {
	timeout := positiveOr(p.cfg.ConnectTimeout, DefaultConnectTimeout)
	ctx, cancel := context.WithTimeoutCause(p.ctx, timeout, ErrConnectTimeout)
	defer cancel()
	select {
	case <-p.ice.Connected():
	case <-ctx.Done():
		return nil, connectErr(ctx, errors.New("no nomination"))
	}
	s, err := dtlssrtp.Handshake(ctx, p.dtlsPipe, p.role, dtlssrtp.Config{
		Certificate:        p.cfg.Certificate,
		RemoteFingerprints: p.fps,
		Profiles:           p.cfg.Profiles,
		HandshakeTimeout:   timeout,
		Logger:             p.cfg.Logger,
	})
	if err != nil {
		return nil, connectErr(ctx, err)
	}
	return s, nil
}

// connectErr names why connecting failed: the peer was stopped (its
// reason), the time ran out, or err.
func connectErr(ctx context.Context, err error) error {
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, ErrConnectTimeout):
		return fmt.Errorf("%w: %w", ErrConnectTimeout, err)
	case cause != nil:
		return cause
	default:
		return fmt.Errorf("peer: connect: %w", err)
	}
}

// watchDTLS waits for the end of the DTLS association: a close_notify or
// fatal alert from the remote side ends pion's read with io.EOF or the
// alert (application data has no use here; RFC 8827 carries none outside
// SCTP).
func (p *Peer) watchDTLS(s *dtlssrtp.Session) {
	defer p.wg.Done()
	var b [64]byte
	for {
		_, err := s.DTLSConn().Read(b[:])
		if err == nil {
			continue
		}
		if p.ctx.Err() == nil {
			if errors.Is(err, io.EOF) {
				err = ErrRemoteClosed
			} else {
				err = fmt.Errorf("%w: %w", ErrRemoteClosed, err)
			}
			p.stop(err)
		}
		return
	}
}

// reportLoop runs the peer's periodic RTCP work until it stops.
func (p *Peer) reportLoop() {
	t := time.NewTicker(feedbackTick)
	defer t.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
			p.tick(p.now())
		}
	}
}
