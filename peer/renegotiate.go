package peer

import (
	"errors"
	"fmt"

	"github.com/streamwire/streamwire/dtlsparams"
	"github.com/streamwire/streamwire/ice"
	"github.com/streamwire/streamwire/sdp"
)

// ErrRenegotiation reports a new offer that changes more than the ICE
// credentials: other m-sections, kinds, codecs or directions than the
// peer was made with. Such an offer needs a new Peer.
var ErrRenegotiation = errors.New("peer: offer changes the media; only ICE restarts are supported")

// Renegotiate answers a subsequent offer from the remote side (RFC 8829
// §5.3.2) on the same peer: an ICE restart, whose new a=ice-ufrag and
// a=ice-pwd (RFC 8839 §4.4.1.1.1) get new local credentials in the
// answer and switch the ICE session to them (ice.Session.Restart), or the
// same offer again, which gets the same answer. The media keeps flowing
// on the selected pair while the remote side checks the new credentials,
// and the DTLS association, SSRCs and DTLS role stay (RFC 8842 §5.5).
// An offer that changes anything else fails with ErrRenegotiation.
func (p *Peer) Renegotiate(offer []byte) ([]byte, error) {
	p.renegMu.Lock()
	defer p.renegMu.Unlock()
	cur := p.desc.Load()
	local := ice.Credentials{Ufrag: cur.LocalUfrag, Pwd: cur.LocalPwd}
	desc, tr, err := p.reanswer(offer, local)
	if err != nil {
		return nil, err
	}
	remote := ice.Credentials{Ufrag: tr.RemoteUfrag, Pwd: tr.RemotePwd}
	if remote != p.ice.RemoteCredentials() {
		if local, err = ice.NewCredentials(nil); err != nil {
			return nil, err
		}
		if desc, _, err = p.reanswer(offer, local); err != nil {
			return nil, err
		}
		if err := p.ice.Restart(local, remote); err != nil {
			return nil, fmt.Errorf("peer: ice restart: %w", err)
		}
	}
	p.desc.Store(desc)
	return desc.SDP, nil
}

// reanswer answers offer with the peer's first answer's media, SSRCs and
// DTLS role and the given local credentials, and checks that it
// negotiates the same media.
func (p *Peer) reanswer(offer []byte, local ice.Credentials) (*sdp.Session, *sdp.Section, error) {
	fp, err := p.cfg.Certificate.Fingerprint(dtlsparams.SHA256)
	if err != nil {
		return nil, nil, err
	}
	sc := answerConfig(&p.cfg, local, fp)
	sc.RolePolicy = dtlsparams.RolePolicy{AnswerPassive: p.role == dtlsparams.RoleServer}
	for _, t := range p.local {
		m := &sc.Video
		if t.kind == sdp.KindAudio {
			m = &sc.Audio
		}
		m.Source.SSRC, m.Source.RTXSSRC = t.ssrc, t.rtxSSRC
	}
	desc, err := sdp.Answer(offer, &sc)
	if err != nil {
		return nil, nil, fmt.Errorf("peer: answer: %w", err)
	}
	tr, err := transportSection(desc)
	if err != nil {
		return nil, nil, err
	}
	if err := sameMedia(p.desc.Load(), desc); err != nil {
		return nil, nil, err
	}
	return desc, tr, nil
}

// sameMedia reports whether next negotiates the m-sections of first.
func sameMedia(first, next *sdp.Session) error {
	if len(first.Sections) != len(next.Sections) {
		return fmt.Errorf("%w: %d m-sections, was %d", ErrRenegotiation, len(next.Sections), len(first.Sections))
	}
	for i := range first.Sections {
		a, b := &first.Sections[i], &next.Sections[i]
		if a.Mid != b.Mid || a.Kind != b.Kind || a.Rejected != b.Rejected || a.Direction != b.Direction ||
			a.Codec.PayloadType != b.Codec.PayloadType || a.RTX != b.RTX || a.LocalRole != b.LocalRole {
			return fmt.Errorf("%w: m-section %d (mid %q)", ErrRenegotiation, i, b.Mid)
		}
	}
	return nil
}

// RestartICE is the ICE restart of a WHIP or WHEP PATCH (RFC 9725 §4.4),
// where a trickle-ice-sdpfrag carries the remote side's new credentials
// instead of a whole offer: it draws new local credentials, switches the
// ICE session to both (ice.Session.Restart) and returns the local ones
// for the response's fragment. LocalDescription keeps the last full
// answer.
func (p *Peer) RestartICE(remote ice.Credentials) (ice.Credentials, error) {
	p.renegMu.Lock()
	defer p.renegMu.Unlock()
	local, err := ice.NewCredentials(nil)
	if err != nil {
		return ice.Credentials{}, err
	}
	if err := p.ice.Restart(local, remote); err != nil {
		return ice.Credentials{}, fmt.Errorf("peer: ice restart: %w", err)
	}
	return local, nil
}
