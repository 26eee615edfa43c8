package peer

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

var updateFuzzCorpus = flag.Bool("update-fuzz-corpus", false,
	"rewrite testdata/fuzz/Fuzz* from the seeds built by pion/rtcp and pion/rtp")

// fuzzSeed is one named seed input.
type fuzzSeed struct {
	name string
	raw  []byte
}

func mustRTCP(t testing.TB, pkts ...rtcp.Packet) []byte {
	t.Helper()
	b, err := rtcp.Marshal(pkts)
	if err != nil {
		t.Fatalf("marshal RTCP: %v", err)
	}
	return b
}

// rtcpSeeds are RTCP packets a viewer sends: NACK, RR, SR, REMB, PLI, FIR,
// a compound of them, transport-cc (pion/rtcp's "example1" vector) and
// broken ones.
func rtcpSeeds(t testing.TB) []fuzzSeed {
	nack := &rtcp.TransportLayerNack{SenderSSRC: 1, MediaSSRC: fuzzSSRC, Nacks: []rtcp.NackPair{
		{PacketID: 65510, LostPackets: 0xFFFF}, {PacketID: 2, LostPackets: 0x8001},
	}}
	rr := &rtcp.ReceiverReport{SSRC: 2, Reports: []rtcp.ReceptionReport{{
		SSRC: fuzzSSRC, FractionLost: 25, TotalLost: 0xFFFFFF, LastSequenceNumber: 70000, Jitter: 900,
		LastSenderReport: ntpShort(t0), Delay: 65536 / 10,
	}}}
	sr := &rtcp.SenderReport{SSRC: 3, NTPTime: ntpTime(t0), RTPTime: 1234, PacketCount: 10, OctetCount: 1000,
		Reports: rr.Reports}
	remb := &rtcp.ReceiverEstimatedMaximumBitrate{SenderSSRC: 1, Bitrate: 1.5e6, SSRCs: []uint32{fuzzSSRC, 9}}
	pli := &rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: fuzzSSRC}
	fir := &rtcp.FullIntraRequest{SenderSSRC: 1, FIR: []rtcp.FIREntry{{SSRC: fuzzSSRC, SequenceNumber: 3}}}
	twcc := []byte{
		0xaf, 0xcd, 0x0, 0x5, 0xfa, 0x17, 0xfa, 0x17, 0x43, 0x3, 0x2f, 0xa0,
		0x0, 0x99, 0x0, 0x1, 0x3d, 0xe8, 0x2, 0x17, 0x20, 0x1, 0x94, 0x1,
	}
	nackRaw := mustRTCP(t, nack)
	return []fuzzSeed{
		{"nack", nackRaw},
		{"rr", mustRTCP(t, rr)},
		{"sr", mustRTCP(t, sr)},
		{"remb", mustRTCP(t, remb)},
		{"pli", mustRTCP(t, pli)},
		{"fir", mustRTCP(t, fir)},
		{"compound", mustRTCP(t, rr, remb, nack, pli)},
		{"twcc_pion_example1", twcc},
		{"nack_truncated", nackRaw[:len(nackRaw)-2]},
		{"nack_bad_length", append([]byte{0x81, 205, 0x00, 0x40}, nackRaw[4:]...)},
	}
}

// fuzzSSRC is the SSRC whose packets the fuzz history holds.
const fuzzSSRC = 0xCAFE

// FuzzRTCPFeedback feeds arbitrary RTCP, as a viewer could send it, to the
// send-side components: NACKs to a packet history with RTX, reception
// reports to the RTT and loss figures, REMB, PLI and FIR to the key frame
// limiter. Nothing may panic; every retransmission must be an RTX packet of
// a NACKed, stored packet, within the per-NACK cap; the figures must stay
// in range.
func FuzzRTCPFeedback(f *testing.F) {
	for _, s := range rtcpSeeds(f) {
		f.Add(s.raw)
	}
	var stored [][]byte
	for i := range 64 {
		stored = append(stored, mkRTP(f, uint16(65500+i), rtpOpts{ssrc: fuzzSSRC, pt: 96, payload: 50, padding: byte(i % 3)}))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pkts, err := rtcp.Unmarshal(data)
		if err != nil {
			return
		}
		h := newSendHistory(sendHistoryConfig{Slots: 64, Bytes: 8 << 10, MaxPerNack: 20,
			RTX: true, RTXSSRC: 0xBEEF, RTXPayloadType: 97})
		for _, p := range stored {
			h.store(p, at(0))
		}
		remote := newRemoteReceiverStats(90000)
		var remb remoteREMB
		kf := newKeyframeLimiter(0)
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.TransportLayerNack:
				checkResend(t, h, p.Nacks)
			case *rtcp.ReceiverReport:
				checkReports(t, remote, p.Reports)
			case *rtcp.SenderReport:
				checkReports(t, remote, p.Reports)
			case *rtcp.ReceiverEstimatedMaximumBitrate:
				remb.onREMB(p, at(1))
				if bps, ok := remb.estimate(at(1)); !ok || bps < 0 || math.IsNaN(bps) || math.IsInf(bps, 0) {
					t.Fatalf("REMB estimate %v %v from %+v", bps, ok, p)
				}
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				kf.request(at(1))
			}
		}
	})
}

// checkResend answers pairs and checks the retransmissions.
func checkResend(t *testing.T, h *sendHistory, pairs []rtcp.NackPair) {
	t.Helper()
	nacked := map[uint16]bool{}
	for _, p := range pairs {
		for _, s := range p.PacketList() {
			nacked[s] = true
		}
	}
	n := h.resend(pairs, at(1), func(b []byte) {
		var p rtp.Packet
		if err := p.Unmarshal(b); err != nil {
			t.Fatalf("retransmission does not parse: %v", err)
		}
		if p.SSRC != 0xBEEF || p.PayloadType != 97 || len(p.Payload) < 2 {
			t.Fatalf("retransmission is not RTX: %+v", p.Header)
		}
		if osn := binary.BigEndian.Uint16(p.Payload); !nacked[osn] {
			t.Fatalf("resent %d, which was not NACKed", osn)
		}
	})
	if n > h.perNack {
		t.Fatalf("resent %d packets for one NACK, cap %d", n, h.perNack)
	}
}

// checkReports feeds report blocks and checks the figures.
func checkReports(t *testing.T, r *remoteReceiverStats, reports []rtcp.ReceptionReport) {
	t.Helper()
	for i := range reports {
		r.onReceptionReport(&reports[i], wallAt(100))
		fb := r.feedback()
		if fb.FractionLost < 0 || fb.FractionLost >= 1 || fb.Jitter < 0 || fb.RTT < 0 {
			t.Fatalf("feedback %+v from %+v", fb, reports[i])
		}
	}
}

// receiveSeeds are packet streams for FuzzReceivePath in its record
// format: per packet, a time step in ms, a 2-byte length and the bytes.
func receiveSeeds(t testing.TB) []fuzzSeed {
	stream := func(seqs []uint16, o rtpOpts) []byte {
		var b []byte
		for i, s := range seqs {
			o.ext = map[uint8][]byte{fuzzTWCCExt: {byte(i >> 8), byte(i)}}
			o.ts = uint32(s) * 3000
			p := mkRTP(t, s, o)
			b = append(b, byte(1+i%7))
			b = binary.BigEndian.AppendUint16(b, uint16(len(p)))
			b = append(b, p...)
		}
		return b
	}
	seq := func(from uint16, n int) []uint16 {
		var s []uint16
		for i := range n {
			s = append(s, from+uint16(i))
		}
		return s
	}
	o := rtpOpts{ssrc: 1, pt: 96, payload: 40}
	two := o
	two.twoByte = true
	return []fuzzSeed{
		{"in_order", stream(seq(100, 20), o)},
		{"reordered_lossy", stream([]uint16{1, 3, 2, 5, 6, 4, 9, 10, 11, 8, 20, 21}, o)},
		{"wrap", stream(seq(65530, 12), o)},
		{"restart", stream([]uint16{10, 11, 12, 40000, 40001, 40002, 13}, o)},
		{"two_byte_ext", stream(seq(7, 10), two)},
		{"padding", stream(seq(500, 5), rtpOpts{ssrc: 1, pt: 96, payload: 10, padding: 4})},
		{"rtx", append(stream([]uint16{1, 2, 4, 5}, o), rtxRecord(t, 3, o)...)},
		{"garbage", []byte{3, 0, 12, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 9, 0, 40, 0xff}},
	}
}

// rtxRecord is one FuzzReceivePath record: the RTX retransmission of
// packet seq, 20 ms later.
func rtxRecord(t testing.TB, seq uint16, o rtpOpts) []byte {
	rtx, _ := appendRTX(nil, mkRTP(t, seq, o), 2, fuzzRTXType, 0)
	return append(binary.BigEndian.AppendUint16([]byte{20}, uint16(len(rtx))), rtx...)
}

// fuzzTWCCExt is the transport-wide sequence number extension id of the
// receive path seeds, and fuzzRTXType their RTX payload type.
const (
	fuzzTWCCExt = 5
	fuzzRTXType = 97
)

// FuzzReceivePath feeds a stream of arbitrary packets, with arbitrary time
// steps, through the receive-side components as the peer's read loop
// would: statistics, NACK generation, transport-cc, REMB and the reorder
// window, with the periodic feedback in between. Nothing may panic; the
// reorder window must emit only packets it was given, in sequence order
// between restarts; every NACK and transport-cc packet must be valid for
// pion/rtcp.
func FuzzReceivePath(f *testing.F) {
	for _, s := range receiveSeeds(f) {
		f.Add(s.raw)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		stats := newReceiveStats(90000)
		nack := newNackGenerator(nackGenConfig{MaxMissing: 64, MaxPairs: 8})
		reorder := newReorderBuffer(reorderConfig{Slots: 16, MaxDelay: 30 * time.Millisecond, MaxPacket: 300})
		tw := newTWCCRecorder(1)
		remb := newREMBEstimator(rembConfig{})
		pushed := map[string]bool{} // every packet pushed
		var last uint16
		var lastBase int64
		emitted := false
		emit := func(p []byte) {
			seq := rtpSeq(p)
			if !pushed[string(p)] {
				t.Fatalf("emitted %x, which was not pushed", p)
			}
			if emitted && reorder.base == lastBase && int16(seq-last) <= 0 {
				t.Fatalf("emitted %d after %d", seq, last)
			}
			last, lastBase, emitted = seq, reorder.base, true
		}
		var pairs []rtcp.NackPair
		var fb []byte
		ms := 0.0
		for i := 0; len(data) >= 3; i++ {
			ms += float64(data[0])
			n := min(int(binary.BigEndian.Uint16(data[1:])), len(data)-3)
			pkt := data[3 : 3+n]
			data = data[3+n:]
			now := at(ms)
			remb.onPacket(len(pkt), now)
			if len(pkt) >= rtpFixedHeader && pkt[1]&rtpPayloadTypeMx == fuzzRTXType {
				if s, ok := twccSeq(pkt, fuzzTWCCExt); ok {
					tw.record(rtpSSRC(pkt), s, now)
				}
				orig, ok := rtxDecapsulate(append([]byte(nil), pkt...), 1, 96)
				if !ok {
					continue // a padding probe
				}
				if orig[1]&rtpPayloadTypeMx != 96 || rtpSSRC(orig) != 1 {
					t.Fatalf("decapsulated %x", orig)
				}
				pkt = orig
			}
			if len(pkt) >= rtpFixedHeader && pkt[0]>>6 == rtpVersion {
				seq := rtpSeq(pkt)
				stats.onRTP(seq, rtpTimestamp(pkt), len(pkt), now)
				nack.push(seq, now)
				if s, ok := twccSeq(pkt, fuzzTWCCExt); ok {
					tw.record(rtpSSRC(pkt), s, now)
				}
				pushed[string(pkt)] = true
			}
			reorder.push(pkt, now, emit)
			if i%4 == 3 {
				checkReceiveFeedback(t, stats, nack, reorder, tw, remb, now, emit, &pairs, &fb)
			}
		}
		checkReceiveFeedback(t, stats, nack, reorder, tw, remb, at(ms+1000), emit, &pairs, &fb)
	})
}

// checkReceiveFeedback runs the periodic side of the receive path and checks its
// output.
func checkReceiveFeedback(t *testing.T, stats *receiveStats, nack *nackGenerator, reorder *reorderBuffer,
	tw *twccRecorder, remb *rembEstimator, now monotime, emit func([]byte), pairs *[]rtcp.NackPair, fb *[]byte) {
	t.Helper()
	reorder.poll(now, emit)
	*pairs = nack.appendPairs((*pairs)[:0], now)
	if len(*pairs) > nack.maxPairs {
		t.Fatalf("%d NACK pairs, cap %d", len(*pairs), nack.maxPairs)
	}
	if len(*pairs) > 0 {
		raw := mustRTCP(t, &rtcp.TransportLayerNack{SenderSSRC: 1, MediaSSRC: 2, Nacks: *pairs})
		if _, err := rtcp.Unmarshal(raw); err != nil {
			t.Fatalf("NACK does not parse: %v", err)
		}
	}
	if *fb = tw.appendFeedback((*fb)[:0], now); len(*fb) > 0 {
		decodeFeedback(t, *fb)
	}
	if rr, ok := stats.report(2, now); ok {
		if _, err := rr.Marshal(); err != nil {
			t.Fatalf("report %+v does not marshal: %v", rr, err)
		}
	}
	if e := remb.update(float64(nack.missing()%256)/256, now); e < remb.min || e > remb.max || math.IsNaN(e) {
		t.Fatalf("REMB estimate %v outside [%v, %v]", e, remb.min, remb.max)
	}
}

// rtpHeaderSeeds are RTP packets with and without CSRCs, padding and
// one- and two-byte header extensions.
func rtpHeaderSeeds(t testing.TB) []fuzzSeed {
	return []fuzzSeed{
		{"plain", mkRTP(t, 1, rtpOpts{payload: 20})},
		{"one_byte", mkRTP(t, 2, rtpOpts{payload: 20, csrc: []uint32{5}, ext: map[uint8][]byte{1: {1}, 5: {1, 2}, 14: {3, 4, 5}}})},
		{"two_byte", mkRTP(t, 3, rtpOpts{payload: 20, twoByte: true, ext: map[uint8][]byte{1: {}, 5: {1, 2}, 200: bytes.Repeat([]byte{9}, 20)}})},
		{"padding", mkRTP(t, 4, rtpOpts{payload: 20, padding: 7})},
	}
}

// FuzzRTPHeader checks the raw header readers against pion/rtp: whenever
// pion parses a packet, the header size, payload and every extension it
// sees must match.
func FuzzRTPHeader(f *testing.F) {
	for _, s := range rtpHeaderSeeds(f) {
		f.Add(s.raw)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		start, end, ok := rtpPayloadBounds(data)
		_, _ = rtpExtension(data, 5)
		var p rtp.Packet
		if err := p.Unmarshal(data); err != nil {
			return
		}
		if p.Version != rtpVersion || p.Padding && p.PaddingSize == 0 {
			return // pion accepts other versions and a zero padding count; RFC 3550 §5.1 does not
		}
		if !ok {
			t.Fatalf("pion parses %x, rtpPayloadBounds does not", data)
		}
		if !bytes.Equal(data[start:end], p.Payload) {
			t.Fatalf("payload %x, pion %x", data[start:end], p.Payload)
		}
		// pion reads 0x1001..0x100F (two-byte with appbits, RFC 8285 §4.3)
		// as one opaque extension; compare the profiles both read alike.
		if p.Extension && (p.ExtensionProfile == rtp.ExtensionProfileOneByte || p.ExtensionProfile == rtp.ExtensionProfileTwoByte) {
			for _, id := range p.GetExtensionIDs() {
				v, ok := rtpExtension(data, id)
				if !ok || !bytes.Equal(v, p.GetExtension(id)) {
					t.Fatalf("extension %d: %x %v, pion %x", id, v, ok, p.GetExtension(id))
				}
			}
		}
	})
}

// TestFuzzCorpus checks that the committed corpora hold every seed, and
// rewrites them with -update-fuzz-corpus.
func TestFuzzCorpus(t *testing.T) {
	for target, seeds := range map[string][]fuzzSeed{
		"FuzzRTCPFeedback": rtcpSeeds(t),
		"FuzzReceivePath":  receiveSeeds(t),
		"FuzzRTPHeader":    rtpHeaderSeeds(t),
	} {
		dir := filepath.Join("testdata", "fuzz", target)
		if *updateFuzzCorpus {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, s := range seeds {
				body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s.raw)
				if err := os.WriteFile(filepath.Join(dir, s.name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, s := range seeds {
			if _, err := os.Stat(filepath.Join(dir, s.name)); err != nil {
				t.Errorf("%s: seed %s missing (run go test -run TestFuzzCorpus -update-fuzz-corpus): %v", target, s.name, err)
			}
		}
	}
}
