package relay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streamwire/streamwire/internal/syncbuf"
	"github.com/streamwire/streamwire/relay/internal/ffmpegtest"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/streamwire/streamwire/rtmp/flv"
	"github.com/streamwire/streamwire/sdp"
)

// fakeRemote is a RemoteTrack that counts key frame requests.
type fakeRemote struct {
	kind     sdp.Kind
	codec    sdp.NegotiatedCodec
	requests atomic.Int32
}

func newFakeRemote(name string) *fakeRemote {
	if name == "opus" {
		return &fakeRemote{kind: sdp.KindAudio, codec: sdp.NegotiatedCodec{Name: name, ClockRate: 48000, Channels: 2, PayloadType: 111}}
	}
	return &fakeRemote{kind: sdp.KindVideo, codec: sdp.NegotiatedCodec{Name: name, ClockRate: 90000, PayloadType: 102}}
}

func (f *fakeRemote) Kind() sdp.Kind             { return f.kind }
func (f *fakeRemote) Codec() sdp.NegotiatedCodec { return f.codec }
func (f *fakeRemote) RequestKeyFrame() error     { f.requests.Add(1); return nil }

// rtpAU is the RTP packets of one access unit.
type rtpAU []*rtp.Packet

// packetizeH264 cuts access units into RTP with pion's packetizer, as a
// pion publisher sends them, 3,000 ticks (1/30 s) apart from ts0, so that
// timestamps can cross 2^32.
func packetizeH264(aus [][][]byte, ts0 uint32, seq0 uint16) []rtpAU {
	pz := rtp.NewPacketizerWithOptions(RTPMaxPayload+12, &codecs.H264Payloader{}, rtp.NewFixedSequencer(seq0), 90000,
		rtp.WithPayloadType(102), rtp.WithSSRC(0x1234), rtp.WithTimestamp(ts0))
	out := make([]rtpAU, len(aus))
	for i, au := range aus {
		out[i] = pz.Packetize(annexB(au), 3000)
	}
	return out
}

// fakeClock is a settable clock.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// avcFrame is a hub frame's AVC content.
func avcNALUs(t *testing.T, f *Frame) (flv.VideoTag, [][]byte) {
	t.Helper()
	tag, err := flv.ParseVideoTag(f.FLVTag())
	if err != nil || tag.FourCC != flv.FourCCAVC {
		t.Fatalf("frame at %d ms: %v (%v)", f.DTS, err, tag.FourCC)
	}
	var nalus [][]byte
	it := flv.NewNALUIter(tag.Data, 4)
	for n, ok := it.Next(); ok; n, ok = it.Next() {
		nalus = append(nalus, n)
	}
	if it.Err() != nil {
		t.Fatal(it.Err())
	}
	return tag, nalus
}

// TestWebRTCPublisherH264: a pion-packetized H.264 stream, with RTP
// timestamps crossing 2^32, becomes a sequence header and AVC frames
// equal to the source access units (without their SPS and PPS), at
// RTMP timestamps from 0; ffmpeg decodes all 90 frames of the FLV file
// they make; and a WebRTC viewer of the same stream gets them back (WHIP
// to WHEP).
func TestWebRTCPublisherH264(t *testing.T) {
	aus := readH264AUs(t)
	h := NewHub(Config{})
	pub, _ := h.Publish("live/whip")
	var clock fakeClock
	w := NewWebRTCPublisher(pub, WebRTCPublisherConfig{Now: clock.now})
	sub, _ := h.Subscribe("live/whip")
	viewerSub, _ := h.Subscribe("live/whip")
	video := newFakeLocal("H264")
	_, wait := runViewer(t, viewerSub, WebRTCSubscriberConfig{}, video, nil)
	track := newFakeRemote("H264")
	for _, au := range packetizeH264(aus, 0xffff0000, 65500) {
		for _, p := range au {
			if err := w.WriteRTP(track, p); err != nil {
				t.Fatal(err)
			}
		}
		clock.advance(time.Second / 30)
	}
	w.Close()
	if err := w.WriteRTP(track, &rtp.Packet{}); !errors.Is(err, ErrClosed) {
		t.Errorf("WriteRTP after Close: %v", err)
	}
	frames := readAll(t, sub)
	if len(frames) != 1+len(aus) {
		t.Fatalf("%d frames, want a sequence header and %d", len(frames), len(aus))
	}
	seq := frames[0]
	if !seq.SequenceHeader || seq.DTS != 0 {
		t.Fatalf("first frame: %+v", seq.Unit)
	}
	tag, _ := flv.ParseVideoTag(seq.FLVTag())
	cfg, err := flv.ParseAVCDecoderConfig(tag.Data)
	if err != nil || len(cfg.SPS) != 1 || !bytes.Equal(cfg.SPS[0], findNALU(aus[0], naluSPS)) || !bytes.Equal(cfg.PPS[0], findNALU(aus[0], naluPPS)) || cfg.LengthSize != 4 {
		t.Fatalf("sequence header: %+v, %v", cfg, err)
	}
	for i, f := range frames[1:] {
		tag, nalus := avcNALUs(t, f)
		want := withoutParams(aus[i])
		if len(nalus) != len(want) || !bytes.Equal(avcc(nalus), avcc(want)) {
			t.Fatalf("frame %d: NAL units differ from the source", i)
		}
		if f.Keyframe != auKey(aus[i]) || tag.IsKeyFrame() != f.Keyframe || f.DTS != frameMs(i) {
			t.Fatalf("frame %d: keyframe %v at %d ms, want %v at %d", i, f.Keyframe, f.DTS, auKey(aus[i]), frameMs(i))
		}
	}
	if n := decodedFrames(t, writeTemp(t, "whip.flv", appendFLVFile(nil, frames))); n != len(aus) {
		t.Fatalf("ffmpeg decoded %d frames, want %d", n, len(aus))
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	sent := depacketizeH264(t, video.sent())
	if len(sent) != len(aus) {
		t.Fatalf("WHEP viewer: %d frames, want %d", len(sent), len(aus))
	}
	sps, pps := findNALU(aus[0], naluSPS), findNALU(aus[0], naluPPS)
	for i, f := range sent {
		if !bytes.Equal(f.data, wantSentAU(withoutParams(aus[i]), sps, pps)) {
			t.Fatalf("WHEP viewer frame %d differs", i)
		}
	}
	st := w.Stats()
	if st.Frames != int64(len(frames)) || st.Dropped != 0 || st.Ignored != 0 {
		t.Errorf("stats %+v", st)
	}
}

// publishRTP feeds packets to a WebRTCPublisher on a hub and returns the
// coded frames published (sequence headers left out) and the number of
// key frame requests.
func publishRTP(t *testing.T, pkts []*rtp.Packet) ([]*Frame, int) {
	t.Helper()
	h := NewHub(Config{})
	pub, _ := h.Publish("live/loss")
	w := NewWebRTCPublisher(pub, WebRTCPublisherConfig{})
	sub, _ := h.Subscribe("live/loss")
	track := newFakeRemote("H264")
	for _, p := range pkts {
		if err := w.WriteRTP(track, p); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	var out []*Frame
	for _, f := range readAll(t, sub) {
		if !f.SequenceHeader {
			out = append(out, f)
		}
	}
	if got := w.Stats().KeyFrameRequests; got != int64(track.requests.Load()) {
		t.Errorf("stats count %d key frame requests, the track got %d", got, track.requests.Load())
	}
	return out, int(track.requests.Load())
}

// checkPublished checks that the frames are the source access units
// want, in order.
func checkPublished(t *testing.T, frames []*Frame, aus [][][]byte, want []int) {
	t.Helper()
	if len(frames) != len(want) {
		t.Fatalf("%d frames published, want %d", len(frames), len(want))
	}
	for i, f := range frames {
		_, nalus := avcNALUs(t, f)
		if f.DTS != frameMs(want[i]) || !bytes.Equal(avcc(nalus), avcc(withoutParams(aus[want[i]]))) {
			t.Fatalf("frame %d at %d ms is not access unit %d", i, f.DTS, want[i])
		}
	}
}

func span(from, to int) []int {
	var s []int
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

func flatten(aus []rtpAU) []*rtp.Packet {
	var out []*rtp.Packet
	for _, au := range aus {
		out = append(out, au...)
	}
	return out
}

// TestWebRTCPublisherLoss: a lost packet drops its access unit and every
// one after it up to the next IDR, which is asked for; duplicates,
// padding-only packets and a sender that sets no marker bit lose nothing.
func TestWebRTCPublisherLoss(t *testing.T) {
	aus := readH264AUs(t)
	rtpAUs := packetizeH264(aus, 1000, 0)
	if len(rtpAUs[30]) < 3 || len(rtpAUs[9]) != 1 {
		t.Fatalf("the IDR at 30 has %d packets, the P frame at 9 %d: the cases below need 3+ and 1", len(rtpAUs[30]), len(rtpAUs[9]))
	}
	t.Run("FU-A fragment", func(t *testing.T) {
		pkts := flatten(rtpAUs)
		mid := rtpAUs[30][2]
		if mid.Payload[0]&0x1f != naluFUA || mid.Payload[1]&0xc0 != 0 {
			t.Fatalf("packet 2 of the IDR is not a middle FU-A fragment")
		}
		pkts = slicesDelete(pkts, mid)
		frames, requests := publishRTP(t, pkts)
		checkPublished(t, frames, aus, append(span(0, 30), span(60, 90)...))
		if requests == 0 {
			t.Error("no key frame request after a loss")
		}
	})
	t.Run("whole P frame", func(t *testing.T) {
		frames, requests := publishRTP(t, slicesDelete(flatten(rtpAUs), rtpAUs[9][0]))
		checkPublished(t, frames, aus, append(span(0, 9), span(30, 90)...))
		if requests == 0 {
			t.Error("no key frame request after a loss")
		}
	})
	t.Run("last packet with the marker", func(t *testing.T) {
		au := rtpAUs[30]
		frames, _ := publishRTP(t, slicesDelete(flatten(rtpAUs), au[len(au)-1]))
		checkPublished(t, frames, aus, append(span(0, 30), span(60, 90)...))
	})
	t.Run("duplicates and padding", func(t *testing.T) {
		var pkts []*rtp.Packet
		seq := uint16(0)
		for i, au := range rtpAUs {
			for _, p := range au {
				c := *p
				c.SequenceNumber = seq
				seq++
				pkts = append(pkts, &c)
				if i%7 == 0 {
					pkts = append(pkts, &c) // a retransmission that came twice
				}
			}
			if i%5 == 0 { // a bandwidth probe: padding only, a sequence number of its own
				pkts = append(pkts, &rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: au[0].Timestamp + 1}})
				seq++
			}
		}
		frames, requests := publishRTP(t, pkts)
		checkPublished(t, frames, aus, span(0, 90))
		if requests != 0 {
			t.Errorf("%d key frame requests without a loss", requests)
		}
	})
	t.Run("no marker bits", func(t *testing.T) {
		var pkts []*rtp.Packet
		for _, p := range flatten(rtpAUs) {
			c := *p
			c.Marker = false
			pkts = append(pkts, &c)
		}
		frames, _ := publishRTP(t, pkts)
		checkPublished(t, frames, aus, span(0, 89)) // the last one is never closed
	})
}

func slicesDelete(pkts []*rtp.Packet, drop *rtp.Packet) []*rtp.Packet {
	var out []*rtp.Packet
	for _, p := range pkts {
		if p != drop {
			out = append(out, p)
		}
	}
	return out
}

// rtpOpus packetizes Opus packets 20 ms (960 ticks) apart.
func rtpOpus(opus [][]byte, ts0 uint32) []*rtp.Packet {
	pz := rtp.NewPacketizerWithOptions(RTPMaxPayload+12, &codecs.OpusPayloader{}, rtp.NewRandomSequencer(), 48000,
		rtp.WithPayloadType(111), rtp.WithSSRC(0x5678), rtp.WithTimestamp(ts0))
	var out []*rtp.Packet
	for _, o := range opus {
		out = append(out, pz.Packetize(o, 960)...)
	}
	return out
}

// TestWebRTCPublisherAudioVideo: Opus becomes Enhanced RTMP Opus audio
// after an OpusHead sequence start, each track's first packet placed at
// its arrival: audio that starts 100 ms after the video is published 100
// ms later on the stream's timeline, whatever the RTP timestamps.
func TestWebRTCPublisherAudioVideo(t *testing.T) {
	aus := readH264AUs(t)
	opus := oggOpusPackets(t, testOpusFile)
	h := NewHub(Config{})
	pub, _ := h.Publish("live/av")
	var clock fakeClock
	w := NewWebRTCPublisher(pub, WebRTCPublisherConfig{Now: clock.now})
	sub, _ := h.Subscribe("live/av")
	video, audio := newFakeRemote("H264"), newFakeRemote("opus")
	vpkts, apkts := packetizeH264(aus, 123456, 0), rtpOpus(opus, 0xfffff000)
	// Video frames at their 30 fps times from 0, audio every 20 ms from 100 ms.
	vi, ai := 0, 0
	for ms := 0; ms < 3000; ms++ {
		for ; vi < len(vpkts) && int(frameMs(vi)) == ms; vi++ {
			for _, p := range vpkts[vi] {
				if err := w.WriteRTP(video, p); err != nil {
					t.Fatal(err)
				}
			}
		}
		for ; ai < len(apkts) && 100+20*ai == ms; ai++ {
			if err := w.WriteRTP(audio, apkts[ai]); err != nil {
				t.Fatal(err)
			}
		}
		clock.advance(time.Millisecond)
	}
	w.Close()
	var head *Frame
	var got [][]byte
	var ts []uint32
	var videoFrames int
	for _, f := range readAll(t, sub) {
		if f.Type == Video && !f.SequenceHeader {
			if f.DTS != frameMs(videoFrames) {
				t.Fatalf("video frame %d at %d ms, want %d", videoFrames, f.DTS, frameMs(videoFrames))
			}
			videoFrames++
		}
		if f.Type != Audio {
			continue
		}
		tag, err := flv.ParseAudioTag(f.FLVTag())
		if err != nil || tag.FourCC != flv.FourCCOpus || !tag.Enhanced {
			t.Fatalf("audio frame: %+v, %v", tag, err)
		}
		if f.SequenceHeader {
			head = f
			oh, err := flv.ParseOpusHead(tag.Data)
			if err != nil || oh.Channels != 2 || oh.InputSampleRate != 48000 || oh.PreSkip != 0 {
				t.Fatalf("OpusHead %+v, %v", oh, err)
			}
			continue
		}
		got, ts = append(got, tag.Data), append(ts, f.DTS)
	}
	if head == nil || head.DTS != 100 {
		t.Fatalf("OpusHead sequence start: %v", head)
	}
	if videoFrames != len(aus) {
		t.Fatalf("%d video frames, want %d", videoFrames, len(aus))
	}
	n := min(len(opus), 145) // what fits in 3 s from 100 ms
	if len(got) != n {
		t.Fatalf("%d Opus frames, want %d", len(got), n)
	}
	for i := range got {
		if !bytes.Equal(got[i], opus[i]) || ts[i] != uint32(100+20*i) {
			t.Fatalf("Opus frame %d: at %d ms, want %d", i, ts[i], 100+20*i)
		}
	}
}

// TestWebRTCPublisherRTMPPlayer: what a WHIP publisher sends (H.264 and
// Opus) reaches an RTMP player through the RTMP server: ffmpeg plays
// rtmp://.../live/whip and decodes every video frame. ffmpeg 5.1 knows no
// Enhanced RTMP audio: it sees the Opus track as codec "none" and stops
// with "Decoder (codec none) not found" unless told to take the video
// only (-map 0:v or -an), as here. Releases whose FLV demuxer reads
// Enhanced RTMP audio (FourCC Opus) play it too; only 5.1 is installed
// here, so that is not tested.
func TestWebRTCPublisherRTMPPlayer(t *testing.T) {
	ffmpeg := ffmpegtest.Need(t)
	aus := readH264AUs(t)
	opus := oggOpusPackets(t, testOpusFile)
	h := NewHub(Config{})
	base := startRTMP(t, &RTMPHandler{Hub: h})
	pub, _ := h.Publish("live/whip")
	w := NewWebRTCPublisher(pub, WebRTCPublisherConfig{})
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-i", base+"/live/whip", "-map", "0:v", "-f", "framecrc", "-")
	var stdout, stderr syncbuf.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for h.Subscribers("live/whip") == 0 {
		if ctx.Err() != nil {
			t.Fatalf("ffmpeg did not start playing: %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	video, audio := newFakeRemote("H264"), newFakeRemote("opus")
	vpkts, apkts := packetizeH264(aus, 0, 0), rtpOpus(opus, 0)
	for i, au := range vpkts {
		for _, p := range au {
			_ = w.WriteRTP(video, p)
		}
		for j := i * 5 / 3; j < (i+1)*5/3 && j < len(apkts); j++ {
			_ = w.WriteRTP(audio, apkts[j])
		}
	}
	w.Close()
	if err := cmd.Wait(); err != nil || stderr.String() != "" {
		t.Fatalf("ffmpeg: %v\n%s", err, stderr.String())
	}
	if frames := strings.Count(stdout.String(), "\n") - strings.Count(stdout.String(), "#"); frames != len(aus) {
		t.Fatalf("ffmpeg decoded %d frames, want %d", frames, len(aus))
	}
}

// TestWebRTCPublisherNewParameterSets: an SPS that changes (a new
// resolution, a new encoder) is published as a new sequence header before
// the frame that brings it, and so is the return to the first one.
func TestWebRTCPublisherNewParameterSets(t *testing.T) {
	aus := readH264AUs(t)
	sps := findNALU(aus[0], naluSPS)
	other := append(bytes.Clone(sps[:3]), sps[3]+1) // another level_idc
	other = append(other, sps[4:]...)
	changed := slices.Clone(aus)
	changed[30] = slices.Clone(aus[30])
	for i, n := range changed[30] {
		if n[0]&0x1f == naluSPS {
			changed[30][i] = other
		}
	}
	h := NewHub(Config{})
	pub, _ := h.Publish("live/sps")
	w := NewWebRTCPublisher(pub, WebRTCPublisherConfig{})
	sub, _ := h.Subscribe("live/sps")
	track := newFakeRemote("H264")
	for _, p := range flatten(packetizeH264(changed, 0, 0)) {
		if err := w.WriteRTP(track, p); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	frames := readAll(t, sub)
	var headers []string
	for i, f := range frames {
		if !f.SequenceHeader {
			continue
		}
		tag, _ := flv.ParseVideoTag(f.FLVTag())
		cfg, err := flv.ParseAVCDecoderConfig(tag.Data)
		if err != nil || i+1 >= len(frames) || !frames[i+1].Keyframe || frames[i+1].DTS != f.DTS {
			t.Fatalf("sequence header at %d ms is not followed by its keyframe (%v)", f.DTS, err)
		}
		want := sps
		if f.DTS == frameMs(30) {
			want = other
		}
		if !bytes.Equal(cfg.SPS[0], want) || cfg.Level != want[3] {
			t.Fatalf("sequence header at %d ms has the wrong SPS", f.DTS)
		}
		headers = append(headers, fmt.Sprint(f.DTS))
	}
	if got := strings.Join(headers, " "); got != fmt.Sprintf("0 %d %d", frameMs(30), frameMs(60)) {
		t.Fatalf("sequence headers at %s ms", got)
	}
}
