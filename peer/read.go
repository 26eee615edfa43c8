package peer

import (
	"encoding/binary"
	"fmt"

	"github.com/pion/rtp"
	"github.com/streamwire/streamwire/dtlssrtp"
	"github.com/streamwire/streamwire/sdp"
)

// maxRemoteSSRCs bounds the SSRCs the demultiplexer learns: a media and an
// RTX SSRC per track, and a few more for a sender that restarts its
// streams.
const maxRemoteSSRCs = 16

// readLoop reads the ICE session until it closes: DTLS records go to the
// handshake's connection, SRTP and SRTCP are unprotected and handled.
// Nothing here allocates per packet.
func (p *Peer) readLoop() {
	defer p.wg.Done()
	buf := make([]byte, MaxPacketSize)
	plain := make([]byte, MaxPacketSize)
	var pkt rtp.Packet
	var early earlyPackets
	for {
		n, err := p.ice.Read(buf)
		if err != nil {
			if p.ctx.Err() == nil {
				p.stop(fmt.Errorf("peer: ice: %w", err))
			}
			return
		}
		b := buf[:n]
		class := dtlssrtp.Classify(b)
		if class == dtlssrtp.ClassDTLS {
			p.dtlsPipe.deliver(b)
			continue
		}
		if class != dtlssrtp.ClassRTP && class != dtlssrtp.ClassRTCP {
			continue
		}
		s := p.srtp.Load()
		if s == nil {
			early.keep(b)
			continue
		}
		for _, e := range early.take() {
			p.readSRTP(s, e, plain, &pkt)
		}
		p.readSRTP(s, b, plain, &pkt)
	}
}

// readSRTP handles one SRTP or SRTCP packet.
func (p *Peer) readSRTP(s *dtlssrtp.Session, b, plain []byte, pkt *rtp.Packet) {
	if dtlssrtp.Classify(b) == dtlssrtp.ClassRTCP {
		p.readRTCP(s, b, plain)
	} else {
		p.readRTP(s, b, plain, pkt)
	}
}

// maxEarlyPackets bounds the SRTP packets kept while the DTLS handshake
// finishes: the remote side may send media as soon as its side of the
// handshake is done, a round trip before ours, and its first packets
// carry the key frame.
const maxEarlyPackets = 64

// earlyPackets keeps the SRTP packets that arrive before the keys, to be
// handled once they are there; only the first maxEarlyPackets are kept.
type earlyPackets struct {
	pkts [][]byte
	done bool
}

func (e *earlyPackets) keep(b []byte) {
	if len(e.pkts) < maxEarlyPackets {
		e.pkts = append(e.pkts, append([]byte(nil), b...))
	}
}

// take returns the kept packets once, then nothing.
func (e *earlyPackets) take() [][]byte {
	if e.done {
		return nil
	}
	e.done = true
	pkts := e.pkts
	e.pkts = nil
	return pkts
}

// readRTP unprotects, parses and routes one SRTP packet; packets that fail
// authentication or replay checks, or belong to no track, are dropped.
func (p *Peer) readRTP(s *dtlssrtp.Session, b, plain []byte, pkt *rtp.Packet) {
	out, err := s.UnprotectRTP(plain[:0], b)
	if err != nil {
		p.stats.srtpErrors.Add(1)
		return
	}
	if err := pkt.Unmarshal(out); err != nil {
		return
	}
	t, rtx := p.demux.route(pkt)
	if t == nil {
		p.stats.unknownSSRC.Add(1)
		return
	}
	if rtx && !unwrapRTX(pkt, t) {
		return
	}
	t.receive(pkt, p.now())
}

// unwrapRTX turns an RTX packet (RFC 4588 §4) back into the packet it
// repairs: the original sequence number (OSN) is the first two bytes of
// the payload. Payloads too short to carry one are padding-only probes.
func unwrapRTX(pkt *rtp.Packet, t *RemoteTrack) bool {
	if len(pkt.Payload) < 2 {
		return false
	}
	pkt.SequenceNumber = binary.BigEndian.Uint16(pkt.Payload)
	pkt.Payload = pkt.Payload[2:]
	pkt.PayloadType = t.codec.PayloadType
	pkt.SSRC = t.ssrc.Load()
	return true
}

// remoteDemux finds the remote track of an RTP packet: by the SSRCs the
// offer announced (RFC 5576 a=ssrc, ssrc-group FID for RTX), else by the
// payload type of a track that has no SSRC yet, as for offers without
// a=ssrc lines. Used by the read goroutine only.
type remoteDemux struct {
	bySSRC map[uint32]ssrcRoute
	tracks []*RemoteTrack
}

type ssrcRoute struct {
	t   *RemoteTrack
	rtx bool
}

func (d *remoteDemux) init(tracks []*RemoteTrack, desc *sdp.Session) {
	d.tracks = tracks
	d.bySSRC = make(map[uint32]ssrcRoute)
	for _, t := range tracks {
		s := desc.Section(t.mid)
		if s == nil || len(s.RemoteSSRCs) == 0 {
			continue
		}
		t.ssrc.Store(s.RemoteSSRCs[0])
		d.bySSRC[s.RemoteSSRCs[0]] = ssrcRoute{t: t}
		if len(s.RemoteSSRCs) > 1 && t.rtxPT != 0 {
			t.rtxSSRC.Store(s.RemoteSSRCs[1])
			d.bySSRC[s.RemoteSSRCs[1]] = ssrcRoute{t: t, rtx: true}
		}
	}
}

// route returns the track of pkt and whether pkt is its RTX stream.
func (d *remoteDemux) route(pkt *rtp.Packet) (*RemoteTrack, bool) {
	if r, ok := d.bySSRC[pkt.SSRC]; ok {
		return r.t, r.rtx
	}
	if len(d.bySSRC) >= maxRemoteSSRCs {
		return nil, false
	}
	for _, t := range d.tracks {
		switch {
		case t.ssrc.Load() == 0 && pkt.PayloadType == t.codec.PayloadType:
			t.ssrc.Store(pkt.SSRC)
			d.bySSRC[pkt.SSRC] = ssrcRoute{t: t}
			return t, false
		case t.rtxSSRC.Load() == 0 && t.rtxPT != 0 && pkt.PayloadType == t.rtxPT:
			t.rtxSSRC.Store(pkt.SSRC)
			d.bySSRC[pkt.SSRC] = ssrcRoute{t: t, rtx: true}
			return t, true
		}
	}
	return nil, false
}
