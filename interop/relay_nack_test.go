package interop

// NACK repair through a viewer group (issue 10): two pion/webrtc viewers
// of a relayed RTMP stream are sent to by one viewer group, whose batched
// writes store each packet in the retransmission history as a reference
// to the relay frame's payload (peer.Batch.WriteRTPShared). Viewer B's
// socket loses every 25th SRTP packet of the video SSRC; pion NACKs them
// (RFC 4585 §6.2.1) and our peer must resend them, as RTX (RFC 4588) or
// as the original packets, rebuilt from the stored header and the shared
// payload and protected again by our SRTP. SRTP leaves the RTP header in
// the clear (RFC 3711 §3.1), so the socket knows which sequence numbers
// it dropped; pion's track must then deliver every one of them, and the
// access units reassembled from what pion read must be, byte for byte,
// the frames our publisher sent.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/streamwire/streamwire/dtlssrtp"
	"github.com/streamwire/streamwire/peer"
	"github.com/streamwire/streamwire/rtmp/flv"
	"github.com/streamwire/streamwire/sdp"
)

const (
	// lossEvery: viewer B's socket drops every lossEvery-th video packet.
	lossEvery = 25
	// lossFor is how long the socket drops packets.
	lossFor = 2 * time.Second
	// repairWait is the time left after the last drop for its repair:
	// many NACK round trips on loopback, and within the history's 1 s.
	repairWait = time.Second
	// lossSettle is the time between the viewers' hand-over to their
	// group and the first drop. pion's NACK generator (interceptor
	// v0.1.51) logs only the media SSRC, so it NACKs a packet that RTX
	// repaired every 100 ms until it leaves its 512-packet log
	// (pion/interceptor#320), and we resend it each time: the NACKs of
	// what pion lost while joining would otherwise take the history's
	// bitrate budget from the drops' (its per-NACK budget goes to
	// packets never resent first).
	lossSettle = time.Second
	// srtpReplayWindow is pion's SRTP replay window in these tests: its
	// default of 64 packets rejects a plain retransmission that arrives
	// more than 64 packets after the original's successors, and one NACK
	// interval (100 ms) of this stream is about 65 packets.
	srtpReplayWindow = 1024
	// lossTail is the number of packets at the end of what a viewer read
	// whose loss (pion's own, not the socket's) may still be under
	// repair when the test looks.
	lossTail = 200
)

// TestRelayGroupRepairsLoss: viewer B loses every 25th video packet for
// 2 s. With RTX negotiated (pion offers it) and without, every dropped
// packet is NACKed and resent, pion reads it after its successor, no
// sequence number is missing from either viewer's window, a packet read
// twice is byte-identical both times, and each frame reassembled from
// the packets (FU-A start and end bits, STAP-A lengths, the marker bit)
// is one of the publisher's frames, in the publisher's order.
func TestRelayGroupRepairsLoss(t *testing.T) {
	for _, tc := range []struct {
		name  string
		noRTX bool
	}{{"RTX", false}, {"Plain", true}} {
		t.Run(tc.name, func(t *testing.T) { testRelayRepairsLoss(t, tc.noRTX) })
	}
}

func testRelayRepairsLoss(t *testing.T, noRTX bool) {
	clip := newClipFrames(t)
	rig := newSlowRig(t)
	rig.groupSize = 2
	rig.noRTX = noRTX
	rig.pion = func(se *webrtc.SettingEngine) { se.SetSRTPReplayProtectionWindow(srtpReplayWindow) }
	var log packetLog
	rig.onRTP = log.add
	var loss videoLoss
	a := rig.viewer(t, "A", nil)
	b := rig.viewer(t, "B", &freezableConn{drop: loss.drop})
	rig.waitPackets(t, a, b)
	waitGrouped(t, a, b)
	if rtx := bytes.Contains(b.peer.LocalDescription(), []byte(" rtx/90000")); rtx == noRTX {
		t.Fatalf("RTX in our answer: %v, want %v\n%s", rtx, !noRTX, b.peer.LocalDescription())
	}
	track := videoTrack(t, b.peer)
	time.Sleep(lossSettle)

	loss.ssrc.Store(track.SSRC())
	loss.on.Store(true)
	time.Sleep(lossFor)
	loss.on.Store(false)
	time.Sleep(repairWait)

	st := track.Stats()
	dropped := loss.dropped()
	t.Logf("viewer B: %d packets dropped by its socket; its track: %d NACKed, %d retransmitted, %d sent",
		len(dropped), st.NACKed, st.Retransmitted, st.Packets)
	if len(dropped) < 10 {
		t.Fatalf("the socket dropped %d packets in %v, want at least 10", len(dropped), lossFor)
	}
	if st.NACKed < uint64(len(dropped)) || st.Retransmitted < uint64(len(dropped)) {
		t.Errorf("viewer B's track: %d packets NACKed, %d retransmitted, want at least the %d dropped",
			st.NACKed, st.Retransmitted, len(dropped))
	}
	for _, v := range []*slowViewer{a, b} {
		w := newPacketWindow(t, v.name, log.snapshot(v))
		if v == b {
			w.checkRepaired(t, dropped, !noRTX)
			// B's checks start with the drops: with RTX, a few of the
			// packets pion lost while joining (the cached GOP comes in
			// a burst) may go unrepaired, starved by the re-NACKs of
			// the others (lossSettle).
			w.lo = w.ext(dropped[0])
		}
		w.checkAccessUnits(t, clip)
		v.checkFrames(t)
	}
}

// videoTrack returns p's video track.
func videoTrack(t *testing.T, p *peer.Peer) *peer.LocalTrack {
	t.Helper()
	for _, tr := range p.LocalTracks() {
		if tr.Kind() == sdp.KindVideo {
			return tr
		}
	}
	t.Fatal("the peer has no video track")
	return nil
}

// videoLoss picks the datagrams a viewer's socket loses: once on, every
// lossEvery-th new SRTP packet of SSRC ssrc (DTLS, STUN, RTCP, other
// SSRCs, RTX among them, and plain retransmissions go through). It
// records their sequence numbers, which SRTP leaves in the clear.
type videoLoss struct {
	ssrc atomic.Uint32
	on   atomic.Bool
	// Only pion's read loop calls drop.
	n       int    // new video packets seen while on
	highest uint16 // highest sequence number seen
	seen    bool

	mu   sync.Mutex
	seqs []uint16
}

func (l *videoLoss) drop(b []byte) bool {
	if !l.on.Load() || dtlssrtp.Classify(b) != dtlssrtp.ClassRTP || len(b) < 12 ||
		binary.BigEndian.Uint32(b[8:12]) != l.ssrc.Load() {
		return false
	}
	seq := binary.BigEndian.Uint16(b[2:4])
	if l.seen && int16(seq-l.highest) <= 0 {
		return false // a retransmission, or reordered
	}
	l.highest, l.seen = seq, true
	if l.n++; l.n%lossEvery != 0 {
		return false
	}
	l.mu.Lock()
	l.seqs = append(l.seqs, seq)
	l.mu.Unlock()
	return true
}

func (l *videoLoss) dropped() []uint16 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.seqs)
}

// readPacket is one packet a viewer read, in the order read.
type readPacket struct {
	seq     uint16
	ts      uint32
	marker  bool
	rtx     bool // pion unwrapped it from RTX
	payload []byte
}

// packetLog keeps every packet each viewer reads (slowRig.onRTP).
type packetLog struct {
	mu  sync.Mutex
	got map[*slowViewer][]readPacket
}

func (l *packetLog) add(v *slowViewer, pkt *rtp.Packet, rtx bool) {
	p := readPacket{seq: pkt.SequenceNumber, ts: pkt.Timestamp, marker: pkt.Marker, rtx: rtx,
		payload: slices.Clone(pkt.Payload)}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.got == nil {
		l.got = make(map[*slowViewer][]readPacket)
	}
	l.got[v] = append(l.got[v], p)
}

func (l *packetLog) snapshot(v *slowViewer) []readPacket {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.got[v])
}

// packetWindow is what one viewer read, by sequence number extended from
// the first one read.
type packetWindow struct {
	name   string
	base   uint16
	lo, hi int64                // first and last extended sequence numbers
	byExt  map[int64]readPacket // the first read of each
	readAt map[int64]int        // its index in the read order
}

// newPacketWindow indexes the packets read and checks that a packet read
// twice (a retransmission of one that was not lost) is the same packet.
func newPacketWindow(t *testing.T, name string, got []readPacket) *packetWindow {
	t.Helper()
	if len(got) == 0 {
		t.Fatalf("viewer %s read nothing", name)
	}
	w := &packetWindow{name: name, base: got[0].seq, byExt: make(map[int64]readPacket, len(got)),
		readAt: make(map[int64]int, len(got))}
	for i, p := range got {
		ext := w.ext(p.seq)
		if first, dup := w.byExt[ext]; dup {
			if first.ts != p.ts || !bytes.Equal(first.payload, p.payload) {
				t.Errorf("viewer %s: sequence number %d read twice with different timestamps or payloads (RTX %v, %v)",
					name, p.seq, first.rtx, p.rtx)
			}
			continue
		}
		w.byExt[ext], w.readAt[ext] = p, i
		w.lo, w.hi = min(w.lo, ext), max(w.hi, ext)
	}
	return w
}

// ext extends seq from the window's first sequence number; the window
// spans far fewer than 2^15 packets.
func (w *packetWindow) ext(seq uint16) int64 { return int64(int16(seq - w.base)) }

// end is the last extended sequence number whose loss must be repaired.
func (w *packetWindow) end() int64 { return w.hi - lossTail }

// checkRepaired: every sequence number the socket dropped was read, after
// the packet that followed it, and by RTX exactly when RTX was negotiated.
func (w *packetWindow) checkRepaired(t *testing.T, dropped []uint16, rtx bool) {
	t.Helper()
	for _, seq := range dropped {
		ext := w.ext(seq)
		if ext < w.lo || ext > w.end() {
			t.Errorf("viewer %s: dropped sequence number %d is outside the window [%d, %d] checked",
				w.name, seq, w.base+uint16(w.lo), w.base+uint16(w.end()))
			continue
		}
		p, ok := w.byExt[ext]
		switch {
		case !ok:
			t.Errorf("viewer %s: dropped sequence number %d was never repaired", w.name, seq)
		case p.rtx != rtx:
			t.Errorf("viewer %s: dropped sequence number %d came back with RTX %v, want %v", w.name, seq, p.rtx, rtx)
		case w.readAt[ext] < w.readAt[ext+1]:
			t.Errorf("viewer %s: dropped sequence number %d was read before its successor: it was not lost",
				w.name, seq)
		}
	}
}

// checkAccessUnits: no sequence number is missing up to the tail, and
// every frame between the first and the tail, reassembled from its
// packets, is a frame of the clip, one after the other.
func (w *packetWindow) checkAccessUnits(t *testing.T, clip *clipFrames) {
	t.Helper()
	var missing []int64
	for ext := w.lo; ext <= w.end(); ext++ {
		if _, ok := w.byExt[ext]; !ok {
			missing = append(missing, ext)
		}
	}
	if len(missing) > 0 {
		t.Errorf("viewer %s: %d sequence numbers missing in %d, the first %d",
			w.name, len(missing), w.end()-w.lo+1, w.base+uint16(missing[0]))
		return
	}
	// Whole frames only: from the first frame's end to the tail.
	ext := w.lo
	for ext <= w.end() && !w.byExt[ext].marker {
		ext++
	}
	var prev []int
	frames := 0
	for ext++; ext <= w.end(); frames++ {
		var pkts []readPacket
		for ; ext <= w.end() && (len(pkts) == 0 || w.byExt[ext].ts == pkts[0].ts); ext++ {
			pkts = append(pkts, w.byExt[ext])
		}
		if ext > w.end() {
			break // the frame may go on past the tail
		}
		idx, err := clip.match(pkts)
		if err == nil && prev != nil && !followsOne(idx, prev, len(clip.frames)) {
			err = fmt.Errorf("it is frame %v of the clip, after frame %v", idx, prev)
		}
		if err != nil {
			t.Errorf("viewer %s: the frame at sequence number %d (timestamp %d, %d packets): %v",
				w.name, pkts[0].seq, pkts[0].ts, len(pkts), err)
			return
		}
		prev = idx
	}
	if frames < 10 {
		t.Errorf("viewer %s: %d whole frames checked, want at least 10", w.name, frames)
	}
	t.Logf("viewer %s: %d packets, %d frames equal to the clip's", w.name, w.end()-w.lo+1, frames)
}

// followsOne reports whether some frame index of next follows one of prev
// in a clip of n frames played in a loop.
func followsOne(next, prev []int, n int) bool {
	for _, p := range prev {
		if slices.Contains(next, (p+1)%n) {
			return true
		}
	}
	return false
}

// clipFrames is what the rig's publisher sends (startSlowPublisher):
// each frame's NAL units other than parameter sets, AUD and filler, as
// 4-byte lengths and NAL units, indexed by that encoding.
type clipFrames struct {
	frames   [][]byte
	index    map[string][]int
	sps, pps []byte
}

func newClipFrames(t *testing.T) *clipFrames {
	t.Helper()
	seq, tags := avcTags(t, h264AccessUnits(t, ppH264File))
	hdr := len(flv.AppendVideoTagHeader(nil, flv.FrameKey, flv.FourCCAVC, flv.VideoCodedFrames, 0, false))
	c := &clipFrames{index: make(map[string][]int)}
	for i, tag := range tags {
		var nalus [][]byte
		for b := tag[hdr:]; len(b) >= 4; {
			n := int(binary.BigEndian.Uint32(b))
			if n == 0 || n > len(b)-4 {
				t.Fatalf("clip frame %d: bad NAL unit length %d", i, n)
			}
			nalus, b = append(nalus, b[4:4+n]), b[4+n:]
		}
		key := frameKey(nalus)
		c.frames = append(c.frames, key)
		c.index[string(key)] = append(c.index[string(key)], i)
	}
	// The AVCDecoderConfigurationRecord after the tag header: 5 bytes,
	// then one SPS and one PPS, each after a 2-byte length (the count
	// bytes are 0xE1 and 1).
	rec := seq[hdr:]
	n := int(binary.BigEndian.Uint16(rec[6:]))
	c.sps = rec[8 : 8+n]
	c.pps = rec[8+n+3 : 8+n+3+int(binary.BigEndian.Uint16(rec[8+n+1:]))]
	return c
}

// frameKey encodes the NAL units that are neither SPS, PPS, AUD nor
// filler (H.264 Table 7-1: 7, 8, 9, 12) as 4-byte lengths and NAL units.
func frameKey(nalus [][]byte) []byte {
	var key []byte
	for _, n := range nalus {
		switch n[0] & 0x1F {
		case 7, 8, 9, 12:
			continue
		}
		key = binary.BigEndian.AppendUint32(key, uint32(len(n)))
		key = append(key, n...)
	}
	return key
}

// match reassembles one frame's packets (RFC 6184) and returns the clip's
// frames it equals. An IDR must come with the clip's SPS and PPS, and only
// the frame's last packet has the marker bit.
func (c *clipFrames) match(pkts []readPacket) ([]int, error) {
	var r h264Reassembler
	for i, p := range pkts {
		if p.marker != (i == len(pkts)-1) {
			return nil, fmt.Errorf("marker bit %v on packet %d of %d", p.marker, i+1, len(pkts))
		}
		if err := r.push(p.payload); err != nil {
			return nil, fmt.Errorf("packet %d (sequence number %d): %w", i+1, p.seq, err)
		}
	}
	if r.inFU {
		return nil, fmt.Errorf("it ends inside an FU-A")
	}
	var sps, pps, idr bool
	for _, n := range r.nalus {
		switch n[0] & 0x1F {
		case 5:
			idr = true
		case 7:
			sps = bytes.Equal(n, c.sps)
		case 8:
			pps = bytes.Equal(n, c.pps)
		}
	}
	if idr && !(sps && pps) {
		return nil, fmt.Errorf("an IDR without the clip's SPS (%v) and PPS (%v)", sps, pps)
	}
	idx, ok := c.index[string(frameKey(r.nalus))]
	if !ok {
		return nil, fmt.Errorf("its %d NAL units are no frame of the clip", len(r.nalus))
	}
	return idx, nil
}

// h264Reassembler turns H.264 RTP payloads back into NAL units: single
// NAL unit packets, STAP-A (RFC 6184 §5.7.1) and FU-A (§5.8), whose start
// and end bits must enclose consecutive fragments.
type h264Reassembler struct {
	nalus [][]byte
	fu    []byte
	inFU  bool
}

func (r *h264Reassembler) push(p []byte) error {
	if len(p) == 0 {
		return fmt.Errorf("empty payload")
	}
	typ := p[0] & 0x1F
	if r.inFU && typ != 28 {
		return fmt.Errorf("NAL unit type %d inside an FU-A", typ)
	}
	switch {
	case 1 <= typ && typ <= 23:
		r.nalus = append(r.nalus, p)
	case typ == 24:
		for b := p[1:]; len(b) > 0; {
			if len(b) < 2 {
				return fmt.Errorf("STAP-A: %d bytes left for a length", len(b))
			}
			n := int(binary.BigEndian.Uint16(b))
			if n == 0 || n > len(b)-2 {
				return fmt.Errorf("STAP-A: NAL unit length %d with %d bytes left", n, len(b)-2)
			}
			r.nalus, b = append(r.nalus, b[2:2+n]), b[2+n:]
		}
	case typ == 28:
		if len(p) < 3 {
			return fmt.Errorf("FU-A of %d bytes", len(p))
		}
		start, end := p[1]&0x80 != 0, p[1]&0x40 != 0
		if start == r.inFU {
			return fmt.Errorf("FU-A start bit %v while a fragmented NAL unit is open: %v", start, r.inFU)
		}
		if start {
			r.fu, r.inFU = []byte{p[0]&0xE0 | p[1]&0x1F}, true
		}
		r.fu = append(r.fu, p[2:]...)
		if end {
			r.nalus, r.fu, r.inFU = append(r.nalus, r.fu), nil, false
		}
	default:
		return fmt.Errorf("NAL unit type %d", typ)
	}
	return nil
}
