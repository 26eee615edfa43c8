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

func TestSTUNChromiumBindingRequests(t *testing.T) {
	const (
		localUfrag = "swLt"
		localPwd   = "streamwireIceLitePwd0123" // 24 characters
	)
	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	port := udp.LocalAddr().(*net.UDPAddr).Port

	var (
		mu          sync.Mutex
		remoteUfrag string
		states      []string
		pageErr     string
		userAgent   string
	)
	offerSeen := make(chan struct{})
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
		mu.Lock()
		first := remoteUfrag == ""
		remoteUfrag = ufrag[1]
		mu.Unlock()
		if first {
			close(offerSeen)
		}
		_, _ = io.WriteString(w, iceLiteAnswer(mid[1], localUfrag, localPwd, port))
	})
	mux.HandleFunc("/report", func(w http.ResponseWriter, r *http.Request) {
		var rep struct{ State, Error, UA string }
		_ = json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&rep)
		mu.Lock()
		if rep.State != "" {
			states = append(states, rep.State)
		}
		if rep.Error != "" {
			pageErr = rep.Error
		}
		if rep.UA != "" {
			userAgent = rep.UA
		}
		mu.Unlock()
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	startChromium(t, srv.URL)

	select {
	case <-offerSeen:
	case <-time.After(30 * time.Second):
		t.Fatal("Chromium sent no offer within 30s")
	}
	mu.Lock()
	wantUser := localUfrag + ":" + remoteUfrag
	mu.Unlock()

	integ := stun.NewShortTermIntegrity(localPwd)
	wrong := stun.NewShortTermIntegrity("not-the-password-at-all")
	var (
		checks    []chromiumCheck
		nonSTUN   int
		m         stun.Message
		buf       = make([]byte, 1500)
		resp      = make([]byte, 0, 1500)
		deadline  = time.Now().Add(45 * time.Second)
		connected bool
	)
	for time.Now().Before(deadline) {
		mu.Lock()
		for _, s := range states {
			connected = connected || s == "connected" || s == "completed"
		}
		if pageErr != "" {
			t.Fatalf("page: %s", pageErr)
		}
		mu.Unlock()
		useCandidate := false
		for _, c := range checks {
			useCandidate = useCandidate || c.useCandidate
		}
		if len(checks) >= 3 && useCandidate && connected {
			break
		}
		_ = udp.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		n, from, err := udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			t.Fatal(err)
		}
		pkt := buf[:n]
		if !stun.IsMessage(pkt) {
			nonSTUN++ // DTLS ClientHello once ICE is up
			continue
		}
		if err := m.Decode(pkt); err != nil {
			t.Fatalf("decode Chromium STUN %x: %v", pkt, err)
		}
		if m.Type() != stun.BindingRequest {
			t.Logf("ignoring %v", m.Type())
			continue
		}
		if err := m.VerifyFingerprint(); err != nil {
			t.Fatalf("fingerprint of %s: %v", &m, err)
		}
		if err := integ.Verify(&m); err != nil {
			t.Fatalf("integrity of %s: %v", &m, err)
		}
		if err := wrong.Verify(&m); err != stun.ErrIntegrity {
			t.Fatalf("wrong password verified: %v", err)
		}
		if user, err := m.Username(); err != nil || string(user) != wantUser {
			t.Fatalf("USERNAME %q, %v; want %q", user, err, wantUser)
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
		checks = append(checks, chromiumCheck{
			raw:          append([]byte(nil), pkt...),
			useCandidate: m.UseCandidate(),
			networkInfo:  nerr == nil,
		})
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
		if _, err := udp.WriteToUDPAddrPort(out, from); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	t.Logf("page states %v, %d non-STUN datagrams, UA %s", states, nonSTUN, userAgent)
	mu.Unlock()
	if len(checks) == 0 {
		t.Fatal("no Binding request from Chromium")
	}
	var nominated, networkInfo bool
	for _, c := range checks {
		nominated = nominated || c.useCandidate
		networkInfo = networkInfo || c.networkInfo
	}
	if !nominated && !connected {
		t.Fatalf("Chromium did not continue after our responses: %d checks, no USE-CANDIDATE, states %v", len(checks), states)
	}
	if !networkInfo {
		t.Error("no check carried GOOG-NETWORK-INFO")
	}
	if *updateSTUNCaptures {
		writeSTUNCaptures(t, checks, localPwd, wantUser)
	}
}

// writeSTUNCaptures stores the first two checks and the first nominating one
// in ../stun/testdata/ with a JSON note of the password that verifies them.
func writeSTUNCaptures(t *testing.T, checks []chromiumCheck, pwd, user string) {
	version, major := "unknown", "unknown"
	if out, err := exec.Command("chromium", "--version").Output(); err == nil {
		version = strings.TrimSpace(string(out))
		if v := regexp.MustCompile(`(\d+)\.\d+\.\d+`).FindStringSubmatch(version); v != nil {
			major = v[1]
		}
	}
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
	for i, c := range pick {
		name := fmt.Sprintf("chromium%s_binding_request_%d.bin", major, i+1)
		if err := os.WriteFile(filepath.Join(dir, name), c.raw, 0o644); err != nil {
			t.Fatal(err)
		}
		note.Files = append(note.Files, file{Name: name, UseCandidate: c.useCandidate})
	}
	j, _ := json.MarshalIndent(note, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "chromium"+major+"_binding_requests.json"), append(j, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d captures to %s", len(pick), dir)
}
