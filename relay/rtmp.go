package relay

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/streamwire/streamwire/internal/logstr"
	"github.com/streamwire/streamwire/relay/transcode"
	"github.com/streamwire/streamwire/rtmp"
	"github.com/streamwire/streamwire/rtmp/flv"
)

// RTMPChunks returns the frame's RTMP chunk encoding (its FLVTag as an
// RTMP message of the frame's type at its DTS, see rtmp.AppendSharedChunks),
// computed on first use, once per frame for all players. The slice is
// shared and must not be modified.
func (f *Frame) RTMPChunks() []byte {
	return *memo(&f.chunks, func() []byte {
		return rtmp.AppendSharedChunks(nil, rtmp.MessageType(f.Type), f.DTS, f.FLVTag())
	})
}

// RTMPHandler connects an rtmp.Server to a Hub: publishers feed streams
// named "app/name", players subscribe to them. The zero RTMPHandler works:
// it relays through a Hub of its own. Use it through a pointer, not a copy.
type RTMPHandler struct {
	// Hub holds the streams. Nil means a Hub of the handler's own, made on
	// first use with the zero Config.
	Hub *Hub
	// Authorize, if set, is called for every publish (publish true) and
	// play; a non-nil error rejects the request. Wrap rtmp.ErrUnauthorized
	// to answer NetStream.*.Unauthorized (for example when the "key"
	// query parameter is wrong).
	Authorize func(ctx context.Context, req *rtmp.StreamRequest, publish bool) error
	// MaxBatch is how many frames a player takes per write, at most (a
	// write also stops at 1 MiB of frames). Default 64.
	MaxBatch int

	ownOnce sync.Once
	own     *Hub
}

// hub is Hub, or the handler's own Hub when Hub is nil.
func (h *RTMPHandler) hub() *Hub {
	if h.Hub != nil {
		return h.Hub
	}
	h.ownOnce.Do(func() { h.own = &Hub{} })
	return h.own
}

// Publish implements rtmp.Handler.
func (h *RTMPHandler) Publish(ctx context.Context, req *rtmp.StreamRequest) (rtmp.MediaSink, error) {
	if h.Authorize != nil {
		if err := h.Authorize(ctx, req, true); err != nil {
			return nil, err
		}
	}
	p, err := h.hub().Publish(req.Path())
	switch {
	case errors.Is(err, ErrStreamBusy), errors.Is(err, ErrBadName):
		return nil, fmt.Errorf("%w: %v", rtmp.ErrBadName, err)
	case err != nil:
		return nil, err
	}
	return &rtmpSink{p: p}, nil
}

// Play implements rtmp.Handler.
func (h *RTMPHandler) Play(ctx context.Context, req *rtmp.StreamRequest) (rtmp.MediaSource, error) {
	if h.Authorize != nil {
		if err := h.Authorize(ctx, req, false); err != nil {
			return nil, err
		}
	}
	sub, err := h.hub().Subscribe(req.Path())
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrBadName):
		return nil, fmt.Errorf("%w: %v", rtmp.ErrStreamNotFound, err)
	case err != nil:
		return nil, err
	}
	max := h.MaxBatch
	if max <= 0 {
		max = 64
	}
	src := &rtmpSource{sub: sub, max: max, vp8: req.AcceptsFourCC(flv.FourCCVP8.String()), opus: req.AcceptsFourCC(flv.FourCCOpus.String())}
	if !src.vp8 && sub.VideoCodec() == VP8 {
		sub.Close()
		return nil, errVP8Player
	}
	if !src.opus && sub.audioCodec() == Opus {
		src.joinAAC(src.tryAAC()) // now, rather than at its first Opus frame
	}
	src.frames = src.framesArr[:0]
	return src, nil
}

// errVP8Player refuses an RTMP player of a VP8 stream (a browser's WHIP)
// that did not announce Enhanced RTMP vp08: players without it (ffmpeg
// 5.1 and most others) misread the tags as another codec and show
// nothing, without an error.
var errVP8Player = &rtmp.StatusError{Code: rtmp.CodePlayFailed,
	Description: "The stream's video is VP8, which this player did not announce in its connect command (Enhanced RTMP fourCcList): play it over WebRTC (WHEP), or publish H.264."}

// rtmpSink turns RTMP messages into hub frames.
type rtmpSink struct {
	p    *Publisher
	conv flvUnits
}

// WriteMedia implements rtmp.MediaSink.
func (s *rtmpSink) WriteMedia(m rtmp.Media) error { return s.p.write(s.conv.frame(m)) }

func (s *rtmpSink) Close() error { return s.p.Close() }

// playerBatchBytes bounds the frames an RTMP player takes at once (at
// least one). Taken frames leave the hub's accounting: a player whose
// socket is stalled holds its last batch, with each frame's chunk
// encoding, until its write times out, so that batch must stay small. One
// write of 1 MiB already amortizes its system call.
const playerBatchBytes = 1 << 20

// rtmpSource hands a subscriber's frames to an RTMP play session.
type rtmpSource struct {
	sub *Subscriber
	max int
	// vp8 and opus: the player announced Enhanced RTMP vp08 and Opus.
	// Without opus, the stream's Opus reaches it as AAC from the stream's
	// transcoder; without vp8, VP8 is left out.
	vp8, opus bool
	// aac holds a channel closed once the player has joined the stream's
	// Opus to AAC transcoder, or failed to; nil until it tries. Atomic:
	// the publisher's goroutine may set it (NotifyReady) while Close runs.
	aac       atomic.Pointer[chan struct{}]
	aacFailed atomic.Bool // joining the transcoder failed: no AAC comes
	frames    []*Frame
	// framesArr backs frames until more than a few are ready at once: one
	// object less to touch per player and message on the publisher's
	// goroutine.
	framesArr [4]*Frame
}

// ReadMedia implements rtmp.MediaSource.
func (s *rtmpSource) ReadMedia(ctx context.Context, dst []rtmp.Media) ([]rtmp.Media, error) {
	clear(s.frames)
	var err error
	s.frames, err = s.sub.readBatch(ctx, s.frames[:0], s.max, playerBatchBytes)
	return s.media(dst), err
}

// TryReadMedia implements rtmp.MediaSource.
func (s *rtmpSource) TryReadMedia(dst []rtmp.Media) ([]rtmp.Media, error) {
	clear(s.frames)
	var err error
	s.frames, err = s.sub.tryReadBatch(s.frames[:0], s.max, playerBatchBytes)
	return s.media(dst), err
}

// aacSeqTag is the FLV AAC sequence header of what the stream's Opus to
// AAC transcoder makes.
var aacSeqTag = append(flv.AppendAudioTagHeader(nil, flv.FourCCAAC, flv.AudioSequenceStart, false), transcode.AACConfig...)

// media appends the frames taken last as RTMP media to dst, leaving out
// what the player cannot take. A player that gets the stream's Opus as
// AAC gets the AAC sequence header in place of the Opus one, which comes
// before the cached GOP: a player that probes the stream (ffmpeg reads a
// few seconds of it) sees the audio track before the transcoder has
// made its first frame.
func (s *rtmpSource) media(dst []rtmp.Media) []rtmp.Media {
	for _, f := range s.frames {
		if s.leaveOut(f) {
			if f.Type == Audio && f.SequenceHeader && !s.aacFailed.Load() {
				dst = append(dst, rtmp.Media{Type: rtmp.TypeAudio, Timestamp: f.DTS, Payload: aacSeqTag})
			}
			continue
		}
		dst = append(dst, rtmp.Media{Type: rtmp.MessageType(f.Type), Timestamp: f.DTS, Payload: f.FLVTag(), Chunks: f.RTMPChunks()})
	}
	return dst
}

// leaveOut reports whether the player does not get f: VP8 video, or Opus
// audio, that it did not announce. A player without Enhanced RTMP Opus
// joins the stream's Opus to AAC transcoder at its first Opus frame (if
// not at Play), and gets its AAC; without ffmpeg it gets video only.
func (s *rtmpSource) leaveOut(f *Frame) bool {
	switch {
	case f.Type == Video:
		return f.Codec == VP8 && !s.vp8
	case f.Type != Audio || f.Codec != Opus || s.opus:
		return false
	case s.aac.Load() == nil:
		// This may run on the publisher's goroutine with the stream
		// locked (NotifyReady), where the hub must not be called.
		if done := s.tryAAC(); done != nil {
			go s.joinAAC(done)
		}
	}
	return true
}

// tryAAC returns the channel that joinAAC closes, or nil if the player
// has tried already.
func (s *rtmpSource) tryAAC() chan struct{} {
	done := make(chan struct{})
	if !s.aac.CompareAndSwap(nil, &done) {
		return nil
	}
	return done
}

// joinAAC makes the player one of the users of the stream's Opus to AAC
// transcoder, starting it for the first, logs once per stream why not
// when that fails, and closes done (nil: nothing to do).
func (s *rtmpSource) joinAAC(done chan struct{}) {
	if done == nil {
		return
	}
	defer close(done)
	err := s.sub.acquireTranscoder(AAC)
	s.aacFailed.Store(err != nil)
	if st := s.sub.s; err != nil && st != nil && st.warnOnce(warnOpusToAAC) {
		st.hub.cfg.Logger.Warn("relay: RTMP players without Enhanced RTMP Opus get no audio of this stream: "+
			"its Opus cannot be transcoded to AAC", logstr.Attr("stream", st.name), "err", err)
	}
}

// Close implements rtmp.MediaSource.
func (s *rtmpSource) Close() error {
	if done := s.aac.Load(); done != nil {
		<-*done // a transcoder it is joining is left too
	}
	s.sub.releaseTranscoder()
	return s.sub.Close()
}

// Dropped returns the frames the hub dropped for this player under the
// slow-consumer policy (Subscriber.Dropped), for a server's metrics, which
// read it through an interface assertion on the rtmp.MediaSource.
func (s *rtmpSource) Dropped() int64 { return s.sub.Dropped() }

// NotifyReady implements rtmp.ReadyNotifier: plain TCP players are written
// from the publisher's goroutine.
func (s *rtmpSource) NotifyReady(fn func()) { s.sub.NotifyReady(fn) }

// Ready implements rtmp.ReadyNotifier.
func (s *rtmpSource) Ready() bool { return s.sub.Ready() }
