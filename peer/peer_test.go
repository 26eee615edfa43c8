package peer

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/streamwire/streamwire/dtlsparams"
	"github.com/streamwire/streamwire/dtlssrtp"
	"github.com/streamwire/streamwire/ice"
	"github.com/streamwire/streamwire/sdp"
	"go.uber.org/goleak"
)

// TestPeerExchange: a remote side that sends and receives video connects;
// the peer's WriteRTP arrives with the answer's SSRC and payload type and
// abs-send-time, and the remote's RTP reaches OnRTP.
func TestPeerExchange(t *testing.T) {
	srv := newTestServer(t, ice.MuxConfig{})
	r := newTestRemote(t, sdp.MediaConfig{Disabled: true}, sdp.MediaConfig{})
	got := make(chan *rtp.Packet, 16)
	cfg := srv.config()
	cfg.OnRTP = func(_ *RemoteTrack, pkt *rtp.Packet) { got <- pkt.Clone() }
	p := r.answer(cfg)
	r.connect(srv)
	waitConnected(t, p)

	lt := p.LocalTracks()[0]
	sent := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 1, SequenceNumber: 7, Timestamp: 9000, SSRC: 1, Marker: true,
		CSRC: []uint32{5}}, Payload: []byte("frame")}
	if err := lt.WriteRTP(sent); err != nil {
		t.Fatal(err)
	}
	in := r.readRTP()
	sec := r.desc.Sections[0]
	if in.SSRC != sec.RemoteSSRCs[0] || in.PayloadType != sec.Codec.PayloadType || in.SequenceNumber != 7 ||
		in.Timestamp != 9000 || !in.Marker || len(in.CSRC) != 0 || string(in.Payload) != "frame" {
		t.Errorf("remote got %v, want the answer's SSRC %d and PT %d", in, sec.RemoteSSRCs[0], sec.Codec.PayloadType)
	}

	out := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: sec.Codec.PayloadType, SequenceNumber: 100,
		Timestamp: 1, SSRC: sec.LocalSSRC}, Payload: []byte("up")}
	r.sendRTP(out)
	select {
	case pkt := <-got:
		if pkt.SSRC != sec.LocalSSRC || string(pkt.Payload) != "up" {
			t.Errorf("OnRTP got %v", pkt)
		}
	case <-time.After(testWait):
		t.Fatal("OnRTP not called")
	}
}

func waitConnected(t *testing.T, p *Peer) {
	t.Helper()
	select {
	case <-p.Connected():
	case <-p.Done():
		t.Fatalf("peer stopped: %v", p.Err())
	case <-time.After(testWait):
		t.Fatal("peer did not connect")
	}
}

// TestPeerKeyFrameRequests: PLI and FIR from the remote side reach
// OnKeyFrameRequest at most once per interval.
func TestPeerKeyFrameRequests(t *testing.T) {
	srv := newTestServer(t, ice.MuxConfig{})
	r := newTestRemote(t, sdp.MediaConfig{Disabled: true}, sdp.MediaConfig{})
	now := time.Unix(1000, 0)
	var clock atomicTime
	clock.set(now)
	reqs := make(chan *LocalTrack, 16)
	cfg := srv.config()
	cfg.Now = clock.get
	cfg.OnKeyFrameRequest = func(t *LocalTrack) { reqs <- t }
	p := r.answer(cfg)
	r.connect(srv)
	waitConnected(t, p)
	ssrc := p.LocalTracks()[0].SSRC()

	r.sendRTCP(&rtcp.PictureLossIndication{MediaSSRC: ssrc})
	expectRequest(t, reqs, p.LocalTracks()[0])
	r.sendRTCP(&rtcp.PictureLossIndication{MediaSSRC: ssrc}, &rtcp.FullIntraRequest{FIR: []rtcp.FIREntry{{SSRC: ssrc}}})
	clock.set(now.Add(DefaultKeyFrameRequestInterval))
	r.sendRTCP(&rtcp.FullIntraRequest{FIR: []rtcp.FIREntry{{SSRC: ssrc, SequenceNumber: 1}}})
	expectRequest(t, reqs, p.LocalTracks()[0])
	select {
	case <-reqs:
		t.Error("a request within the interval was passed up")
	case <-time.After(100 * time.Millisecond):
	}
}

func expectRequest(t *testing.T, reqs chan *LocalTrack, want *LocalTrack) {
	t.Helper()
	select {
	case got := <-reqs:
		if got != want {
			t.Errorf("request for %v, want %v", got, want)
		}
	case <-time.After(testWait):
		t.Fatal("no key frame request")
	}
}

// TestPeerConnectTimeout: a remote side that never checks leaves the peer
// stopped with ErrConnectTimeout, its ICE session released.
func TestPeerConnectTimeout(t *testing.T) {
	srv := newTestServer(t, ice.MuxConfig{})
	r := newTestRemote(t, sdp.MediaConfig{}, sdp.MediaConfig{})
	cfg := srv.config()
	cfg.ConnectTimeout = 200 * time.Millisecond
	p := r.answer(cfg)
	select {
	case <-p.Done():
	case <-time.After(testWait):
		t.Fatal("peer did not give up")
	}
	if !errors.Is(p.Err(), ErrConnectTimeout) {
		t.Errorf("Err = %v, want ErrConnectTimeout", p.Err())
	}
	if p.ICE().Err() == nil {
		t.Error("ICE session still open")
	}
}

// TestPeerLifecycle: a connected peer runs exactly peerGoroutines
// goroutines; a close_notify from the remote side, a consent expiry and
// Close each stop it and release all of them.
func TestPeerLifecycle(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop func(p *Peer, r *testRemote)
		want error
	}{
		{"close", func(p *Peer, _ *testRemote) { p.Close() }, ErrClosed},
		{"close_notify", func(_ *Peer, r *testRemote) { r.dtls.Close() }, ErrRemoteClosed},
		{"consent", func(*Peer, *testRemote) {}, ice.ErrConsentExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			running := goleak.IgnoreCurrent()
			t.Cleanup(func() { goleak.VerifyNone(t, running) }) // after the server's cleanup
			srv := newTestServer(t, ice.MuxConfig{ConsentTimeout: time.Second})
			r := newTestRemote(t, sdp.MediaConfig{}, sdp.MediaConfig{})
			p := r.answer(srv.config())
			r.connect(srv)
			waitConnected(t, p)
			if tc.name == "close" {
				// pion's context watcher lives only while its read blocks,
				// which is nearly always: wait for it, and never see more.
				got := answerGoroutines()
				for end := time.Now().Add(2 * time.Second); got < peerGoroutines && time.Now().Before(end); {
					time.Sleep(10 * time.Millisecond)
					got = answerGoroutines()
				}
				if got != peerGoroutines {
					t.Errorf("%d goroutines for one peer, want %d", got, peerGoroutines)
				}
			}
			tc.stop(p, r)
			select {
			case <-p.Done():
			case <-time.After(testWait):
				t.Fatal("peer did not stop")
			}
			if !errors.Is(p.Err(), tc.want) {
				t.Errorf("Err = %v, want %v", p.Err(), tc.want)
			}
			if p.ICE().Err() == nil {
				t.Error("ICE session still open")
			}
			r.conn.Close()
			r.dtls.Close()
		})
	}
}

// answerGoroutines counts the goroutines that Peer.start started and those
// they started in turn, pion/dtls's included, from a stack dump of all.
func answerGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	parent := map[string]string{} // goroutine id -> creator's id
	roots := map[string]bool{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		id, _, _ := strings.Cut(strings.TrimPrefix(g, "goroutine "), " ")
		_, created, ok := strings.Cut(g, "\ncreated by ")
		if !ok {
			continue
		}
		fn, creator, _ := strings.Cut(created, " in goroutine ")
		creator, _, _ = strings.Cut(creator, "\n")
		parent[id] = creator
		roots[id] = strings.HasPrefix(fn, "github.com/streamwire/streamwire/peer.(*Peer).start")
	}
	n := 0
	for id := range parent {
		for g := id; g != ""; g = parent[g] {
			if roots[g] {
				n++
				break
			}
		}
	}
	return n
}

// TestPeerRenegotiate: an offer with new ICE credentials gets an answer
// with new local ones and the same SSRCs; checks with the new ones keep
// the media flowing; the same offer again gets the same credentials; an
// offer with other media is refused.
func TestPeerRenegotiate(t *testing.T) {
	srv := newTestServer(t, ice.MuxConfig{})
	r := newTestRemote(t, sdp.MediaConfig{Disabled: true}, sdp.MediaConfig{})
	p := r.answer(srv.config())
	r.connect(srv)
	waitConnected(t, p)
	first := p.Description()

	fp, _ := testCertificate(t).Fingerprint(dtlsparams.SHA256)
	cfg := &sdp.Config{Audio: sdp.MediaConfig{Disabled: true}, Fingerprints: []dtlsparams.Fingerprint{fp}}
	restart, err := sdp.Offer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	answer, err := p.Renegotiate(restart.SDP)
	if err != nil {
		t.Fatal(err)
	}
	next, err := restart.Accept(answer)
	if err != nil {
		t.Fatal(err)
	}
	if next.Sections[0].RemoteUfrag == first.LocalUfrag || next.Sections[0].RemoteSSRCs[0] != first.Sections[0].LocalSSRC {
		t.Fatalf("restart answer: ufrag %q (was %q), SSRCs %v (was %d)", next.Sections[0].RemoteUfrag,
			first.LocalUfrag, next.Sections[0].RemoteSSRCs, first.Sections[0].LocalSSRC)
	}
	if again, err := p.Renegotiate(restart.SDP); err != nil || p.Description().LocalUfrag != next.Sections[0].RemoteUfrag {
		t.Fatalf("same offer again: %v, ufrag %q", err, p.Description().LocalUfrag)
	} else if len(again) == 0 {
		t.Fatal("empty answer")
	}
	r.offer, r.desc, r.ufrag = restart, next, restart.LocalUfrag
	r.check() // with the new credentials
	if err := p.LocalTracks()[0].WriteRTP(&rtp.Packet{Header: rtp.Header{SequenceNumber: 1}, Payload: []byte("after")}); err != nil {
		t.Fatal(err)
	}
	if pkt := r.readRTP(); string(pkt.Payload) != "after" {
		t.Fatalf("after the restart the remote got %q", pkt.Payload)
	}

	cfg.Audio.Disabled = false
	other, err := sdp.Offer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Renegotiate(other.SDP); !errors.Is(err, ErrRenegotiation) {
		t.Errorf("offer with audio added: %v, want ErrRenegotiation", err)
	}
}

// TestPeerRetransmits: a NACK from the remote side is answered from the
// history with RTX packets (RFC 4588) carrying the original sequence
// numbers, and a second NACK within the RTT is not answered again.
func TestPeerRetransmits(t *testing.T) {
	srv := newTestServer(t, ice.MuxConfig{})
	r := newTestRemote(t, sdp.MediaConfig{Disabled: true}, sdp.MediaConfig{})
	p := r.answer(srv.config())
	r.connect(srv)
	waitConnected(t, p)
	lt := p.LocalTracks()[0]
	sec := r.desc.Sections[0]
	if sec.RTX == 0 || len(sec.RemoteSSRCs) < 2 {
		t.Fatalf("no RTX negotiated: %+v", sec)
	}
	for seq := uint16(100); seq < 110; seq++ {
		if err := lt.WriteRTP(&rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: 3000}, Payload: []byte{byte(seq)}}); err != nil {
			t.Fatal(err)
		}
		r.readRTP()
	}
	r.sendRTCP(&rtcp.TransportLayerNack{MediaSSRC: lt.SSRC(), Nacks: []rtcp.NackPair{{PacketID: 103, LostPackets: 1}}}) // 103 and 104
	for _, want := range []uint16{103, 104} {
		pkt := r.readRTP()
		if pkt.SSRC != sec.RemoteSSRCs[1] || pkt.PayloadType != sec.RTX || len(pkt.Payload) != 3 ||
			uint16(pkt.Payload[0])<<8|uint16(pkt.Payload[1]) != want || pkt.Payload[2] != byte(want) {
			t.Fatalf("retransmission of %d: %v payload %x", want, pkt, pkt.Payload)
		}
	}
	if st := lt.Stats(); st.Retransmitted != 2 || st.Packets != 10 {
		t.Errorf("stats %+v, want 10 packets and 2 retransmissions", st)
	}
}

// TestPeerReports: every ReportInterval the peer sends a sender report
// for its track, with the packet count, and a reception report for the
// remote track; a reception report from the remote side with LSR and
// DLSR gives the track an RTT.
func TestPeerReports(t *testing.T) {
	srv := newTestServer(t, ice.MuxConfig{})
	r := newTestRemote(t, sdp.MediaConfig{Disabled: true}, sdp.MediaConfig{})
	cfg := srv.config()
	cfg.ReportInterval = 100 * time.Millisecond
	p := r.answer(cfg)
	r.connect(srv)
	waitConnected(t, p)
	lt := p.LocalTracks()[0]
	sec := r.desc.Sections[0]
	for seq := uint16(1); seq <= 5; seq++ {
		if err := lt.WriteRTP(&rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: 90000}, Payload: []byte("abcd")}); err != nil {
			t.Fatal(err)
		}
		r.sendRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: sec.Codec.PayloadType, SequenceNumber: 500 + seq,
			SSRC: sec.LocalSSRC}, Payload: []byte("x")})
	}
	var sr *rtcp.SenderReport
	for sr == nil || sr.PacketCount < 5 || len(sr.Reports) == 0 || sr.Reports[0].LastSequenceNumber < 505 {
		for _, pk := range r.readRTCP() {
			if v, ok := pk.(*rtcp.SenderReport); ok && v.SSRC == lt.SSRC() {
				sr = v
			}
		}
	}
	if sr.OctetCount != 20 || sr.Reports[0].SSRC != sec.LocalSSRC || sr.Reports[0].TotalLost != 0 {
		t.Errorf("sender report %+v", sr)
	}
	// The remote side answers at once: LSR is the middle of the SR's NTP
	// time, DLSR zero.
	r.sendRTCP(&rtcp.ReceiverReport{SSRC: sec.LocalSSRC, Reports: []rtcp.ReceptionReport{{
		SSRC: lt.SSRC(), LastSenderReport: uint32(sr.NTPTime >> 16), LastSequenceNumber: 5}}})
	deadline := time.Now().Add(testWait)
	for lt.Stats().Reports == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if st := lt.Stats(); st.Reports != 1 || st.RTT <= 0 || st.RTT > time.Second {
		t.Errorf("after a receiver report: %+v", st)
	}
}

// TestPeerSendsNACKAndFeedback: a gap in the remote side's sequence
// numbers gets a NACK at once, and its transport-wide sequence numbers
// get transport-cc feedback (the answer negotiates transport-cc for a
// receiving track).
func TestPeerSendsNACKAndFeedback(t *testing.T) {
	srv := newTestServer(t, ice.MuxConfig{})
	r := newTestRemote(t, sdp.MediaConfig{Disabled: true}, sdp.MediaConfig{})
	got := make(chan uint16, 16)
	cfg := srv.config()
	cfg.OnRTP = func(_ *RemoteTrack, pkt *rtp.Packet) { got <- pkt.SequenceNumber }
	p := r.answer(cfg)
	r.connect(srv)
	waitConnected(t, p)
	sec := r.desc.Sections[0]
	var twccID uint8
	for _, e := range sec.Extensions {
		if e.URI == uriTransportCC {
			twccID = uint8(e.ID)
		}
	}
	if twccID == 0 {
		t.Fatalf("transport-cc extension not negotiated: %+v", sec.Extensions)
	}
	send := func(seq uint16) {
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: sec.Codec.PayloadType, SequenceNumber: seq,
			SSRC: sec.LocalSSRC}, Payload: []byte("v")}
		if err := pkt.SetExtension(twccID, []byte{byte(seq >> 8), byte(seq)}); err != nil {
			t.Fatal(err)
		}
		r.sendRTP(pkt)
	}
	send(10)
	send(11)
	send(13)
	var nack *rtcp.TransportLayerNack
	var twcc *rtcp.TransportLayerCC
	for nack == nil || twcc == nil {
		for _, pk := range r.readRTCP() {
			switch v := pk.(type) {
			case *rtcp.TransportLayerNack:
				nack = v
			case *rtcp.TransportLayerCC:
				twcc = v
			}
		}
	}
	if nack.MediaSSRC != sec.LocalSSRC || len(nack.Nacks) != 1 || nack.Nacks[0].PacketID != 12 {
		t.Errorf("NACK %+v, want one for 12", nack)
	}
	if twcc.MediaSSRC != sec.LocalSSRC || twcc.BaseSequenceNumber != 10 || twcc.PacketStatusCount != 4 {
		t.Errorf("transport-cc feedback %+v, want base 10 and 4 statuses", twcc)
	}
	send(12) // the retransmission fills the hole: all four in order
	for _, want := range []uint16{10, 11, 12, 13} {
		select {
		case seq := <-got:
			if seq != want {
				t.Fatalf("OnRTP got %d, want %d", seq, want)
			}
		case <-time.After(testWait):
			t.Fatalf("OnRTP did not get %d", want)
		}
	}
}

// TestPeerPacketPathAllocs: sending a packet (WriteRTP) and handling a
// received one (unprotect, feedback, NACK, reordering, OnRTP) allocate
// nothing.
func TestPeerPacketPathAllocs(t *testing.T) {
	srv := newTestServer(t, ice.MuxConfig{})
	r := newTestRemote(t, sdp.MediaConfig{Disabled: true}, sdp.MediaConfig{})
	cfg := srv.config()
	var delivered atomic.Int64
	cfg.OnRTP = func(*RemoteTrack, *rtp.Packet) { delivered.Add(1) }
	p := r.answer(cfg)
	r.connect(srv)
	waitConnected(t, p)
	lt := p.LocalTracks()[0]
	out := &rtp.Packet{Header: rtp.Header{Timestamp: 1}, Payload: make([]byte, 1000)}
	r.discard.Store(true)
	if n := testing.AllocsPerRun(200, func() {
		out.SequenceNumber++
		if err := lt.WriteRTP(out); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("WriteRTP: %v allocations", n)
	}

	frame := make([]*rtp.Packet, 20) // more than one batch
	for i := range frame {
		frame[i] = &rtp.Packet{Header: rtp.Header{Timestamp: 2}, Payload: make([]byte, 1000)}
	}
	batch := func() {
		for _, pkt := range frame {
			out.SequenceNumber++
			pkt.SequenceNumber = out.SequenceNumber
		}
		if n, err := lt.WriteRTPBatch(frame); n != len(frame) || err != nil {
			t.Fatalf("WriteRTPBatch sent %d of %d: %v", n, len(frame), err)
		}
	}
	batch()
	if n := testing.AllocsPerRun(50, batch); n != 0 {
		t.Errorf("WriteRTPBatch: %v allocations", n)
	}
	if st := lt.Stats(); st.Packets != 201+20+51*20 {
		t.Errorf("%d packets counted", st.Packets)
	}

	// The receive path, driven directly with packets the remote protected.
	sec := r.desc.Sections[0]
	const runs = 200
	in := make([][]byte, runs+1)
	for i := range in {
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: sec.Codec.PayloadType, SequenceNumber: 1000 + uint16(i),
			SSRC: sec.LocalSSRC}, Payload: make([]byte, 1000)}
		b, _ := pkt.Marshal()
		in[i], _ = r.dtls.ProtectRTP(nil, b)
	}
	// A second Peer on the same negotiation and keys, whose goroutines are
	// not started, so that the test's goroutine is its read loop.
	s := p.srtp.Load()
	tr, err := transportSection(p.Description())
	if err != nil {
		t.Fatal(err)
	}
	q := newPeer(cfg, p.Description(), p.ICE(), tr)
	plain := make([]byte, MaxPacketSize)
	i := 0
	readAllocs := testing.AllocsPerRun(runs, func() {
		q.readRTP(s, in[i], plain, q.clock.at(q.now()))
		i++
	})
	if readAllocs != 0 || delivered.Load() != runs+1 {
		t.Errorf("receive path: %v allocations, %d of %d packets delivered", readAllocs, delivered.Load(), runs+1)
	}
}

// TestAnswerRejects: the data channel m-section is always rejected with
// port 0, even when Config.SDP asks for it; an offer that does not bundle
// its media is refused; a Config without Mux or Certificate is refused.
func TestAnswerRejects(t *testing.T) {
	srv := newTestServer(t, ice.MuxConfig{})
	fp, _ := testCertificate(t).Fingerprint(dtlsparams.SHA256)
	offer, err := sdp.Offer(&sdp.Config{DataChannel: true, Fingerprints: []dtlsparams.Fingerprint{fp}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := srv.config()
	cfg.SDP.DataChannel = true
	p, err := Answer(offer.SDP, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { p.Close(); <-p.Done() }()
	if !strings.Contains(string(p.LocalDescription()), "\r\nm=application 0 ") {
		t.Errorf("data channel not rejected:\n%s", p.LocalDescription())
	}
	if len(p.LocalTracks()) != 2 || len(p.RemoteTracks()) != 2 {
		t.Errorf("%d local and %d remote tracks, want 2 and 2", len(p.LocalTracks()), len(p.RemoteTracks()))
	}

	unbundled := strings.Replace(string(offer.SDP), "a=group:BUNDLE", "a=group:NOTBUNDLE", 1)
	if _, err := Answer([]byte(unbundled), srv.config()); !errors.Is(err, ErrUnbundled) {
		t.Errorf("unbundled offer: %v, want ErrUnbundled", err)
	}
	if _, err := Answer(offer.SDP, Config{}); !errors.Is(err, ErrConfig) {
		t.Errorf("zero Config: %v, want ErrConfig", err)
	}
}

// TestPeerDropsRedundantRTX: RTX packets that repeat a packet already
// received (libwebrtc's bandwidth probes, as Firefox sends them) neither
// reach OnRTP nor count as received, so the cumulative loss stays zero
// rather than going negative; an RTX packet that fills a hole still
// repairs it.
func TestPeerDropsRedundantRTX(t *testing.T) {
	srv := newTestServer(t, ice.MuxConfig{})
	r := newTestRemote(t, sdp.MediaConfig{Disabled: true}, sdp.MediaConfig{})
	got := make(chan uint16, 16)
	cfg := srv.config()
	cfg.ReportInterval = 20 * time.Millisecond
	cfg.OnRTP = func(_ *RemoteTrack, pkt *rtp.Packet) { got <- pkt.SequenceNumber }
	p := r.answer(cfg)
	r.connect(srv)
	waitConnected(t, p)
	sec := r.desc.Sections[0]
	if sec.RTX == 0 || sec.LocalRTXSSRC == 0 {
		t.Fatalf("no RTX negotiated: %+v", sec)
	}
	send := func(seq uint16) {
		r.sendRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: sec.Codec.PayloadType, SequenceNumber: seq,
			SSRC: sec.LocalSSRC}, Payload: []byte{byte(seq)}})
	}
	rtxSeq := uint16(500)
	sendRTX := func(osn uint16) {
		rtxSeq++
		r.sendRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: sec.RTX, SequenceNumber: rtxSeq,
			SSRC: sec.LocalRTXSSRC}, Payload: []byte{byte(osn >> 8), byte(osn), byte(osn)}})
	}
	for _, seq := range []uint16{10, 11, 12, 14} {
		send(seq)
	}
	sendRTX(11) // three probes repeating 11 and 12
	sendRTX(11)
	sendRTX(12)
	sendRTX(13) // the repair of the hole
	send(15)
	for _, want := range []uint16{10, 11, 12, 13, 14, 15} {
		select {
		case seq := <-got:
			if seq != want {
				t.Fatalf("OnRTP got %d, want %d", seq, want)
			}
		case <-time.After(testWait):
			t.Fatalf("OnRTP did not get %d", want)
		}
	}
	rt := p.RemoteTracks()[0]
	deadline := time.Now().Add(testWait)
	for rt.Stats().HighestSeq < 15 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if st := rt.Stats(); st.HighestSeq != 15 || st.PacketsLost != 0 || st.Redundant != 3 || st.Late != 0 || st.Recovered != 1 {
		t.Errorf("stats %+v, want highest 15, none lost or late, 3 redundant, 1 recovered", st)
	}
	select {
	case seq := <-got:
		t.Errorf("OnRTP got %d again", seq)
	default:
	}
}

// TestPeerOffer: the peer offers, a remote side answers (active, so the
// peer is the DTLS server), checks and completes the handshake, and media
// flows both ways.
func TestPeerOffer(t *testing.T) {
	srv := newTestServer(t, ice.MuxConfig{})
	cfg := srv.config()
	cfg.SDP.Audio.Disabled = true
	got := make(chan []byte, 4)
	cfg.OnRTP = func(_ *RemoteTrack, pkt *rtp.Packet) { got <- append([]byte(nil), pkt.Payload...) }
	o, err := Offer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(o.SDP()), "a=ice-lite") || !strings.Contains(string(o.SDP()), "a=setup:actpass") {
		t.Fatalf("offer:\n%s", o.SDP())
	}
	fp, _ := testCertificate(t).Fingerprint(dtlsparams.SHA256)
	ans, err := sdp.Answer(o.SDP(), &sdp.Config{Audio: sdp.MediaConfig{Disabled: true}, Fingerprints: []dtlsparams.Fingerprint{fp}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Accept([]byte("v=0\r\n")); err == nil {
		t.Fatal("Accept took a broken answer")
	}
	p, err := o.Accept(ans.SDP)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(); <-p.Done() })
	if p.role != dtlsparams.RoleServer || string(p.LocalDescription()) != string(o.SDP()) {
		t.Fatalf("role %v; local description is the offer: %v", p.role, string(p.LocalDescription()) == string(o.SDP()))
	}
	r := &testRemote{t: t, desc: ans, ufrag: ans.LocalUfrag, closed: make(chan struct{}),
		dtlsQ: make(chan []byte, 64), media: make(chan []byte, 1024)}
	r.connect(srv)
	waitConnected(t, p)
	if err := p.LocalTracks()[0].WriteRTP(&rtp.Packet{Header: rtp.Header{SequenceNumber: 1}, Payload: []byte("down")}); err != nil {
		t.Fatal(err)
	}
	if pkt := r.readRTP(); string(pkt.Payload) != "down" {
		t.Fatalf("remote got %q", pkt.Payload)
	}
	sec := ans.Sections[0]
	r.sendRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: sec.Codec.PayloadType, SequenceNumber: 9,
		SSRC: sec.LocalSSRC}, Payload: []byte("up")})
	select {
	case b := <-got:
		if string(b) != "up" {
			t.Fatalf("OnRTP got %q", b)
		}
	case <-time.After(testWait):
		t.Fatal("OnRTP not called")
	}
}

// TestBatch: packets queued in one Batch for two viewers reach each with
// its own SSRC and keys, a viewer that has not connected is refused at
// WriteRTP, and once warm a round of writes and a Flush allocate nothing.
func TestBatch(t *testing.T) {
	srv := newTestServer(t, ice.MuxConfig{})
	var tracks []*LocalTrack
	var remotes []*testRemote
	for range 2 {
		r := newTestRemote(t, sdp.MediaConfig{Disabled: true}, sdp.MediaConfig{})
		p := r.answer(srv.config())
		r.connect(srv)
		waitConnected(t, p)
		if p.Mux() != srv.mux || p.ICE().OverTCP() || p.LocalTracks()[0].Peer() != p {
			t.Fatal("Mux, OverTCP or Peer wrong")
		}
		tracks = append(tracks, p.LocalTracks()[0])
		remotes = append(remotes, r)
	}
	idle := newTestRemote(t, sdp.MediaConfig{Disabled: true}, sdp.MediaConfig{}).answer(srv.config())
	var b Batch
	pkt := &rtp.Packet{Header: rtp.Header{SequenceNumber: 5, Timestamp: 9}, Payload: []byte("everyone")}
	if err := b.WriteRTP(idle.LocalTracks()[0], pkt); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("WriteRTP of an unconnected peer: %v, want ErrNotConnected", err)
	}
	for _, tr := range tracks {
		if err := b.WriteRTP(tr, pkt); err != nil {
			t.Fatal(err)
		}
	}
	if b.Queued() != 2 {
		t.Fatalf("Queued = %d, want 2", b.Queued())
	}
	if n, err := b.Flush(); n != 2 || err != nil {
		t.Fatalf("Flush = %d, %v; want 2, nil", n, err)
	}
	for i, r := range remotes {
		if got := r.readRTP(); string(got.Payload) != "everyone" || got.SSRC != tracks[i].SSRC() {
			t.Fatalf("viewer %d got %v", i, got)
		}
	}
	for _, r := range remotes {
		r.discard.Store(true)
	}
	if n := testing.AllocsPerRun(100, func() {
		pkt.SequenceNumber++
		for range 40 { // more than one sendmmsg's worth
			for _, tr := range tracks {
				_ = b.WriteRTP(tr, pkt)
			}
		}
		_, _ = b.Flush()
	}); n != 0 {
		t.Errorf("Batch: %v allocations", n)
	}
}

// TestSendOnlyPeerSleeps: a peer that only sends (a WHEP viewer) has no
// receive-side feedback to time, so its read loop wakes for its sender
// reports (once a second) rather than every feedbackTick: thousands of
// viewers would otherwise cost 20 wake-ups a second each. The peer's
// clock (Config.Now), which the read loop reads at each wake-up, counts
// them.
func TestSendOnlyPeerSleeps(t *testing.T) {
	srv := newTestServer(t, ice.MuxConfig{})
	var calls atomic.Int64
	cfg := srv.config()
	cfg.SDP.Video.Direction = sdp.SendOnly
	cfg.Now = func() time.Time { calls.Add(1); return time.Now() }
	r := newTestRemote(t, sdp.MediaConfig{Disabled: true}, sdp.MediaConfig{})
	p := r.answer(cfg)
	r.connect(srv)
	waitConnected(t, p)
	if len(p.RemoteTracks()) != 0 || len(p.LocalTracks()) != 1 {
		t.Fatalf("%d remote and %d local tracks, want a peer that only sends", len(p.RemoteTracks()), len(p.LocalTracks()))
	}
	r.discard.Store(true)
	time.Sleep(200 * time.Millisecond) // the first report is out
	before := calls.Load()
	time.Sleep(2 * time.Second)
	if n := calls.Load() - before; n > 10 {
		t.Errorf("the peer read its clock %d times in 2 s idle: it wakes more often than for its reports", n)
	}
}

// srTimes reads what the remote side receives for d and returns when
// each sender report of ssrc arrived, with the last one.
func srTimes(t *testing.T, r *testRemote, ssrc uint32, d time.Duration) (times []time.Time, last *rtcp.SenderReport) {
	t.Helper()
	end := time.After(d)
	for {
		select {
		case b := <-r.media:
			if dtlssrtp.Classify(b) != dtlssrtp.ClassRTCP {
				continue
			}
			plain, err := r.dtls.UnprotectRTCP(nil, b)
			if err != nil {
				t.Fatal(err)
			}
			pkts, err := rtcp.Unmarshal(plain)
			if err != nil {
				t.Fatal(err)
			}
			for _, pk := range pkts {
				if sr, ok := pk.(*rtcp.SenderReport); ok && sr.SSRC == ssrc {
					times, last = append(times, time.Now()), sr
				}
			}
		case <-end:
			return times, last
		}
	}
}

// TestBatchSenderReports: a track written through a Batch gets its
// sender reports in the batch, once per ReportInterval, and the peer's
// timer sends none beside them; once the batch stops, the timer sends
// them again within batchReportGrace intervals and one more.
func TestBatchSenderReports(t *testing.T) {
	const interval = 50 * time.Millisecond
	srv := newTestServer(t, ice.MuxConfig{})
	r := newTestRemote(t, sdp.MediaConfig{Disabled: true}, sdp.MediaConfig{})
	cfg := srv.config()
	cfg.ReportInterval = interval
	p := r.answer(cfg)
	r.connect(srv)
	waitConnected(t, p)
	lt := p.LocalTracks()[0]
	var b Batch
	pkt := &rtp.Packet{Header: rtp.Header{Timestamp: 90000}, Payload: []byte("frame")}
	const frames = 60
	start := time.Now()
	for i := range frames {
		pkt.SequenceNumber = uint16(i)
		if err := b.WriteRTP(lt, pkt); err != nil {
			t.Fatal(err)
		}
		b.Flush()
		time.Sleep(10 * time.Millisecond)
	}
	spent := time.Since(start)
	times, last := srTimes(t, r, lt.SSRC(), 20*time.Millisecond) // what came while writing
	// One source: about spent/interval reports, less the first interval;
	// two (the batch's and the timer's): about twice that.
	if most := int(spent/interval) + 2; len(times) < 3 || len(times) > most {
		t.Fatalf("%d sender reports in %v at a %v interval, want 3 to %d", len(times), spent.Round(time.Millisecond), interval, most)
	}
	if last.PacketCount == 0 || last.PacketCount > frames || last.OctetCount != last.PacketCount*5 {
		t.Errorf("last sender report %+v", last)
	}
	if p.reportsBatched(p.clock.at(time.Now())) != true {
		t.Error("the peer does not see its track's reports as batched")
	}

	// The batch stops: the timer takes the reports back.
	stopped := time.Now()
	times, last = srTimes(t, r, lt.SSRC(), (batchReportGrace+2)*interval)
	if len(times) == 0 {
		t.Fatalf("no sender report in %v after the batch stopped", time.Since(stopped).Round(time.Millisecond))
	}
	if after := times[0].Sub(stopped); after > (batchReportGrace+1)*interval+50*time.Millisecond {
		t.Errorf("the first report after the batch stopped came %v later", after)
	}
	if last.PacketCount != frames {
		t.Errorf("report after the batch: %d packets, want %d", last.PacketCount, frames)
	}
}

// TestAppendSenderReport: the batch's sender report is what pion/rtcp
// marshals.
func TestAppendSenderReport(t *testing.T) {
	sr := rtcp.SenderReport{SSRC: 0xDEADBEEF, NTPTime: 0x0102030405060708, RTPTime: 9, PacketCount: 1 << 31, OctetCount: 77}
	want, err := sr.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if got := appendSenderReport(nil, &sr); !bytes.Equal(got, want) || len(got) != senderReportSize {
		t.Fatalf("appendSenderReport = %x, want %x", got, want)
	}
}

// TestStoppingPeerRefusesWrites: a write that sees the peer stopping
// gets an error, never a nil SRTP session: a group's write to a viewer
// whose peer was closing (stopped set before its cause) panicked in CI.
func TestStoppingPeerRefusesWrites(t *testing.T) {
	srv := newTestServer(t, ice.MuxConfig{})
	r := newTestRemote(t, sdp.MediaConfig{Disabled: true}, sdp.MediaConfig{})
	p := r.answer(srv.config())
	r.connect(srv)
	waitConnected(t, p)
	p.stopped.Store(true) // as a Close in progress: the context not yet cancelled
	if s, err := p.sendable(); s != nil || !errors.Is(err, ErrClosed) {
		t.Fatalf("sendable = %v, %v; want nil, ErrClosed", s, err)
	}
	var b Batch
	pkt := &rtp.Packet{Header: rtp.Header{SequenceNumber: 1}, Payload: []byte("x")}
	if err := b.WriteRTPShared(p.LocalTracks()[0], pkt); !errors.Is(err, ErrClosed) {
		t.Fatalf("Batch.WriteRTPShared = %v, want ErrClosed", err)
	}
	if err := p.LocalTracks()[0].WriteRTP(pkt); !errors.Is(err, ErrClosed) {
		t.Fatalf("WriteRTP = %v, want ErrClosed", err)
	}
	p.Close()
}
