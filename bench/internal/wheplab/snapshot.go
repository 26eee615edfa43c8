//go:build linux

package wheplab

import (
	"slices"
	"time"
)

// Snapshot is the load's counters at one moment, summed over the
// established viewers; Window compares two.
type Snapshot struct {
	At      time.Time
	Viewers int
	// RTP over all viewers: packets, bytes (SRTP, headers included) and
	// the sequence numbers expected (RFC 3550 §A.3).
	Packets, Bytes, Expected uint64
	// PerViewer is each viewer's RTP packet count, in setup order.
	PerViewer []uint64
	// RTCP packets, datagrams of SSRCs beyond the viewer's four, and
	// datagrams that were neither STUN, DTLS nor RTP/RTCP (or truncated).
	RTCP, Stray, Bad uint64
	// DTLSLate counts DTLS records after the handshake (close_notify, or
	// a retransmitted flight).
	DTLSLate uint64
	// SRTP packets whose authentication tag was checked (and passed), and
	// those that failed the check.
	Verified, AuthFailed uint64
	// AuthError is the first failed check's error, nil if none failed.
	AuthError error
	// STUN: the server's checks answered, responses to our checks, other
	// STUN (errors, failed integrity), and consent checks sent.
	STUNRequests, STUNResponses, STUNErrors, ConsentSent uint64
	// Unanswered counts the viewers whose last response to a check is
	// older than three consent intervals: the server stopped answering
	// (it dropped the checks, or closed the session).
	Unanswered int
}

// Snapshot reads the counters.
func (l *Load) Snapshot() Snapshot {
	l.mu.Lock()
	vs := l.viewers
	l.mu.Unlock()
	s := Snapshot{At: time.Now(), Viewers: len(vs), PerViewer: make([]uint64, len(vs))}
	if e := l.authErr.Load(); e != nil {
		s.AuthError = *e
	}
	for i, v := range vs {
		c := v.counters()
		s.Packets += c.packets
		s.Expected += c.expected
		s.PerViewer[i] = c.packets
		s.Bytes += v.bytes.Load()
		s.RTCP += v.rtcp.Load()
		s.Stray += v.stray.Load()
		s.Bad += v.bad.Load()
		s.DTLSLate += v.dtlsLate.Load()
		s.Verified += v.verified.Load()
		s.AuthFailed += v.authFailed.Load()
		s.STUNRequests += v.stunReq.Load()
		s.STUNResponses += v.stunResp.Load()
		s.STUNErrors += v.stunErr.Load()
		s.ConsentSent += v.consentSent.Load()
		if s.At.UnixNano()-v.lastResponse.Load() > int64(3*ConsentInterval) {
			s.Unanswered++
		}
	}
	return s
}

// SetupTimes returns the viewers' setup durations (POST to SRTP keys),
// sorted.
func (l *Load) SetupTimes() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	ts := slices.Clone(l.setupTimes)
	slices.Sort(ts)
	return ts
}

// Window is what happened between two snapshots of the same load.
type Window struct {
	Seconds           float64
	Viewers           int
	Packets, Expected uint64
	Bytes             uint64
	// Lost is Expected - Packets, at least 0.
	Lost uint64
	// MinViewerPackets and MedianViewerPackets are over the viewers'
	// packet counts in the window: a viewer the server starves shows in
	// the minimum even when its sequence numbers have no gap.
	MinViewerPackets, MedianViewerPackets uint64
	AuthFailed, Verified                  uint64
	Bad, Stray                            uint64
}

// Between returns the window from a to b (a taken first).
func Between(a, b Snapshot) Window {
	w := Window{Seconds: b.At.Sub(a.At).Seconds(), Viewers: b.Viewers,
		Packets: b.Packets - a.Packets, Expected: b.Expected - a.Expected, Bytes: b.Bytes - a.Bytes,
		AuthFailed: b.AuthFailed - a.AuthFailed, Verified: b.Verified - a.Verified,
		Bad: b.Bad - a.Bad, Stray: b.Stray - a.Stray}
	if w.Expected > w.Packets {
		w.Lost = w.Expected - w.Packets
	}
	per := make([]uint64, len(b.PerViewer))
	for i := range per {
		per[i] = b.PerViewer[i]
		if i < len(a.PerViewer) {
			per[i] -= a.PerViewer[i]
		}
	}
	if len(per) > 0 {
		slices.Sort(per)
		w.MinViewerPackets, w.MedianViewerPackets = per[0], per[len(per)/2]
	}
	return w
}

// LossRatio is Lost / Expected (0 when nothing was expected).
func (w Window) LossRatio() float64 {
	if w.Expected == 0 {
		return 0
	}
	return float64(w.Lost) / float64(w.Expected)
}

// KbpsPerViewer is the SRTP bit rate each viewer received on average.
func (w Window) KbpsPerViewer() float64 {
	if w.Viewers == 0 || w.Seconds <= 0 {
		return 0
	}
	return float64(w.Bytes) * 8 / 1000 / w.Seconds / float64(w.Viewers)
}
