package interop

// Launchers for the real peers the interop tests talk to. Every process started
// here binds to loopback only, is bounded in time, and is stopped by t.Cleanup.

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/streamwire/streamwire/internal/syncbuf"
)

// freeUDPPort returns a UDP port on 127.0.0.1 that was free a moment ago.
func freeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free udp port: %v", err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// freeTCPPort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freeTCPPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free tcp port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// freeUDPTCPPort returns a port on 127.0.0.1 that was free a moment ago for
// both UDP and TCP, for servers such as coturn that listen on both: a port
// free for UDP may be a TCP connection's ephemeral port, and coturn then
// retries its TCP bind and never answers.
func freeUDPTCPPort(t testing.TB) int {
	t.Helper()
	for range 100 {
		port := freeUDPPort(t)
		if l, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			l.Close()
			return port
		}
	}
	t.Fatalf("no port free for both UDP and TCP in 100 tries")
	return 0
}

// startProcess starts name with args, kills it at cleanup, and returns its output
// collector. The process is given at most limit to live.
func startProcess(t testing.TB, limit time.Duration, name string, args ...string) *syncbuf.Buffer {
	t.Helper()
	return startProcessWith(t, (*exec.Cmd).Start, limit, name, args...)
}

// startProcessWith is startProcess with start in place of exec.Cmd.Start,
// for example netns.Namespace.Start to run the process in a namespace.
func startProcessWith(t testing.TB, start func(*exec.Cmd) error, limit time.Duration, name string, args ...string) *syncbuf.Buffer {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed (make test installs it): %v", name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	cmd := exec.CommandContext(ctx, path, args...)
	out := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 2 * time.Second
	if err := start(cmd); err != nil {
		cancel()
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("%s output:\n%s", name, tail(out.String(), 4000))
		}
	})
	return out
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// coturn is a turnserver started on loopback.
type coturn struct {
	Port  int    // UDP and TCP listening port on 127.0.0.1
	Realm string // realm, when one was given
	out   *syncbuf.Buffer
}

// startCoturn starts coturn's turnserver on 127.0.0.1 on a free port with TLS, DTLS,
// the CLI and the database off; extra are further turnserver options (for example
// "--use-auth-secret", "--static-auth-secret=s", "--realm=r", or "--stun-only").
// It returns once the server answers a STUN Binding request.
func startCoturn(t testing.TB, extra ...string) *coturn {
	t.Helper()
	port := freeUDPTCPPort(t)
	dir := t.TempDir()
	args := []string{
		"-n", // no configuration file
		"--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
		fmt.Sprintf("--listening-port=%d", port),
		"--min-port=49152", "--max-port=65535",
		"--no-tls", "--no-dtls", "--no-cli", "--no-stdout-log",
		"--log-file=" + filepath.Join(dir, "turn.log"), "--simple-log",
		"--pidfile=" + filepath.Join(dir, "turn.pid"),
		"--userdb=" + filepath.Join(dir, "turndb"),
		"--allow-loopback-peers", "--cli-password=unused",
	}
	args = append(args, extra...)
	c := &coturn{Port: port, out: startProcess(t, 10*time.Minute, "turnserver", args...)}
	for _, a := range extra {
		if len(a) > 8 && a[:8] == "--realm=" {
			c.Realm = a[8:]
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "turn.log"))
			t.Logf("coturn log:\n%s", tail(string(log), 4000))
		}
	})
	waitSTUN(t, fmt.Sprintf("127.0.0.1:%d", port))
	return c
}

// Addr is coturn's "127.0.0.1:port".
func (c *coturn) Addr() string { return fmt.Sprintf("127.0.0.1:%d", c.Port) }

// waitSTUN polls addr with a minimal RFC 5389 Binding request until something
// answers, for at most 10 seconds.
func waitSTUN(t testing.TB, addr string) {
	t.Helper()
	req := []byte{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42,
		1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	deadline := time.Now().Add(10 * time.Second)
	buf := make([]byte, 1500)
	for time.Now().Before(deadline) {
		c, err := net.Dial("udp4", addr)
		if err != nil {
			t.Fatalf("dial %s: %v", addr, err)
		}
		_ = c.SetDeadline(time.Now().Add(200 * time.Millisecond))
		_, _ = c.Write(req)
		n, err := c.Read(buf)
		c.Close()
		if err == nil && n >= 20 {
			return
		}
	}
	t.Fatalf("nothing answers STUN at %s after 10s", addr)
}

// browserFlags are the flags every headless Chromium started by the tests gets: no
// network beyond loopback, fake media devices, and loopback ICE candidates allowed.
var browserFlags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
	"--disable-extensions", "--disable-default-apps", "--mute-audio",
	"--allow-loopback-in-peer-connection",
	"--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
	"--autoplay-policy=no-user-gesture-required",
	"--webrtc-ip-handling-policy=default",
}

// startChromium opens url in a new headless Chromium with its own profile. The
// page reports back to the test through HTTP (see the tests that serve pages).
func startChromium(t testing.TB, url string) {
	t.Helper()
	args := append([]string{"--user-data-dir=" + t.TempDir()}, browserFlags...)
	startProcess(t, 3*time.Minute, "chromium", append(args, url)...)
}

// startChromiumFlags is startChromium with extra flags after browserFlags.
func startChromiumFlags(t testing.TB, url string, extra ...string) {
	t.Helper()
	args := append([]string{"--user-data-dir=" + t.TempDir()}, browserFlags...)
	startProcess(t, 3*time.Minute, "chromium", append(append(args, extra...), url)...)
}

// startFirefox opens url in a new headless Firefox ESR with a fresh profile that
// fakes media devices, skips permission prompts and allows loopback ICE candidates.
func startFirefox(t testing.TB, url string) {
	t.Helper()
	startFirefoxWith(t, (*exec.Cmd).Start, url)
}

// startFirefoxWith is startFirefox with start in place of exec.Cmd.Start
// (see startProcessWith).
func startFirefoxWith(t testing.TB, start func(*exec.Cmd) error, url string) {
	t.Helper()
	profile := t.TempDir()
	prefs := `user_pref("media.navigator.streams.fake", true);
user_pref("media.navigator.permission.disabled", true);
user_pref("media.peerconnection.ice.loopback", true);
user_pref("media.peerconnection.ice.obfuscate_host_addresses", false);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("app.update.enabled", false);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
`
	if err := os.WriteFile(filepath.Join(profile, "user.js"), []byte(prefs), 0o644); err != nil {
		t.Fatal(err)
	}
	startProcessWith(t, start, 3*time.Minute, "firefox-esr", "--headless", "--no-remote", "--profile", profile, url)
}
