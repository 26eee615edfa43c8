package relay

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/streamwire/streamwire/ice"
	"github.com/streamwire/streamwire/internal/logstr"
	"github.com/streamwire/streamwire/peer"
	"github.com/streamwire/streamwire/relay/transcode"
	"github.com/streamwire/streamwire/rtmp/flv"
	"github.com/streamwire/streamwire/sdp"
)

// LocalTrack is a sending WebRTC track as a WebRTCSubscriber writes it:
// *peer.LocalTrack. WriteRTP must not keep the packet or its payload
// after it returns: both are reused.
type LocalTrack interface {
	// Codec is the negotiated codec; its Name picks what the track gets.
	Codec() sdp.NegotiatedCodec
	// WriteRTP sends one packet under the track's SSRC and payload type.
	WriteRTP(pkt *rtp.Packet) error
}

var _ LocalTrack = (*peer.LocalTrack)(nil)

// PeerTracks returns p's first sending video and audio tracks, nil for a
// kind p does not send, ready for WebRTCSubscriber.Run.
func PeerTracks(p *peer.Peer) (video, audio LocalTrack) {
	for _, t := range p.LocalTracks() {
		switch {
		case t.Kind() == sdp.KindVideo && video == nil:
			video = t
		case t.Kind() == sdp.KindAudio && audio == nil:
			audio = t
		}
	}
	return video, audio
}

// BFramePolicy says what a WebRTCSubscriber does with video frames that
// hold B slices (H.264 §7.4.3, slice_type 1 or 6; H.265 §7.4.7.1,
// slice_type 0), which browsers do not decode.
type BFramePolicy int

const (
	// RefuseBFrames ends Run with ErrBFrames at the first B-frame: the
	// viewer would show a corrupt picture. This is the default.
	RefuseBFrames BFramePolicy = iota
	// DropBFrames leaves every B-frame out. x264's B-pyramid makes some
	// B-frames references, but only for other B-frames, so the I and P
	// frames that remain decode; the viewer sees a lower frame rate.
	// x265's P-frames may predict from its reference B-frames, so a
	// viewer that misses an H.265 reference B-frame waits for the next
	// keyframe: with x265's default b-pyramid it sees little more than
	// keyframes (publish with b-pyramid=0, or without B-frames).
	DropBFrames
)

// ErrBFrames ends a WebRTCSubscriber under RefuseBFrames.
var ErrBFrames = errors.New("relay: the stream's video (H.264 or H.265) has B-frames, which WebRTC viewers cannot decode " +
	"(publish without them: x264/ffmpeg -bf 0, OBS Max B-frames 0)")

// DefaultWebRTCBatch is WebRTCSubscriberConfig.MaxBatch's default.
const DefaultWebRTCBatch = 64

// LatencyObserver receives the server-added latency of the frames sent to
// WebRTC viewers (WebRTCSubscriberConfig.Latency).
type LatencyObserver interface {
	// ObserveLatency records that frames frames of type typ (Video or
	// Audio), one per viewer, were written d after they reached the
	// server. frames is at least 1.
	ObserveLatency(typ Type, d time.Duration, frames int)
}

// WebRTCSubscriberConfig configures a WebRTCSubscriber. The zero value
// works.
type WebRTCSubscriberConfig struct {
	// BFrames is the policy for H.264 and H.265 B-frames. The zero value is
	// RefuseBFrames.
	BFrames BFramePolicy
	// MaxBatch is how many frames Run takes from the hub per wake-up.
	// Zero means DefaultWebRTCBatch (64).
	MaxBatch int
	// Logger receives the viewer's events and the stream's warnings
	// (AAC audio, unsupported video, B-frames), each warning once per
	// stream. Nil means none.
	Logger *slog.Logger
	// Rand draws each track's first sequence number and timestamp offset
	// (RFC 3550 §5.1). Nil means crypto/rand.
	Rand io.Reader
	// Latency, if set, is told the server-added latency of each frame
	// sent (each media frame whose packets the tracks took, not the
	// skipped ones), just after its last packet was written: the time
	// since the frame reached the server (Unit.Arrival, on the monotonic
	// clock), from an RTMP message read or a WebRTC frame's last packet
	// to its packets handed to the kernel, queueing, the peer's SRTP and
	// the viewers sent to before this one in its group included (for
	// Opus transcoded from AAC, from the transcoder's output). A server
	// feeds a histogram with it (e.g. Prometheus). Viewers that share an
	// observer share its calls: a group reports the members whose packets
	// one write took, which all have the same latency, in one call. It
	// runs on Run's goroutine or a group's and must be quick: it delays
	// the next viewer. Frames of a late joiner's cached GOP report how
	// old they are.
	Latency LatencyObserver
	// GroupSize is how many viewers of a stream one goroutine sends to
	// once they are at the stream's live edge: a viewer whose tracks are
	// a *peer.LocalTrack on UDP first sends the cached GOP on Run's
	// goroutine, then joins a group of the stream's viewers on the same
	// ice.Mux, whose goroutine sends each frame to all of them and writes
	// their packets in batches (peer.Batch, sendmmsg(2)), which costs
	// about two thirds of the CPU of a goroutine and a system call per
	// packet per viewer (the README's WHEP fan-out figures). A stream has as many groups as GOMAXPROCS before any
	// takes a second member, so that its viewers are sent to in
	// parallel, and a viewer joins the smallest. Zero means DefaultWebRTCGroupSize (256); a negative value
	// keeps every viewer on its own goroutine. Viewers on ICE-TCP always
	// keep theirs: a slow one would hold up the group.
	GroupSize int
	// CloseOnCodecMismatch ends Run with ErrCodecMismatch at the first
	// video frame of a codec other than the video track's, instead of
	// leaving the viewer without video: for a viewer answered before the
	// stream's codec was known (Hub.SubscribeWaiting).
	CloseOnCodecMismatch bool
}

// ErrCodecMismatch ends a WebRTCSubscriber under CloseOnCodecMismatch.
var ErrCodecMismatch = errors.New("relay: the stream's video codec is not the one the viewer negotiated")

// WebRTCSubscriber sends a hub stream to one WebRTC viewer: H.264 and VP8
// video, Opus audio. Each frame's RTP payloads are a WebRTC publisher's
// own, kept on the frame, or else cut once for all viewers, so that a
// viewer costs one RTP header and its SRTP protection per packet: its
// SSRC (the track's), its sequence numbers (counted over what it is sent,
// so frames the hub drops leave no gap) and a random timestamp offset. Make one per viewer with
// NewWebRTCSubscriber, hand OnKeyFrameRequest to the viewer's peer, and
// call Run once the peer is connected.
type WebRTCSubscriber struct {
	sub   *Subscriber
	cfg   WebRTCSubscriberConfig
	log   *slog.Logger
	stats webrtcStats
}

type webrtcStats struct {
	packets, bytes, frames, skipped atomic.Int64
	keyRequests, keyForwarded       atomic.Int64
	// The drops of the group's queue while the viewer was a member:
	// groupDropped of the groups it left, and the group it is in with
	// the group queue's count when it joined.
	groupDropped atomic.Int64
	group        atomic.Pointer[groupDrops]
}

// groupDrops is the group a viewer is in, for its drop count.
type groupDrops struct {
	sub  *Subscriber
	base int64 // sub.Dropped() when the viewer joined
}

// NewWebRTCSubscriber makes a WebRTCSubscriber of sub, which it owns from
// now on: Run closes it.
func NewWebRTCSubscriber(sub *Subscriber, cfg WebRTCSubscriberConfig) *WebRTCSubscriber {
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = DefaultWebRTCBatch
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.GroupSize == 0 {
		cfg.GroupSize = DefaultWebRTCGroupSize
	}
	if o := cfg.Latency; o != nil && !reflect.TypeOf(o).Comparable() {
		// A group compares its members' observers (see latencyRun): one
		// that cannot be compared (a func type) gets a box of its own.
		cfg.Latency = &latencyBox{o}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &WebRTCSubscriber{sub: sub, cfg: cfg, log: log.With(logstr.Attr("stream", sub.Name()))}
}

// WebRTCSubscriberStats are a WebRTCSubscriber's counters since it was
// made.
type WebRTCSubscriberStats struct {
	// Packets and Bytes count the RTP packets written and their payload
	// bytes.
	Packets, Bytes int64
	// Frames counts the frames sent (Opus from the stream's transcoder
	// included, the AAC it replaces not counted); Skipped the frames not
	// sent: before the first keyframe, of a codec the viewer did not
	// negotiate (AAC without the transcoder), B-frames under DropBFrames,
	// malformed frames.
	Frames, Skipped int64
	// KeyFrameRequests counts the viewer's PLI and FIR (as the peer
	// passes them up, at most one per second); KeyFrameRequestsForwarded
	// those that reached a publisher able to answer (WebRTC, not RTMP).
	KeyFrameRequests, KeyFrameRequestsForwarded int64
	// Dropped counts the frames the hub dropped for the viewer because
	// it, or the viewer group it is in, fell behind (Config.SlowConsumer).
	Dropped int64
	// Grouped is whether one of the stream's viewer groups sends to the
	// viewer now (see WebRTCSubscriberConfig.GroupSize).
	Grouped bool
}

// Stats returns the counters; safe to call while Run runs.
func (v *WebRTCSubscriber) Stats() WebRTCSubscriberStats {
	s := &v.stats
	st := WebRTCSubscriberStats{
		Packets: s.packets.Load(), Bytes: s.bytes.Load(),
		Frames: s.frames.Load(), Skipped: s.skipped.Load(),
		KeyFrameRequests: s.keyRequests.Load(), KeyFrameRequestsForwarded: s.keyForwarded.Load(),
		Dropped: v.sub.Dropped() + s.groupDropped.Load(),
	}
	if g := s.group.Load(); g != nil {
		st.Grouped = true
		st.Dropped += g.sub.Dropped() - g.base
	}
	return st
}

// OnKeyFrameRequest is a peer.Config.OnKeyFrameRequest: see
// RequestKeyFrame.
func (v *WebRTCSubscriber) OnKeyFrameRequest(*peer.LocalTrack) { v.RequestKeyFrame() }

// RequestKeyFrame handles the viewer's request for a keyframe (PLI, RFC
// 4585 §6.3.1; FIR, RFC 5104 §4.3.1): it is counted, and passed to the
// stream's publisher when that can answer it (a WebRTC publisher, which
// sends a PLI of its own, rate-limited by its peer). An RTMP encoder
// cannot be asked for a keyframe: the viewer recovers at the next one.
// Safe for concurrent use.
func (v *WebRTCSubscriber) RequestKeyFrame() {
	v.stats.keyRequests.Add(1)
	if v.sub.RequestKeyFrame() {
		v.stats.keyForwarded.Add(1)
	}
}

// Run sends the stream to the viewer's tracks until the stream ends
// (nil), ctx is cancelled (ctx.Err()), a write fails (its error,
// wrapped), a B-frame comes under RefuseBFrames (ErrBFrames), video of
// another codec comes under CloseOnCodecMismatch (ErrCodecMismatch), or
// the hub disconnects a slow viewer (ErrSlowConsumer); then it closes the
// Subscriber. video or audio may be nil (a viewer that did not ask for
// that kind); a track whose codec the stream does not have gets nothing,
// and the stream's log says why once.
//
// Run blocks on the hub's queue and writes each frame's packets as fast
// as the tracks take them. A late joiner's cached GOP therefore goes out
// as one burst (a few hundred packets for a 2 s GOP at 2 Mbit/s), which
// loopback and LAN viewers absorb and which lets the first picture show
// at once. Once the queue is empty, a viewer on UDP hands its state to
// one of the stream's viewer groups (see GroupSize), and Run waits for
// the group to stop sending to it, for the same reasons.
func (v *WebRTCSubscriber) Run(ctx context.Context, video, audio LocalTrack) error {
	defer v.sub.Close()
	defer v.sub.releaseTranscoder() // the stream's last Opus viewer closes its transcoder
	s := &sender{v: v}
	if err := s.video.init(video, v.cfg.Rand); err != nil {
		return err
	}
	if err := s.audio.init(audio, v.cfg.Rand); err != nil {
		return err
	}
	s.needKey = true
	var mux *ice.Mux
	if v.cfg.GroupSize > 0 {
		mux = groupMux(video, audio)
	}
	frames := make([]*Frame, 0, v.cfg.MaxBatch)
	for {
		var err error
		frames, err = v.sub.ReadBatch(ctx, frames[:0], v.cfg.MaxBatch)
		for _, f := range frames {
			if serr := s.send(f); serr != nil {
				clear(frames)
				return serr
			}
		}
		clear(frames) // pin no frame while waiting
		switch {
		case err == io.EOF:
			return nil
		case err != nil:
			return err
		case mux != nil && (!s.needKey || s.video.w == nil) && len(frames) < v.cfg.MaxBatch:
			if g, m := v.sub.s.joinGroup(v.sub, s, mux, v.cfg.GroupSize); g != nil {
				return v.inGroup(ctx, g, m)
			}
		}
	}
}

// inGroup waits for the group to stop sending to the viewer, counting
// the frames its queue dropped meanwhile as the viewer's.
func (v *WebRTCSubscriber) inGroup(ctx context.Context, g *webrtcGroup, m *groupMember) error {
	v.stats.group.Store(&groupDrops{sub: g.sub, base: g.sub.Dropped()})
	err := g.wait(ctx, m)
	d := v.stats.group.Swap(nil)
	v.stats.groupDropped.Add(d.sub.Dropped() - d.base)
	return err
}

// sender is Run's state.
type sender struct {
	v            *WebRTCSubscriber
	video, audio rtpTrack
	needKey      bool      // no video until a keyframe
	params       *rtpFrame // the payloads of the last video sequence header
	opus         opusUse   // AAC audio for an Opus track: through the stream's transcoder?
	opusErr      error     // why not
	// In a group: the group, its batch, which the tracks write into,
	// and the arrival of the last frame sent, reported once the batch
	// is flushed.
	group      *webrtcGroup
	batch      *peer.Batch
	unsentAt   time.Time
	unsentType Type
}

// opusUse says whether a viewer takes the stream's AAC as Opus from the
// stream's transcoder: unknown until its first AAC frame.
type opusUse uint8

const (
	opusUnknown opusUse = iota
	opusOn
	opusOff
)

// rtpTrack is one track's RTP state: the sequence numbers are this
// viewer's own, counted over the packets it is sent, so that frames the
// hub drops for a slow viewer leave no gap for it to NACK.
type rtpTrack struct {
	w      LocalTrack
	lt     *peer.LocalTrack // w, when it is one: written with its payloads shared, alone or through a group's batch
	codec  Codec            // CodecUnknown: one the hub cannot send
	pkt    rtp.Packet
	offset uint32          // random start of the RTP timestamps
	mapper timestampMapper // w, when it maps timestamps for sender reports
	// mappedAt is the arrival last mapped: the sender reports extrapolate
	// from it at the track's clock rate, so a mapping every remapEvery
	// keeps them on the arrival timeline (a lock and a clock reading per
	// frame and viewer saved).
	mappedAt time.Time
}

// remapEvery is how often a track maps an RTP timestamp to its frame's
// arrival; see rtpTrack.write.
const remapEvery = 200 * time.Millisecond

func (t *rtpTrack) init(w LocalTrack, r io.Reader) error {
	if w == nil {
		return nil
	}
	t.mapper, _ = w.(timestampMapper)
	t.lt, _ = w.(*peer.LocalTrack)
	var b [6]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return fmt.Errorf("relay: random RTP start: %w", err)
	}
	t.w = w
	t.codec = codecOfSDP(w.Codec().Name)
	t.pkt.SequenceNumber = binary.BigEndian.Uint16(b[:])
	t.offset = binary.BigEndian.Uint32(b[2:])
	return nil
}

// codecOfSDP maps an SDP encoding name to the codec whose units a track
// of it is sent, CodecUnknown for none.
func codecOfSDP(name string) Codec {
	for _, c := range [...]Codec{H264, H265, AV1, VP8, Opus} {
		if strings.EqualFold(name, c.String()) {
			return c
		}
	}
	return CodecUnknown
}

// timestampMapper is the part of *peer.LocalTrack that maps RTP
// timestamps to instants for its sender reports.
type timestampMapper interface {
	MapTimestamp(ts uint32, at time.Time)
}

// write sends the payloads of one frame at RTP time ts (the frame's
// RTPTime, in the track's clock), with the marker bit on the last one
// when mark is set. A track that maps timestamps (*peer.LocalTrack) is
// told that ts belongs to the frame's arrival, so that its sender
// reports line audio and video up by when the server got them, not by
// when it sent them: audio from the transcoder leaves tens of
// milliseconds after the video of the same instant, and publishers that
// send no sender reports of their own (OBS before 30) still give
// viewers synchronized tracks.
func (t *rtpTrack) write(it rtpPayloadIter, ts uint32, arrival time.Time, mark bool, s *sender) error {
	t.pkt.Timestamp = ts + t.offset
	if t.mapper != nil && !arrival.IsZero() && arrival.Sub(t.mappedAt) >= remapEvery {
		t.mapper.MapTimestamp(t.pkt.Timestamp, arrival)
		t.mappedAt = arrival
	}
	var n, bytes int64
	defer func() { s.v.stats.packets.Add(n); s.v.stats.bytes.Add(bytes) }()
	for {
		p, last, ok := it.next()
		if !ok {
			return nil
		}
		t.pkt.Marker = mark && last
		t.pkt.Payload = p
		// The payloads are the frame's, shared by every viewer and never
		// modified: a peer's retransmission history keeps them, not copies.
		var err error
		switch {
		case s.batch != nil:
			err = s.batch.WriteRTPShared(t.lt, &t.pkt)
		case t.lt != nil:
			err = t.lt.WriteRTPShared(&t.pkt)
		default:
			err = t.w.WriteRTP(&t.pkt)
		}
		t.pkt.Payload = nil
		if err != nil {
			return fmt.Errorf("relay: WebRTC viewer write: %w", err)
		}
		t.pkt.SequenceNumber++
		n++
		bytes += int64(len(p))
	}
}

// send sends one frame, or counts it as skipped.
func (s *sender) send(f *Frame) error {
	var t *rtpTrack
	switch f.Type {
	case Video:
		t = &s.video
	case Audio:
		t = &s.audio
	}
	if t == nil || t.w == nil {
		return nil // metadata, or a kind the viewer does not take
	}
	if f.Codec != t.codec || !rtpCodec(t.codec) {
		if f.Type == Video && s.v.cfg.CloseOnCodecMismatch && f.Codec != CodecUnknown {
			return fmt.Errorf("%w: the stream's is %v, the viewer's %s", ErrCodecMismatch, f.Codec, logstr.Bound(t.w.Codec().Name))
		}
		if !s.transcoded(f, t) {
			s.warnCodec(f, t)
			s.v.stats.skipped.Add(1)
		}
		return nil
	}
	rf := f.rtpEncoding()
	switch {
	case rf.has(rtpNoMedia):
		return nil
	case rf.has(rtpBad):
		s.warn(warnBadFrame, "relay: malformed frame not sent to WebRTC viewers", f)
	case f.SequenceHeader:
		if f.Type == Video {
			s.params = rf
		}
		return nil
	case f.Type == Audio:
		return s.sent(f, t.write(rf.payloads(), f.RTPTime, f.Arrival, false, s))
	default:
		return s.sendVideo(f, rf)
	}
	s.v.stats.skipped.Add(1)
	return nil
}

// sent counts a frame sent, unless err says that it was not, and
// reports its server-added latency (Latency).
func (s *sender) sent(f *Frame, err error) error {
	if err != nil {
		return err
	}
	s.v.stats.frames.Add(1)
	s.unsentAt, s.unsentType = f.Arrival, f.Type
	if s.batch == nil {
		s.reportSent(time.Now())
	}
	return nil
}

// reportSent reports the server-added latency of the last frame sent,
// if not yet reported, as of now (Latency).
func (s *sender) reportSent(now time.Time) {
	if o := s.v.cfg.Latency; o != nil && !s.unsentAt.IsZero() {
		o.ObserveLatency(s.unsentType, now.Sub(s.unsentAt), 1)
	}
	s.unsentAt = time.Time{}
}

// sendVideo sends a coded video frame of the viewer's codec.
func (s *sender) sendVideo(f *Frame, rf *rtpFrame) error {
	t := &s.video
	switch {
	case rf.has(rtpBSlice):
		s.v.stats.skipped.Add(1)
		if s.v.cfg.BFrames == RefuseBFrames {
			s.warn(warnBFrames, ErrBFrames.Error(), f)
			return ErrBFrames
		}
		s.needKey = s.needKey || rf.has(rtpRefB) // later P-frames may predict from it (x265's b-pyramid)
		s.warn(warnBFrames, "relay: the stream's video has B-frames: WebRTC viewers get it without them (DropBFrames)", f)
		return nil
	case s.needKey && !rf.has(rtpKey):
		s.v.stats.skipped.Add(1)
		return nil
	}
	s.needKey = false
	if rf.has(rtpKey) && !rf.has(rtpInband) && s.params != nil {
		// A viewer that joins here decodes from this frame on.
		if err := t.write(s.params.payloads(), f.RTPTime, f.Arrival, false, s); err != nil {
			return err
		}
	}
	return s.sent(f, t.write(rf.payloads(), f.RTPTime, f.Arrival, true, s))
}

// warn logs msg once per stream.
func (s *sender) warn(w uint32, msg string, f *Frame) {
	if st := s.v.sub.s; st != nil && st.warnOnce(w) {
		s.v.log.Warn(msg, "type", f.Type.String(), "dts_ms", f.DTS)
	}
}

// transcoded reports whether an AAC frame is left to the stream's
// transcoder, whose Opus frames the viewer gets instead: the viewer's
// audio track is Opus and the transcoder runs, started by this call for
// the stream's first such viewer (see Subscriber.acquireTranscoder).
func (s *sender) transcoded(f *Frame, t *rtpTrack) bool {
	if f.Codec != AAC || t != &s.audio || t.codec != Opus {
		return false
	}
	if s.opus == opusUnknown {
		s.opus = opusOn
		if s.opusErr = s.v.sub.acquireTranscoder(Opus); s.opusErr != nil {
			s.opus = opusOff
		} else if s.group != nil {
			// The transcoder's frames reach the group's queue, not the
			// viewer's own, which left the stream.
			_ = s.group.sub.acquireTranscoder(Opus)
		}
	}
	return s.opus == opusOn
}

// warnCodec logs, once per stream, that a frame's codec is not the
// viewer's: AAC (what ffmpeg and OBS send by default) reaches a browser
// only through the transcoder, and the log says why it does not run.
func (s *sender) warnCodec(f *Frame, t *rtpTrack) {
	w := warnVideoCodec
	if f.Type == Audio {
		w = warnAudioCodec
	}
	st := s.v.sub.s
	if st == nil || errors.Is(s.opusErr, ErrClosed) || !st.warnOnce(w) {
		return // no warning for the frames left after the publisher
	}
	msg := "relay: WebRTC viewers get no " + f.Type.String() + " of this stream: its codec is not the one the viewer negotiated"
	args := []any{"codec", f.Codec.String(), "viewer_codec", logstr.Bound(t.w.Codec().Name)}
	switch {
	case f.Codec != AAC:
	case errors.Is(s.opusErr, transcode.ErrNoFFmpeg):
		msg = "relay: WebRTC viewers get video only: the stream's audio is AAC, which browsers do not decode over WebRTC, " +
			"and there is no ffmpeg on PATH to transcode it to Opus (install ffmpeg, or publish Opus with Enhanced RTMP, e.g. ffmpeg 6.1+ -c:a libopus)"
		args = append(args, "err", s.opusErr)
	case s.opusErr != nil:
		msg = "relay: WebRTC viewers get video only: the stream's audio is AAC, which browsers do not decode over WebRTC, " +
			"and it is not transcoded to Opus"
		args = append(args, "err", s.opusErr)
	default: // the viewer did not negotiate Opus
		msg = "relay: a WebRTC viewer gets video only: the stream's audio is AAC, which browsers do not decode over WebRTC, " +
			"and the viewer did not offer Opus to get it transcoded"
	}
	s.v.log.Warn(msg, args...)
}

// VideoCodecs returns the video codecs to answer a WebRTC viewer of the
// stream with (its sdp.MediaConfig.Codecs), in order of preference: for
// a stream of H.265, AV1 (from Enhanced RTMP) or VP8 (from a WebRTC
// publisher), that codec first, with the profile and tier of its decoder
// configuration (RFC 7798 §7.1 profile-id and tier-flag; AV1 RTP
// specification §7.2 profile), then the rest of sdp.DefaultVideoCodecs,
// so that a viewer whose offer has the stream's codec gets it (Chromium
// offers H.264 and VP8, and would otherwise get H.264 of a VP8 stream),
// and one whose offer lacks it gets another (and no video, with a log
// line). It returns nil, which means sdp.DefaultVideoCodecs (H.264
// first), for H.264 streams and for a stream without a video sequence
// header yet.
func (sub *Subscriber) VideoCodecs() []sdp.Codec {
	c, ok := sdpCodecOf(sub.videoConfig())
	if !ok {
		return nil
	}
	codecs := []sdp.Codec{c}
	for _, d := range sdp.DefaultVideoCodecs {
		if !strings.EqualFold(d.Name, c.Name) {
			codecs = append(codecs, d)
		}
	}
	return codecs
}

// videoConfig is the stream's video decoder configuration, nil before
// its first sequence header.
func (sub *Subscriber) videoConfig() *DecoderConfig {
	s := sub.s
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.videoSeq == nil {
		return nil
	}
	return s.videoSeq.Config
}

// VideoCodec is the codec of the stream's video, CodecUnknown before its
// first video sequence header (or for a stream that waits for its
// publisher, Hub.SubscribeWaiting).
func (sub *Subscriber) VideoCodec() Codec {
	if cfg := sub.videoConfig(); cfg != nil {
		return cfg.Codec
	}
	return CodecUnknown
}

// audioCodec is the codec of the stream's audio, CodecUnknown before its
// first sequence header.
func (sub *Subscriber) audioCodec() Codec {
	s := sub.s
	if s == nil {
		return CodecUnknown
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.audioSeq == nil {
		return CodecUnknown
	}
	return s.audioSeq.Codec
}

// sdpCodecOf is the SDP codec of an H.265, AV1 or VP8 configuration.
func sdpCodecOf(cfg *DecoderConfig) (sdp.Codec, bool) {
	switch {
	case cfg == nil:
	case cfg.Codec == VP8:
		return sdp.Codec{Name: "VP8", ClockRate: 90000}, true
	case cfg.Codec == H265:
		r, err := flv.ParseHEVCDecoderConfig(cfg.Record)
		if err != nil {
			break
		}
		return sdp.Codec{Name: "H265", ClockRate: 90000, Fmtp: fmt.Sprintf("level-id=%d;profile-id=%d;tier-flag=%d;tx-mode=SRST",
			r.LevelIDC, r.ProfileIDC, r.TierFlag)}, true
	case cfg.Codec == AV1 && len(cfg.Record) >= 2:
		return sdp.Codec{Name: "AV1", ClockRate: 90000, Fmtp: fmt.Sprintf("profile=%d", cfg.Record[1]>>5)}, true
	}
	return sdp.Codec{}, false
}
