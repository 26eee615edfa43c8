package peer

import (
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/streamwire/streamwire/dtlsparams"
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

// answerGoroutines counts the goroutines that Answer started and those
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
		roots[id] = strings.HasPrefix(fn, "github.com/streamwire/streamwire/peer.Answer")
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
	r.offer, r.desc = restart, next
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
