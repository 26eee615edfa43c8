package ice

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/streamwire/streamwire/stun"
)

// stormDatagrams returns n hostile datagrams in rotating categories: random
// bytes; DTLS, RTP and RTCP headers with random tails (from an address no
// check validated); STUN headers with a random body; Binding requests with
// a random USERNAME and forged MESSAGE-INTEGRITY too short to be answered;
// truncated STUN headers; and RFC 3489 requests without the magic cookie.
func stormDatagrams(tb testing.TB, n int) [][]byte {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(b []byte) []byte {
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	out := make([][]byte, 0, n)
	for i := range n {
		var d []byte
		switch i % 7 {
		case 0:
			d = fill(make([]byte, 1+rng.IntN(1400)))
		case 1:
			d = fill(make([]byte, 13+rng.IntN(1200)))
			d[0] = byte(20 + rng.IntN(44)) // DTLS
		case 2:
			d = fill(make([]byte, 12+rng.IntN(1200)))
			d[0] = byte(128 + rng.IntN(64)) // RTP, RTCP
		case 3:
			body := fill(make([]byte, 4*(1+rng.IntN(63)))) // empty would be a valid request
			d = binary.BigEndian.AppendUint16(nil, uint16(stun.BindingRequest))
			d = binary.BigEndian.AppendUint16(d, uint16(len(body)))
			d = binary.BigEndian.AppendUint32(d, stun.MagicCookie)
			d = append(d, fill(make([]byte, 12))...) // transaction ID
			d = append(d, body...)
		case 4:
			var b stun.Builder
			b.Start(nil, stun.BindingRequest, stun.TransactionID(fill(make([]byte, 12))))
			b.AddUsername("ab:c")
			var err error
			if d, err = b.Finish(); err != nil {
				tb.Fatal(err)
			}
		case 5:
			d = []byte{0, 1, 0, 0, 0x21, 0x12}
		case 6:
			d = fill(make([]byte, 20))
			d[0], d[1], d[2], d[3] = 0, 1, 0, 0 // RFC 3489: no magic cookie
		}
		out = append(out, d)
	}
	return out
}

// TestMuxHostileStorm: while a stranger floods the port with hostile
// datagrams, it gets no answer, and a connected session keeps its selected
// pair and receives all of its peer's media.
func TestMuxHostileStorm(t *testing.T) {
	m, addr := startMux(t, MuxConfig{})
	s := newTestSession(t, m)
	peer, stranger := newPeer(t), newPeer(t)
	mustSucceed(t, exchange(t, peer, addr, check{useCand: true}.build(t), wait), addrOf(peer))
	storm := stormDatagrams(t, 3500)
	const media = 50
	got := make(chan error, 1)
	go func() {
		buf := make([]byte, 1500)
		for i := range media {
			n, err := s.Read(buf)
			if err != nil {
				got <- err
				return
			}
			if n != len(rtpPacket) || buf[3] != byte(i) {
				got <- fmt.Errorf("media packet %d: got %x", i, buf[:n])
				return
			}
		}
		got <- nil
	}()
	_ = s.SetReadDeadline(time.Now().Add(3 * wait))
	for i, d := range storm {
		if _, err := stranger.WriteToUDPAddrPort(d, addr); err != nil {
			t.Fatal(err)
		}
		if i%(len(storm)/media) == 0 && i/(len(storm)/media) < media {
			pkt := bytes.Clone(rtpPacket)
			pkt[3] = byte(i / (len(storm) / media))
			if _, err := peer.WriteToUDPAddrPort(pkt, addr); err != nil {
				t.Fatal(err)
			}
			// Pace the flood so that the loopback socket buffers never
			// drop the session's media: the test is about the Mux.
			waitFor(t, "the Mux to catch up", func() bool { return m.Stats().Datagrams >= uint64(i+1) })
		}
	}
	if err := <-got; err != nil {
		t.Fatalf("session media during the storm: %v", err)
	}
	resp := exchange(t, stranger, addr, check{noUsername: true}.build(t), wait)
	if resp == nil || resp.Type() != stun.BindingSuccess || resp.Has(stun.AttrMessageIntegrity) {
		t.Fatalf("the stranger received %v before its plain STUN answer", resp)
	}
	assertSelected(t, s, addrOf(peer))
	if st := m.Stats(); st.Checks != 1 || st.Errors != 0 || st.PlainSTUN != 1 {
		t.Fatalf("Stats = %+v", st)
	}
}
