package transcode

import (
	"io"
	"strconv"
)

// direction is what differs between the two ways a Transcoder goes:
// ffmpeg's arguments, what Write takes, how the input is framed on
// ffmpeg's stdin, and how its output is read. The process supervision
// (queue, deadlines, restarts, kill, stats) is the same for both.
type direction interface {
	// args are ffmpeg's arguments.
	args(cfg *Config) []string
	// unit checks one input unit for Write and gives its duration and
	// the configuration it goes with; the error is a sentinel of the
	// package, counted as a rejection.
	unit(t *Transcoder, au []byte) (unit, error)
	// newInput frames the input of one new process.
	newInput() inputFramer
	// newOutput reads the output of one process.
	newOutput(r io.Reader) outputReader
	// maxFramed bounds the bytes of one framed input unit.
	maxFramed() int
}

// inputFramer frames input units for one ffmpeg's stdin.
type inputFramer interface {
	// appendUnit appends u framed, preceded by the stream's headers if it
	// is the first.
	appendUnit(dst []byte, u *unit) []byte
}

// outputReader reads one ffmpeg's output, a frame at a time.
type outputReader interface {
	// next returns the next frame, whose data is valid until the next
	// call; io.EOF at the end of the output, another error for a
	// malformed one.
	next() (frame, error)
}

// frame is one coded frame of ffmpeg's output with its place on the
// process's input: positions are 48 kHz samples from the first sample
// of the first input unit written to the process.
type frame struct {
	data       []byte
	start, end int64  // positions of the first sample and of the end; start < 0 for the encoder's priming
	samples    int    // duration in samples at the output's rate (Packet.Samples)
	config     []byte // the output's decoder configuration, nil for Opus
}

// aacToOpus is the direction of New: AAC access units in, framed as
// ADTS; Ogg Opus out.
type aacToOpus struct{}

// args: ADTS from stdin, without the probing that would hold the first
// frames back; Opus at 48 kHz stereo in 20 ms frames with libopus's
// low-delay (CELT) mode, whose pre-skip is 2.5 ms; Ogg with one packet
// per page, flushed as each packet is written, on stdout.
func (aacToOpus) args(cfg *Config) []string {
	return []string{
		"-hide_banner", "-nostdin", "-loglevel", "error",
		"-probesize", "32", "-analyzeduration", "0",
		"-f", "aac", "-i", "pipe:0",
		"-map", "0:a:0", "-c:a", "libopus", "-b:a", strconv.Itoa(cfg.Bitrate),
		"-ar", "48000", "-ac", "2", "-frame_duration", "20", "-application", "lowdelay", "-threads", "1",
		"-flush_packets", "1", "-page_duration", "20000", "-f", "opus", "pipe:1",
	}
}

func (aacToOpus) unit(t *Transcoder, au []byte) (unit, error) {
	c := t.conf.Load()
	switch {
	case c == nil:
		return unit{}, ErrNoConfig
	case len(au) > MaxAccessUnit:
		return unit{}, ErrTooLarge
	}
	return unit{conf: c, rate: c.rate, samples: frameSamples}, nil
}

func (aacToOpus) newInput() inputFramer { return adtsFramer{} }

func (aacToOpus) newOutput(r io.Reader) outputReader {
	return &opusOutput{r: newOggOpusReader(r)}
}

func (aacToOpus) maxFramed() int { return adtsHeaderLen + MaxAccessUnit }

// adtsFramer gives each access unit the ADTS header of its config.
type adtsFramer struct{}

func (adtsFramer) appendUnit(dst []byte, u *unit) []byte {
	return append(appendADTS(dst, u.conf, len(u.data)), u.data...)
}

// opusOutput reads ffmpeg's Ogg Opus: the packets' positions are the
// reader's less the encoder's pre-skip (RFC 7845 §4.2).
type opusOutput struct{ r *oggOpusReader }

func (o *opusOutput) next() (frame, error) {
	p, err := o.r.nextPacket()
	if err != nil {
		return frame{}, err
	}
	start := p.start - int64(o.r.head.preSkip)
	return frame{data: p.data, start: start, end: start + int64(p.samples), samples: p.samples}, nil
}

// AACConfig is the AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1) of
// what NewOpusToAAC makes: AAC-LC (object type 2), 48 kHz (sampling
// index 3), two channels. Every Packet.Config of its output equals it,
// so a relay can send it as the FLV AAC sequence header before the first
// packet comes (an RTMP player that probes a stream sees the audio at
// once, not after ffmpeg has started). Do not modify it.
var AACConfig = []byte{0x11, 0x90}

// opusToAAC is the direction of NewOpusToAAC: Opus packets in, framed as
// Ogg Opus; ADTS out.
type opusToAAC struct{}

// args: Ogg Opus from stdin, without probing; ffmpeg's own AAC-LC
// encoder at 48 kHz stereo (the Opus rate: no resampling, and OBS's
// default, which every RTMP player plays); ADTS on stdout, flushed
// frame by frame.
func (opusToAAC) args(cfg *Config) []string {
	return []string{
		"-hide_banner", "-nostdin", "-loglevel", "error",
		"-probesize", "32", "-analyzeduration", "0",
		"-f", "ogg", "-i", "pipe:0",
		"-map", "0:a:0", "-c:a", "aac", "-b:a", strconv.Itoa(cfg.AACBitrate),
		"-ar", "48000", "-ac", "2", "-threads", "1",
		"-flush_packets", "1", "-f", "adts", "pipe:1",
	}
}

func (opusToAAC) unit(_ *Transcoder, pkt []byte) (unit, error) {
	if len(pkt) > MaxOpusPacket {
		return unit{}, ErrTooLarge
	}
	n, err := opusSamples(pkt)
	if err != nil {
		return unit{}, ErrBadPacket
	}
	return unit{rate: 48000, samples: n}, nil
}

func (opusToAAC) newInput() inputFramer { return &oggFramer{} }

func (opusToAAC) newOutput(r io.Reader) outputReader {
	return &aacOutput{r: newADTSReader(r)}
}

func (opusToAAC) maxFramed() int { return 2*(oggHeaderLen+1+255) + oggPageMax }

// oggFramer puts the Opus headers first and each packet on a page.
type oggFramer struct {
	w       oggOpusWriter
	started bool
}

func (f *oggFramer) appendUnit(dst []byte, u *unit) []byte {
	if !f.started {
		f.started = true
		dst = f.w.appendHeaders(dst)
	}
	return f.w.appendPacket(dst, u.data, u.samples)
}

// aacPriming is the encoder delay of ffmpeg's AAC encoder, in samples:
// its first frame holds 1024 samples of priming before the input's first
// (libavcodec/aacenc.c sets initial_padding to 1024), which ADTS has no
// way to say.
const aacPriming = 1024

// aacOutput reads ffmpeg's ADTS: each frame's position is the samples of
// the frames before it less the priming, at 48 kHz.
type aacOutput struct {
	r   *adtsReader
	pos int64 // samples of the frames before, at the stream's rate
}

func (o *aacOutput) next() (frame, error) {
	au, h, err := o.r.nextFrame()
	if err != nil {
		return frame{}, err
	}
	p := o.pos - aacPriming
	o.pos += frameSamples
	rate := int64(h.rate)
	start, end := floorDiv(p*48000, rate), floorDiv((p+frameSamples)*48000, rate)
	return frame{data: au, start: start, end: end, samples: frameSamples, config: o.r.asc}, nil
}
