package peer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/streamwire/streamwire/dtlssrtp"
	"github.com/streamwire/streamwire/sdp"
)

// Header extension URIs the peer writes or reads (RFC 8285).
const (
	uriAbsSendTime = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
	uriTransportCC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
	uriMid         = "urn:ietf:params:rtp-hdrext:sdes:mid"
)

// ErrPacketTooLarge is returned by writes of an RTP packet that would not
// fit MaxPacketSize once protected.
var ErrPacketTooLarge = errors.New("peer: RTP packet too large")

// LocalTrack is what the peer sends in one m-section: one SSRC (and one
// RTX SSRC when RTX is negotiated, RFC 4588) with the negotiated codec.
type LocalTrack struct {
	p       *Peer
	mid     string
	kind    sdp.Kind
	codec   sdp.NegotiatedCodec
	ssrc    uint32
	rtxSSRC uint32
	rtxPT   uint8
	absID   uint8 // abs-send-time extension ID, 0 when not negotiated

	mu    sync.Mutex // guards the buffers and the send state
	plain []byte     // the packet as sent, before SRTP
	out   []byte     // the protected packet
	batch [][]byte   // protected packets of WriteRTPBatch

	lastKeyFrameRequest time.Time // read goroutine only
}

func newLocalTrack(p *Peer, s *sdp.Section) *LocalTrack {
	t := &LocalTrack{
		p: p, mid: s.Mid, kind: s.Kind, codec: s.Codec,
		ssrc: s.LocalSSRC, rtxSSRC: s.LocalRTXSSRC, rtxPT: s.RTX,
		plain: make([]byte, MaxPacketSize),
		out:   make([]byte, 0, MaxPacketSize),
	}
	t.absID = extensionID(s, uriAbsSendTime)
	return t
}

func extensionID(s *sdp.Section, uri string) uint8 {
	for _, e := range s.Extensions {
		if e.URI == uri && e.ID > 0 && e.ID < 15 {
			return uint8(e.ID)
		}
	}
	return 0
}

// Mid returns the track's m-section mid (RFC 8843 §5).
func (t *LocalTrack) Mid() string { return t.mid }

// Kind returns the track's media kind.
func (t *LocalTrack) Kind() sdp.Kind { return t.kind }

// Codec returns the negotiated codec: its payload type is the one WriteRTP
// writes.
func (t *LocalTrack) Codec() sdp.NegotiatedCodec { return t.codec }

// SSRC returns the track's SSRC, as the answer announces it (RFC 5576).
func (t *LocalTrack) SSRC() uint32 { return t.ssrc }

// WriteRTP sends one RTP packet on the track: its sequence number,
// timestamp, marker and payload as given, with the track's SSRC and
// payload type written over the packet's, its CSRCs and header extensions
// left out (the peer writes abs-send-time when negotiated, so that the
// remote side can estimate bandwidth and send REMB), SRTP-protected and
// sent to the selected ICE pair. It does not allocate. It returns
// ErrNotConnected before the DTLS handshake has finished, the peer's Err
// after it stopped, ErrPacketTooLarge for a packet that does not fit
// MaxPacketSize, and the ICE session's write error otherwise. Safe for
// concurrent use.
func (t *LocalTrack) WriteRTP(pkt *rtp.Packet) error {
	s, err := t.p.sendable()
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	plain, err := t.marshal(t.plain, pkt, t.p.now())
	if err != nil {
		return err
	}
	out, err := s.ProtectRTP(t.out[:0], plain)
	if err != nil {
		return fmt.Errorf("peer: protect: %w", err)
	}
	return t.p.write(out)
}

// marshal writes pkt into b with the track's header: V=2, no padding,
// no CSRC, the abs-send-time extension when negotiated.
func (t *LocalTrack) marshal(b []byte, pkt *rtp.Packet, now time.Time) ([]byte, error) {
	hdr := 12
	if t.absID != 0 {
		hdr += 8
	}
	if hdr+len(pkt.Payload)+maxSRTPOverhead > len(b) {
		return nil, ErrPacketTooLarge
	}
	b[0] = 0x80
	b[1] = t.codec.PayloadType
	if pkt.Marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], pkt.SequenceNumber)
	binary.BigEndian.PutUint32(b[4:], pkt.Timestamp)
	binary.BigEndian.PutUint32(b[8:], t.ssrc)
	if t.absID != 0 {
		b[0] |= 0x10
		// One-byte header (RFC 8285 §4.2): one word of extensions holding
		// the 3-byte abs-send-time, 6.18 fixed-point seconds.
		b[12], b[13], b[14], b[15] = 0xBE, 0xDE, 0, 1
		b[16] = t.absID<<4 | 2
		ast := absSendTime(now)
		b[17], b[18], b[19] = byte(ast>>16), byte(ast>>8), byte(ast)
	}
	n := copy(b[hdr:], pkt.Payload)
	return b[:hdr+n], nil
}

// maxSRTPOverhead is the most any SRTP profile adds to a packet: a 16-byte
// AEAD tag (RFC 7714 §9).
const maxSRTPOverhead = 16

// absSendTime is the 24-bit abs-send-time value of t: seconds in 6.18
// fixed point, wrapping every 64 s.
func absSendTime(t time.Time) uint32 {
	ns := uint64(t.UnixNano())
	return uint32((ns << 18 / uint64(time.Second)) & 0xFFFFFF)
}

// RemoteTrack is what the peer receives in one m-section: the SSRC the
// offer announced or the first one seen with its payload type, and its
// RTX stream.
type RemoteTrack struct {
	p     *Peer
	mid   string
	kind  sdp.Kind
	codec sdp.NegotiatedCodec
	rtxPT uint8
	// ssrc and rtxSSRC are the remote SSRCs, 0 until known; written by the
	// read goroutine.
	ssrc, rtxSSRC atomic.Uint32

	lastKeyFrameRequest time.Time // guarded by keyMu
	keyMu               sync.Mutex
}

func newRemoteTrack(p *Peer, s *sdp.Section) *RemoteTrack {
	return &RemoteTrack{p: p, mid: s.Mid, kind: s.Kind, codec: s.Codec, rtxPT: s.RTX}
}

// Mid returns the track's m-section mid.
func (t *RemoteTrack) Mid() string { return t.mid }

// Kind returns the track's media kind.
func (t *RemoteTrack) Kind() sdp.Kind { return t.kind }

// Codec returns the negotiated codec of the packets OnRTP receives.
func (t *RemoteTrack) Codec() sdp.NegotiatedCodec { return t.codec }

// sendable returns the SRTP session for a write, or why there is none.
func (p *Peer) sendable() (*dtlssrtp.Session, error) {
	if err := p.Err(); err != nil {
		return nil, err
	}
	s := p.srtp.Load()
	if s == nil {
		return nil, ErrNotConnected
	}
	return s, nil
}

// SSRC returns the remote SSRC of the track's media, 0 until known.
func (t *RemoteTrack) SSRC() uint32 { return t.ssrc.Load() }

// receive handles one RTP packet of the track (after RTX unwrapping).
func (t *RemoteTrack) receive(pkt *rtp.Packet, now time.Time) {
	_ = now
	if t.p.cfg.OnRTP != nil {
		t.p.cfg.OnRTP(t, pkt)
	}
}
