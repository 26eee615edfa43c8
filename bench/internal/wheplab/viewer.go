//go:build linux

package wheplab

import (
	"encoding/binary"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/streamwire/streamwire/dtlssrtp"
	"github.com/streamwire/streamwire/stun"
)

// scratch is a shard's reusable state for handling datagrams.
type scratch struct {
	msg   stun.Message
	out   []byte // STUN responses
	plain []byte // SRTP decryption output
}

func newScratch() scratch {
	return scratch{out: make([]byte, 0, 256), plain: make([]byte, 0, readBuffer)}
}

// viewer is one WHEP session of the load: its socket, ICE credentials,
// DTLS-SRTP session and counters. Fields above the line are set before
// the socket is registered with a shard; the rest are atomics or under mu.
type viewer struct {
	l          *Load
	fd         int
	shard      *shard
	local      netip.AddrPort
	localInteg *stun.Integrity // our ICE password: answers the server's checks (shard only)
	verifyN    uint64          // Config.VerifyEvery

	// Set by the setup goroutine before its first check; read by the pacer
	// after established.
	remote      netip.AddrPort
	sa          unix.Sockaddr
	username    string
	remoteInteg *stun.Integrity // the server's ICE password: our checks
	tiebreaker  uint64

	mu      sync.Mutex
	checkID stun.TransactionID // the nominating check's, while it waits
	iceOK   chan struct{}      // closed by its success response
	iceDone bool

	dtlsIn      chan []byte // DTLS records for the handshake
	established atomic.Bool
	sess        atomic.Pointer[dtlssrtp.Session]

	// Written by the shard only.
	streams  [maxSSRCs]seqCounter
	nstreams int

	bytes, rtcp, stray, bad, dtlsLate    atomic.Uint64
	stunReq, stunResp, stunErr, verified atomic.Uint64
	authFailed, consentSent              atomic.Uint64
	lastResponse                         atomic.Int64 // Unix ns of the last Binding success response
}

// handle takes one datagram of the viewer's socket (on its shard's
// goroutine) and sorts it by its first byte (RFC 7983 §7).
func (v *viewer) handle(s *scratch, b []byte, from *unix.RawSockaddrInet4) {
	if len(b) == 0 {
		v.bad.Add(1)
		return
	}
	switch c := b[0]; {
	case c < 4:
		v.handleSTUN(s, b, from)
	case c >= 20 && c < 64:
		if v.established.Load() {
			v.dtlsLate.Add(1)
			return
		}
		select {
		case v.dtlsIn <- append([]byte(nil), b...):
		default:
			v.bad.Add(1) // the handshake is not reading: DTLS retransmits
		}
	case c >= 128 && c < 192:
		if len(b) < 12 {
			v.bad.Add(1)
			return
		}
		if pt := b[1]; pt >= 192 && pt <= 223 { // RTCP (RFC 5761 §4)
			v.rtcp.Add(1)
			return
		}
		v.countRTP(s, b)
	default:
		v.bad.Add(1)
	}
}

// countRTP counts an SRTP packet by its clear header (RFC 3711 §3.1: the
// header is authenticated, not encrypted) and checks every verifyN-th
// packet of each SSRC with the session's inbound context.
func (v *viewer) countRTP(s *scratch, b []byte) {
	ssrc := binary.BigEndian.Uint32(b[8:12])
	var c *seqCounter
	for i := range v.nstreams {
		if v.streams[i].ssrc == ssrc {
			c = &v.streams[i]
			break
		}
	}
	if c == nil {
		if v.nstreams == maxSSRCs {
			v.stray.Add(1)
			return
		}
		c = &v.streams[v.nstreams]
		c.ssrc = ssrc
		v.nstreams++
	}
	c.add(binary.BigEndian.Uint16(b[2:4]))
	v.bytes.Add(uint64(len(b)))
	if c.received.Load()%v.verifyN != 1%v.verifyN {
		return
	}
	if sess := v.sess.Load(); sess != nil {
		if _, err := sess.UnprotectRTP(s.plain[:0], b); err != nil {
			v.authFailed.Add(1)
			v.l.authErr.CompareAndSwap(nil, &err)
		} else {
			v.verified.Add(1)
		}
	}
}

// handleSTUN answers the server's checks (a full ICE agent's, RFC 8445
// §7.3) and matches responses to ours.
func (v *viewer) handleSTUN(s *scratch, b []byte, from *unix.RawSockaddrInet4) {
	m := &s.msg
	if err := m.Decode(b); err != nil {
		v.bad.Add(1)
		return
	}
	switch m.Type() {
	case stun.BindingRequest:
		v.stunReq.Add(1)
		if v.localInteg.Verify(m) != nil {
			v.stunErr.Add(1)
			return
		}
		src := netip.AddrPortFrom(netip.AddrFrom4(from.Addr), rawPort(from))
		var bld stun.Builder
		bld.Start(s.out[:0], stun.BindingSuccess, m.TransactionID())
		bld.AddXORMappedAddress(src)
		bld.AddMessageIntegrity(v.localInteg)
		bld.AddFingerprint()
		out, err := bld.Finish()
		if err != nil {
			v.stunErr.Add(1)
			return
		}
		if unix.Sendto(v.fd, out, 0, &unix.SockaddrInet4{Addr: from.Addr, Port: int(src.Port())}) != nil {
			v.stunErr.Add(1)
		}
	case stun.BindingSuccess:
		v.stunResp.Add(1)
		v.lastResponse.Store(time.Now().UnixNano())
		v.mu.Lock()
		if !v.iceDone && m.TransactionID() == v.checkID {
			v.iceDone = true
			close(v.iceOK)
		}
		v.mu.Unlock()
	default:
		v.stunErr.Add(1) // error responses, indications
	}
}

// counters reads the viewer's RTP totals.
func (v *viewer) counters() counters { return sumCounters(v.streams[:]) }
