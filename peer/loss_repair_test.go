package peer

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// lossyLink delivers byte slices after a fixed delay, dropping a fraction
// of them, in simulated time.
type lossyLink struct {
	rng   *rand.Rand
	loss  float64
	delay time.Duration
	q     []queued
}

type queued struct {
	at  monotime
	pkt []byte
}

func (l *lossyLink) send(pkt []byte, now monotime) {
	if l.rng.Float64() >= l.loss {
		l.q = append(l.q, queued{now.add(l.delay), append([]byte(nil), pkt...)})
	}
}

// recv returns the packets due at now.
func (l *lossyLink) recv(now monotime) [][]byte {
	var out [][]byte
	for len(l.q) > 0 && l.q[0].at <= now {
		out = append(out, l.q[0].pkt)
		l.q = l.q[1:]
	}
	return out
}

// repairRun simulates 20 s of a 200 packet/s stream over a link with 10 ms
// one-way delay and 10 % loss in each direction (media, NACKs and
// retransmissions alike), and returns the fraction of packets the reorder
// window delivered, checking that they come out in order.
func repairRun(t *testing.T, withNack bool) float64 {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	media := &lossyLink{rng: rng, loss: 0.1, delay: 10 * time.Millisecond}
	back := &lossyLink{rng: rng, loss: 0.1, delay: 10 * time.Millisecond}
	hist := newSendHistory(sendHistoryConfig{RTX: true, RTXSSRC: 2, RTXPayloadType: 97})
	hist.setRTT(20 * time.Millisecond)
	gen := newNackGenerator(nackGenConfig{MaxAge: 150 * time.Millisecond})
	win := newReorderBuffer(reorderConfig{MaxDelay: 150 * time.Millisecond})
	const total = 4000
	delivered, last := 0, uint16(0)
	emit := func(p []byte) {
		if s := rtpSeq(p); delivered > 0 && int16(s-last) <= 0 {
			t.Fatalf("delivered %d after %d", s, last)
		}
		last = rtpSeq(p)
		delivered++
	}
	var pairs []rtcp.NackPair
	sent := 0
	for ms := 0; ms < total*5+1000; ms++ {
		now := at(float64(ms))
		if ms%5 == 0 && sent < total {
			pkt := mkRTP(t, uint16(60000+sent), rtpOpts{ssrc: 1, pt: 96, payload: 200})
			hist.store(pkt, now)
			media.send(pkt, now)
			sent++
		}
		for _, p := range media.recv(now) {
			if p[1]&rtpPayloadTypeMx == 97 {
				var ok bool
				if p, ok = rtxDecapsulate(p, 1, 96); !ok {
					continue
				}
			}
			gen.push(rtpSeq(p), now)
			win.push(p, now, emit)
		}
		for _, b := range back.recv(now) {
			pkts, err := rtcp.Unmarshal(b)
			if err != nil {
				t.Fatal(err)
			}
			hist.resend(pkts[0].(*rtcp.TransportLayerNack).Nacks, now, func(p []byte) { media.send(p, now) })
		}
		if withNack && ms%10 == 0 {
			if pairs = gen.appendPairs(pairs[:0], now); len(pairs) > 0 {
				back.send(mustRTCP(t, &rtcp.TransportLayerNack{SenderSSRC: 3, MediaSSRC: 1, Nacks: pairs}), now)
			}
		}
		win.poll(now, emit)
	}
	t.Logf("NACK %v: %d of %d packets delivered in order; NACK stats %+v; history stats %+v",
		withNack, delivered, total, gen.stats, hist.stats)
	return float64(delivered) / total
}

// TestLossRepair runs the NACK loop end to end: the receiver's NACK
// generator, pion's NACK encoding, the sender's history with RTX, RTX
// decapsulation and the reorder window, over a lossy link.
func TestLossRepair(t *testing.T) {
	without := repairRun(t, false)
	with := repairRun(t, true)
	if with < 0.998 {
		t.Errorf("with NACK %.4f of packets delivered, want at least 0.998", with)
	}
	if without > 0.92 {
		t.Errorf("without NACK %.4f delivered: the link is not lossy", without)
	}
}
