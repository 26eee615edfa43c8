package relay

import (
	"bytes"
	"errors"
	"time"

	"github.com/streamwire/streamwire/internal/logstr"
	"github.com/streamwire/streamwire/relay/transcode"
)

// errTranscodeOff is acquireOpus's answer under Config.NoTranscode.
var errTranscodeOff = errors.New("relay: AAC to Opus transcoding is off (Config.NoTranscode)")

// aacOpus is a stream's AAC to Opus transcoder, shared by the WebRTC
// viewers that take Opus: the first starts it, the last closes it. The
// stream's lock guards it.
type aacOpus struct {
	tc    *transcode.Transcoder
	users int // subscribers with opus set
}

// acquireOpus makes sub one of the stream's transcoder's users, starting
// the transcoder (and its ffmpeg) for the first: from now on sub's queue
// gets the transcoder's Opus frames. It fails with errTranscodeOff, with
// transcode.ErrNoFFmpeg (wrapped), or with ErrClosed once the publisher
// has left.
func (sub *Subscriber) acquireOpus() error {
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
	switch {
	case s.closed:
		return ErrClosed
	case sub.opus:
		return nil
	case s.opus == nil:
		o := &aacOpus{}
		tcfg := cfg.Transcode
		if tcfg.Logger == nil {
			tcfg.Logger = cfg.Logger.With(logstr.Attr("stream", s.name))
		}
		tc, err := transcode.New(tcfg, func(p transcode.Packet) { s.writeOpus(o, p) })
		if err != nil {
			return err
		}
		o.tc = tc
		s.opus = o
		if s.audioSeq != nil {
			s.feedOpus(s.audioSeq)
		}
	}
	s.opus.users++
	sub.opus = true
	return nil
}

// releaseOpus undoes acquireOpus; the last user closes the transcoder,
// which kills its ffmpeg.
func (sub *Subscriber) releaseOpus() {
	s := sub.s
	if s == nil {
		return
	}
	s.mu.Lock()
	if !sub.opus {
		s.mu.Unlock()
		return
	}
	sub.opus = false
	var o *aacOpus
	if s.opus != nil {
		if s.opus.users--; s.opus.users == 0 {
			o, s.opus = s.opus, nil
		}
	}
	s.mu.Unlock()
	o.close()
}

// close closes the transcoder, outside the stream's lock: its output
// function takes the lock, and Close waits for it. o may be nil.
func (o *aacOpus) close() {
	if o != nil {
		o.tc.Close()
	}
}

// feedOpus hands an audio frame to the stream's transcoder: the
// AudioSpecificConfig of an AAC sequence header, or an AAC frame. s.mu is
// held, and s.opus is set. The transcoder keeps the frame's payload until
// ffmpeg has it, which is safe: frames are immutable. It never blocks; a
// full queue drops and counts (transcode.Stats).
func (s *stream) feedOpus(f *Frame) {
	switch {
	case f.Codec != AAC || len(f.Data) == 0:
	case !f.SequenceHeader:
		_ = s.opus.tc.Write(f.DTS, f.Data)
	default:
		if err := s.opus.tc.SetConfig(f.Data); err != nil && s.warnOnce(warnAACConfig) {
			s.hub.cfg.Logger.Warn("relay: WebRTC viewers get video only: the stream's AAC cannot be transcoded",
				logstr.Attr("stream", s.name), "err", err)
		}
	}
}

// writeOpus queues an Opus packet of transcoder o, as an Opus unit, for
// the WebRTC viewers that take it. It runs on o's goroutine.
func (s *stream) writeOpus(o *aacOpus, p transcode.Packet) {
	// The packet's arrival is that of the AAC it was made from, so that
	// viewers' sender reports put it beside the video of the same instant
	// (see rtpTrack.write), the transcoder's delay taken out.
	u := Unit{Type: Audio, Codec: Opus, DTS: p.Timestamp, Arrival: time.Now().Add(-p.Delay), Data: bytes.Clone(p.Data)}
	u.RTPTime = rtpTimeOf(&u)
	f := &Frame{Unit: u, size: frameSize(cap(u.Data))}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.opus != o {
		return // a late packet of a transcoder being closed
	}
	n := 0
	for _, sub := range s.subs {
		if sub.opus {
			n++
		}
	}
	s.fanOutTo(f, n, true)
}

// closeOpus takes the stream's transcoder away when the publisher leaves;
// s.mu is held. The caller closes what it returns, after unlocking.
func (s *stream) closeOpus() *aacOpus {
	o := s.opus
	s.opus = nil
	return o
}

// TranscodeStats returns the counters of stream name's AAC to Opus
// transcoder (queue drops, ffmpeg starts and crashes, timestamp
// resyncs), and false when none runs: the stream has no WebRTC viewer
// that takes Opus of its AAC, or does not exist.
func (h *Hub) TranscodeStats(name string) (transcode.Stats, bool) {
	h.mu.Lock()
	s := h.streams[name]
	h.mu.Unlock()
	if s == nil {
		return transcode.Stats{}, false
	}
	s.mu.Lock()
	o := s.opus
	s.mu.Unlock()
	if o == nil {
		return transcode.Stats{}, false
	}
	return o.tc.Stats(), true
}
