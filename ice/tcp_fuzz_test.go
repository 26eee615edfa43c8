package ice

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/streamwire/streamwire/stun"
)

// pionCapture is testdata/pion_ice_tcp.json: what pion/webrtc sent on its
// active ICE-TCP connection in interop TestICETCP (written there with
// -update-ice-tcp-capture), as a FuzzTCPFrames seed, and the server
// credentials its checks are keyed with.
type pionCapture struct {
	LocalUfrag string `json:"local_ufrag"`
	LocalPwd   string `json:"local_pwd"`
	Seed       string `json:"seed"`
}

// readPionCapture returns the server credentials of the capture and the
// stream pion sent.
func readPionCapture(tb testing.TB) (Credentials, []byte) {
	tb.Helper()
	raw, err := os.ReadFile("testdata/pion_ice_tcp.json")
	if err != nil {
		tb.Fatal(err)
	}
	var c pionCapture
	if err := json.Unmarshal(raw, &c); err != nil {
		tb.Fatal(err)
	}
	seed, err := os.ReadFile(filepath.Join("testdata", filepath.FromSlash(c.Seed)))
	if err != nil {
		tb.Fatal(err)
	}
	// One []byte value in the corpus file format of go test fuzz v1.
	lit, ok := strings.CutPrefix(strings.TrimSpace(string(seed)), "go test fuzz v1\n[]byte(")
	lit, ok2 := strings.CutSuffix(lit, ")")
	stream, err := strconv.Unquote(lit)
	if !ok || !ok2 || err != nil {
		tb.Fatalf("%s is not a go test fuzz v1 []byte: %v", c.Seed, err)
	}
	return Credentials{Ufrag: c.LocalUfrag, Pwd: c.LocalPwd}, []byte(stream)
}

// splitFrames returns the whole RFC 4571 frames at the start of stream.
func splitFrames(stream []byte) [][]byte {
	var out [][]byte
	for len(stream) >= 2 {
		n := int(binary.BigEndian.Uint16(stream))
		if len(stream) < 2+n {
			break
		}
		out = append(out, stream[2:2+n])
		stream = stream[2+n:]
	}
	return out
}

// TestTCPPionCapture replays, on a real connection, what pion/webrtc sent
// over ICE-TCP: each of its Binding requests is answered with an
// authenticated success, and the DTLS records after the first one reach
// the session.
func TestTCPPionCapture(t *testing.T) {
	local, stream := readPionCapture(t)
	m, _, addr := startTCPMux(t, MuxConfig{})
	s, err := m.NewSession(local, Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	var checks, dtls int
	for _, f := range splitFrames(stream) {
		switch classify(f[0]) {
		case classSTUN:
			checks++
		case classMedia:
			dtls++
		}
	}
	if checks == 0 || dtls == 0 {
		t.Fatalf("capture holds %d checks and %d DTLS records", checks, dtls)
	}
	c := dialTCP(t, addr, netip.Addr{})
	writeAll(t, c, stream)
	integ := stun.NewShortTermIntegrity(local.Pwd)
	for i := range checks {
		resp := readTCPSTUN(t, c)
		if resp.Type() != stun.BindingSuccess || integ.Verify(resp) != nil {
			t.Fatalf("answer %d to pion's checks: %v", i, resp)
		}
	}
	for range dtls {
		if got, _ := readSession(t, s); classify(got[0]) != classMedia {
			t.Fatalf("session read %x", got)
		}
	}
	if _, nominated, ok := s.Selected(); !ok || !nominated {
		t.Fatal("pion's nomination over TCP not followed")
	}
}

// FuzzTCPFrames feeds an arbitrary byte stream to the reader of one ICE-TCP
// connection, as the peer would send it, with a session keyed like the
// pion capture (so its checks pass authentication) and one keyed like the
// test checks. It checks that nothing panics and the reader ends at the
// end of the stream or on a rule, that the connection is then closed and
// gone from the sessions' paths, that what it wrote is whole frames of
// well-formed STUN, none of them without MESSAGE-INTEGRITY larger than
// the longest frame read plus stun.MaxResponseGrowth (plain STUN answers),
// and that the frames routed to a session are DTLS, RTP or RTCP within
// MaxPacketSize. Seeds: the captured pion stream (testdata/fuzz/
// FuzzTCPFrames/pion_ice_tcp, with testdata/pion_ice_tcp.json) and its
// frames one by one, test checks followed by media, a header cut in two,
// garbage and a frame over MaxPacketSize.
func FuzzTCPFrames(f *testing.F) {
	local, stream := readPionCapture(f)
	for _, fr := range splitFrames(stream) {
		f.Add(frame(fr))
	}
	req := check{useCand: true}.build(f)
	f.Add(frame(req, dtlsRecord, rtpPacket, nil, []byte{70}))
	f.Add(frame(check{}.build(f), check{controlled: true}.build(f), check{noUsername: true}.build(f), make([]byte, 2000), rtpPacket))
	f.Add(frame(req)[:1])
	f.Add(append(frame(req), 0xff, 0xff, 0x80))

	tr := newTestReader(f) // a Mux with the test session, not serving
	m := tr.m
	if _, err := m.NewSession(local, Credentials{}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		sc := &streamConn{r: bytes.NewReader(in), w: &out}
		tc := newTCPConn(m, sc)
		if err := tc.serve(); err == nil {
			t.Fatal("the reader ended without a reason")
		}
		if !sc.closed || tc.session.Load() != nil {
			t.Fatalf("after the reader: closed %v, bound %v", sc.closed, tc.session.Load() != nil)
		}
		longest := 0
		for _, fr := range splitFrames(in) {
			longest = max(longest, len(fr))
		}
		written := out.Bytes()
		for _, resp := range splitFrames(written) {
			var msg stun.Message
			if err := msg.Decode(resp); err != nil {
				t.Fatalf("answer %x does not decode: %v", resp, err)
			}
			if !msg.Has(stun.AttrMessageIntegrity) && !msg.Has(stun.AttrGoogMessageIntegrity32) &&
				len(resp) > longest+stun.MaxResponseGrowth {
				t.Fatalf("unauthenticated answer of %d bytes, longest frame %d", len(resp), longest)
			}
			written = written[2+len(resp):]
		}
		if len(written) != 0 {
			t.Fatalf("%d bytes written outside whole frames", len(written))
		}
		m.mu.RLock()
		defer m.mu.RUnlock()
		for _, s := range m.sessions {
			if len(s.tcp) != 0 {
				t.Fatalf("a closed connection is still a path of a session")
			}
			if p := s.selected.Load(); p != nil && p.tcp == tc {
				t.Fatal("a closed connection is still selected")
			}
			for drained := false; !drained; {
				select {
				case p := <-s.queue:
					if p.n > m.size || classify(p.buf[0]) != classMedia {
						t.Fatalf("routed %x", p.buf[:p.n])
					}
					m.pool.put(p)
				default:
					drained = true
				}
			}
		}
	})
}
