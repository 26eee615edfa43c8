package peer

// Design note: RTP sequence number tracking for the receive side, RFC 3550
// Appendix A.1. The 16-bit sequence number is extended with a cycle count so
// that loss, reordering and NACK bookkeeping work across wrap-around. A
// packet ahead of the highest by less than seqMaxDropout advances the
// stream; one behind it by at most seqMaxMisorder is a reordered or
// retransmitted packet; anything else is a jump that is dropped unless the
// next packet follows it, in which case the source restarted its sequence
// and the state restarts there. The limits are mediasoup's (RtpStream:
// MaxDropout 3000, MaxMisorder 1500) rather than the RFC's 100 for
// misorder: NACK retransmissions arrive up to a second late, which is
// hundreds of packets at video rates. Probation (MIN_SEQUENTIAL) is left out:
// SRTP has already authenticated every packet, and probation would drop the
// first packets of every stream.

const (
	// seqMaxDropout is the largest forward jump taken as loss (RFC 3550
	// A.1 MAX_DROPOUT).
	seqMaxDropout = 3000
	// seqMaxMisorder is the largest backward distance taken as reordering
	// (RFC 3550 A.1 MAX_MISORDER, mediasoup's value).
	seqMaxMisorder = 1500
	// seqNoBad marks seqTracker.badSeq as unset: it is not a 16-bit value.
	seqNoBad = 1 << 16
)

// seqVerdict classifies a packet's sequence number against the stream.
type seqVerdict uint8

const (
	// seqStart: the first packet, or a confirmed restart; the extended
	// sequence number space starts again at this packet.
	seqStart seqVerdict = iota
	// seqAdvance: the packet is the new highest; the packets between the
	// previous highest and it are missing (so far).
	seqAdvance
	// seqBehind: the packet is at or behind the highest, within
	// seqMaxMisorder: reordered, retransmitted or duplicated.
	seqBehind
	// seqJump: a large jump held until the next packet confirms it; the
	// packet should be dropped.
	seqJump
)

// seqTracker extends 16-bit RTP sequence numbers (RFC 3550 A.1). The zero
// value is ready. Not safe for concurrent use.
type seqTracker struct {
	highest int64  // extended highest sequence number: cycles<<16 | max_seq
	badSeq  uint32 // sequence number that confirms a restart, or seqNoBad
	started bool
}

// update classifies seq and returns its extended sequence number (zero for
// seqJump). Extended numbers of packets behind the first one may be
// negative.
func (s *seqTracker) update(seq uint16) (int64, seqVerdict) {
	ext, v := s.peek(seq)
	switch v {
	case seqStart:
		s.restart(seq)
	case seqAdvance:
		s.highest, s.badSeq = ext, seqNoBad
	case seqJump:
		if uint32(seq) == s.badSeq {
			s.restart(seq)
			return s.highest, seqStart
		}
		s.badSeq = uint32(seq + 1)
	}
	return ext, v
}

// peek is update without its effect: the verdict and extended sequence
// number seq would get, except that the jump which would confirm a
// restart is still seqJump.
func (s *seqTracker) peek(seq uint16) (int64, seqVerdict) {
	if !s.started {
		return int64(seq), seqStart
	}
	udelta := seq - uint16(s.highest)
	switch {
	case udelta == 0:
		return s.highest, seqBehind
	case udelta < seqMaxDropout:
		return s.highest + int64(udelta), seqAdvance
	case udelta <= 1<<16-seqMaxMisorder:
		return 0, seqJump
	default:
		return s.highest - int64(-udelta), seqBehind
	}
}

func (s *seqTracker) restart(seq uint16) {
	s.highest = int64(seq)
	s.badSeq = seqNoBad
	s.started = true
}
