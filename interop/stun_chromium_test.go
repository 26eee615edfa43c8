package interop

// Real ICE connectivity checks from headless Chromium, decoded, verified and
// answered with streamwire/stun. The page offers a data channel; the test
// answers as an ICE-lite agent whose only candidate is a UDP socket it reads
// itself, so every Binding request Chromium sends lands here. With
// -update-stun-captures the first requests are written to ../stun/testdata/,
// where stun's unit and fuzz tests use them.

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamwire/streamwire/stun"
)

var updateSTUNCaptures = flag.Bool("update-stun-captures", false, "write Chromium Binding requests to ../stun/testdata/")

const stunChromiumPage = `<!doctype html><html><body><script>
(async () => {
  const report = (o) => fetch('/report', {method: 'POST', body: JSON.stringify(o)});
  try {
    const pc = new RTCPeerConnection();
    pc.oniceconnectionstatechange = () => report({state: pc.iceConnectionState});
    pc.createDataChannel('probe');
    await pc.setLocalDescription(await pc.createOffer());
    const resp = await fetch('/offer', {method: 'POST', body: pc.localDescription.sdp});
    if (!resp.ok) throw new Error(await resp.text());
    await pc.setRemoteDescription({type: 'answer', sdp: await resp.text()});
    report({state: 'answered', ua: navigator.userAgent});
  } catch (e) {
    report({error: String(e)});
  }
})();
</script></body></html>`

// iceLiteAnswer answers a data-channel offer as an ICE-lite agent with one
// host candidate. The DTLS fingerprint is random: the test stops at ICE.
func iceLiteAnswer(mid, ufrag, pwd string, port int) string {
	fp := make([]byte, 32)
	_, _ = rand.Read(fp)
	hexes := make([]string, len(fp))
	for i, b := range fp {
		hexes[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join([]string{
		"v=0",
		"o=- 4611731400430051336 2 IN IP4 127.0.0.1",
		"s=-",
		"t=0 0",
		"a=ice-lite",
		"a=group:BUNDLE " + mid,
		"a=msid-semantic: WMS",
		"m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
		"c=IN IP4 0.0.0.0",
		"a=mid:" + mid,
		"a=ice-ufrag:" + ufrag,
		"a=ice-pwd:" + pwd,
		"a=fingerprint:sha-256 " + strings.Join(hexes, ":"),
		"a=setup:passive",
		"a=sctp-port:5000",
		"a=max-message-size:262144",
		fmt.Sprintf("a=candidate:1 1 udp 2130706431 127.0.0.1 %d typ host", port),
		"a=end-of-candidates",
		"",
	}, "\r\n")
}

// chromiumCheck is what the test learned from one Binding request.
type chromiumCheck struct {
	raw          []byte
	useCandidate bool
	networkInfo  bool
}

const (
	chromiumLocalUfrag = "swLt"
	chromiumLocalPwd   = "streamwireIceLitePwd0123" // 24 characters
)

// chromiumICE is a headless Chromium that has offered a data channel and
// accepted our ICE-lite answer pointing at udp.
type chromiumICE struct {
	udp      *net.UDPConn
	wantUser string // USERNAME Chromium must send: local:remote ufrag

	mu        sync.Mutex
	states    []string
	pageErr   string
	userAgent string
}

// connected reports whether the page saw iceConnectionState connected; it
// fails the test if the page reported an error.
func (c *chromiumICE) connected(t *testing.T) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pageErr != "" {
		t.Fatalf("page: %s", c.pageErr)
	}
	for _, s := range c.states {
		if s == "connected" || s == "completed" {
			return true
		}
	}
	return false
}

// startChromiumICE serves the page, starts Chromium (with extra flags, if
// any) and waits for its offer.
func startChromiumICE(t *testing.T, extraFlags ...string) *chromiumICE {
	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { udp.Close() })
	port := udp.LocalAddr().(*net.UDPAddr).Port
	c := &chromiumICE{udp: udp}
	offerSeen := make(chan string, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, stunChromiumPage)
	})
	mux.HandleFunc("/offer", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		offer := string(body)
		mid := regexp.MustCompile(`(?m)^a=mid:(\S+)`).FindStringSubmatch(offer)
		ufrag := regexp.MustCompile(`(?m)^a=ice-ufrag:(\S+)`).FindStringSubmatch(offer)
		if mid == nil || ufrag == nil {
			http.Error(w, "offer without mid or ice-ufrag", http.StatusBadRequest)
			return
		}
		select {
		case offerSeen <- ufrag[1]:
		default:
		}
		_, _ = io.WriteString(w, iceLiteAnswer(mid[1], chromiumLocalUfrag, chromiumLocalPwd, port))
	})
	mux.HandleFunc("/report", func(w http.ResponseWriter, r *http.Request) {
		var rep struct{ State, Error, UA string }
		_ = json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&rep)
		c.mu.Lock()
		defer c.mu.Unlock()
		if rep.State != "" {
			c.states = append(c.states, rep.State)
		}
		if rep.Error != "" {
			c.pageErr = rep.Error
		}
		if rep.UA != "" {
			c.userAgent = rep.UA
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	if len(extraFlags) == 0 {
		startChromium(t, srv.URL)
	} else {
		args := append([]string{"--user-data-dir=" + t.TempDir()}, browserFlags...)
		args = append(append(args, extraFlags...), srv.URL)
		startProcess(t, 3*time.Minute, "chromium", args...)
	}
	select {
	case remote := <-offerSeen:
		c.wantUser = chromiumLocalUfrag + ":" + remote
	case <-time.After(30 * time.Second):
		t.Fatal("Chromium sent no offer within 30s")
	}
	return c
}

// read returns the next datagram from Chromium, or ok=false after a quiet
// half second.
func (c *chromiumICE) read(t *testing.T, buf []byte) (pkt []byte, from netip.AddrPort, ok bool) {
	_ = c.udp.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	n, from, err := c.udp.ReadFromUDPAddrPort(buf)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, from, false
		}
		t.Fatal(err)
	}
	return buf[:n], from, true
}

// checkBindingRequest verifies a Binding request from Chromium and returns
// what the test keeps of it.
func (c *chromiumICE) checkBindingRequest(t *testing.T, m *stun.Message, integ *stun.Integrity) chromiumCheck {
	t.Helper()
	if err := m.VerifyFingerprint(); err != nil {
		t.Fatalf("fingerprint of %s: %v", m, err)
	}
	if err := integ.Verify(m); err != nil {
		t.Fatalf("integrity of %s: %v", m, err)
	}
	if err := stun.NewShortTermIntegrity("not-the-password-at-all").Verify(m); err != stun.ErrIntegrity {
		t.Fatalf("wrong password verified: %v", err)
	}
	if user, err := m.Username(); err != nil || string(user) != c.wantUser {
		t.Fatalf("USERNAME %q, %v; want %q", user, err, c.wantUser)
	}
	if _, err := m.Priority(); err != nil {
		t.Fatalf("PRIORITY: %v", err)
	}
	if _, err := m.ICEControlling(); err != nil {
		t.Fatalf("ICE-CONTROLLING (Chromium controls against ICE-lite): %v", err)
	}
	if u := m.AppendUnknown(nil); len(u) != 0 {
		t.Fatalf("unknown comprehension-required attributes %v", u)
	}
	_, _, nerr := m.GoogNetworkInfo()
	return chromiumCheck{
		raw:          append([]byte(nil), m.Bytes()...),
		useCandidate: m.UseCandidate(),
		networkInfo:  nerr == nil,
	}
}

func TestSTUNChromiumBindingRequests(t *testing.T) {
	c := startChromiumICE(t)
	integ := stun.NewShortTermIntegrity(chromiumLocalPwd)
	var (
		checks    []chromiumCheck
		nonSTUN   int
		m         stun.Message
		buf       = make([]byte, 1500)
		resp      = make([]byte, 0, 1500)
		connected bool
		nominated bool
	)
	for deadline := time.Now().Add(45 * time.Second); time.Now().Before(deadline); {
		connected = c.connected(t)
		if len(checks) >= 3 && nominated && connected {
			break
		}
		pkt, from, ok := c.read(t, buf)
		if !ok {
			continue
		}
		if !stun.IsMessage(pkt) {
			nonSTUN++ // DTLS ClientHello once ICE is up
			continue
		}
		if err := m.Decode(pkt); err != nil {
			t.Fatalf("decode Chromium STUN %x: %v", pkt, err)
		}
		if m.Type() != stun.BindingRequest {
			t.Fatalf("unexpected %v from Chromium", m.Type())
		}
		check := c.checkBindingRequest(t, &m, integ)
		nominated = nominated || check.useCandidate
		checks = append(checks, check)
		t.Logf("check %d: %s", len(checks), &m)

		var b stun.Builder
		b.Start(resp[:0], stun.BindingSuccess, m.TransactionID())
		b.AddXORMappedAddress(from)
		b.AddMessageIntegrity(integ)
		b.AddFingerprint()
		out, err := b.Finish()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.udp.WriteToUDPAddrPort(out, from); err != nil {
			t.Fatal(err)
		}
	}
	c.mu.Lock()
	t.Logf("page states %v, %d non-STUN datagrams, UA %s", c.states, nonSTUN, c.userAgent)
	c.mu.Unlock()
	if len(checks) == 0 {
		t.Fatal("no Binding request from Chromium")
	}
	if !nominated && !connected {
		t.Fatalf("Chromium did not continue after our responses: %d checks, no USE-CANDIDATE, not connected", len(checks))
	}
	networkInfo := false
	for _, c := range checks {
		networkInfo = networkInfo || c.networkInfo
	}
	if !networkInfo {
		t.Error("no check carried GOOG-NETWORK-INFO")
	}
	if *updateSTUNCaptures {
		writeSTUNCaptures(t, checks, chromiumLocalPwd, c.wantUser)
	}
}

// writeSTUNCaptures stores the first two checks and the first nominating one
// in ../stun/testdata/ with a JSON note of the password that verifies them.
func writeSTUNCaptures(t *testing.T, checks []chromiumCheck, pwd, user string) {
	pick := []chromiumCheck{checks[0]}
	if len(checks) > 1 {
		pick = append(pick, checks[1])
	}
	for _, c := range checks[len(pick):] {
		if c.useCandidate {
			pick = append(pick, c)
			break
		}
	}
	writeCaptureSet(t, "binding_request", pick, pwd, user)
}

// writeCaptureSet writes captures as chromium<major>_<kind>_<n>.bin and a
// chromium<major>_<kind>s.json note naming them with the ICE password.
func writeCaptureSet(t *testing.T, kind string, caps []chromiumCheck, pwd, user string) {
	version, major := "unknown", "unknown"
	if out, err := exec.Command("chromium", "--version").Output(); err == nil {
		version = strings.TrimSpace(string(out))
		if v := regexp.MustCompile(`(\d+)\.\d+\.\d+`).FindStringSubmatch(version); v != nil {
			major = v[1]
		}
	}
	dir := filepath.Join("..", "stun", "testdata")
	type file struct {
		Name         string `json:"name"`
		UseCandidate bool   `json:"use_candidate"`
	}
	note := struct {
		Browser  string `json:"browser"`
		Username string `json:"username"`
		IcePwd   string `json:"ice_pwd"`
		Files    []file `json:"files"`
	}{Browser: version, Username: user, IcePwd: pwd}
	for i, c := range caps {
		name := fmt.Sprintf("chromium%s_%s_%d.bin", major, kind, i+1)
		if err := os.WriteFile(filepath.Join(dir, name), c.raw, 0o644); err != nil {
			t.Fatal(err)
		}
		note.Files = append(note.Files, file{Name: name, UseCandidate: c.useCandidate})
	}
	j, _ := json.MarshalIndent(note, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "chromium"+major+"_"+kind+"s.json"), append(j, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d captures to %s", len(caps), dir)
}

// TestSTUNChromiumGoogPing turns on Chromium's GOOG-PING field trial and
// announces support in the Binding responses (GOOG-MISC-INFO): Chromium
// then replaces repeated identical checks by GOOG-PING requests carrying
// only GOOG-MESSAGE-INTEGRITY-32, which the test verifies and answers.
func TestSTUNChromiumGoogPing(t *testing.T) {
	c := startChromiumICE(t, "--force-fieldtrials=WebRTC-IceFieldTrials/enable_goog_ping:true/")
	integ := stun.NewShortTermIntegrity(chromiumLocalPwd)
	var (
		m         stun.Message
		buf       = make([]byte, 1500)
		resp      = make([]byte, 0, 1500)
		bindings  int
		announced bool
		pings     [][]byte
		misc      []uint16
	)
	for deadline := time.Now().Add(40 * time.Second); time.Now().Before(deadline) && len(pings) < 2; {
		c.connected(t)
		pkt, from, ok := c.read(t, buf)
		if !ok || !stun.IsMessage(pkt) {
			continue
		}
		if err := m.Decode(pkt); err != nil {
			t.Fatalf("decode Chromium STUN %x: %v", pkt, err)
		}
		var b stun.Builder
		switch m.Type() {
		case stun.BindingRequest:
			c.checkBindingRequest(t, &m, integ)
			bindings++
			if v, err := m.GoogMiscInfo(misc[:0]); err == nil && len(v) > 0 {
				announced = announced || v[0] >= stun.GoogPingVersion
			}
			b.Start(resp[:0], stun.BindingSuccess, m.TransactionID())
			b.AddXORMappedAddress(from)
			b.AddGoogMiscInfo(stun.GoogPingVersion)
			b.AddMessageIntegrity(integ)
			b.AddFingerprint()
		case stun.GoogPingRequest:
			if err := integ.VerifyGoogMessageIntegrity32(&m); err != nil {
				t.Fatalf("GOOG-MESSAGE-INTEGRITY-32 of %s: %v", &m, err)
			}
			if err := stun.NewShortTermIntegrity("wrong-password-wrong-pwd").VerifyGoogMessageIntegrity32(&m); err != stun.ErrIntegrity {
				t.Fatalf("wrong password verified: %v", err)
			}
			pings = append(pings, append([]byte(nil), pkt...))
			t.Logf("GOOG-PING %d: %s", len(pings), &m)
			b.Start(resp[:0], stun.GoogPingSuccess, m.TransactionID())
			b.AddGoogMessageIntegrity32(integ)
		default:
			t.Fatalf("unexpected %v from Chromium", m.Type())
		}
		out, err := b.Finish()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.udp.WriteToUDPAddrPort(out, from); err != nil {
			t.Fatal(err)
		}
	}
	if !announced {
		t.Fatalf("Chromium announced no GOOG-PING support in %d Binding requests", bindings)
	}
	if len(pings) < 2 {
		t.Fatalf("%d GOOG-PING requests after %d Binding requests, want 2 (Chromium must accept our GOOG-PING responses)", len(pings), bindings)
	}
	if *updateSTUNCaptures {
		writeCaptureSet(t, "goog_ping_request", []chromiumCheck{{raw: pings[0]}, {raw: pings[1]}}, chromiumLocalPwd, "")
	}
}
