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
	// ErrNoFFmpeg: New or NewOpusToAAC found no ffmpeg binary (exec.LookPath failed). The
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
	// ErrTooLarge: an AAC access unit over MaxAccessUnit bytes, or an
	// Opus packet over MaxOpusPacket; dropped.
	ErrTooLarge = errors.New("transcode: access unit too large for its container (ADTS or an Ogg page)")
	// ErrBadPacket: an Opus packet (NewOpusToAAC) whose TOC gives no
	// duration: empty, a code 3 packet without frames, or over 120 ms
	// (RFC 6716 §3.1, §3.2.5); dropped.
	ErrBadPacket = errors.New("transcode: malformed Opus packet")
	// ErrClosed: Write or SetConfig after Close.
	ErrClosed = errors.New("transcode: closed")
)

// Defaults of Config's fields.
const (
	// DefaultBitrate is the Opus bitrate in bit/s: transparent enough for
	// speech and most music in stereo; raise it (96-128 kbit/s) for music
	// (SRS's users asked for that, SRS PR #3515).
	DefaultBitrate = 64000
	// DefaultAACBitrate is the AAC-LC bitrate in bit/s of NewOpusToAAC:
	// transparent for 48 kHz stereo with ffmpeg's encoder, which needs
	// more than the Opus it comes from to sound as good.
	DefaultAACBitrate = 128000
	// DefaultQueueLen is the queue between Write and ffmpeg, in access
	// units: about 1.4 s of 44.1 kHz AAC (1.3 s of 20 ms Opus), enough to ride out a restart's
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

// Config configures a Transcoder, of either direction. The zero value
// works: ffmpeg from PATH, Opus at 64 kbit/s, AAC at 128 kbit/s.
type Config struct {
	// FFmpeg is the ffmpeg binary: a path, or a name looked up in PATH.
	// Empty means "ffmpeg". New needs its libopus encoder (Debian's and
	// most builds have it); NewOpusToAAC its own Opus decoder and AAC
	// encoder, which every build has.
	FFmpeg string
	// Bitrate is the Opus bitrate in bit/s of New (libopus takes 6,000
	// to 510,000). Zero means DefaultBitrate (64 kbit/s).
	Bitrate int
	// AACBitrate is the AAC bitrate in bit/s of NewOpusToAAC (kept
	// within 16,000 to 512,000). Zero means DefaultAACBitrate
	// (128 kbit/s).
	AACBitrate int
	// QueueLen bounds the access units (or Opus packets) waiting for
	// ffmpeg. Zero means
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
	if c.AACBitrate <= 0 {
		c.AACBitrate = DefaultAACBitrate
	}
	c.AACBitrate = min(max(c.AACBitrate, 16000), 512000)
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

// Packet is one coded frame of the output. From New: an Opus packet
// (RFC 6716), 20 ms of 48 kHz stereo, ready to be one RTP payload (RFC
// 7587). From NewOpusToAAC: a raw AAC-LC access unit (ISO/IEC 14496-3),
// 1024 samples of 48 kHz stereo, ready to be the body of an FLV AAC raw
// frame after the sequence header that Config holds.
type Packet struct {
	// Data is the Opus packet or the raw AAC access unit (no ADTS
	// header). It is valid only during the call to the output function:
	// copy it to keep it.
	Data []byte
	// Timestamp is the time of the packet's first sample on the input's
	// timeline, in milliseconds: the timestamps given to Write, mapped
	// through the samples (see the package doc). The very first Opus
	// packet starts a few milliseconds before the first input (the
	// encoder's pre-skip, RFC 7845 §4.2); the value wraps like the
	// input's. AAC
	// frames that lie wholly before the first input (the encoder's
	// priming frame) are not delivered, so no AAC timestamp comes before
	// the input's.
	Timestamp uint32
	// Samples is the packet's duration in 48 kHz samples: 960 for a
	// 20 ms Opus packet, 1024 for an AAC frame.
	Samples int
	// Config is the AudioSpecificConfig of the AAC (ISO/IEC 14496-3
	// §1.6.2.1, 2 bytes: AAC-LC, 48 kHz, stereo), the body of the FLV AAC
	// sequence header to send before the frames; nil for Opus. It is the
	// same slice from packet to packet until the config changes (a new
	// ffmpeg could in principle pick another): compare it to the last to
	// know when to send a sequence header again. It may be kept.
	Config []byte
	// Delay is the wall-clock time from the Write of the access unit (or
	// Opus packet) that holds the packet's first sample to the packet's
	// delivery: what the transcoder adds to the audio's latency, the
	// frame included. Zero when unknown (the first Opus packet's
	// pre-skip samples).
	Delay time.Duration
}

// Stats are a Transcoder's counters since New or NewOpusToAAC.
type Stats struct {
	// Written counts the access units (or Opus packets) queued by
	// Write; Dropped those it refused because the queue was full
	// (ErrQueueFull), and Rejected those without a configuration, too
	// large or malformed (ErrNoConfig, ErrTooLarge, ErrBadPacket).
	Written, Dropped, Rejected int64
	// Packets counts the packets delivered to the output function.
	Packets int64
	// Starts counts the ffmpeg processes started; Crashes those that ended
	// while the Transcoder was open (exits, kills after a stall, broken
	// output). Config changes restart ffmpeg too, without a crash.
	Starts, Crashes int64
	// Resyncs counts the input discontinuities that started a new
	// segment of the output timeline.
	Resyncs int64
}

// Transcoder transcodes the audio of one stream with an ffmpeg child
// process: AAC to Opus (New), for the WebRTC viewers of an RTMP stream,
// or Opus to AAC (NewOpusToAAC), for the RTMP players of a WebRTC
// publisher. Make it, give it the stream's AudioSpecificConfig with
// SetConfig (AAC input only) and its access units or packets with Write,
// and Close it when the stream's last viewer of the other kind leaves.
// SetConfig and Write never block: they may be called from the
// publisher's goroutine, under its locks. The output goes to the output
// function given to New or NewOpusToAAC, on the Transcoder's own
// goroutine.
type Transcoder struct {
	cfg  Config
	path string
	dir  direction
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

// unit is an access unit or Opus packet on its way to ffmpeg.
type unit struct {
	data    []byte
	ms      uint32
	conf    *adtsConfig // AAC input's config; nil for Opus
	rate    int         // the input's sample rate in Hz
	samples int         // its duration at rate
	at      time.Time
}

// New looks up ffmpeg and starts a Transcoder from AAC to Opus, whose
// Opus packets go to out, called on one goroutine of the Transcoder's,
// in order, until Close returns; out must not call Close. ffmpeg starts
// at once, so that it is ready when the first access unit comes. New
// fails with ErrNoFFmpeg when cfg.FFmpeg is not found.
func New(cfg Config, out func(Packet)) (*Transcoder, error) {
	return start(cfg, aacToOpus{}, out)
}

// NewOpusToAAC looks up ffmpeg and starts a Transcoder from Opus to AAC:
// Write takes Opus packets (RFC 6716, as RTP carries them, RFC 7587:
// 48 kHz, mono or stereo, any frame size), and out gets raw AAC-LC
// access units of 48 kHz stereo with their AudioSpecificConfig
// (Packet.Config), for RTMP players that do not take Opus (Enhanced
// RTMP). out is called as for New; the Transcoder needs no SetConfig.
// It fails with ErrNoFFmpeg when cfg.FFmpeg is not found.
func NewOpusToAAC(cfg Config, out func(Packet)) (*Transcoder, error) {
	return start(cfg, opusToAAC{}, out)
}

// start is New and NewOpusToAAC for a direction.
func start(cfg Config, dir direction, out func(Packet)) (*Transcoder, error) {
	cfg = cfg.withDefaults()
	path, err := exec.LookPath(cfg.FFmpeg)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoFFmpeg, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &Transcoder{
		cfg: cfg, path: path, dir: dir, out: out, log: cfg.Logger,
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
// asc is not kept. A Transcoder from Opus (NewOpusToAAC) takes no
// config: it fails with ErrUnsupportedConfig.
func (t *Transcoder) SetConfig(asc []byte) error {
	if t.closed.Load() {
		return ErrClosed
	}
	if _, ok := t.dir.(opusToAAC); ok {
		return fmt.Errorf("%w: Opus input takes no AudioSpecificConfig", ErrUnsupportedConfig)
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

// Write queues one input unit with its timestamp in milliseconds on the
// stream's timeline (RTMP's, which wraps at 2^32). For New, that is a
// raw AAC access unit (an FLV AAC raw frame: no ADTS header); before any
// SetConfig it fails with ErrNoConfig, over MaxAccessUnit bytes with
// ErrTooLarge. For NewOpusToAAC, an Opus packet (an RTP payload); one
// whose TOC gives no duration fails with ErrBadPacket, over
// MaxOpusPacket bytes with ErrTooLarge. Write never blocks: when the
// queue is full the unit is dropped (ErrQueueFull), and counted. Write
// keeps au until ffmpeg has taken it: the caller must not modify it (the
// frames of a relay hub are immutable). It does not allocate.
func (t *Transcoder) Write(ms uint32, au []byte) error {
	if t.closed.Load() {
		return ErrClosed
	}
	u, err := t.dir.unit(t, au)
	if err != nil {
		t.rejected.Add(1)
		return err
	}
	u.data, u.ms, u.at = au, ms, time.Now()
	select {
	case t.q <- u:
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
