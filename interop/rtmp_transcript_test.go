package interop

// Golden transcripts of the RTMP command exchange between real peers and
// our server, recorded by a TCP proxy in front of it. Each direction is
// listed on its own (the order between directions depends on timing; the
// order within one does not). Timestamps, addresses, media and
// acknowledgements are left out. Regenerate with
//
//	go test -run 'Transcript' -update-rtmp-transcripts ./...

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamwire/streamwire/rtmp"
	"github.com/streamwire/streamwire/rtmp/amf0"
)

var updateRTMPTranscripts = flag.Bool("update-rtmp-transcripts", false, "rewrite testdata/rtmp/*.transcript from the peers")

// handshakeLen is C0+C1+C2 (or S0+S1+S2): what precedes the chunk stream.
const handshakeLen = 1 + 1536 + 1536

// rtmpRecorder is a TCP proxy that keeps the bytes of each connection.
type rtmpRecorder struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	conns  []*recordedConn
	wg     sync.WaitGroup
}

// recordedConn holds both directions of one proxied connection.
type recordedConn struct {
	up, down bytes.Buffer // client to server, server to client
	done     chan struct{}
}

// startRecorder proxies 127.0.0.1:PORT to target until the test ends and
// returns it; its Addr is what peers connect to.
func startRecorder(t *testing.T, target string) *rtmpRecorder {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &rtmpRecorder{l: l, target: target}
	r.wg.Add(1)
	go r.serve()
	t.Cleanup(func() { l.Close(); r.wg.Wait() })
	return r
}

// Addr is "127.0.0.1:PORT" of the proxy.
func (r *rtmpRecorder) Addr() string { return r.l.Addr().String() }

func (r *rtmpRecorder) serve() {
	defer r.wg.Done()
	for {
		c, err := r.l.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", r.target)
		if err != nil {
			c.Close()
			continue
		}
		rc := &recordedConn{done: make(chan struct{})}
		r.mu.Lock()
		r.conns = append(r.conns, rc)
		r.mu.Unlock()
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			rc.proxy(c.(*net.TCPConn), s.(*net.TCPConn))
		}()
	}
}

// proxy copies both ways, recording. Each direction only half-closes the
// other when it ends, so that the last commands of a peer that leaves
// (FCUnpublish, deleteStream) are still read and answered; a peer that
// closes with media unread makes writes toward it fail before its last
// bytes are read, which must not cut the recording.
func (rc *recordedConn) proxy(c, s *net.TCPConn) {
	defer close(rc.done)
	var mu sync.Mutex // the buffers are read only after done
	up := make(chan struct{})
	go func() {
		defer close(up)
		// Recorded before it is forwarded: a command the client sends as
		// the server closes (ffmpeg's deleteStream) is in the transcript
		// even when the write to the server fails.
		io.Copy(io.MultiWriter(lockedWriter{&mu, &rc.up}, s), c)
		s.CloseWrite()
	}()
	io.Copy(c, io.TeeReader(s, lockedWriter{&mu, &rc.down}))
	c.CloseWrite()
	select {
	case <-up:
	case <-time.After(5 * time.Second):
	}
	c.Close()
	s.Close()
	<-up
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// wait returns the first connection once it has ended.
func (r *rtmpRecorder) wait(t *testing.T, limit time.Duration) *recordedConn {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		var rc *recordedConn
		if len(r.conns) > 0 {
			rc = r.conns[0]
		}
		r.mu.Unlock()
		if rc != nil {
			select {
			case <-rc.done:
				return rc
			case <-time.After(time.Until(deadline)):
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no proxied RTMP connection ended within %v", limit)
	return nil
}

// transcript renders both directions of rc.
func (rc *recordedConn) transcript(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, dir := range []struct {
		name string
		buf  *bytes.Buffer
	}{{"client -> server", &rc.up}, {"server -> client", &rc.down}} {
		fmt.Fprintf(&b, "# %s\n", dir.name)
		lines, err := chunkTranscript(dir.buf.Bytes())
		if err != nil {
			t.Errorf("%s: %v", dir.name, err)
		}
		for _, l := range lines {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// chunkTranscript lists the commands, data messages (by name), user
// control events and protocol control messages of one direction.
func chunkTranscript(p []byte) ([]string, error) {
	if len(p) < handshakeLen {
		return nil, fmt.Errorf("only %d bytes, the handshake is %d", len(p), handshakeLen)
	}
	r := rtmp.NewChunkReader(bytes.NewReader(p[handshakeLen:]), rtmp.ReaderConfig{})
	var lines []string
	for {
		m, err := r.ReadMessage()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return lines, nil // a peer may leave in the middle of a message
		}
		if err != nil {
			return lines, err
		}
		if l := messageLine(m); l != "" {
			lines = append(lines, l)
		}
	}
}

func messageLine(m rtmp.Message) string {
	switch m.Type {
	case rtmp.TypeCommandAMF0, rtmp.TypeCommandAMF3:
		cmd, err := rtmp.ParseCommand(m)
		if err != nil {
			return "bad command: " + err.Error()
		}
		s := fmt.Sprintf("%s tx=%v msid=%d", cmd.Name, cmd.TransactionID, m.StreamID)
		if o, ok := cmd.Object.(amf0.Object); ok && cmd.Name == "connect" {
			s += fmt.Sprintf(" app=%q", o.String("app"))
		}
		for _, a := range cmd.Args {
			s += " " + valueText(a)
		}
		return s
	case rtmp.TypeDataAMF0, rtmp.TypeDataAMF3:
		p := m.Payload
		if m.Type == rtmp.TypeDataAMF3 && len(p) > 0 {
			p = p[1:]
		}
		vs, _ := amf0.DecodeAll(p)
		s := fmt.Sprintf("data msid=%d", m.StreamID)
		for _, v := range vs {
			switch v.(type) {
			case string, amf0.Object:
				s += " " + valueText(v)
			}
		}
		return s
	case rtmp.TypeUserControl:
		u, err := rtmp.ParseUserControl(m.Payload)
		if err != nil || u.Event == rtmp.EventPingRequest || u.Event == rtmp.EventPingResponse {
			return ""
		}
		return fmt.Sprintf("user %v stream=%d", u.Event, u.StreamID)
	case rtmp.TypeSetChunkSize, rtmp.TypeWindowAckSize, rtmp.TypeAbort:
		return fmt.Sprintf("%v %d", m.Type, bytesToUint(m.Payload))
	case rtmp.TypeSetPeerBandwidth:
		return fmt.Sprintf("%v %d", m.Type, bytesToUint(m.Payload[:min(4, len(m.Payload))]))
	}
	return "" // media, acknowledgements
}

// valueText renders an argument: status objects by level and code, other
// objects not at all (their keys and values vary with peer versions).
func valueText(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case amf0.Undefined:
		return "undefined"
	case string:
		return fmt.Sprintf("%q", v)
	case amf0.Object:
		if code := v.String("code"); code != "" {
			return fmt.Sprintf("{%s %s}", v.String("level"), code)
		}
		return "{object}"
	}
	return fmt.Sprint(v)
}

func bytesToUint(p []byte) uint32 {
	var n uint32
	for _, b := range p {
		n = n<<8 | uint32(b)
	}
	return n
}

// checkTranscript compares got with testdata/rtmp/<name>.transcript, or
// writes it with -update-rtmp-transcripts.
func checkTranscript(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "rtmp", name+".transcript")
	if *updateRTMPTranscripts {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update-rtmp-transcripts to record it)", err)
	}
	if !transcriptMatches(string(want), got) {
		t.Errorf("command exchange differs from %s\n--- got:\n%s--- want:\n%s", path, got, want)
	}
}

// transcriptMatches compares line by line; a golden line starting with
// "? " may be missing from got. That marks what a peer sends only
// sometimes: ffmpeg playing sends deleteStream as it exits in about two
// runs out of three (an -update run writes every line as required; mark
// such lines by hand).
func transcriptMatches(want, got string) bool {
	g := strings.Split(got, "\n")
	for _, w := range strings.Split(want, "\n") {
		line, opt := strings.CutPrefix(w, "? ")
		if len(g) > 0 && g[0] == line {
			g = g[1:]
			continue
		}
		if !opt {
			return false
		}
	}
	return len(g) == 0
}
