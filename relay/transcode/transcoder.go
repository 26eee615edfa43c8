package transcode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"
)

// Errors of the package; test with errors.Is.
var (
	// ErrNoFFmpeg: New found no ffmpeg binary (exec.LookPath failed). The
	// caller should say so once per stream and go on without audio.
	ErrNoFFmpeg = errors.New("transcode: no ffmpeg binary on PATH (install ffmpeg with libopus, e.g. apt-get install ffmpeg)")
	// ErrUnsupportedConfig: an AudioSpecificConfig that ADTS cannot carry
	// (see Transcoder.SetConfig) or that does not parse.
	ErrUnsupportedConfig = errors.New("transcode: unsupported AAC configuration")
	// ErrNoConfig: Write before any SetConfig; the access unit is dropped.
	ErrNoConfig = errors.New("transcode: no AAC configuration yet")
	// ErrQueueFull: Write found the queue to ffmpeg full (ffmpeg is slow,
	// stalled or restarting); the access unit is dropped and counted.
	ErrQueueFull = errors.New("transcode: queue to ffmpeg full, access unit dropped")
	// ErrTooLarge: an access unit over MaxAccessUnit bytes; dropped.
	ErrTooLarge = errors.New("transcode: AAC access unit too large for ADTS")
	// ErrClosed: Write or SetConfig after Close.
	ErrClosed = errors.New("transcode: closed")
)

// Defaults of Config's fields.
const (
	// DefaultBitrate is the Opus bitrate in bit/s: transparent enough for
	// speech and most music in stereo; raise it (96-128 kbit/s) for music
	// (SRS's users asked for that, SRS PR #3515).
	DefaultBitrate = 64000
	// DefaultQueueLen is the queue between Write and ffmpeg, in access
	// units: about 1.4 s of 44.1 kHz AAC, enough to ride out a restart's
	// first moments without holding more than a few tens of KiB.
	DefaultQueueLen = 64
	// DefaultResyncThreshold is how far an access unit's timestamp may be
	// from the one its predecessors' samples predict before it starts a
	// new segment of the output timeline: well above the rounding of
	// millisecond timestamps (at most 1 ms) and the jitter of encoders
	// that stamp audio by the wall clock, and half of the 80 ms that
	// audio may lag or lead video.
	DefaultResyncThreshold = 40 * time.Millisecond
	// DefaultWriteTimeout bounds each write to ffmpeg's stdin once ffmpeg
	// has started: ffmpeg that takes no input for that long is stuck, and
	// is killed and restarted.
	DefaultWriteTimeout = 2 * time.Second
	// DefaultStartTimeout bounds the writes to ffmpeg's stdin before its
	// first output: loading ffmpeg's libraries takes about half a second
	// on an idle machine, several on a loaded one, and the pipe fills
	// meanwhile.
	DefaultStartTimeout = 10 * time.Second
	// DefaultKillWait bounds the wait for a killed ffmpeg to be reaped.
	DefaultKillWait = 2 * time.Second
	// DefaultRestartBackoff is the wait before restarting a crashed ffmpeg;
	// it doubles with each crash up to DefaultMaxRestartBackoff, and
	// starts over once a process has run for a minute.
	DefaultRestartBackoff = 250 * time.Millisecond
	// DefaultMaxRestartBackoff caps the wait between restarts.
	DefaultMaxRestartBackoff = 10 * time.Second
)

// Config configures a Transcoder. The zero value works: ffmpeg from PATH,
// 64 kbit/s.
type Config struct {
	// FFmpeg is the ffmpeg binary: a path, or a name looked up in PATH.
	// Empty means "ffmpeg". It needs the libopus encoder (Debian's and
	// most builds have it).
	FFmpeg string
	// Bitrate is the Opus bitrate in bit/s (libopus takes 6,000 to
	// 510,000). Zero means DefaultBitrate (64 kbit/s).
	Bitrate int
	// QueueLen bounds the access units waiting for ffmpeg. Zero means
	// DefaultQueueLen (64).
	QueueLen int
	// ResyncThreshold is the timestamp discontinuity that starts a new
	// segment of the output timeline (see the package doc). Zero means
	// DefaultResyncThreshold (40 ms).
	ResyncThreshold time.Duration
	// WriteTimeout bounds each write to ffmpeg's stdin once ffmpeg has
	// written its first output. Zero means DefaultWriteTimeout (2 s).
	WriteTimeout time.Duration
	// StartTimeout bounds the writes to ffmpeg's stdin before that, from
	// its start. Zero means DefaultStartTimeout (10 s).
	StartTimeout time.Duration
	// KillWait bounds the wait for a killed ffmpeg to exit. Zero means
	// DefaultKillWait (2 s).
	KillWait time.Duration
	// RestartBackoff is the first wait before restarting a crashed ffmpeg.
	// Zero means DefaultRestartBackoff (250 ms).
	RestartBackoff time.Duration
	// MaxRestartBackoff caps the wait between restarts. Zero means
	// DefaultMaxRestartBackoff (10 s).
	MaxRestartBackoff time.Duration
	// Logger receives ffmpeg's exits and its stderr (bounded). Nil means
	// none.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	set := func(p *time.Duration, d time.Duration) {
		if *p <= 0 {
			*p = d
		}
	}
	if c.FFmpeg == "" {
		c.FFmpeg = "ffmpeg"
	}
	if c.Bitrate <= 0 {
		c.Bitrate = DefaultBitrate
	}
	c.Bitrate = min(max(c.Bitrate, 6000), 510000)
	if c.QueueLen <= 0 {
		c.QueueLen = DefaultQueueLen
	}
	set(&c.ResyncThreshold, DefaultResyncThreshold)
	set(&c.WriteTimeout, DefaultWriteTimeout)
	set(&c.StartTimeout, DefaultStartTimeout)
	set(&c.KillWait, DefaultKillWait)
	set(&c.RestartBackoff, DefaultRestartBackoff)
	set(&c.MaxRestartBackoff, DefaultMaxRestartBackoff)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Packet is one Opus packet (RFC 6716) of the output: 20 ms of 48 kHz
// stereo, ready to be one RTP payload (RFC 7587).
type Packet struct {
	// Data is the Opus packet. It is valid only during the call to the
	// output function: copy it to keep it.
	Data []byte
	// Timestamp is the time of the packet's first sample on the input's
	// timeline, in milliseconds: the timestamps given to Write, mapped
	// through the samples (see the package doc). The very first packet
	// starts a few milliseconds before the first input (the encoder's
	// pre-skip, RFC 7845 §4.2); the value wraps like the input's.
	Timestamp uint32
	// Samples is the packet's duration in 48 kHz samples (960 for 20 ms).
	Samples int
	// Delay is the wall-clock time from the Write of the access unit that
	// holds the packet's first sample to the packet's delivery: what the
	// transcoder adds to the audio's latency, the 20 ms frame included.
	// Zero when unknown (the first packet's pre-skip samples).
	Delay time.Duration
}

// Stats are a Transcoder's counters since New.
type Stats struct {
	// Written counts the access units queued by Write; Dropped those it
	// refused because the queue was full (ErrQueueFull), and Rejected
	// those without a configuration or too large (ErrNoConfig,
	// ErrTooLarge).
	Written, Dropped, Rejected int64
	// Packets counts the Opus packets delivered.
	Packets int64
	// Starts counts the ffmpeg processes started; Crashes those that ended
	// while the Transcoder was open (exits, kills after a stall, broken
	// output). Config changes restart ffmpeg too, without a crash.
	Starts, Crashes int64
	// Resyncs counts the input discontinuities that started a new
	// segment of the output timeline.
	Resyncs int64
}

// Transcoder turns the AAC of one stream into Opus with an ffmpeg child
// process. Make it with New, give it the stream's AudioSpecificConfig
// with SetConfig and its access units with Write, and Close it when the
// stream's last WebRTC viewer leaves. SetConfig and Write never block:
// they may be called from the publisher's goroutine, under its locks.
// Opus packets go to the output function given to New, on the
// Transcoder's own goroutine.
type Transcoder struct {
	cfg  Config
	path string
	out  func(Packet)
	log  *slog.Logger

	conf   atomic.Pointer[adtsConfig]
	proc   atomic.Pointer[process] // the running ffmpeg, nil between processes
	q      chan unit
	closed atomic.Bool
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	written, dropped, rejected, packets atomic.Int64
	starts, crashes, resyncs            atomic.Int64
}

// unit is an access unit on its way to ffmpeg.
type unit struct {
	data []byte
	ms   uint32
	conf *adtsConfig
	at   time.Time
}

// New looks up ffmpeg and starts a Transcoder whose Opus packets go to
// out, called on one goroutine of the Transcoder's, in order, until Close
// returns; out must not call Close. ffmpeg starts at once, so that it is
// ready when the first access unit comes. New fails with ErrNoFFmpeg when
// cfg.FFmpeg is not found.
func New(cfg Config, out func(Packet)) (*Transcoder, error) {
	cfg = cfg.withDefaults()
	path, err := exec.LookPath(cfg.FFmpeg)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoFFmpeg, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &Transcoder{
		cfg: cfg, path: path, out: out, log: cfg.Logger,
		q: make(chan unit, cfg.QueueLen), cancel: cancel, done: make(chan struct{}),
	}
	go t.supervise(ctx)
	return t, nil
}

// SetConfig sets the stream's AudioSpecificConfig (ISO/IEC 14496-3
// §1.6.2.1: the body of an FLV AAC sequence header), which the access
// units written after it use. ADTS carries AAC Main, LC, SSR and LTP,
// and HE-AAC v1 and v2 as their AAC-LC core; an explicit sampling rate,
// a program config element (channel configuration 0) or 960-sample
// frames fail with ErrUnsupportedConfig, and the access units after it
// are rejected until a supported config comes. A config that differs
// from the last restarts ffmpeg when its first access unit gets there.
// asc is not kept.
func (t *Transcoder) SetConfig(asc []byte) error {
	if t.closed.Load() {
		return ErrClosed
	}
	c, err := parseADTSConfig(asc)
	if err != nil {
		t.conf.Store(nil)
		return err
	}
	if old := t.conf.Load(); old == nil || *old != c {
		t.conf.Store(&c)
	}
	return nil
}

// Write queues one raw AAC access unit (an FLV AAC raw frame: no ADTS
// header) with its timestamp in milliseconds on the stream's timeline
// (RTMP's, which wraps at 2^32). It never blocks: when the queue is full
// the access unit is dropped (ErrQueueFull), and counted. Write keeps au
// until ffmpeg has taken it: the caller must not modify it (the frames
// of a relay hub are immutable). It does not allocate.
func (t *Transcoder) Write(ms uint32, au []byte) error {
	c := t.conf.Load()
	switch {
	case t.closed.Load():
		return ErrClosed
	case c == nil:
		t.rejected.Add(1)
		return ErrNoConfig
	case len(au) > MaxAccessUnit:
		t.rejected.Add(1)
		return ErrTooLarge
	}
	select {
	case t.q <- unit{data: au, ms: ms, conf: c, at: time.Now()}:
		t.written.Add(1)
		return nil
	default:
		t.dropped.Add(1)
		return ErrQueueFull
	}
}

// Close kills ffmpeg (by its process id), waits for it to be reaped (at
// most Config.KillWait) and for the Transcoder's goroutines to end, and
// drops the queued access units. No output comes after Close returns.
// It is idempotent and returns nil.
func (t *Transcoder) Close() error {
	t.once.Do(func() {
		t.closed.Store(true)
		t.cancel()
		<-t.done
		for len(t.q) > 0 { // let the access units go
			<-t.q
		}
	})
	return nil
}

// PID returns the process id of the running ffmpeg, or 0 between
// processes (before the first starts, while a crashed one waits to be
// restarted, after Close).
func (t *Transcoder) PID() int {
	if p := t.proc.Load(); p != nil {
		return p.cmd.Process.Pid
	}
	return 0
}

// Stats returns the counters; safe to call at any time.
func (t *Transcoder) Stats() Stats {
	return Stats{
		Written: t.written.Load(), Dropped: t.dropped.Load(), Rejected: t.rejected.Load(),
		Packets: t.packets.Load(), Starts: t.starts.Load(), Crashes: t.crashes.Load(), Resyncs: t.resyncs.Load(),
	}
}
