package interop

// Interop of package turnrest with real TURN servers: coturn in use-auth-secret
// mode, and a pion/turn server whose authentication is turnrest's Keys/FindKey.
// Each Allocate is made by a pion/turn v4 client, bounded in time.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/stun/v3"
	"github.com/pion/turn/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamwire/streamwire/turnrest"
)

const turnrestRealm = "streamwire.test"

// turnrestAllocate makes a TURN Allocate at server with the pion client and,
// when it succeeds, relays one datagram to a loopback echo peer and back
// through the allocation. It returns the relayed address or the Allocate error.
// The whole exchange is bounded by 15 s.
func turnrestAllocate(t *testing.T, server, username, password string) (net.Addr, error) {
	t.Helper()
	conn := turnrestClientConn(t, server)
	defer conn.Close()
	client, err := turn.NewClient(&turn.ClientConfig{
		STUNServerAddr: server,
		TURNServerAddr: server,
		Username:       username,
		Password:       password,
		Conn:           conn,
		RTO:            100 * time.Millisecond, // at most ~6 s of retransmissions
	})
	require.NoError(t, err)
	defer client.Close()
	require.NoError(t, client.Listen())

	type result struct {
		relay net.PacketConn
		err   error
	}
	done := make(chan result, 1)
	go func() {
		r, err := client.Allocate()
		done <- result{r, err}
	}()
	var res result
	select {
	case res = <-done:
	case <-time.After(15 * time.Second):
		t.Fatalf("Allocate at %s did not finish in 15 s", server)
	}
	if res.err != nil {
		return nil, res.err
	}
	defer res.relay.Close()
	turnrestEcho(t, res.relay)
	return res.relay.LocalAddr(), nil
}

// turnrestPorts records, per TURN server address, the local ports that test
// clients have allocated from.
var turnrestPorts = struct {
	sync.Mutex
	used map[string]map[int]bool
}{used: map[string]map[int]bool{}}

// turnrestClientConn returns a loopback UDP socket whose port no earlier
// client of this test process used against server. A TURN server keys its
// session state by the client's 5-tuple (RFC 8656 §2.2), and coturn keeps it
// after the client's socket is gone: a new client on a reused port meets the
// old session. Its first, unauthenticated Allocate is then answered 437
// without a NONCE (pion/turn: "attribute not found") when the old session
// allocated, or its second 437 "Allocation mismatch: wrong credentials" when
// the old session had another username. The kernel picks ports at random
// among ~28,000, so about one run in a hundred hit this; skipping used ports
// makes the tests deterministic.
func turnrestClientConn(t *testing.T, server string) net.PacketConn {
	t.Helper()
	turnrestPorts.Lock()
	defer turnrestPorts.Unlock()
	used := turnrestPorts.used[server]
	if used == nil {
		used = map[int]bool{}
		turnrestPorts.used[server] = used
	}
	var held []net.PacketConn // kept open so that the kernel picks another port
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for range 100 {
		conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
		require.NoError(t, err)
		port := conn.LocalAddr().(*net.UDPAddr).Port
		if !used[port] {
			used[port] = true
			return conn
		}
		held = append(held, conn)
	}
	t.Fatalf("no unused client port for %s in 100 tries", server)
	return nil
}

// turnrestEcho sends a datagram from the relayed address to an echo peer on
// loopback and expects it back through the TURN server.
func turnrestEcho(t *testing.T, relay net.PacketConn) {
	t.Helper()
	peer, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer peer.Close()
	go func() {
		buf := make([]byte, 1500)
		_ = peer.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, from, err := peer.ReadFrom(buf)
		if err == nil {
			_, _ = peer.WriteTo(buf[:n], from)
		}
	}()
	msg := []byte("streamwire turnrest relay check")
	_, err = relay.WriteTo(msg, peer.LocalAddr()) // creates the permission first
	require.NoError(t, err)
	require.NoError(t, relay.SetReadDeadline(time.Now().Add(5*time.Second)))
	buf := make([]byte, 1500)
	n, from, err := relay.ReadFrom(buf)
	require.NoError(t, err, "no echo through the relay")
	assert.Equal(t, msg, buf[:n])
	assert.Equal(t, peer.LocalAddr().String(), from.String())
}

func turnrestMinter(t *testing.T, now func() time.Time, sep string, secrets ...string) *turnrest.Minter {
	t.Helper()
	m, err := turnrest.New(turnrest.Config{Secrets: secrets, TTL: time.Hour, Separator: sep, Now: now})
	require.NoError(t, err)
	return m
}

func turnrestMint(t *testing.T, m *turnrest.Minter, user string) turnrest.Credential {
	t.Helper()
	c, err := m.Mint(user)
	require.NoError(t, err)
	return c
}

// errorCode returns the STUN error code of an error response, or 0.
func errorCode(err error) stun.ErrorCode {
	var te *stun.TurnError
	if errors.As(err, &te) {
		return te.ErrorCodeAttr.Code
	}
	return 0
}

type turnrestCase struct {
	name, username, password string
	accept                   bool
}

// turnrestCases are credentials for a server that holds secrets s1 and s2:
// minted by turnrest with either secret first, in every username order coturn
// reads, and the ones that must fail.
func turnrestCases(t *testing.T, sep string) []turnrestCase {
	s1First := turnrestMinter(t, nil, sep, "s1", "s2")
	s2First := turnrestMinter(t, nil, sep, "s2", "s1")
	expired := turnrestMinter(t, func() time.Time { return time.Now().Add(-2 * time.Hour) }, sep, "s1")
	a := turnrestMint(t, s1First, "alice")
	b := turnrestMint(t, s2First, "bob")
	anon := turnrestMint(t, s1First, "")
	old := turnrestMint(t, expired, "carol")
	foreign := turnrestMint(t, turnrestMinter(t, nil, sep, "s3"), "dave")
	ts := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	userFirst := "erin" + sep + ts
	leadingSep := sep + ts
	tampered := []byte(a.Password)
	tampered[3] ^= 0x01
	return []turnrestCase{
		{"minted with s1 first", a.Username, a.Password, true},
		{"minted with s2 first (rotation)", b.Username, b.Password, true},
		{"timestamp only", anon.Username, anon.Password, true},
		{"user then timestamp", userFirst, turnrest.Password("s2", userFirst), true},
		{"separator then timestamp", leadingSep, turnrest.Password("s1", leadingSep), true},
		{"expired", old.Username, old.Password, false},
		{"tampered password", a.Username, string(tampered), false},
		{"password for another user", "1" + a.Username, a.Password, false},
		{"unknown secret", foreign.Username, foreign.Password, false},
	}
}

// runTurnrestCases allocates with each case and checks that the server and
// turnrest's own Verify (with the server's secrets) decide alike. refused is
// the error code the server answers a bad credential with: coturn sends 401
// (RFC 8489 §9.2.4), pion/turn sends 400.
func runTurnrestCases(t *testing.T, server, sep string, refused stun.ErrorCode) {
	verifier := turnrestMinter(t, nil, sep, "s1", "s2")
	for _, c := range turnrestCases(t, sep) {
		t.Run(c.name, func(t *testing.T) {
			relay, err := turnrestAllocate(t, server, c.username, c.password)
			_, verr := verifier.Verify(c.username, c.password)
			if c.accept {
				require.NoError(t, err, "server refused %q", c.username)
				host, port, _ := net.SplitHostPort(relay.String())
				assert.Equal(t, "127.0.0.1", host)
				assert.NotEqual(t, "0", port)
				assert.NoError(t, verr, "turnrest.Verify disagrees with the server")
			} else {
				require.Error(t, err, "server accepted %q", c.username)
				assert.Equal(t, refused, errorCode(err), "error %v", err)
				assert.Error(t, verr, "turnrest.Verify disagrees with the server")
			}
		})
	}
}

// TestTurnrestCoturn runs coturn with two static secrets (a rotation) and
// allocates with turnrest credentials.
func TestTurnrestCoturn(t *testing.T) {
	c := startCoturn(t, "--use-auth-secret", "--static-auth-secret=s1", "--static-auth-secret=s2",
		"--realm="+turnrestRealm)
	runTurnrestCases(t, c.Addr(), ":", stun.CodeUnauthorized)
	t.Run("over HTTP", func(t *testing.T) { turnrestHTTPToCoturn(t, c) })
	t.Run("expires in real time", func(t *testing.T) {
		// The username holds the expiry in whole seconds, so a TTL of n s
		// leaves the first Allocate at least n-1 s: 3 s keeps 2 s of margin
		// for a loaded machine.
		m, err := turnrest.New(turnrest.Config{Secrets: []string{"s1"}, TTL: 3 * time.Second})
		require.NoError(t, err)
		cred, err := m.Mint("brief")
		require.NoError(t, err)
		_, err = turnrestAllocate(t, c.Addr(), cred.Username, cred.Password)
		require.NoError(t, err, "fresh 3 s credential refused")
		time.Sleep(time.Until(cred.Expires.Add(1100 * time.Millisecond)))
		_, verr := m.Verify(cred.Username, cred.Password)
		require.ErrorIs(t, verr, turnrest.ErrExpired)
		_, err = turnrestAllocate(t, c.Addr(), cred.Username, cred.Password)
		assert.Equal(t, stun.CodeUnauthorized, errorCode(err), "coturn accepted an expired credential: %v", err)
	})
}

// turnrestHTTPToCoturn fetches credentials from turnrest's HTTP handlers the way
// Janus (POST form, draft shape) and AppRTC (POST, iceServers shape) do, and
// allocates at coturn with what came back.
func turnrestHTTPToCoturn(t *testing.T, c *coturn) {
	uri := "turn:" + c.Addr() + "?transport=udp"
	cfg := turnrest.Config{Secrets: []string{"s2"}, URIs: []string{uri}, APIKeys: []string{"k"}}
	rest, err := turnrest.NewHandler(cfg, turnrest.FormatREST)
	require.NoError(t, err)
	ice, err := turnrest.NewHandler(cfg, turnrest.FormatICE)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/turn", rest)
	mux.Handle("/v1alpha/iceconfig", ice)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	hc := &http.Client{Timeout: 5 * time.Second}

	form := "service=turn&api=k&key=k&username=janus"
	res, err := hc.Post(srv.URL+"/turn?"+form, "application/x-www-form-urlencoded", strings.NewReader(form))
	require.NoError(t, err)
	var cred turnrest.Credential
	require.NoError(t, json.NewDecoder(io.LimitReader(res.Body, 1<<16)).Decode(&cred))
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, []string{uri}, cred.URIs)
	_, err = turnrestAllocate(t, c.Addr(), cred.Username, cred.Password)
	require.NoError(t, err, "draft-shape credential refused by coturn")

	req, err := http.NewRequest(http.MethodPost, srv.URL+"/v1alpha/iceconfig", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer k")
	res, err = hc.Do(req)
	require.NoError(t, err)
	var ic turnrest.ICEConfig
	require.NoError(t, json.NewDecoder(io.LimitReader(res.Body, 1<<16)).Decode(&ic))
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Len(t, ic.ICEServers, 1)
	s := ic.ICEServers[0]
	require.Equal(t, []string{uri}, s.URLs)
	_, err = turnrestAllocate(t, c.Addr(), s.Username, s.Credential)
	require.NoError(t, err, "iceServers-shape credential refused by coturn")
}

// TestTurnrestCoturnSeparator checks a non-default rest-api-separator.
func TestTurnrestCoturnSeparator(t *testing.T) {
	c := startCoturn(t, "--use-auth-secret", "--static-auth-secret=s1", "--static-auth-secret=s2",
		"--realm="+turnrestRealm, "--rest-api-separator=|")
	runTurnrestCases(t, c.Addr(), "|", stun.CodeUnauthorized)
}

// keyFinder wraps a TURN server's socket. For each authenticated STUN request
// it reads, it asks turnrest.FindKey which secret's long-term key verifies the
// MESSAGE-INTEGRITY, and keeps that key for the AuthHandler called next on
// the same goroutine (pion's server handles one datagram at a time per
// socket). This gives a pion server coturn's try-every-secret rotation.
type keyFinder struct {
	net.PacketConn
	m     *turnrest.Minter
	realm string

	mu       sync.Mutex
	username string
	key      []byte
	lookups  int
}

func (k *keyFinder) ReadFrom(p []byte) (int, net.Addr, error) {
	n, addr, err := k.PacketConn.ReadFrom(p)
	if err == nil {
		k.inspect(p[:n])
	}
	return n, addr, err
}

func (k *keyFinder) inspect(b []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.username, k.key = "", nil
	if !stun.IsMessage(b) {
		return
	}
	msg := &stun.Message{Raw: append([]byte(nil), b...)}
	if msg.Decode() != nil || !msg.Contains(stun.AttrMessageIntegrity) {
		return
	}
	var user stun.Username
	if user.GetFrom(msg) != nil {
		return
	}
	k.lookups++
	key, err := k.m.FindKey(user.String(), k.realm, func(key []byte) bool {
		return stun.MessageIntegrity(key).Check(msg) == nil
	})
	if err == nil {
		k.username, k.key = user.String(), key
	}
}

func (k *keyFinder) authHandler(username, realm string, _ net.Addr) ([]byte, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if realm != k.realm || username != k.username || k.key == nil {
		return nil, false
	}
	return k.key, true
}

// TestTurnrestPionServer runs a pion/turn server authenticated by turnrest
// (FindKey over both secrets, keys from LongTermKey) and allocates against it
// with the pion client: our verification path checked by a real client.
func TestTurnrestPionServer(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	finder := &keyFinder{PacketConn: pc, m: turnrestMinter(t, nil, ":", "s1", "s2"), realm: turnrestRealm}
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm:       turnrestRealm,
		AuthHandler: finder.authHandler,
		PacketConnConfigs: []turn.PacketConnConfig{{
			PacketConn: finder,
			RelayAddressGenerator: &turn.RelayAddressGeneratorStatic{
				RelayAddress: net.ParseIP("127.0.0.1"), Address: "127.0.0.1",
			},
		}},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	runTurnrestCases(t, pc.LocalAddr().String(), ":", stun.CodeBadRequest)
	finder.mu.Lock()
	assert.Greater(t, finder.lookups, 0, "FindKey was consulted")
	finder.mu.Unlock()
}

// TestTurnrestKeyMatchesPion checks turnrest.Keys against pion's own
// long-term key derivation for the same credential.
func TestTurnrestKeyMatchesPion(t *testing.T) {
	m := turnrestMinter(t, nil, ":", "s1", "s2")
	c := turnrestMint(t, m, "alice")
	keys, err := m.Keys(c.Username, turnrestRealm)
	require.NoError(t, err)
	require.Len(t, keys, 2)
	assert.True(t, bytes.Equal(turn.GenerateAuthKey(c.Username, turnrestRealm, c.Password), keys[0]))
	// pion's own TURN REST helper signs with one secret; turnrest accepts it.
	u, p, err := turn.GenerateLongTermTURNRESTCredentials("s2", "bob", time.Hour)
	require.NoError(t, err)
	_, err = m.Verify(u, p)
	assert.NoError(t, err, fmt.Sprintf("pion credential %q", u))
	assert.True(t, bytes.Equal(stun.NewLongTermIntegrity(u, turnrestRealm, p), keys1(t, m, u)))
}

func keys1(t *testing.T, m *turnrest.Minter, username string) []byte {
	keys, err := m.Keys(username, turnrestRealm)
	require.NoError(t, err)
	return keys[1]
}

// turnrestChromiumPage fetches ICE servers the way AppRTC's web client does
// (POST with no body), then gathers relay-only candidates twice: with the
// credential as served, and with its password tampered with.
const turnrestChromiumPage = `<!doctype html><html><body><script>
const report = (o) => fetch('/report', {method: 'POST', body: JSON.stringify(o)});
function gather(name, iceServers) {
  return new Promise((resolve) => {
    const pc = new RTCPeerConnection({iceServers, iceTransportPolicy: 'relay'});
    const out = {name, candidates: [], errors: []};
    const finish = () => { pc.close(); report(out); resolve(); };
    const timer = setTimeout(finish, 20000);
    pc.onicecandidateerror = (e) => out.errors.push(e.errorCode + ' ' + e.errorText);
    pc.onicecandidate = (e) => {
      if (e.candidate && e.candidate.candidate) out.candidates.push(e.candidate.candidate);
      if (!e.candidate) { clearTimeout(timer); finish(); }
    };
    pc.createDataChannel('probe');
    pc.createOffer().then((o) => pc.setLocalDescription(o));
  });
}
(async () => {
  try {
    const resp = await fetch('/v1alpha/iceconfig', {method: 'POST'});
    const cfg = await resp.json();
    await gather('served', cfg.iceServers);
    const bad = JSON.parse(JSON.stringify(cfg.iceServers));
    bad[0].credential = 'x' + bad[0].credential.slice(1);
    await gather('tampered', bad);
  } catch (e) {
    report({name: 'error', errors: [String(e)]});
  }
})();
</script></body></html>`

// TestTurnrestChromiumRelay has headless Chromium fetch iceServers from
// turnrest's FormatICE handler and gather relay candidates at coturn: the
// browser shape and the credential work end to end, and a tampered
// credential yields no relay candidate.
func TestTurnrestChromiumRelay(t *testing.T) {
	c := startCoturn(t, "--use-auth-secret", "--static-auth-secret=s1", "--realm="+turnrestRealm)
	ice, err := turnrest.NewHandler(turnrest.Config{
		Secrets: []string{"s1"},
		TTL:     10 * time.Minute,
		URIs:    []string{"turn:" + c.Addr() + "?transport=udp"},
	}, turnrest.FormatICE)
	require.NoError(t, err)

	type gathered struct {
		Name       string
		Candidates []string
		Errors     []string
	}
	results := make(chan gathered, 4)
	mux := http.NewServeMux()
	mux.Handle("/v1alpha/iceconfig", ice)
	mux.HandleFunc("/report", func(w http.ResponseWriter, r *http.Request) {
		var g gathered
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&g); err == nil {
			select {
			case results <- g:
			default:
			}
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, turnrestChromiumPage)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	startChromium(t, srv.URL)

	got := map[string]gathered{}
	deadline := time.After(60 * time.Second)
	for len(got) < 2 {
		select {
		case g := <-results:
			require.NotEqual(t, "error", g.Name, "page: %v", g.Errors)
			got[g.Name] = g
		case <-deadline:
			t.Fatalf("Chromium reported %d of 2 gatherings in 60 s: %+v", len(got), got)
		}
	}
	relays := func(g gathered) (n int) {
		for _, c := range g.Candidates {
			if strings.Contains(c, " typ relay ") && strings.Contains(c, " 127.0.0.1 ") {
				n++
			}
		}
		return n
	}
	assert.Positive(t, relays(got["served"]), "no relay candidate with the served credential: %+v", got["served"])
	assert.Zero(t, relays(got["tampered"]), "relay candidate with a tampered credential: %+v", got["tampered"])
	refused := false
	for _, e := range got["tampered"].Errors {
		refused = refused || strings.HasPrefix(e, "401")
	}
	assert.True(t, refused, "coturn's 401 did not reach the page: %q", got["tampered"].Errors)
	t.Logf("served: %q; tampered errors: %q", got["served"].Candidates, got["tampered"].Errors)
}

// TestTurnrestCoturnReusedPort pins down why turnrestClientConn skips used
// ports: a client that allocates from a port an earlier client allocated
// from is refused by coturn with the flaky test's error, and a fresh port
// from turnrestClientConn is not. It also checks that turnrestClientConn
// never hands out a port twice for a server.
func TestTurnrestCoturnReusedPort(t *testing.T) {
	c := startCoturn(t, "--use-auth-secret", "--static-auth-secret=s1", "--realm="+turnrestRealm)
	m := turnrestMinter(t, nil, ":", "s1")
	first := turnrestMint(t, m, "alice")
	_, err := turnrestAllocate(t, c.Addr(), first.Username, first.Password)
	require.NoError(t, err)

	turnrestPorts.Lock()
	var port int
	for p := range turnrestPorts.used[c.Addr()] {
		port = p
	}
	turnrestPorts.Unlock()
	reused, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", port))
	require.NoError(t, err)
	defer reused.Close()
	second := turnrestMint(t, m, "bob")
	client, err := turn.NewClient(&turn.ClientConfig{STUNServerAddr: c.Addr(), TURNServerAddr: c.Addr(),
		Username: second.Username, Password: second.Password, Conn: reused, RTO: 100 * time.Millisecond})
	require.NoError(t, err)
	defer client.Close()
	require.NoError(t, client.Listen())
	_, err = client.Allocate()
	require.ErrorContains(t, err, "attribute not found", "coturn accepted an Allocate from a reused 5-tuple")

	_, err = turnrestAllocate(t, c.Addr(), second.Username, second.Password)
	require.NoError(t, err, "fresh port refused")

	seen := map[int]bool{}
	// A fresh fake server under -count; the kernel's random choice alone
	// would repeat a port about 18 times in 1000.
	fake := fmt.Sprintf("fake-%d.test:3478", time.Now().UnixNano())
	for range 1000 {
		conn := turnrestClientConn(t, fake)
		p := conn.LocalAddr().(*net.UDPAddr).Port
		conn.Close()
		require.False(t, seen[p], "port %d handed out twice", p)
		seen[p] = true
	}
}
