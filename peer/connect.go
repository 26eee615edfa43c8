package peer

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/streamwire/streamwire/dtlssrtp"
)

// run connects the peer, then watches its DTLS association until it
// ends. It is the first of the peer's two goroutines.
func (p *Peer) run() {
	defer p.wg.Done()
	s, err := p.connect()
	if err != nil {
		p.stop(err)
		return
	}
	for _, t := range p.local {
		t.start()
	}
	if !p.setSRTP(s) {
		_ = s.Close() // stopped during the handshake's last flight
		return
	}
	close(p.connected)
	p.log.Debug("peer: connected", "remote", p.ice.RemoteAddr(), "role", p.role, "profile", s.Profile())
	p.watchDTLS(s)
}

// setSRTP publishes the keyed session, unless the peer is stopping.
func (p *Peer) setSRTP(s *dtlssrtp.Session) bool {
	p.srtpMu.Lock()
	defer p.srtpMu.Unlock()
	if p.released {
		return false
	}
	p.srtp.Store(s)
	return true
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

// release runs once the peer stops: close_notify, then the ICE session
// (which ends the read loop), then, once both goroutines are gone, Done.
func (p *Peer) release() {
	p.srtpMu.Lock()
	p.released = true
	s := p.srtp.Load()
	p.srtpMu.Unlock()
	if s != nil {
		_ = s.Close() // close_notify, and closes dtlsPipe
	} else {
		_ = p.dtlsPipe.Close()
	}
	_ = p.ice.Close()
	p.wg.Wait()
	if err := p.Err(); err != ErrClosed {
		p.log.Info("peer: stopped", "err", err)
	}
	close(p.done)
}
