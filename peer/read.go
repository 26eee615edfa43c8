package peer

import (
	"errors"
	"fmt"
	"os"

	"github.com/streamwire/streamwire/dtlssrtp"
	"github.com/streamwire/streamwire/sdp"
)

// maxRemoteSSRCs bounds the SSRCs the demultiplexer learns: a media and an
// RTX SSRC per track, and a few more for a sender that restarts its
// streams.
const maxRemoteSSRCs = 16

// readLoop reads the ICE session until it closes: DTLS records go to the
// handshake's connection, SRTP and SRTCP are unprotected and handled, and
// between packets, or when the read deadline it sets fires, the RTCP
// timers run. Nothing here allocates per packet.
func (p *Peer) readLoop() {
	defer p.wg.Done()
	buf := make([]byte, MaxPacketSize)
	plain := make([]byte, MaxPacketSize)
	var early earlyPackets
	for {
		n, err := p.ice.Read(buf)
		now := p.clock.at(p.now())
		if errors.Is(err, os.ErrDeadlineExceeded) {
			p.onTimer(now)
			continue
		}
		if err != nil {
			if p.ctx.Err() == nil {
				p.stop(fmt.Errorf("peer: ice: %w", err))
			}
			return
		}
		b := buf[:n]
		class := dtlssrtp.Classify(b)
		switch {
		case class == dtlssrtp.ClassDTLS:
			p.dtlsPipe.deliver(b)
		case class != dtlssrtp.ClassRTP && class != dtlssrtp.ClassRTCP:
		case p.srtp.Load() == nil:
			early.keep(b)
		default:
			s := p.srtp.Load()
			for _, e := range early.take() {
				p.readSRTP(s, e, plain, now)
			}
			p.readSRTP(s, b, plain, now)
		}
		if now >= p.nextTimer {
			p.onTimer(now)
		}
	}
}

// readSRTP handles one SRTP or SRTCP packet.
func (p *Peer) readSRTP(s *dtlssrtp.Session, b, plain []byte, now monotime) {
	if dtlssrtp.Classify(b) == dtlssrtp.ClassRTCP {
		p.readRTCP(s, b, plain, now)
	} else {
		p.readRTP(s, b, plain, now)
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

// readRTP unprotects and routes one SRTP packet: transport-wide feedback
// and the REMB estimate count every packet, RTX is turned back into the
// packet it repairs (RFC 4588 §4), and the track takes it from there.
// Packets that fail authentication or replay checks, or belong to no
// track, are dropped.
func (p *Peer) readRTP(s *dtlssrtp.Session, b, plain []byte, now monotime) {
	pkt, err := s.UnprotectRTP(plain[:0], b)
	if err != nil {
		p.stats.srtpErrors.Add(1)
		return
	}
	if _, ok := rtpHeaderSize(pkt); !ok {
		return
	}
	t, rtx := p.demux.route(rtpSSRC(pkt), pkt[1]&0x7F)
	if t == nil {
		p.stats.unknownSSRC.Add(1)
		return
	}
	p.feedback.onPacket(pkt, now)
	if rtx {
		var ok bool
		if pkt, ok = rtxDecapsulate(pkt, t.ssrc.Load(), t.codec.PayloadType); !ok {
			return // a padding-only bandwidth probe
		}
	}
	t.receive(pkt, now, rtx)
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

// route returns the track of a packet with ssrc and payload type pt, and
// whether it is the track's RTX stream.
func (d *remoteDemux) route(ssrc uint32, pt uint8) (*RemoteTrack, bool) {
	if r, ok := d.bySSRC[ssrc]; ok {
		return r.t, r.rtx
	}
	if len(d.bySSRC) >= maxRemoteSSRCs {
		return nil, false
	}
	for _, t := range d.tracks {
		switch {
		case t.ssrc.Load() == 0 && pt == t.codec.PayloadType:
			t.ssrc.Store(ssrc)
			d.bySSRC[ssrc] = ssrcRoute{t: t}
			return t, false
		case t.rtxSSRC.Load() == 0 && t.rtxPT != 0 && pt == t.rtxPT:
			t.rtxSSRC.Store(ssrc)
			d.bySSRC[ssrc] = ssrcRoute{t: t, rtx: true}
			return t, true
		}
	}
	return nil, false
}

// track returns the remote track whose media SSRC is ssrc, or nil.
func (d *remoteDemux) track(ssrc uint32) *RemoteTrack {
	if r, ok := d.bySSRC[ssrc]; ok && !r.rtx {
		return r.t
	}
	return nil
}
