package ice

import (
	"errors"
	"net"
	"os"
	"runtime"
	"testing"
	"time"
)

// TestSessionReadQueuedPastDeadline: past its deadline, a Read returns a
// datagram already queued (a select over the queue and the deadline would
// pick either at random), and fails with a timeout, at once, when none
// is: a reader whose timers set its deadline (peer's read loop) gets its
// datagrams first and its timeout when it would wait.
func TestSessionReadQueuedPastDeadline(t *testing.T) {
	tr := newTestReader(t)
	from := addrOf(newPeer(t))
	if !tr.feed(t, check{useCand: true}.build(t), from) {
		t.Fatal("check not answered")
	}
	buf := make([]byte, 1500)
	_ = tr.s.SetReadDeadline(time.Now().Add(-time.Second))
	for range 64 {
		tr.feed(t, rtpPacket, from)
		if n, err := tr.s.Read(buf); err != nil || n != len(rtpPacket) {
			t.Fatalf("Read past the deadline with a datagram queued = %d, %v; want the datagram", n, err)
		}
		start := time.Now()
		_, err := tr.s.Read(buf)
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Read past the deadline with nothing queued = %v, want a timeout", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("the timeout took %v", d)
		}
	}
}

// TestSessionWriteDeadline: a Write past its deadline fails with a
// timeout, a lifted deadline lets it through, and a closed session fails
// with its error first.
func TestSessionWriteDeadline(t *testing.T) {
	tr := newTestReader(t)
	peer := newPeer(t)
	if !tr.feed(t, check{useCand: true}.build(t), addrOf(peer)) {
		t.Fatal("check not answered")
	}
	_ = tr.s.SetWriteDeadline(time.Now().Add(-time.Second))
	_, err := tr.s.Write(rtpPacket)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Write past the deadline = %v, want a timeout", err)
	}
	if _, err := tr.s.WriteBatch([][]byte{rtpPacket}); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("WriteBatch past the deadline = %v, want a timeout", err)
	}
	_ = tr.s.SetWriteDeadline(time.Time{})
	if _, err := tr.s.Write(rtpPacket); err != nil {
		t.Fatal(err)
	}
	_ = tr.s.SetWriteDeadline(time.Now().Add(-time.Second))
	_ = tr.s.Close()
	if _, err := tr.s.Write(rtpPacket); !errors.Is(err, ErrSessionClosed) {
		t.Fatalf("Write on a closed session = %v, want ErrSessionClosed", err)
	}
}

// TestSessionWriterMadeAtFirstWrite: NewSession makes no socket writer;
// Write makes its own at its first call, WriteBatch its own, and both
// then send.
func TestSessionWriterMadeAtFirstWrite(t *testing.T) {
	tr := newTestReader(t)
	peer := newPeer(t)
	if tr.s.wbc != nil || tr.s.wbatch != nil {
		t.Fatal("NewSession made a writer")
	}
	if !tr.feed(t, check{useCand: true}.build(t), addrOf(peer)) {
		t.Fatal("check not answered")
	}
	mustSucceed(t, readSTUN(t, peer, 5*time.Second), addrOf(peer))
	if _, err := tr.s.Write(rtpPacket); err != nil {
		t.Fatal(err)
	}
	if tr.s.wbc == nil || tr.s.wbatch != nil {
		t.Fatal("Write did not make exactly its own writer")
	}
	if n, err := tr.s.WriteBatch([][]byte{rtpPacket, dtlsRecord}); n != 2 || err != nil {
		t.Fatal(n, err)
	}
	for _, want := range [][]byte{rtpPacket, rtpPacket, dtlsRecord} {
		if got := readRaw(t, peer); string(got) != string(want) {
			t.Fatalf("peer got %x, want %x", got, want)
		}
	}
}

// TestSessionHeap: what a registered session costs on the heap before it
// sends anything: its queue (QueueLen pointers, 1 KiB by default), its
// state and its keyed HMAC-SHA1, but no socket writer (0.8 KiB) and no
// HMAC-SHA256 state (0.45 KiB), which ICE checks do not use.
func TestSessionHeap(t *testing.T) {
	m := NewMux(newPeer(t), MuxConfig{})
	const n = 1000
	creds := make([]Credentials, n)
	for j := range creds {
		c, err := NewCredentials(nil)
		if err != nil {
			t.Fatal(err)
		}
		creds[j] = c
	}
	sessions := make([]*Session, 0, n)
	before := liveHeap()
	for _, c := range creds {
		s, err := m.NewSession(c, Credentials{})
		if err != nil {
			t.Fatal(err)
		}
		sessions = append(sessions, s)
	}
	perSession := float64(liveHeap()-before) / n
	runtime.KeepAlive(sessions)
	t.Logf("%.0f bytes of heap per session", perSession)
	if perSession > maxSessionHeap {
		t.Errorf("a session costs %.0f bytes of heap, want at most %d", perSession, maxSessionHeap)
	}
}

// maxSessionHeap bounds TestSessionHeap: 2,527 bytes measured with Go
// 1.26 on amd64, against 3,845 when NewSession made the writer and
// stun.Integrity the HMAC-SHA256 state.
const maxSessionHeap = 3000

// liveHeap returns the bytes of live heap after two collections.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
