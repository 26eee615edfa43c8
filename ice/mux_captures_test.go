package ice

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/streamwire/streamwire/stun"
)

// chromiumCaptures are the Binding requests Chromium 156 sent to an
// ICE-lite server, kept by the stun package (stun/testdata), with the
// credentials they were made with.
type chromiumCaptures struct {
	Username string `json:"username"` // "<server ufrag>:<browser ufrag>"
	IcePwd   string `json:"ice_pwd"`  // the server's a=ice-pwd
	Files    []struct {
		Name         string `json:"name"`
		UseCandidate bool   `json:"use_candidate"`
	} `json:"files"`
}

const captureDir = "../stun/testdata"

func readChromiumCaptures(tb testing.TB) (chromiumCaptures, Credentials, Credentials, [][]byte) {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join(captureDir, "chromium156_binding_requests.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var c chromiumCaptures
	if err := json.Unmarshal(raw, &c); err != nil {
		tb.Fatal(err)
	}
	var local, remote Credentials
	for i := range len(c.Username) {
		if c.Username[i] == ':' {
			local.Ufrag, remote.Ufrag = c.Username[:i], c.Username[i+1:]
		}
	}
	local.Pwd = c.IcePwd
	var reqs [][]byte
	for _, f := range c.Files {
		b, err := os.ReadFile(filepath.Join(captureDir, f.Name))
		if err != nil {
			tb.Fatal(err)
		}
		reqs = append(reqs, b)
	}
	return c, local, remote, reqs
}

func TestMuxChromiumCaptures(t *testing.T) {
	c, local, remote, reqs := readChromiumCaptures(t)
	m, addr := startMux(t, MuxConfig{})
	s, err := m.NewSession(local, remote)
	if err != nil {
		t.Fatal(err)
	}
	peer := newPeer(t)
	for i, req := range reqs {
		resp := exchange(t, peer, addr, req, wait)
		if resp == nil || resp.Type() != stun.BindingSuccess || stun.NewShortTermIntegrity(local.Pwd).Verify(resp) != nil {
			t.Fatalf("%s: response %v", c.Files[i].Name, resp)
		}
		if _, nominated, _ := s.Selected(); nominated != (c.Files[i].UseCandidate || i > 0 && c.Files[i-1].UseCandidate) {
			t.Fatalf("%s: nominated = %v", c.Files[i].Name, nominated)
		}
	}
}

// FuzzMuxInput feeds arbitrary datagrams into the Mux's dispatch path, as
// the socket would deliver them, with two sessions registered (one keyed
// like the Chromium captures, so that seeds from stun/testdata pass
// authentication). It checks that nothing panics, that at most one
// response is queued, that it is well-formed STUN, and that no response
// without MESSAGE-INTEGRITY is longer than the datagram, apart from plain
// STUN answers (no USERNAME), which stay within stun.Server's bound,
// stun.MaxResponseGrowth.
func FuzzMuxInput(f *testing.F) {
	_, local, remote, reqs := readChromiumCaptures(f)
	for _, r := range reqs {
		f.Add(r)
	}
	for _, name := range []string{"chromium156_goog_ping_request_1.bin", "chromium156_goog_ping_request_2.bin"} {
		b, err := os.ReadFile(filepath.Join(captureDir, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, c := range []check{{}, {useCand: true}, {controlled: true}, {noIntegr: true}, {noUsername: true}, {pwd: "notTheServerPassword1234"}} {
		f.Add(c.build(f))
	}
	f.Add(dtlsRecord)
	f.Add(rtpPacket)
	f.Add([]byte{})

	tr := newTestReader(f)
	if _, err := tr.m.NewSession(local, remote); err != nil {
		f.Fatal(err)
	}
	sink := newPeer(f)
	from := addrOf(sink)
	tr.feed(f, check{useCand: true}.build(f), from) // validates from for routing
	f.Fuzz(func(t *testing.T, d []byte) {
		tr.r.nout = 0 // a failed run may have left a response queued
		in := &tr.r.in[0]
		in.N = copy(in.Buf, d)
		in.Addr, in.Truncated = from, len(d) > len(in.Buf)
		plain := tr.m.plainSTUN.Load()
		tr.r.handle(0)
		plain = tr.m.plainSTUN.Load() - plain
		if tr.r.nout > 1 {
			t.Fatalf("%d responses to one datagram", tr.r.nout)
		}
		if tr.r.nout == 1 {
			resp := tr.r.out[0].Buf
			var m stun.Message
			if err := m.Decode(resp); err != nil {
				t.Fatalf("response does not decode: %v", err)
			}
			limit := len(d)
			if plain == 1 {
				limit += stun.MaxResponseGrowth // stun.Server's bound
			}
			if !m.Has(stun.AttrMessageIntegrity) && len(resp) > limit {
				t.Fatalf("unauthenticated response of %d bytes to %d", len(resp), len(d))
			}
		}
		if err := tr.r.flush(); err != nil {
			t.Fatal(err)
		}
		for {
			select {
			case p := <-tr.s.queue:
				tr.m.pool.put(p)
				continue
			default:
			}
			break
		}
	})
}

// TestMuxGoogPing: a Binding request announcing GOOG-PING (GOOG-MISC-INFO,
// as Chromium sends with its field trial on) gets GOOG-MISC-INFO in the
// response; the GOOG-PING requests Chromium 156 then sent (stun/testdata)
// are answered from a validated address only, with
// GOOG-MESSAGE-INTEGRITY-32, and never with more bytes than they carried.
func TestMuxGoogPing(t *testing.T) {
	_, local, remote, reqs := readChromiumCaptures(t)
	m, addr := startMux(t, MuxConfig{})
	if _, err := m.NewSession(local, remote); err != nil {
		t.Fatal(err)
	}
	integ := stun.NewShortTermIntegrity(local.Pwd)
	peer, stranger := newPeer(t), newPeer(t)
	resp := exchange(t, peer, addr, reqs[0], wait)
	if resp == nil || resp.Type() != stun.BindingSuccess || resp.Has(stun.AttrGoogMiscInfo) {
		t.Fatalf("response to a request without GOOG-MISC-INFO: %v", resp)
	}
	var b stun.Builder
	b.Start(nil, stun.BindingRequest, testTxn)
	b.AddUsername(local.Ufrag + ":" + remote.Ufrag)
	b.AddGoogMiscInfo(stun.GoogPingVersion)
	b.AddICEControlling(7)
	b.AddMessageIntegrity(integ)
	b.AddFingerprint()
	req, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	resp = exchange(t, peer, addr, req, wait)
	if resp == nil || resp.Type() != stun.BindingSuccess || integ.Verify(resp) != nil {
		t.Fatalf("response %v", resp)
	}
	if v, err := resp.GoogMiscInfo(nil); err != nil || len(v) == 0 || v[0] != stun.GoogPingVersion {
		t.Fatalf("GOOG-MISC-INFO = %v, %v", v, err)
	}
	for _, name := range []string{"chromium156_goog_ping_request_1.bin", "chromium156_goog_ping_request_2.bin"} {
		ping, err := os.ReadFile(filepath.Join(captureDir, name))
		if err != nil {
			t.Fatal(err)
		}
		// From an address no check validated: no answer. The stranger's
		// plain STUN request after it is answered first.
		if _, err := stranger.WriteToUDPAddrPort(ping, addr); err != nil {
			t.Fatal(err)
		}
		if r := exchange(t, stranger, addr, check{noUsername: true}.build(t), wait); r == nil || r.Type() != stun.BindingSuccess {
			t.Fatalf("%s from a stranger was answered: %v", name, r)
		}
		resp := exchange(t, peer, addr, ping, wait)
		if resp == nil || resp.Type() != stun.GoogPingSuccess || len(resp.Bytes()) > len(ping) {
			t.Fatalf("%s: response %v", name, resp)
		}
		var want stun.Message
		if err := want.Decode(ping); err != nil {
			t.Fatal(err)
		}
		if resp.TransactionID() != want.TransactionID() || integ.VerifyGoogMessageIntegrity32(resp) != nil {
			t.Fatalf("%s: response %v does not verify", name, resp)
		}
	}
	if st := m.Stats(); st.GoogPings != 2 {
		t.Fatalf("Stats = %+v, want 2 GOOG-PINGs", st)
	}
}
