package transcode

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/streamwire/streamwire/internal/syncbuf"
)

// waitProcess waits for the Transcoder's ffmpeg (the started'th) and
// returns its process id.
func waitProcess(t *testing.T, tc *Transcoder, started int64) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if pid := tc.PID(); pid != 0 && tc.starts.Load() >= started {
			return pid
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("ffmpeg %d did not start (stats %+v)", started, tc.Stats())
	return 0
}

// gone reports whether process pid no longer exists (it was reaped).
func gone(pid int) bool { return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) }

// TestCloseKills: Close kills ffmpeg, reaps it, and leaves no goroutine
// (TestMain checks); Close is idempotent, and Write and SetConfig after it
// fail with ErrClosed. Both directions.
func TestCloseKills(t *testing.T) {
	for _, d := range directions(t, 1) {
		t.Run(d.name, func(t *testing.T) { testCloseKills(t, d) })
	}
}

func testCloseKills(t *testing.T, d dirCase) {
	src := d.src
	tc, out := d.start(t, Config{})
	pid := waitProcess(t, tc, 1)
	feed(t, tc, src.aus[:20], 0, 0)
	out.waitFor(t, 5, 10*time.Second)
	start := time.Now()
	tc.Close()
	if d := time.Since(start); d > DefaultKillWait {
		t.Errorf("Close took %v", d)
	}
	if !gone(pid) {
		t.Fatalf("ffmpeg %d still exists after Close", pid)
	}
	n := len(out.packets())
	if err := tc.Write(0, src.aus[0].data); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}
	if err := tc.SetConfig([]byte{0x12, 0x10}); !errors.Is(err, ErrClosed) {
		t.Errorf("SetConfig after Close: %v", err)
	}
	tc.Close()
	time.Sleep(50 * time.Millisecond)
	if len(out.packets()) != n {
		t.Error("output after Close")
	}
	if st := tc.Stats(); st.Starts != 1 || st.Crashes != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestCloseIdle: a Transcoder that never got input closes at once too.
func TestCloseIdle(t *testing.T) {
	tc, _ := newTranscoder(t, Config{})
	pid := waitProcess(t, tc, 1)
	tc.Close()
	if !gone(pid) {
		t.Fatalf("ffmpeg %d still exists after Close", pid)
	}
}

// TestRestartAfterCrash: ffmpeg killed from outside is counted as a crash,
// logged, and restarted after the backoff; the audio goes on, its
// timestamps still on the input's timeline. Both directions.
func TestRestartAfterCrash(t *testing.T) {
	for _, d := range directions(t, 3) {
		t.Run(d.name, func(t *testing.T) { testRestartAfterCrash(t, d) })
	}
}

func testRestartAfterCrash(t *testing.T, d dirCase) {
	src := d.src
	var logs syncbuf.Buffer
	tc, out := d.start(t, Config{RestartBackoff: 20 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	half := len(src.aus) / 2
	feed(t, tc, src.aus[:half], 0, 4)
	// All of the first half has reached ffmpeg when its packets are out
	// (less the few it holds).
	out.waitFor(t, d.packets(half)-4, 10*time.Second)
	pid := waitProcess(t, tc, 1)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitProcess(t, tc, 2)
	before := len(out.packets())
	feed(t, tc, src.aus[half:], 0, 4)
	pkts := out.waitFor(t, before+20, 10*time.Second)
	st := tc.Stats()
	if st.Crashes != 1 || st.Starts != 2 {
		t.Fatalf("stats %+v, want 1 crash and 2 starts", st)
	}
	if !strings.Contains(logs.String(), "ffmpeg ended, restarting it") {
		t.Errorf("crash not logged:\n%s", logs.String())
	}
	// The first packet of the new ffmpeg starts, less its pre-skip (Opus;
	// AAC's priming frame is not delivered), where the first access unit
	// written to it does.
	after := pkts[before:]
	first := int64(int32(after[0].Timestamp))
	lo, hi := int64(src.aus[half].ms)-10, int64(src.aus[len(src.aus)-1].ms)
	if first < lo || first > hi {
		t.Fatalf("first packet after the restart at %d ms, outside the second half's %d-%d ms", first, lo, hi)
	}
	d.spacing(t, after, 0)
}

// TestStalledFFmpeg: ffmpeg that stops taking input (SIGSTOP) fills the
// pipe and then the queue: Write drops and counts without blocking; the
// write to ffmpeg times out, ffmpeg is killed and restarted, and audio
// flows again. Both directions.
func TestStalledFFmpeg(t *testing.T) {
	for _, d := range directions(t, 4) {
		t.Run(d.name, func(t *testing.T) { testStalledFFmpeg(t, d) })
	}
}

func testStalledFFmpeg(t *testing.T, d dirCase) {
	src := d.src
	var logs syncbuf.Buffer
	tc, out := d.start(t, Config{QueueLen: 8, WriteTimeout: 300 * time.Millisecond, RestartBackoff: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	feed(t, tc, src.aus[:10], 0, 0)
	out.waitFor(t, 1, 10*time.Second) // ffmpeg has started: WriteTimeout applies
	pid := waitProcess(t, tc, 1)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	st0 := tc.Stats()
	full, i := 0, 10
	var slowest time.Duration
	for ; tc.Stats().Starts < 2 && i < len(src.aus); i++ {
		time.Sleep(5 * time.Millisecond) // 4.6 times real time
		start := time.Now()
		err := tc.Write(src.aus[i].ms, src.aus[i].data)
		slowest = max(slowest, time.Since(start))
		switch {
		case errors.Is(err, ErrQueueFull):
			full++
		case err != nil:
			t.Fatal(err)
		}
	}
	if slowest > 20*time.Millisecond {
		t.Errorf("a Write took %v with ffmpeg stopped", slowest)
	}
	st := tc.Stats()
	if full == 0 || st.Dropped-st0.Dropped != int64(full) || st.Starts != 2 || st.Crashes != 1 {
		t.Fatalf("%d ErrQueueFull, stats %+v", full, st)
	}
	// The pipe holds one page (about 14 of these access units, or 20
	// Opus packets; the default 64 KiB would take all of them): the rest
	// waits in the queue, where it is bounded and counted. One more
	// batch may have left the queue for a write that waits.
	var size int
	for _, au := range src.aus {
		size += len(au.data)
	}
	if taken, bound := st.Written-st0.Written-8, 2*pipeSize*len(src.aus)/size; taken > int64(bound) {
		t.Errorf("%d access units in ffmpeg's pipe while it was stopped, want at most %d", taken, bound)
	}
	if !strings.Contains(logs.String(), "took no input within 300ms") {
		t.Errorf("log:\n%s", logs.String())
	}
	if !gone(pid) {
		t.Errorf("stopped ffmpeg %d was not killed", pid)
	}
	before := len(out.packets())
	feed(t, tc, src.aus[i:], 0, 0)
	out.waitFor(t, before+20, 10*time.Second)
}

// TestSilentFFmpeg: a binary that takes its input and gives no output
// (cat to /dev/null, with stdout kept open) is killed after
// StartTimeout; one that gives one packet and then no more, once it has
// taken 5 s of audio more than it gave. Both are restarted.
func TestSilentFFmpeg(t *testing.T) {
	src := makeAAC(t, "sine", 48000, 2, 7)
	ogg := filepath.Join(t.TempDir(), "one.opus")
	one := []Packet{{Data: []byte{31 << 3, 1, 2, 3}, Samples: 960}}
	if err := os.WriteFile(ogg, appendOggOpus(nil, one, 120), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, script, want string }{
		{"no output", "cat >/dev/null", "gave no output within 500ms"},
		{"output stops", "cat " + ogg + "\ncat >/dev/null", "more than it gave out"},
	} {
		t.Run(c.name, func(t *testing.T) {
			script := filepath.Join(t.TempDir(), "ffmpeg")
			if err := os.WriteFile(script, []byte("#!/bin/sh\n"+c.script+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			var logs syncbuf.Buffer
			tc, err := New(Config{FFmpeg: script, StartTimeout: 500 * time.Millisecond, RestartBackoff: 10 * time.Millisecond,
				Logger: slog.New(slog.NewTextHandler(&logs, nil))}, func(Packet) {})
			if err != nil {
				t.Fatal(err)
			}
			defer tc.Close()
			if err := tc.SetConfig(src.asc); err != nil {
				t.Fatal(err)
			}
			pid := waitProcess(t, tc, 1)
			feed(t, tc, src.aus, 0, 8)
			waitProcess(t, tc, 2)
			if st := tc.Stats(); st.Crashes < 1 || !gone(pid) {
				t.Fatalf("stats %+v, process %d gone: %v", st, pid, gone(pid))
			}
			if !strings.Contains(logs.String(), c.want) {
				t.Fatalf("log:\n%s", logs.String())
			}
		})
	}
}

// TestConfigChange: a new AudioSpecificConfig restarts ffmpeg without a
// crash, after it has flushed the old config's audio; the timestamps go
// on from the new access units'.
func TestConfigChange(t *testing.T) {
	a := makeAAC(t, "sine", 44100, 2, 1)
	b := makeAAC(t, "sine=frequency=300", 48000, 1, 1)
	tc, out := newTranscoder(t, Config{})
	if err := tc.SetConfig(a.asc); err != nil {
		t.Fatal(err)
	}
	feed(t, tc, a.aus, 0, 8)
	aMs := a.aus[len(a.aus)-1].ms + 23
	if err := tc.SetConfig(b.asc); err != nil {
		t.Fatal(err)
	}
	if err := tc.SetConfig(b.asc); err != nil { // the same again: no restart
		t.Fatal(err)
	}
	feed(t, tc, b.aus, aMs, 8)
	// All of the first config's audio came out (ffmpeg flushed it), and
	// most of the second's.
	aPkts := len(a.aus) * frameSamples * 48000 / a.rate / 960
	pkts := out.waitFor(t, aPkts+len(b.aus)*1024/960-4, 10*time.Second)
	st := tc.Stats()
	if st.Starts != 2 || st.Crashes != 0 || st.Resyncs != 0 {
		t.Fatalf("stats %+v, want 2 starts and no crash", st)
	}
	var split int
	for i := 1; i < len(pkts); i++ {
		if int32(pkts[i].Timestamp-pkts[i-1].Timestamp) != 20 {
			split = i
			break
		}
	}
	if split < aPkts || split > aPkts+1 {
		t.Fatalf("the second ffmpeg's packets start at %d, want after the first's %d", split, aPkts)
	}
	if d := int32(pkts[split].Timestamp - aMs); d < -10 || d > 0 {
		t.Fatalf("the second config's first packet at %d ms, want the first access unit's %d less the pre-skip", pkts[split].Timestamp, aMs)
	}
	checkSpacing(t, pkts[split:], 0)
}

// TestNoFFmpeg: without ffmpeg, New fails with ErrNoFFmpeg.
func TestNoFFmpeg(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	for _, cfg := range []Config{{}, {FFmpeg: "/nonexistent/ffmpeg"}} {
		tc, err := New(cfg, func(Packet) {})
		if !errors.Is(err, ErrNoFFmpeg) || tc != nil {
			t.Fatalf("New(%+v): %v, want ErrNoFFmpeg", cfg, err)
		}
	}
}

// TestBrokenFFmpeg: a binary that is not ffmpeg and fails at once is
// restarted after a backoff that doubles; its stderr is logged, at most
// 20 lines per process, each bounded.
func TestBrokenFFmpeg(t *testing.T) {
	script := filepath.Join(t.TempDir(), "ffmpeg")
	body := "#!/bin/sh\ns=" + strings.Repeat("x", 300) + "\ni=0\nwhile [ $i -lt 100 ]; do echo \"line $i $s\" >&2; i=$((i+1)); done\nexit 3\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	var logs syncbuf.Buffer
	start := time.Now()
	tc, err := New(Config{FFmpeg: script, RestartBackoff: 50 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, func(Packet) {})
	if err != nil {
		t.Fatal(err)
	}
	for tc.Stats().Starts < 3 && time.Since(start) < 10*time.Second {
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	tc.Close()
	st := tc.Stats()
	if st.Starts < 3 || st.Crashes < st.Starts-1 || elapsed < 150*time.Millisecond {
		t.Fatalf("stats %+v after %v: want 3 starts, 50 and 100 ms apart", st, elapsed)
	}
	lines := strings.Count(logs.String(), " stderr=")
	if lines > 20*int(st.Starts) || lines < 20 {
		t.Errorf("%d stderr lines logged for %d runs of 100", lines, st.Starts)
	}
	if !strings.Contains(logs.String(), "more stderr lines, not logged") || !strings.Contains(logs.String(), "exit status 3") {
		t.Errorf("log:\n%s", logs.String())
	}
	for _, l := range strings.Split(logs.String(), "\n") {
		if len(l) > 600 {
			t.Fatalf("a log line of %d bytes", len(l))
		}
	}
}

// TestWriteErrors: access units without a config, too large, or after an
// unsupported config are refused and counted.
func TestWriteErrors(t *testing.T) {
	tc, _ := newTranscoder(t, Config{})
	if err := tc.Write(0, []byte{1}); !errors.Is(err, ErrNoConfig) {
		t.Fatalf("Write before SetConfig: %v", err)
	}
	if err := tc.SetConfig([]byte{0x12, 0x10}); err != nil {
		t.Fatal(err)
	}
	if err := tc.Write(0, make([]byte, MaxAccessUnit+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Write of %d bytes: %v", MaxAccessUnit+1, err)
	}
	if err := tc.SetConfig([]byte{0x12, 0x00}); !errors.Is(err, ErrUnsupportedConfig) {
		t.Fatalf("SetConfig with channel configuration 0: %v", err)
	}
	if err := tc.Write(0, []byte{1}); !errors.Is(err, ErrNoConfig) {
		t.Fatalf("Write after a refused config: %v", err)
	}
	if st := tc.Stats(); st.Rejected != 3 || st.Written != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// Write does not allocate, whether it queues or drops, in either
// direction.
func TestWriteAllocs(t *testing.T) {
	tc := &Transcoder{dir: aacToOpus{}, q: make(chan unit, 10)}
	if err := tc.SetConfig([]byte{0x12, 0x10}); err != nil {
		t.Fatal(err)
	}
	au := make([]byte, 300)
	opus := &Transcoder{dir: opusToAAC{}, q: make(chan unit, 10)}
	pkt := append([]byte{0xfc}, make([]byte, 160)...) // CELT FB 20 ms stereo
	for _, c := range []struct {
		tc *Transcoder
		au []byte
	}{{tc, au}, {opus, pkt}} {
		if n := testing.AllocsPerRun(100, func() { _ = c.tc.Write(1, c.au) }); n != 0 {
			t.Fatalf("Write: %.0f allocations", n)
		}
		if st := c.tc.Stats(); st.Dropped == 0 || st.Rejected != 0 {
			t.Fatalf("stats %+v: the queue never filled", st)
		}
	}
}

// TestExitZero: an ffmpeg that exits at once with status 0 is a crash
// too, logged as such (it used to be logged as "exited: %!w(<nil>)").
func TestExitZero(t *testing.T) {
	var logs syncbuf.Buffer
	tc, err := New(Config{FFmpeg: "true", RestartBackoff: 10 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, func(Packet) {})
	if err != nil {
		t.Fatalf("%v (true(1) is in coreutils)", err)
	}
	for start := time.Now(); tc.Stats().Crashes < 2 && time.Since(start) < 10*time.Second; {
		time.Sleep(5 * time.Millisecond)
	}
	tc.Close()
	if st := tc.Stats(); st.Crashes < 2 || !strings.Contains(logs.String(), "exit status 0") || strings.Contains(logs.String(), "%!") {
		t.Fatalf("stats %+v, log:\n%s", st, logs.String())
	}
}
