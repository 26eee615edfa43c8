package relay

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/streamwire/streamwire/relay/internal/ffmpegtest"
	"github.com/streamwire/streamwire/rtmp/flv"
)

// vp8Frames encodes 2 s of testsrc with libvpx (a key frame every 30
// frames) and returns the frames of the IVF file.
func vp8Frames(t *testing.T) [][]byte {
	t.Helper()
	path := writeTemp(t, "src.ivf", nil)
	ffmpegtest.Run(t, "-f", "lavfi", "-i", "testsrc=size=320x240:rate=30", "-t", "2", "-c:v", "libvpx", "-g", "30", "-b:v", "1M", "-y", "-f", "ivf", path)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	for b = b[32:]; len(b) >= 12; {
		n := int(binary.LittleEndian.Uint32(b))
		frames = append(frames, b[12:12+n])
		b = b[12+n:]
	}
	if len(frames) != 60 {
		t.Fatalf("%d VP8 frames, want 60", len(frames))
	}
	return frames
}

// appendIVF appends an IVF file (the format libvpx's tools write) of
// 320x240 frames.
func appendIVF(b []byte, frames [][]byte) []byte {
	b = append(b, "DKIF"...)
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = binary.LittleEndian.AppendUint16(b, 32)
	b = append(b, "VP80"...)
	b = binary.LittleEndian.AppendUint16(b, 320)
	b = binary.LittleEndian.AppendUint16(b, 240)
	b = binary.LittleEndian.AppendUint32(b, 30)
	b = binary.LittleEndian.AppendUint32(b, 1)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(frames)))
	b = binary.LittleEndian.AppendUint32(b, 0)
	for i, f := range frames {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(f)))
		b = binary.LittleEndian.AppendUint64(b, uint64(i))
		b = append(b, f...)
	}
	return b
}

// TestWebRTCPublisherVP8: a VP8 publisher (Firefox's default) is
// published as Enhanced RTMP vp08 frames after a sequence start, and a
// VP8 viewer of the stream gets every frame back, which ffmpeg decodes;
// a frame that loses a packet is dropped with what follows it up to the
// next key frame.
func TestWebRTCPublisherVP8(t *testing.T) {
	src := vp8Frames(t)
	pz := rtp.NewPacketizerWithOptions(RTPMaxPayload+12, &codecs.VP8Payloader{EnablePictureID: true}, rtp.NewFixedSequencer(7), 90000,
		rtp.WithPayloadType(96), rtp.WithSSRC(1), rtp.WithTimestamp(0))
	var pkts [][]*rtp.Packet
	for _, f := range src {
		pkts = append(pkts, pz.Packetize(f, 3000))
	}
	if len(pkts[30]) < 2 {
		t.Fatalf("key frame 30 has %d packets, the loss case needs 2", len(pkts[30]))
	}
	h := NewHub(Config{})
	pub, _ := h.Publish("live/vp8")
	w := NewWebRTCPublisher(pub, WebRTCPublisherConfig{})
	sub, _ := h.Subscribe("live/vp8")
	viewerSub, _ := h.Subscribe("live/vp8")
	video := newFakeLocal("VP8")
	_, wait := runViewer(t, viewerSub, WebRTCSubscriberConfig{}, video, nil)
	track := newFakeRemote("VP8")
	for i, fp := range pkts {
		for j, p := range fp {
			if i == 30 && j == 1 {
				continue // lost: frames 30 to 59 are dropped
			}
			if err := w.WriteRTP(track, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	w.Close()
	want := src[:30]
	frames := readAll(t, sub)
	if len(frames) != 1+len(want) || !frames[0].SequenceHeader {
		t.Fatalf("%d frames, want a sequence start and %d", len(frames), len(want))
	}
	for i, f := range frames {
		tag, err := flv.ParseVideoTag(f.FLVTag())
		if err != nil || tag.FourCC != flv.FourCCVP8 || !tag.Enhanced {
			t.Fatalf("frame %d: %+v, %v", i, tag, err)
		}
		if i == 0 {
			continue
		}
		if !bytes.Equal(tag.Data, want[i-1]) || f.Keyframe != ((i-1)%30 == 0) || f.DTS != frameMs(i-1) {
			t.Fatalf("frame %d differs (keyframe %v at %d ms)", i-1, f.Keyframe, f.DTS)
		}
	}
	if track.requests.Load() == 0 {
		t.Error("no key frame request after the loss")
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	sent := depacketize(t, video.sent(), &codecs.VP8Packet{})
	if len(sent) != len(want) {
		t.Fatalf("VP8 viewer: %d frames, want %d", len(sent), len(want))
	}
	var got [][]byte
	for i, f := range sent {
		if !bytes.Equal(f.data, want[i]) {
			t.Fatalf("VP8 viewer frame %d differs", i)
		}
		got = append(got, f.data)
	}
	if n := decodedFrames(t, writeTemp(t, "out.ivf", appendIVF(nil, got))); n != len(got) {
		t.Fatalf("ffmpeg decoded %d frames, want %d", n, len(got))
	}
}
