package peer

import (
	"fmt"

	"github.com/streamwire/streamwire/ice"
	"github.com/streamwire/streamwire/sdp"
)

// Offering is an offer the peer made (RFC 8829 §5.2), waiting for the
// remote side's answer: for a server that calls a peer, or a WHEP
// counter-offer. Its ICE session is registered on the Mux already, so the
// remote side's checks are answered as soon as they come.
type Offering struct {
	cfg   Config
	offer *sdp.LocalOffer
	ice   *ice.Session
}

// Offer makes an offer for the media that cfg.SDP describes (sdp.Offer:
// one m-section per enabled kind, all bundled, a=setup:actpass, ice-lite,
// the candidates of cfg.Candidates, no data channel) and registers its ICE
// session on cfg.Mux. Send Offering.SDP to the remote side and hand its
// answer to Accept; Close it if no answer comes.
func Offer(cfg Config) (*Offering, error) {
	sc, creds, err := localTransport(&cfg)
	if err != nil {
		return nil, err
	}
	lo, err := sdp.Offer(&sc)
	if err != nil {
		return nil, fmt.Errorf("peer: offer: %w", err)
	}
	is, err := cfg.Mux.NewSession(creds, ice.Credentials{})
	if err != nil {
		return nil, fmt.Errorf("peer: %w", err)
	}
	return &Offering{cfg: cfg, offer: lo, ice: is}, nil
}

// SDP returns the offer.
func (o *Offering) SDP() []byte { return o.offer.SDP }

// Accept reads the remote side's answer (RFC 3264 §7; sdp.LocalOffer.Accept)
// and returns the Peer, which then connects as one made by Answer does: the
// remote side's checks, then the DTLS handshake in the role its a=setup
// leaves us. The peer's LocalDescription is the offer. An answer that does
// not fit the offer, or does not bundle its media (ErrUnbundled), fails
// and leaves the Offering open for a better one.
func (o *Offering) Accept(answer []byte) (*Peer, error) {
	desc, err := o.offer.Accept(answer)
	if err != nil {
		return nil, fmt.Errorf("peer: answer: %w", err)
	}
	tr, err := transportSection(desc)
	if err != nil {
		return nil, err
	}
	local := ice.Credentials{Ufrag: o.offer.LocalUfrag, Pwd: o.offer.LocalPwd}
	if err := o.ice.Restart(local, ice.Credentials{Ufrag: tr.RemoteUfrag, Pwd: tr.RemotePwd}); err != nil {
		return nil, fmt.Errorf("peer: %w", err)
	}
	desc.SDP = o.offer.SDP
	desc.LocalUfrag, desc.LocalPwd = local.Ufrag, local.Pwd
	return newPeer(o.cfg, desc, o.ice, tr).start(), nil
}

// Close releases the offer's ICE session; a Peer that Accept returned is
// closed with its own Close.
func (o *Offering) Close() error { return o.ice.Close() }
