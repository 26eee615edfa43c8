package relay

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/streamwire/streamwire/internal/syncbuf"
	"github.com/streamwire/streamwire/relay/internal/ffmpegtest"
	"github.com/streamwire/streamwire/rtmp/flv"
)

// wantSentAU is what a viewer must rebuild from source access unit au:
// its NAL units in Annex-B, without AUD and filler (the payloader leaves
// them out), after the sequence header's SPS and PPS for an IDR that
// does not carry its own.
func wantSentAU(au [][]byte, sps, pps []byte) []byte {
	au = dropTypes(au, naluAUD, naluFiller)
	if auKey(au) && findNALU(au, naluSPS) == nil {
		au = append([][]byte{sps, pps}, au...)
	}
	return annexB(au)
}

func dropTypes(au [][]byte, types ...byte) [][]byte {
	var out [][]byte
	for _, n := range au {
		if !bytes.Contains(types, []byte{n[0] & 0x1f}) {
			out = append(out, n)
		}
	}
	return out
}

// TestWebRTCSubscriberH264 sends the H.264 file through the hub to a
// viewer, with SPS and PPS in the sequence header only (as RTMP encoders
// send them) and repeated in each IDR frame: the viewer's packets,
// depacketized by pion, give every access unit back byte for byte, with
// the sequence header's SPS and PPS before each IDR that lacks them,
// contiguous sequence numbers, RTP timestamps at 90 kHz from a random
// start, and the marker bit on each access unit's last packet.
func TestWebRTCSubscriberH264(t *testing.T) {
	aus := readH264AUs(t)
	sps, pps := findNALU(aus[0], naluSPS), findNALU(aus[0], naluPPS)
	for _, inband := range []bool{false, true} {
		t.Run(fmt.Sprintf("inband=%v", inband), func(t *testing.T) {
			h := NewHub(Config{})
			pub, _ := h.Publish("live/h264")
			sub, _ := h.Subscribe("live/h264")
			video := newFakeLocal("H264")
			v, wait := runViewer(t, sub, WebRTCSubscriberConfig{}, video, nil)
			for _, p := range avcPackets(t, aus, inband) {
				writeTags(t, pub, p)
			}
			pub.Close()
			if err := wait(); err != nil {
				t.Fatalf("Run: %v", err)
			}
			pkts := video.sent()
			frames := depacketizeH264(t, pkts)
			if len(frames) != len(aus) {
				t.Fatalf("%d frames, want %d", len(frames), len(aus))
			}
			for i, f := range frames {
				au := aus[i]
				if !inband {
					au = withoutParams(au)
				}
				if want := wantSentAU(au, sps, pps); !bytes.Equal(f.data, want) {
					t.Fatalf("frame %d: %d bytes differ from the %d of the source", i, len(f.data), len(want))
				}
				if got, want := f.ts-frames[0].ts, frameMs(i)*90; got != want {
					t.Fatalf("frame %d: timestamp +%d, want +%d", i, got, want)
				}
			}
			st := v.Stats()
			if st.Packets != int64(len(pkts)) || st.Frames != int64(len(aus)) || st.Skipped != 0 {
				t.Errorf("stats %+v for %d packets", st, len(pkts))
			}
			if h.Subscribers("live/h264") != 0 {
				t.Error("Run left its subscriber attached")
			}
		})
	}
}

// TestWebRTCSubscriberLateJoiner: a viewer joining mid-GOP gets the
// cached GOP, starting with the sequence header's SPS and PPS and the
// IDR, and ffmpeg decodes what it received without an error.
func TestWebRTCSubscriberLateJoiner(t *testing.T) {
	aus := readH264AUs(t)
	pkts := avcPackets(t, aus, false)
	h := NewHub(Config{})
	pub, _ := h.Publish("live/late")
	for _, p := range pkts[:1+45] { // the sequence header and frames 0-44: the GOP of frame 30 is cached
		writeTags(t, pub, p)
	}
	sub, _ := h.Subscribe("live/late")
	video := newFakeLocal("h264") // names are case-insensitive
	_, wait := runViewer(t, sub, WebRTCSubscriberConfig{}, video, nil)
	for _, p := range pkts[1+45:] {
		writeTags(t, pub, p)
	}
	pub.Close()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	sent := video.sent()
	if first := sent[0].payload; first[0]&0x1f != naluSTAPA {
		t.Fatalf("first packet is NAL type %d, want a STAP-A of SPS and PPS", first[0]&0x1f)
	}
	frames := depacketizeH264(t, sent)
	if len(frames) != 60 {
		t.Fatalf("%d frames, want 60 (from frame 30 on)", len(frames))
	}
	var stream []byte
	for _, f := range frames {
		stream = append(stream, f.data...)
	}
	if n := decodedFrames(t, writeTemp(t, "late.h264", stream), "-f", "h264"); n != 60 {
		t.Fatalf("ffmpeg decoded %d frames, want 60", n)
	}
}

// TestWebRTCSubscriberFFmpegFLV: ffmpeg encodes H.264 with four slices per
// picture and AAC into FLV. The viewer gets every access unit with its
// several NAL units, ffmpeg decodes them all, and, with the transcoder
// off, the AAC audio is left out with one warning per stream, however
// many viewers there are (aac_opus_test.go tests the transcoder).
func TestWebRTCSubscriberFFmpegFLV(t *testing.T) {
	path := writeTemp(t, "src.flv", nil)
	ffmpegtest.Run(t, "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-f", "lavfi", "-i", "sine",
		"-t", "2", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-profile:v", "baseline", "-x264-params", "slices=4:keyint=25",
		"-c:a", "aac", "-y", "-f", "flv", path)
	pkts := flvPackets(t, path)
	var logs syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	h := NewHub(Config{NoTranscode: true})
	pub, _ := h.Publish("live/flv")
	var videos, audios []*fakeLocal
	var waits []func() error
	for range 2 {
		sub, _ := h.Subscribe("live/flv")
		video, audio := newFakeLocal("H264"), newFakeLocal("opus")
		_, wait := runViewer(t, sub, WebRTCSubscriberConfig{Logger: log}, video, audio)
		videos, audios, waits = append(videos, video), append(audios, audio), append(waits, wait)
	}
	var want [][]byte
	for _, p := range pkts {
		writeTags(t, pub, p)
		// Not the sequence header, nor the end of sequence ffmpeg writes last.
		if tag, _ := flv.ParseVideoTag(p.Payload); p.Type == Video && tag.PacketType == flv.VideoCodedFrames {
			var nalus [][]byte
			it := flv.NewNALUIter(tag.Data, 4)
			for n, ok := it.Next(); ok; n, ok = it.Next() {
				nalus = append(nalus, n)
			}
			want = append(want, annexB(dropTypes(nalus, naluAUD, naluFiller)))
		}
	}
	pub.Close()
	for i, wait := range waits {
		if err := wait(); err != nil {
			t.Fatal(err)
		}
		if n := len(audios[i].sent()); n != 0 {
			t.Errorf("viewer %d: %d audio packets of an AAC stream", i, n)
		}
		frames := depacketizeH264(t, videos[i].sent())
		if len(frames) != len(want) {
			t.Fatalf("viewer %d: %d frames, want %d", i, len(frames), len(want))
		}
		var stream []byte
		for j, f := range frames {
			if !bytes.HasSuffix(f.data, want[j]) {
				t.Fatalf("viewer %d frame %d differs from the source", i, j)
			}
			if bytes.Count(want[j], []byte{0, 0, 0, 1}) < 4 {
				t.Fatalf("frame %d has fewer than 4 NAL units: not the multi-slice stream", j)
			}
			stream = append(stream, f.data...)
		}
		if n := decodedFrames(t, writeTemp(t, "out.h264", stream), "-f", "h264"); n != len(want) {
			t.Fatalf("ffmpeg decoded %d frames, want %d", n, len(want))
		}
	}
	if n := strings.Count(logs.String(), "audio is AAC"); n != 1 {
		t.Errorf("%d AAC warnings, want 1 per stream:\n%s", n, logs.String())
	}
}

// TestWebRTCSubscriberBFrames: x264 with B-frames (b-pyramid on, so that
// some B-frames are references). By default the viewer is refused with
// ErrBFrames; with DropBFrames it gets the I and P frames only, and they
// decode without an error.
func TestWebRTCSubscriberBFrames(t *testing.T) {
	path := writeTemp(t, "bframes.flv", nil)
	ffmpegtest.Run(t, "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "2",
		"-pix_fmt", "yuv420p", "-c:v", "libx264", "-profile:v", "main", "-bf", "3", "-b_strategy", "0", "-x264-params", "keyint=25:b-pyramid=normal",
		"-an", "-y", "-f", "flv", path)
	pkts := flvPackets(t, path)
	refB := 0
	for _, p := range pkts {
		tag, _ := flv.ParseVideoTag(p.Payload)
		if p.Type != Video || tag.PacketType != flv.VideoCodedFrames {
			continue
		}
		it := flv.NewNALUIter(tag.Data, 4)
		for n, ok := it.Next(); ok; n, ok = it.Next() {
			if isVCL(n) && isBSlice(n) && n[0]&0x60 != 0 {
				refB++
			}
		}
	}
	if refB == 0 {
		t.Fatal("the source has no reference B-frames: not the B-pyramid case")
	}
	for _, policy := range []BFramePolicy{RefuseBFrames, DropBFrames} {
		var logs syncbuf.Buffer
		h := NewHub(Config{})
		pub, _ := h.Publish("live/b")
		sub, _ := h.Subscribe("live/b")
		later, _ := h.Subscribe("live/b")
		if later.HasBFrames() {
			t.Fatal("HasBFrames before any frame")
		}
		video := newFakeLocal("H264")
		v, wait := runViewer(t, sub, WebRTCSubscriberConfig{BFrames: policy, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, video, nil)
		writeTags(t, pub, pkts...)
		pub.Close()
		err := wait()
		if !later.HasBFrames() {
			t.Errorf("%v: HasBFrames false after a viewer met B-frames", policy)
		}
		later.Close()
		if policy == RefuseBFrames {
			if !errors.Is(err, ErrBFrames) || !strings.Contains(logs.String(), "B-frames") {
				t.Fatalf("refused: Run %v, log %q", err, logs.String())
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		frames := depacketizeH264(t, video.sent())
		var stream []byte
		for _, f := range frames {
			for _, n := range annexBNALUs(f.data) {
				if isVCL(n) && isBSlice(n) {
					t.Fatal("a B slice was sent")
				}
			}
			stream = append(stream, f.data...)
		}
		skipped := v.Stats().Skipped
		if skipped == 0 || len(frames)+int(skipped) != 50 {
			t.Fatalf("%d frames sent, %d skipped, want 50 in all and B-frames skipped", len(frames), skipped)
		}
		if n := decodedFrames(t, writeTemp(t, "ip.h264", stream), "-f", "h264"); n != len(frames) {
			t.Fatalf("ffmpeg decoded %d of the %d I and P frames", n, len(frames))
		}
	}
}

// opusPackets turns Opus packets into Enhanced RTMP Opus tags, 20 ms
// apart, after an OpusHead sequence start.
func opusPackets(opus [][]byte) []flvMsg {
	pkts := []flvMsg{{Type: Audio, Payload: opusHeadTag(2)}}
	for i, o := range opus {
		p := flv.AppendAudioTagHeader(nil, flv.FourCCOpus, flv.AudioCodedFrames, true)
		pkts = append(pkts, flvMsg{Type: Audio, Timestamp: uint32(20 * i), Payload: append(p, o...)})
	}
	return pkts
}

// TestWebRTCSubscriberOpus: Enhanced RTMP Opus reaches the viewer's audio
// track one packet per tag, at 48 kHz, while a VP8-only viewer's video
// track gets nothing of an H.264 stream and says so once.
func TestWebRTCSubscriberOpus(t *testing.T) {
	opus := oggOpusPackets(t, testOpusFile)
	h := NewHub(Config{})
	pub, _ := h.Publish("live/opus")
	sub, _ := h.Subscribe("live/opus")
	var logs syncbuf.Buffer
	video, audio := newFakeLocal("VP8"), newFakeLocal("opus")
	_, wait := runViewer(t, sub, WebRTCSubscriberConfig{Logger: slog.New(slog.NewTextHandler(&logs, nil))}, video, audio)
	aus := readH264AUs(t)
	for _, p := range append(avcPackets(t, aus[:5], false), opusPackets(opus)...) {
		writeTags(t, pub, p)
	}
	pub.Close()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if n := len(video.sent()); n != 0 || !strings.Contains(logs.String(), "no video") {
		t.Errorf("VP8 viewer of H.264: %d packets; log %q", n, logs.String())
	}
	sent := audio.sent()
	for i, p := range sent {
		if p.marker {
			t.Fatalf("Opus packet %d has the marker bit", i)
		}
	}
	frames := depacketize(t, markAll(sent), &codecs.OpusPacket{})
	if len(frames) != len(opus) {
		t.Fatalf("%d Opus packets, want %d", len(frames), len(opus))
	}
	for i, f := range frames {
		if !bytes.Equal(f.data, opus[i]) || f.ts-frames[0].ts != uint32(960*i) {
			t.Fatalf("packet %d: %d bytes at +%d", i, len(f.data), f.ts-frames[0].ts)
		}
	}
}

// markAll sets the marker of every packet, so that depacketize takes each
// as a frame.
func markAll(pkts []sentPacket) []sentPacket {
	for i := range pkts {
		pkts[i].marker = true
	}
	return pkts
}

// blockingLocal is a fakeLocal whose writes wait until release is closed,
// after telling entered that the first one started.
type blockingLocal struct {
	*fakeLocal
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (b *blockingLocal) WriteRTP(p *rtp.Packet) error {
	b.once.Do(func() { close(b.entered) })
	<-b.release
	return b.fakeLocal.WriteRTP(p)
}

// TestWebRTCSubscriberSlowViewer: a viewer that stalls overflows its
// queue; the hub drops to the next keyframe, and the viewer's sequence
// numbers go on without a gap (nothing for it to NACK), its first frame
// after the drop being an IDR with SPS and PPS. ffmpeg decodes all it got.
func TestWebRTCSubscriberSlowViewer(t *testing.T) {
	aus := readH264AUs(t)
	pkts := avcPackets(t, aus, false)
	h := NewHub(Config{QueueLen: 8})
	pub, _ := h.Publish("live/slow")
	sub, _ := h.Subscribe("live/slow")
	video := &blockingLocal{fakeLocal: newFakeLocal("H264"), entered: make(chan struct{}), release: make(chan struct{})}
	_, wait := runViewer(t, sub, WebRTCSubscriberConfig{}, video, nil)
	writeTags(t, pub, pkts[0])
	writeTags(t, pub, pkts[1]) // the first IDR: the viewer takes it and stalls in its first write
	<-video.entered
	for _, p := range pkts[2:45] { // 43 frames into a queue of 8: dropped up to the IDR at 30
		writeTags(t, pub, p)
	}
	close(video.release)
	for _, p := range pkts[45:] {
		writeTags(t, pub, p)
	}
	pub.Close()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if sub.Dropped() == 0 {
		t.Fatal("the hub dropped nothing")
	}
	frames := depacketizeH264(t, video.sent()) // fails on a sequence gap
	index := map[uint32]int{}                  // RTP timestamp offset to source frame
	for i := range aus {
		index[frameMs(i)*90] = i
	}
	var stream []byte
	prev := -1
	for _, f := range frames {
		i, ok := index[f.ts-frames[0].ts]
		if !ok {
			t.Fatalf("a frame at +%d ticks", f.ts-frames[0].ts)
		}
		if i != prev+1 && !bytes.HasPrefix(f.data, annexB([][]byte{findNALU(aus[0], naluSPS)})) {
			t.Fatalf("frame %d follows %d without SPS, PPS and IDR", i, prev)
		}
		prev = i
		stream = append(stream, f.data...)
	}
	if len(frames) == len(aus) {
		t.Fatal("every frame was sent: the viewer did not fall behind")
	}
	if n := decodedFrames(t, writeTemp(t, "slow.h264", stream), "-f", "h264"); n != len(frames) {
		t.Fatalf("ffmpeg decoded %d of %d frames", n, len(frames))
	}
}
