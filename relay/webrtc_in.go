package relay

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/streamwire/streamwire/internal/logstr"
	"github.com/streamwire/streamwire/peer"
	"github.com/streamwire/streamwire/rtmp/flv"
	"github.com/streamwire/streamwire/sdp"
)

// RemoteTrack is a receiving WebRTC track as a WebRTCPublisher reads it:
// *peer.RemoteTrack. A WebRTCPublisher tells tracks apart by comparing
// them, so an implementation must be comparable (a pointer, as peer's).
type RemoteTrack interface {
	// Kind is the track's media kind.
	Kind() sdp.Kind
	// Codec is the negotiated codec of its packets.
	Codec() sdp.NegotiatedCodec
	// RequestKeyFrame asks the sender for a keyframe (a PLI).
	RequestKeyFrame() error
}

var _ RemoteTrack = (*peer.RemoteTrack)(nil)

// DefaultMaxFrameBytes is WebRTCPublisherConfig.MaxFrameBytes's default.
const DefaultMaxFrameBytes = 8 << 20

// WebRTCPublisherConfig configures a WebRTCPublisher. The zero value
// works.
type WebRTCPublisherConfig struct {
	// MaxFrameBytes bounds one video frame being reassembled, in bytes: a
	// larger one is dropped as if it had lost a packet. Zero means
	// DefaultMaxFrameBytes (8 MiB, an IDR frame of 4K video at a high
	// bitrate).
	MaxFrameBytes int
	// Logger receives the publisher's events (an unsupported codec, once
	// per track). Nil means none.
	Logger *slog.Logger
	// Now is the clock that places each track's first packet on the
	// stream's timeline. Nil means time.Now.
	Now func() time.Time
}

// WebRTCPublisher feeds a hub stream from a WebRTC publisher's RTP (a
// WHIP session): H.264 is reassembled into access units with an
// AVCDecoderConfigurationRecord sequence header (AVC FLV tags for RTMP
// players), VP8 into frames (Enhanced RTMP vp08), Opus into Opus units
// after an OpusHead. Each video frame keeps the RTP payloads it came in,
// which WebRTC viewers of its codec get unchanged (see WebRTCSubscriber). Make one with
// NewWebRTCPublisher and give its OnRTP to the publisher's peer.Config.
type WebRTCPublisher struct {
	pub *Publisher
	cfg WebRTCPublisherConfig
	log *slog.Logger

	keyWanted atomic.Bool // a subscriber asked for a keyframe
	stats     publisherStats

	mu     sync.Mutex // WriteRTP and Close
	closed bool
	epoch  time.Time // the arrival of the stream's first packet
	video  videoIn
	audio  audioIn
}

type publisherStats struct {
	packets, frames, dropped, keyRequests, ignored atomic.Int64
}

// videoIn is the state of the video track.
type videoIn struct {
	track    RemoteTrack
	codec    Codec
	dp       *depacketizer
	clock    rtpClock
	waitKey  bool           // drop frames until a keyframe
	sps, pps []byte         // the parameter sets of the published sequence header
	config   *DecoderConfig // the published sequence header's
	seqSent  bool
	onFrame  frameFunc // frameDone, made once
	err      error     // of the frames of the packet being pushed
}

// audioIn is the state of the audio track.
type audioIn struct {
	track  RemoteTrack
	clock  rtpClock
	config *DecoderConfig // the OpusHead published
}

// NewWebRTCPublisher makes a WebRTCPublisher writing to pub, which it
// owns from now on: Close closes it. It takes pub's key frame requests
// (Publisher.OnKeyFrameRequest) and passes them to the sender as PLIs.
func NewWebRTCPublisher(pub *Publisher, cfg WebRTCPublisherConfig) *WebRTCPublisher {
	if cfg.MaxFrameBytes <= 0 {
		cfg.MaxFrameBytes = DefaultMaxFrameBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &WebRTCPublisher{pub: pub, cfg: cfg, log: log.With(logstr.Attr("stream", pub.Name()))}
	w.video.waitKey = true
	w.video.onFrame = w.frameDone
	pub.OnKeyFrameRequest(func() { w.keyWanted.Store(true) })
	return w
}

// OnRTP is a peer.Config.OnRTP: see WriteRTP.
func (w *WebRTCPublisher) OnRTP(t *peer.RemoteTrack, pkt *rtp.Packet) { _ = w.WriteRTP(t, pkt) }

// WriteRTP takes one RTP packet of track t, in sequence order (as the
// peer's read goroutine delivers them), and publishes the frames it
// completes. The first video and the first audio track are published;
// the packets of other tracks are ignored (and counted in Stats), and a
// codec other than H.264, VP8 and Opus is ignored and logged once. A video frame that lost a packet is dropped, and so is
// every frame after it up to the next keyframe, which is requested from
// the sender (at most once per second, by the peer). The packet is not
// kept. It returns ErrClosed after Close, and the hub's error if a
// publish fails.
func (w *WebRTCPublisher) WriteRTP(t RemoteTrack, pkt *rtp.Packet) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return fmt.Errorf("relay: WebRTC publish: %w", ErrClosed)
	}
	w.stats.packets.Add(1)
	switch t.Kind() {
	case sdp.KindVideo:
		return w.writeVideo(t, pkt)
	case sdp.KindAudio:
		return w.writeAudio(t, pkt)
	}
	w.stats.ignored.Add(1)
	return nil
}

// observe notes a packet's timestamp on a track's clock, placing the
// track's first packet at its arrival time on the stream's timeline. The
// clock is read only then, not once per packet.
func (w *WebRTCPublisher) observe(c *rtpClock, ts uint32) {
	if c.started {
		c.observe(ts)
		return
	}
	now := w.cfg.Now()
	if w.epoch.IsZero() {
		w.epoch = now
	}
	c.start(ts, now.Sub(w.epoch).Milliseconds())
}

func (w *WebRTCPublisher) writeVideo(t RemoteTrack, pkt *rtp.Packet) error {
	v := &w.video
	if v.track == nil {
		v.track = t
		v.codec = codecOfSDP(t.Codec().Name)
		if v.codec != H264 && v.codec != VP8 {
			w.log.Warn("relay: WebRTC publisher's video codec is not H.264 or VP8: video not published", "codec", logstr.Bound(t.Codec().Name))
		} else {
			v.dp = newDepacketizer(v.codec, w.cfg.MaxFrameBytes)
		}
		v.clock.rate = int64(t.Codec().ClockRate)
	}
	if t != v.track || v.dp == nil {
		w.stats.ignored.Add(1)
		return nil
	}
	if w.keyWanted.Swap(false) {
		w.requestKeyFrame()
	}
	w.observe(&v.clock, pkt.Timestamp)
	v.err = nil
	v.dp.push(pkt.SequenceNumber, pkt.Timestamp, pkt.Marker, pkt.Payload, v.onFrame)
	return v.err
}

// frameDone is the depacketizer's frameFunc: it publishes the frame and
// keeps the first error for WriteRTP.
func (w *WebRTCPublisher) frameDone(frame, payloads []byte, ts uint32, ok bool) {
	if err := w.publishVideo(frame, payloads, ts, ok); err != nil && w.video.err == nil {
		w.video.err = err
	}
}

// requestKeyFrame asks the video sender for a keyframe.
func (w *WebRTCPublisher) requestKeyFrame() {
	if w.video.track != nil {
		w.stats.keyRequests.Add(1)
		_ = w.video.track.RequestKeyFrame() // fails only before the peer is up
	}
}

// publishVideo publishes one reassembled frame, with the RTP payloads it
// came in, or drops it.
func (w *WebRTCPublisher) publishVideo(frame, payloads []byte, ts uint32, ok bool) error {
	v := &w.video
	if !ok {
		w.stats.dropped.Add(1)
		v.waitKey = true
		w.requestKeyFrame()
		return nil
	}
	u := Unit{Type: Video, Codec: v.codec, DTS: v.clock.ms(ts), RTPTime: ts}
	if v.codec == VP8 {
		return w.publishVP8(frame, payloads, u)
	}
	return w.publishH264(frame, payloads, u)
}

// publishH264 publishes an access unit (AVCC, 4-byte lengths) and the RTP
// payloads it came in. Its SPS and PPS go into the sequence header, a new
// one whenever they change, and are left out of the unit's data (and so
// of RTMP players' tags), as RTMP encoders do; AUD NAL units are left out
// too. WebRTC viewers get the payloads as they came, in-band parameter
// sets included.
func (w *WebRTCPublisher) publishH264(au, payloads []byte, u Unit) error {
	v := &w.video
	var sps, pps []byte
	var flags byte
	size := 0
	it := newNALUs(au)
	for nalu, ok := it.Next(); ok; nalu, ok = it.Next() {
		switch nalu[0] & 0x1f {
		case naluSPS:
			sps = nalu
		case naluPPS:
			pps = nalu
		case naluAUD:
		case naluIDR:
			flags |= rtpKey
			if sps != nil && pps != nil {
				flags |= rtpInband
			}
			fallthrough
		case naluSlice:
			if isBSlice(nalu) {
				flags |= rtpBSlice
			}
			size += 4 + len(nalu)
		default:
			size += 4 + len(nalu)
		}
	}
	key := flags&rtpKey != 0
	if err := w.updateParams(sps, pps, u); err != nil {
		return err
	}
	if size == 0 {
		return nil // parameter sets only
	}
	if !v.seqSent || v.waitKey && !key {
		// RTMP players need the sequence header first, every viewer a
		// keyframe: wait for one, with its SPS and PPS.
		w.stats.dropped.Add(1)
		w.requestKeyFrame()
		return nil
	}
	v.waitKey = false
	frameType := flv.FrameInter
	if key {
		frameType = flv.FrameKey
	}
	tag := make([]byte, 0, 5+size+len(payloads)) // room for the payloads' copy: one allocation
	tag = flv.AppendVideoTagHeader(tag, frameType, flv.FourCCAVC, flv.VideoCodedFrames, 0, false)
	hdr := len(tag)
	it = newNALUs(au)
	for nalu, ok := it.Next(); ok; nalu, ok = it.Next() {
		if t := nalu[0] & 0x1f; t != naluSPS && t != naluPPS && t != naluAUD {
			tag = binary.BigEndian.AppendUint32(tag, uint32(len(nalu)))
			tag = append(tag, nalu...)
		}
	}
	u.Keyframe, u.Config = key, v.config
	return w.publishTag(u, tag, hdr, payloads, flags)
}

// updateParams publishes a new sequence header when the access unit
// carries an SPS or PPS that differs from the published ones.
func (w *WebRTCPublisher) updateParams(sps, pps []byte, u Unit) error {
	v := &w.video
	changed := false
	if sps != nil && !bytes.Equal(sps, v.sps) {
		v.sps, changed = append(v.sps[:0], sps...), true
	}
	if pps != nil && !bytes.Equal(pps, v.pps) {
		v.pps, changed = append(v.pps[:0], pps...), true
	}
	if !changed && v.seqSent || v.sps == nil || v.pps == nil {
		return nil
	}
	tag := flv.AppendVideoTagHeader(nil, flv.FrameKey, flv.FourCCAVC, flv.VideoSequenceStart, 0, false)
	hdr := len(tag)
	tag, err := appendAVCDecoderConfig(tag, v.sps, v.pps)
	if err == nil {
		v.config, err = NewDecoderConfig(H264, tag[hdr:])
	}
	if err != nil {
		w.stats.dropped.Add(1)
		return nil
	}
	v.seqSent = true
	u.Keyframe, u.SequenceHeader, u.Config = true, true, v.config
	return w.publishTag(u, tag, hdr, nil, 0)
}

// publishVP8 publishes a VP8 frame as an Enhanced RTMP vp08 tag, after a
// sequence start with a VPCodecConfigurationRecord.
func (w *WebRTCPublisher) publishVP8(frame, payloads []byte, u Unit) error {
	v := &w.video
	key := frame[0]&1 == 0 // the inverse key frame flag (RFC 6386 §9.1)
	if v.waitKey && !key {
		w.stats.dropped.Add(1)
		w.requestKeyFrame()
		return nil
	}
	v.waitKey = false
	if !v.seqSent {
		tag := flv.AppendVideoTagHeader(nil, flv.FrameKey, flv.FourCCVP8, flv.VideoSequenceStart, 0, true)
		hdr := len(tag)
		tag = append(tag, vp8CodecConfig...)
		v.config, _ = NewDecoderConfig(VP8, tag[hdr:]) // VP8 records are not parsed
		seq := u
		seq.Keyframe, seq.SequenceHeader, seq.Config = true, true, v.config
		if err := w.publishTag(seq, tag, hdr, nil, 0); err != nil {
			return err
		}
		v.seqSent = true
	}
	frameType := flv.FrameInter
	if key {
		frameType = flv.FrameKey
	}
	tag := make([]byte, 0, 5+len(frame)+len(payloads))
	tag = flv.AppendVideoTagHeader(tag, frameType, flv.FourCCVP8, flv.VideoCodedFrames, 0, true)
	hdr := len(tag)
	u.Keyframe, u.Config = key, v.config
	var flags byte
	if key {
		flags = rtpKey
	}
	return w.publishTag(u, append(tag, frame...), hdr, payloads, flags)
}

// frameRTP is a frame with the RTP payloads it came in, in one
// allocation.
type frameRTP struct {
	Frame
	rf rtpFrame
}

// vp8CodecConfig is the VPCodecConfigurationRecord (VP Codec ISO Media
// File Format Binding §2.3) of a WebRTC VP8 stream: profile 0, level
// unknown, 8 bits, 4:2:0, limited range, colour unspecified (2), no codec
// initialization data. Decoders of VP8 need none of it; Enhanced RTMP
// sends a sequence start first all the same.
var vp8CodecConfig = []byte{0, 0, 8<<4 | 1<<1, 2, 2, 2, 0, 0}

func (w *WebRTCPublisher) writeAudio(t RemoteTrack, pkt *rtp.Packet) error {
	a := &w.audio
	if a.track == nil {
		a.track = t
		a.clock.rate = int64(t.Codec().ClockRate)
		if !strings.EqualFold(t.Codec().Name, "opus") {
			w.log.Warn("relay: WebRTC publisher's audio codec is not Opus: audio not published", "codec", logstr.Bound(t.Codec().Name))
		}
	}
	if t != a.track || !strings.EqualFold(t.Codec().Name, "opus") || a.clock.rate <= 0 {
		w.stats.ignored.Add(1)
		return nil
	}
	if len(pkt.Payload) == 0 {
		return nil // padding only
	}
	w.observe(&a.clock, pkt.Timestamp)
	u := Unit{Type: Audio, Codec: Opus, DTS: a.clock.ms(pkt.Timestamp), RTPTime: pkt.Timestamp}
	if a.config == nil {
		tag := opusHeadTag(t.Codec().Channels)
		hdr := len(tag) - opusHeadLen
		a.config, _ = NewDecoderConfig(Opus, tag[hdr:]) // ours: it parses
		seq := u
		seq.SequenceHeader, seq.Config = true, a.config
		if err := w.publishTag(seq, tag, hdr, nil, 0); err != nil {
			return err
		}
	}
	tag := make([]byte, 0, 5+len(pkt.Payload))
	tag = flv.AppendAudioTagHeader(tag, flv.FourCCOpus, flv.AudioCodedFrames, true)
	hdr := len(tag)
	u.Config = a.config
	return w.publishTag(u, append(tag, pkt.Payload...), hdr, nil, 0) // Data is the payload: nothing to keep
}

// opusHeadTag is an Enhanced RTMP Opus sequence start: an OpusHead (RFC
// 7845 §5.1) for channels (WebRTC negotiates 2 whatever the source),
// 48 kHz, no pre-skip (RTP Opus has no encoder delay to trim: RFC 7587
// receivers play every sample), no gain, mapping family 0.
func opusHeadTag(channels uint16) []byte {
	if channels == 0 || channels > 2 {
		channels = 2
	}
	b := flv.AppendAudioTagHeader(nil, flv.FourCCOpus, flv.AudioSequenceStart, true)
	b = append(b, "OpusHead"...)
	b = append(b, 1, byte(channels), 0, 0)
	b = binary.LittleEndian.AppendUint32(b, 48000)
	return append(b, 0, 0, 0)
}

// opusHeadLen is the length of opusHeadTag's OpusHead.
const opusHeadLen = 19

// publishTag publishes u with tag[hdr:] as its Data, and tag as the FLV
// tag body that RTMP players get, and counts it. The unit arrived now.
// payloads, if not nil, are the RTP payloads that the unit came in (the
// depacketizer's buffer; nil: too large to forward), and flags their
// rtpFrame flags: the frame keeps a copy, after the tag in tag's array
// when it has room, for WebRTC viewers, who get them instead of payloads
// cut from Data.
func (w *WebRTCPublisher) publishTag(u Unit, tag []byte, hdr int, payloads []byte, flags byte) error {
	n, size := len(tag), cap(tag)
	u.Data, u.Arrival = tag[hdr:n:n], w.cfg.Now()
	var f *Frame
	if payloads == nil {
		f = &Frame{Unit: u, tag: tag[:n:n]}
	} else {
		if cap(tag)-n < len(payloads) {
			size += len(payloads) // copied to an array of its own
		}
		fr := &frameRTP{Frame: Frame{Unit: u, tag: tag[:n:n]}}
		fr.rf = rtpFrame{flags: flags, buf: append(tag[n:], payloads...)}
		f = &fr.Frame
		f.rtp.Store(&fr.rf)
	}
	f.size = frameSize(size)
	if err := w.pub.write(f); err != nil {
		return err
	}
	w.stats.frames.Add(1)
	return nil
}

// Close ends the stream: its subscribers read what is queued and then
// the end. Idempotent.
func (w *WebRTCPublisher) Close() error {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.pub.OnKeyFrameRequest(nil)
	return w.pub.Close()
}

// WebRTCPublisherStats are a WebRTCPublisher's counters since it was
// made.
type WebRTCPublisherStats struct {
	// Packets counts the RTP packets taken; Ignored those of tracks or
	// codecs that are not published.
	Packets, Ignored int64
	// Frames counts the frames and sequence headers published; Dropped
	// the video frames dropped: broken by a lost packet, or waiting for a
	// keyframe after one.
	Frames, Dropped int64
	// KeyFrameRequests counts the key frame requests made to the sender
	// (the peer sends at most one PLI per second of them).
	KeyFrameRequests int64
}

// Stats returns the counters; safe for concurrent use.
func (w *WebRTCPublisher) Stats() WebRTCPublisherStats {
	s := &w.stats
	return WebRTCPublisherStats{
		Packets: s.packets.Load(), Ignored: s.ignored.Load(),
		Frames: s.frames.Load(), Dropped: s.dropped.Load(),
		KeyFrameRequests: s.keyRequests.Load(),
	}
}

// rtpClock maps one track's RTP timestamps to the stream's milliseconds:
// the first packet is placed at its arrival time since the stream's first
// packet of any track, and the others follow by their RTP timestamps,
// unwrapped past 2^32. Audio and video are thus aligned to within the
// difference of their first packets' network delays; a sender report's
// NTP time (RFC 3550 §6.4.1) would align them exactly, which the peer
// does not pass on yet.
type rtpClock struct {
	rate    int64 // Hz
	started bool
	last    uint32 // the last timestamp observed
	ext     int64  // last, unwrapped
	base    int64  // the first timestamp, unwrapped
	startMs int64  // the stream time of the first packet
}

// start places the first timestamp, ts, at stream time startMs.
func (c *rtpClock) start(ts uint32, startMs int64) {
	c.started, c.last, c.ext, c.base, c.startMs = true, ts, int64(ts), int64(ts), startMs
}

// observe notes the timestamp of a later packet.
func (c *rtpClock) observe(ts uint32) {
	c.ext += int64(int32(ts - c.last))
	c.last = ts
}

// ms returns the stream time of timestamp ts, near the last observed one,
// in milliseconds (0 for a time before the stream's start).
func (c *rtpClock) ms(ts uint32) uint32 {
	ext := c.ext + int64(int32(ts-c.last))
	ms := c.startMs
	if c.rate > 0 {
		ms += (ext - c.base) * 1000 / c.rate
	}
	return uint32(max(ms, 0))
}
