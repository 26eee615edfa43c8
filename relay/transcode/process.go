package transcode

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streamwire/streamwire/internal/logstr"
)

// process is one ffmpeg child and our ends of its pipes.
type process struct {
	cmd                   *exec.Cmd
	stdin, stdout, stderr *os.File
	started               time.Time
	tl                    atomic.Pointer[timeline] // set by the writer before its first write
	ready                 atomic.Bool              // ffmpeg has written audio: it has started
	in                    atomic.Int64             // 48 kHz position of the end of the input it has taken
	out                   atomic.Int64             // 48 kHz position of the end of its output so far
	draining              atomic.Bool              // stdin was closed on purpose: EOF on stdout is expected
}

// errConfigChanged ends a process whose input's configuration changed.
var errConfigChanged = errors.New("transcode: AAC configuration changed")

// errOutputClosed: ffmpeg closed its stdout, which it does as it exits.
var errOutputClosed = errors.New("transcode: ffmpeg closed its output")

// maxOutputLag is how far ffmpeg's output may fall behind the input it
// has taken (written to its stdin, the pipe included) once it has
// started, in 48 kHz samples. It holds back about 100 ms, and no more
// than a pipe and a read buffer of input when it falls behind (a second
// or two of AAC at low bitrates): one that has taken 5 s more than it
// gave is stuck, and is killed and restarted. A lag, not a time, so that
// a publisher's pause is no stall; what waits in the queue or in a
// blocked write does not count, so that a slow ffmpeg is no stall either.
const maxOutputLag = 5 * 48000

// errStopped is what the reader and writer return when told to stop.
var errStopped = errors.New("transcode: stopped")

// supervise runs ffmpeg until Close, restarting it when it ends: at once
// after a config change, after a backoff after a crash.
func (t *Transcoder) supervise(ctx context.Context) {
	defer close(t.done)
	backoff := t.cfg.RestartBackoff
	var pending *unit // the access unit that ended the last process
	for ctx.Err() == nil {
		started := time.Now()
		err := t.run(ctx, &pending)
		if ctx.Err() != nil || errors.Is(err, errConfigChanged) {
			continue
		}
		t.crashes.Add(1)
		if time.Since(started) > time.Minute {
			backoff = t.cfg.RestartBackoff
		}
		t.log.Warn("transcode: ffmpeg ended, restarting it", "err", err, "backoff", backoff)
		if !sleep(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, t.cfg.MaxRestartBackoff)
	}
}

// sleep waits d, or until ctx is done (false).
func sleep(ctx context.Context, d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tm.C:
		return true
	}
}

// run starts one ffmpeg and feeds it until it ends, ctx is done or its
// input's config changes; then it kills it by its process id and waits,
// bounded, for it and for the goroutines that served it.
func (t *Transcoder) run(ctx context.Context, pending **unit) error {
	p, err := t.start()
	if err != nil {
		return err
	}
	t.starts.Add(1)
	t.proc.Store(p)
	defer t.proc.Store(nil)
	stop := make(chan struct{})
	errc := make(chan error, 2)
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); errc <- t.feed(stop, p, pending) }()
	go func() { defer wg.Done(); errc <- t.read(p) }()
	go func() { defer wg.Done(); t.logStderr(p.stderr) }()
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()

	var first error
	select {
	case <-ctx.Done():
	case first = <-errc:
	case werr := <-exited:
		first = exitError(errors.New("transcode: ffmpeg exited"), werr)
		exited <- werr
	}
	close(stop)
	if errors.Is(first, errConfigChanged) {
		t.drain(p, exited) // let ffmpeg flush what it holds of the old config
	}
	werr := t.stop(p, exited)
	if errors.Is(first, errOutputClosed) { // it exited: say how
		first = exitError(first, werr)
	}
	wg.Wait()
	p.stdout.Close()
	p.stderr.Close()
	return first
}

// exitError is err with how the process ended (cmd.Wait's error; nil for
// exit status 0).
func exitError(err, wait error) error {
	if wait == nil {
		return fmt.Errorf("%w: exit status 0", err)
	}
	return fmt.Errorf("%w: %w", err, wait)
}

// drain closes ffmpeg's stdin and waits, at most KillWait, for it to
// write out what it holds and exit.
func (t *Transcoder) drain(p *process, exited chan error) {
	p.draining.Store(true)
	p.stdin.Close()
	tm := time.NewTimer(t.cfg.KillWait)
	defer tm.Stop()
	select {
	case err := <-exited:
		exited <- err
	case <-tm.C:
	}
}

// stop kills ffmpeg by its process id, unblocks the pipes and waits for
// the process, at most KillWait. It returns how the process ended.
func (t *Transcoder) stop(p *process, exited chan error) error {
	_ = p.cmd.Process.Kill() // fails only when it has exited already
	p.stdin.Close()
	deadline := time.Now().Add(t.cfg.KillWait)
	// The reader and the stderr logger end at EOF once ffmpeg is gone;
	// the deadline ends them if a stray child still holds the pipes.
	_ = p.stdout.SetReadDeadline(deadline)
	_ = p.stderr.SetReadDeadline(deadline)
	tm := time.NewTimer(t.cfg.KillWait)
	defer tm.Stop()
	select {
	case err := <-exited:
		return err
	case <-tm.C:
		t.log.Error("transcode: killed ffmpeg was not reaped in time", "pid", p.cmd.Process.Pid, "wait", t.cfg.KillWait)
		return errors.New("transcode: ffmpeg not reaped")
	}
}

// start starts ffmpeg with pipes of our own, so that every read and write
// on them has a deadline.
func (t *Transcoder) start() (*process, error) {
	var files [6]*os.File // stdin r/w, stdout r/w, stderr r/w
	closeAll := func() {
		for _, f := range files {
			if f != nil {
				f.Close()
			}
		}
	}
	for i := 0; i < len(files); i += 2 {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("transcode: pipe: %w", err)
		}
		files[i], files[i+1] = r, w
	}
	shrinkPipe(files[1]) // stdin: the queue, not the pipe, holds the backlog
	cmd := exec.Command(t.path, t.dir.args(&t.cfg)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = files[0], files[3], files[5]
	err := cmd.Start()
	// The child has its own copies of its ends: without closing ours, its
	// exit would not end our reads with EOF.
	for _, i := range []int{0, 3, 5} {
		files[i].Close()
		files[i] = nil
	}
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("transcode: start ffmpeg: %w", err)
	}
	return &process{cmd: cmd, stdin: files[1], stdout: files[2], stderr: files[4], started: time.Now()}, nil
}

// feedBatch bounds the bytes written to ffmpeg in one write.
const feedBatch = 16 << 10

// feed writes the queued units to ffmpeg's stdin, framed for the
// direction, as many as are queued in one write, each write bounded by
// WriteTimeout. It records each one in the process's timeline. It
// returns errStopped when stop closes, errConfigChanged (keeping the
// unit in *pending) when the config changes, or the write's error.
func (t *Transcoder) feed(stop <-chan struct{}, p *process, pending **unit) error {
	buf := make([]byte, 0, feedBatch+t.dir.maxFramed())
	in := t.dir.newInput()
	var conf *adtsConfig
	var tl *timeline
	for {
		u, ok := t.next(stop, pending)
		if !ok {
			return errStopped
		}
		buf = buf[:0]
		var changed bool
		for {
			if tl == nil {
				conf, tl = u.conf, newTimeline(u.rate, t.cfg.ResyncThreshold)
				p.tl.Store(tl)
			} else if !sameConfig(u.conf, conf) {
				held := u
				*pending, changed = &held, true
				break
			}
			if tl.add(u.ms, u.samples, u.at) {
				t.resyncs.Add(1)
			}
			buf = in.appendUnit(buf, &u)
			if len(buf) >= feedBatch || !t.poll(&u) {
				break
			}
		}
		if err := t.checkOutput(p); err != nil {
			return err
		}
		if err := t.write(p, buf); err != nil {
			return err
		}
		p.in.Store(tl.written())
		if changed {
			return errConfigChanged
		}
	}
}

// sameConfig reports whether two AAC configs are the same (both nil for
// Opus input).
func sameConfig(a, b *adtsConfig) bool { return a == b || a != nil && b != nil && *a == *b }

// checkOutput tells a stuck ffmpeg that takes its input but gives no
// output: before its first output, by StartTimeout since its start;
// after, by the audio it has taken and not given out.
func (t *Transcoder) checkOutput(p *process) error {
	if !p.ready.Load() {
		if d := time.Since(p.started); d > t.cfg.StartTimeout {
			return fmt.Errorf("transcode: ffmpeg gave no output within %v of its start", t.cfg.StartTimeout)
		}
		return nil
	}
	if lag := p.in.Load() - p.out.Load(); lag > maxOutputLag {
		return fmt.Errorf("transcode: ffmpeg took %d ms of audio more than it gave out", lag/48)
	}
	return nil
}

// next returns the access unit left by the last process, or the next
// queued one, waiting for it; false when stop closes.
func (t *Transcoder) next(stop <-chan struct{}, pending **unit) (unit, bool) {
	if u := *pending; u != nil {
		*pending = nil
		return *u, true
	}
	select {
	case u := <-t.q:
		return u, true
	case <-stop:
		return unit{}, false
	}
}

// poll takes the next queued access unit if there is one.
func (t *Transcoder) poll(u *unit) bool {
	select {
	case *u = <-t.q:
		return true
	default:
		return false
	}
}

// write writes b to ffmpeg's stdin within WriteTimeout, or, until
// ffmpeg has written its first audio, within StartTimeout of its start.
func (t *Transcoder) write(p *process, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	limit, deadline := t.cfg.WriteTimeout, time.Now().Add(t.cfg.WriteTimeout)
	if !p.ready.Load() {
		limit = max(t.cfg.StartTimeout, t.cfg.WriteTimeout)
		deadline = p.started.Add(limit)
	}
	if err := p.stdin.SetWriteDeadline(deadline); err != nil {
		return fmt.Errorf("transcode: ffmpeg stdin: %w", err)
	}
	if _, err := p.stdin.Write(b); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("transcode: ffmpeg took no input within %v: %w", limit, err)
		}
		return fmt.Errorf("transcode: write to ffmpeg: %w", err)
	}
	return nil
}

// read reads ffmpeg's output and hands each frame to the output
// function with its timestamp; frames wholly before the first input (the
// AAC encoder's priming) advance the output's position but are not
// delivered. It returns at the
// end of the output (an error unless the process was being drained) or
// at a malformed frame.
func (t *Transcoder) read(p *process) error {
	o := t.dir.newOutput(bufio.NewReaderSize(p.stdout, 8<<10))
	for {
		f, err := o.next()
		switch {
		case err == io.EOF && p.draining.Load():
			return nil
		case err == io.EOF:
			return errOutputClosed
		case errors.Is(err, os.ErrDeadlineExceeded):
			return errStopped
		case err != nil:
			return fmt.Errorf("transcode: ffmpeg output: %w", err)
		}
		tl := p.tl.Load()
		if tl == nil {
			return errors.New("transcode: ffmpeg wrote audio before it got any")
		}
		p.ready.Store(true)
		p.out.Store(f.end)
		if f.end <= 0 {
			continue
		}
		ms, at := tl.lookup(f.start)
		var d time.Duration
		if !at.IsZero() {
			d = time.Since(at)
		}
		t.packets.Add(1)
		t.out(Packet{Data: f.data, Timestamp: ms, Samples: f.samples, Delay: d, Config: f.config})
	}
}

// maxStderrLines bounds the lines of ffmpeg's stderr logged per process:
// with -loglevel error it writes only errors, but a broken input can make
// it write one per frame.
const maxStderrLines = 20

// logStderr logs ffmpeg's stderr, each line bounded to 256 bytes and at
// most maxStderrLines per process, and reads the rest without logging it
// so that ffmpeg never blocks on a full pipe.
func (t *Transcoder) logStderr(f *os.File) {
	r := bufio.NewReaderSize(f, 512)
	for n := 0; ; {
		line, err := r.ReadSlice('\n')
		if line = bytes.TrimSpace(line); len(line) > 0 {
			switch {
			case n < maxStderrLines:
				t.log.Warn("transcode: ffmpeg", "stderr", logstr.BoundN(string(line), 256))
			case n == maxStderrLines:
				t.log.Warn("transcode: ffmpeg: more stderr lines, not logged")
			}
			n++
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}
