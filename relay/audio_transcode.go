package relay

import (
	"bytes"
	"errors"
	"time"

	"github.com/streamwire/streamwire/internal/logstr"
	"github.com/streamwire/streamwire/relay/transcode"
)

// errTranscodeOff is acquireTranscoder's answer under Config.NoTranscode.
var errTranscodeOff = errors.New("relay: audio transcoding is off (Config.NoTranscode)")

// audioTranscoder is one of a stream's two audio transcoders, shared by
// the subscribers that take its output instead of the stream's audio:
// AAC to Opus for WebRTC viewers, Opus to AAC for RTMP players that did
// not announce Enhanced RTMP Opus. The first such subscriber starts it,
// the last closes it. The stream's lock guards it.
type audioTranscoder struct {
	tc    *transcode.Transcoder
	to    Codec // what it makes: Opus or AAC
	users int   // subscribers whose takes is to
	// seq is the AAC sequence header of the last config the Opus to AAC
	// transcoder gave, queued for each user that comes after it; held in
	// the hub's budget while set.
	seq *Frame
	// conf is that config, read and written only by the transcoder's
	// output goroutine (and set before it starts).
	conf []byte
}

// from is the codec the transcoder takes.
func (o *audioTranscoder) from() Codec {
	if o.to == Opus {
		return AAC
	}
	return Opus
}

// slot returns the stream's slot of the transcoder to codec to.
func (s *stream) slot(to Codec) **audioTranscoder {
	if to == Opus {
		return &s.toOpus
	}
	return &s.toAAC
}

// acquireTranscoder makes sub one of the users of the stream's
// transcoder to codec to (Opus or AAC), starting it (and its ffmpeg) for
// the first: from now on sub's queue gets the transcoder's frames, and
// sub leaves out the stream's own audio of the other codec. It fails
// with errTranscodeOff, with transcode.ErrNoFFmpeg (wrapped), or with
// ErrClosed once the publisher has left.
func (sub *Subscriber) acquireTranscoder(to Codec) error {
	s := sub.s
	if s == nil {
		return errNoStream
	}
	cfg := &s.hub.cfg
	if cfg.NoTranscode {
		return errTranscodeOff
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	slot := s.slot(to)
	switch {
	case s.closed:
		return ErrClosed
	case sub.takes == to:
		return nil
	case *slot == nil:
		o := &audioTranscoder{to: to}
		tcfg := cfg.Transcode
		if tcfg.Logger == nil {
			tcfg.Logger = cfg.Logger.With(logstr.Attr("stream", s.name))
		}
		start := transcode.New
		if to == AAC {
			start = transcode.NewOpusToAAC
			// Its output's config is known: RTMP players get it in place
			// of the stream's Opus sequence header (rtmpSource.media).
			o.conf = transcode.AACConfig
		}
		tc, err := start(tcfg, func(p transcode.Packet) { s.writeTranscoded(o, p) })
		if err != nil {
			return err
		}
		o.tc = tc
		*slot = o
		if s.audioSeq != nil {
			s.feed(o, s.audioSeq)
		}
	}
	if seq := (*slot).seq; seq != nil {
		// The AAC config of the transcoder's output, which sub has not had.
		s.hub.hold(seq)
		if queued, _ := sub.push(seq); !queued {
			s.hub.release(seq)
		}
	}
	(*slot).users++
	sub.takes = to
	return nil
}

// releaseTranscoder undoes acquireTranscoder; the last user closes the
// transcoder, which kills its ffmpeg.
func (sub *Subscriber) releaseTranscoder() {
	s := sub.s
	if s == nil {
		return
	}
	s.mu.Lock()
	if sub.takes == CodecUnknown {
		s.mu.Unlock()
		return
	}
	slot := s.slot(sub.takes)
	sub.takes = CodecUnknown
	var o *audioTranscoder
	if *slot != nil {
		if (*slot).users--; (*slot).users == 0 {
			o, *slot = *slot, nil
			s.hub.release(o.seq)
			o.seq = nil
		}
	}
	s.mu.Unlock()
	o.close()
}

// close closes the transcoder, outside the stream's lock: its output
// function takes the lock, and Close waits for it. o may be nil.
func (o *audioTranscoder) close() {
	if o != nil {
		o.tc.Close()
	}
}

// feedTranscoders hands an audio frame to the stream's transcoders that
// take its codec. s.mu is held.
func (s *stream) feedTranscoders(f *Frame) {
	for _, o := range [...]*audioTranscoder{s.toOpus, s.toAAC} {
		if o != nil && f.Codec == o.from() {
			s.feed(o, f)
		}
	}
}

// feed hands an audio frame of o's input codec to o: an AAC
// AudioSpecificConfig or frame, an Opus packet (an OpusHead sequence
// header is not needed: each Opus packet's TOC says what it holds). s.mu
// is held. The transcoder keeps the frame's payload until ffmpeg has it,
// which is safe: frames are immutable. It never blocks; a full queue
// drops and counts (transcode.Stats).
func (s *stream) feed(o *audioTranscoder, f *Frame) {
	switch {
	case f.Codec != o.from() || len(f.Data) == 0:
	case !f.SequenceHeader:
		_ = o.tc.Write(f.DTS, f.Data)
	case o.to == Opus:
		if err := o.tc.SetConfig(f.Data); err != nil && s.warnOnce(warnAACConfig) {
			s.hub.cfg.Logger.Warn("relay: WebRTC viewers get video only: the stream's AAC cannot be transcoded",
				logstr.Attr("stream", s.name), "err", err)
		}
	}
}

// writeTranscoded queues a packet of transcoder o, as a unit of o's
// codec, for the subscribers that take it. It runs on o's goroutine.
func (s *stream) writeTranscoded(o *audioTranscoder, p transcode.Packet) {
	// The packet's arrival is that of the audio it was made from, so that
	// viewers' sender reports put it beside the video of the same instant
	// (see rtpTrack.write), the transcoder's delay taken out.
	arrival := time.Now().Add(-p.Delay)
	var seq *Frame
	if o.to == AAC && p.Config != nil && !bytes.Equal(o.conf, p.Config) {
		o.conf = bytes.Clone(p.Config)
		seq = newFrame(Unit{Type: Audio, Codec: AAC, SequenceHeader: true, DTS: p.Timestamp, Arrival: arrival,
			Data: bytes.Clone(p.Config)})
	}
	f := newFrame(Unit{Type: Audio, Codec: o.to, DTS: p.Timestamp, Arrival: arrival, Data: bytes.Clone(p.Data)})
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || *s.slot(o.to) != o {
		return // a late packet of a transcoder being closed
	}
	n := 0
	for _, sub := range s.subs {
		if sub.takes == o.to {
			n++
		}
	}
	if seq != nil {
		s.hub.release(o.seq)
		o.seq = seq
		s.hub.hold(seq)
		s.fanOutTo(seq, n, o.to)
	}
	s.fanOutTo(f, n, o.to)
}

// newFrame makes the frame of a unit the hub made itself.
func newFrame(u Unit) *Frame {
	u.RTPTime = rtpTimeOf(&u)
	return &Frame{Unit: u, size: frameSize(cap(u.Data))}
}

// closeTranscoders takes the stream's transcoders away when the publisher
// leaves; s.mu is held. The caller closes what it returns, after
// unlocking.
func (s *stream) closeTranscoders() [2]*audioTranscoder {
	o := [2]*audioTranscoder{s.toOpus, s.toAAC}
	for _, t := range o {
		if t != nil {
			s.hub.release(t.seq)
			t.seq = nil
		}
	}
	s.toOpus, s.toAAC = nil, nil
	return o
}

// TranscodeStats returns the counters of stream name's AAC to Opus
// transcoder (queue drops, ffmpeg starts and crashes, timestamp
// resyncs), and false when none runs: the stream has no WebRTC viewer
// that takes Opus of its AAC, or does not exist.
func (h *Hub) TranscodeStats(name string) (transcode.Stats, bool) {
	return h.transcodeStats(name, Opus)
}

// transcodeStats returns the counters of the stream's transcoder to
// codec to.
func (h *Hub) transcodeStats(name string, to Codec) (transcode.Stats, bool) {
	h.mu.Lock()
	s := h.streams[name]
	h.mu.Unlock()
	if s == nil {
		return transcode.Stats{}, false
	}
	s.mu.Lock()
	o := *s.slot(to)
	s.mu.Unlock()
	if o == nil {
		return transcode.Stats{}, false
	}
	return o.tc.Stats(), true
}
