package relay

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/streamwire/streamwire/relay/internal/ffmpegtest"
	"github.com/streamwire/streamwire/rtmp"
	"github.com/streamwire/streamwire/rtmp/flv"
	"github.com/streamwire/streamwire/sdp"
)

// Media files shared with the interop tests.
const (
	// testH264File: 3 s of 320x240 30 fps constrained-baseline H.264
	// (libx264, an IDR every 30 frames with its SPS and PPS, one slice
	// per picture), Annex-B.
	testH264File = "../interop/testdata/media/testsrc-320x240-30fps-3s.h264"
	// testOpusFile: 3 s of a 440 Hz sine in Opus, 20 ms packets, Ogg.
	testOpusFile = "../interop/testdata/media/sine-440hz-3s.opus.ogg"
)

// annexBNALUs splits an Annex-B byte stream at its start codes.
func annexBNALUs(b []byte) [][]byte {
	var out [][]byte
	start := -1
	for i := 0; i+3 <= len(b); {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				out = append(out, bytes.TrimRight(b[start:i], "\x00"))
			}
			i += 3
			start = i
			continue
		}
		i++
	}
	if start >= 0 {
		out = append(out, b[start:])
	}
	return out
}

func isVCL(nalu []byte) bool { t := nalu[0] & 0x1f; return t == naluSlice || t == naluIDR }

// firstMB is a slice's first_mb_in_slice.
func firstMB(nalu []byte) uint32 {
	r := expGolomb{b: nalu[1:]}
	v, _ := r.ue()
	return v
}

// accessUnits groups NAL units into access units (H.264 §7.4.1.2.3): a
// new one starts at an AUD, SPS, PPS or SEI, or at a slice whose
// first_mb_in_slice is 0, after a slice of the current one.
func accessUnits(nalus [][]byte) [][][]byte {
	var aus [][][]byte
	var cur [][]byte
	hasVCL := false
	for _, n := range nalus {
		t := n[0] & 0x1f
		starts := hasVCL && (t == naluAUD || t == naluSPS || t == naluPPS || t == 6 || isVCL(n) && firstMB(n) == 0)
		if starts {
			aus = append(aus, cur)
			cur, hasVCL = nil, false
		}
		cur = append(cur, n)
		hasVCL = hasVCL || isVCL(n)
	}
	if len(cur) > 0 {
		aus = append(aus, cur)
	}
	return aus
}

func readH264AUs(t testing.TB) [][][]byte {
	t.Helper()
	b, err := os.ReadFile(testH264File)
	if err != nil {
		t.Fatal(err)
	}
	aus := accessUnits(annexBNALUs(b))
	if len(aus) != 90 {
		t.Fatalf("%s: %d access units, want 90", testH264File, len(aus))
	}
	return aus
}

func auKey(au [][]byte) bool {
	return slices.ContainsFunc(au, func(n []byte) bool { return n[0]&0x1f == naluIDR })
}

func findNALU(au [][]byte, typ byte) []byte {
	for _, n := range au {
		if n[0]&0x1f == typ {
			return n
		}
	}
	return nil
}

func avcc(nalus [][]byte) []byte {
	var b []byte
	for _, n := range nalus {
		b = binary.BigEndian.AppendUint32(b, uint32(len(n)))
		b = append(b, n...)
	}
	return b
}

func annexB(nalus [][]byte) []byte {
	var b []byte
	for _, n := range nalus {
		b = append(b, 0, 0, 0, 1)
		b = append(b, n...)
	}
	return b
}

// withoutParams drops SPS, PPS and AUD NAL units, as RTMP encoders keep
// them out of coded frames.
func withoutParams(au [][]byte) [][]byte {
	return slices.DeleteFunc(slices.Clone(au), func(n []byte) bool {
		t := n[0] & 0x1f
		return t == naluSPS || t == naluPPS || t == naluAUD
	})
}

// frameMs is frame i's RTMP timestamp at 30 fps.
func frameMs(i int) uint32 { return uint32(i * 1000 / 30) }

// avcPackets turns access units into hub packets as an RTMP encoder sends
// them: a sequence header from the first SPS and PPS, then the frames,
// with their own SPS and PPS when inband.
func avcPackets(t testing.TB, aus [][][]byte, inband bool) []flvMsg {
	t.Helper()
	seq := flv.AppendVideoTagHeader(nil, flv.FrameKey, flv.FourCCAVC, flv.VideoSequenceStart, 0, false)
	seq, err := appendAVCDecoderConfig(seq, findNALU(aus[0], naluSPS), findNALU(aus[0], naluPPS))
	if err != nil {
		t.Fatal(err)
	}
	pkts := []flvMsg{{Type: Video, Payload: seq}}
	for i, au := range aus {
		if !inband {
			au = withoutParams(au)
		}
		ft := flv.FrameInter
		if auKey(au) {
			ft = flv.FrameKey
		}
		p := flv.AppendVideoTagHeader(nil, ft, flv.FourCCAVC, flv.VideoCodedFrames, 0, false)
		pkts = append(pkts, flvMsg{Type: Video, Timestamp: frameMs(i), Payload: append(p, avcc(au)...)})
	}
	return pkts
}

// sentPacket is one packet a fakeLocal was given.
type sentPacket struct {
	seq     uint16
	ts      uint32
	marker  bool
	payload []byte
}

// fakeLocal is a LocalTrack that records what it is sent. block, if set,
// is received from before each write; fail, if set, is returned.
type fakeLocal struct {
	codec sdp.NegotiatedCodec
	mu    sync.Mutex
	pkts  []sentPacket
	block chan struct{}
	fail  error
}

func newFakeLocal(name string) *fakeLocal {
	rate := uint32(90000)
	if name == "opus" {
		rate = 48000
	}
	return &fakeLocal{codec: sdp.NegotiatedCodec{Name: name, ClockRate: rate, PayloadType: 96}}
}

func (f *fakeLocal) Codec() sdp.NegotiatedCodec { return f.codec }

func (f *fakeLocal) WriteRTP(p *rtp.Packet) error {
	if f.block != nil {
		<-f.block
	}
	if f.fail != nil {
		return f.fail
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pkts = append(f.pkts, sentPacket{p.SequenceNumber, p.Timestamp, p.Marker, bytes.Clone(p.Payload)})
	return nil
}

func (f *fakeLocal) sent() []sentPacket {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.pkts)
}

// sentFrame is one frame rebuilt from sent packets.
type sentFrame struct {
	ts   uint32
	data []byte // H.264: Annex-B with 4-byte start codes
}

// depacketizeH264 rebuilds access units with pion's depacketizer,
// checking that sequence numbers have no gap, that every packet fits
// RTPMaxPayload, and that the marker bit closes each access unit.
func depacketizeH264(t testing.TB, pkts []sentPacket) []sentFrame {
	t.Helper()
	return depacketize(t, pkts, &codecs.H264Packet{})
}

func depacketize(t testing.TB, pkts []sentPacket, d rtp.Depacketizer) []sentFrame {
	t.Helper()
	var out []sentFrame
	var cur []byte
	for i, p := range pkts {
		if i > 0 && p.seq != pkts[i-1].seq+1 {
			t.Fatalf("packet %d: sequence %d after %d", i, p.seq, pkts[i-1].seq)
		}
		if i > 0 && len(cur) > 0 && p.ts != pkts[i-1].ts {
			t.Fatalf("packet %d: timestamp %d inside a frame of %d", i, p.ts, pkts[i-1].ts)
		}
		if len(p.payload) > RTPMaxPayload {
			t.Fatalf("packet %d: payload of %d bytes", i, len(p.payload))
		}
		b, err := d.Unmarshal(p.payload)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		cur = append(cur, b...)
		if p.marker {
			out = append(out, sentFrame{ts: p.ts, data: cur})
			cur = nil
		}
	}
	if len(cur) > 0 {
		t.Fatalf("%d bytes after the last marker", len(cur))
	}
	return out
}

// runViewer runs a WebRTCSubscriber of sub in the background; wait
// returns Run's error.
func runViewer(t *testing.T, sub *Subscriber, cfg WebRTCSubscriberConfig, video, audio LocalTrack) (v *WebRTCSubscriber, wait func() error) {
	t.Helper()
	v = NewWebRTCSubscriber(sub, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx, video, audio) }()
	var once sync.Once
	var err error
	wait = func() error {
		once.Do(func() { err = <-done; cancel() })
		return err
	}
	t.Cleanup(func() { cancel(); _ = wait() })
	return v, wait
}

// decodedFrames decodes a file's video with ffmpeg, failing the test on
// any decoder message, and returns how many frames it decoded.
func decodedFrames(t testing.TB, path string, format ...string) int {
	t.Helper()
	args := append(slices.Clone(format), "-i", path, "-map", "0:v", "-f", "framecrc", "-")
	out := ffmpegtest.Run(t, args...)
	n := 0
	for _, line := range strings.Split(string(out), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			n++
		}
	}
	return n
}

// writeTemp writes b to a file in the test's temporary directory.
func writeTemp(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// flvMsg is an RTMP media message: an FLV tag body of a type at a time.
type flvMsg struct {
	Type      Type
	Timestamp uint32
	Payload   []byte
}

// tagFrames makes the hub frames of msgs, as the RTMP handler does.
func tagFrames(msgs []flvMsg) []*Frame {
	var conv flvUnits
	frames := make([]*Frame, len(msgs))
	for i, m := range msgs {
		frames[i] = conv.frame(rtmp.Media{Type: rtmp.MessageType(m.Type), Timestamp: m.Timestamp, Payload: m.Payload})
	}
	return frames
}

// writeTags publishes msgs as the RTMP handler does.
func writeTags(t testing.TB, pub *Publisher, msgs ...flvMsg) {
	t.Helper()
	sink := rtmpSink{p: pub}
	for _, m := range msgs {
		if err := sink.WriteMedia(rtmp.Media{Type: rtmp.MessageType(m.Type), Timestamp: m.Timestamp, Payload: m.Payload}); err != nil {
			t.Fatal(err)
		}
	}
}

// flvPackets reads an FLV file into RTMP messages.
func flvPackets(t testing.TB, path string) []flvMsg {
	t.Helper()
	var out []flvMsg
	for _, tag := range ffmpegtest.ReadFLV(t, path) {
		out = append(out, flvMsg{Type: Type(tag.Type), Timestamp: tag.Timestamp, Payload: tag.Data})
	}
	return out
}

// appendFLVFile appends an FLV file of the frames.
func appendFLVFile(b []byte, frames []*Frame) []byte {
	b = flv.AppendHeader(b, true, true)
	for _, f := range frames {
		b = flv.AppendTag(b, uint8(f.Type), f.DTS, f.FLVTag())
	}
	return b
}

// oggOpusPackets reads the Opus packets of an Ogg file (RFC 3533 pages,
// RFC 7845 packets), leaving out the OpusHead and OpusTags headers.
func oggOpusPackets(t testing.TB, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var pkts [][]byte
	var cur []byte
	for len(b) > 0 {
		if len(b) < 27 || string(b[:4]) != "OggS" {
			t.Fatalf("%s: bad Ogg page", path)
		}
		nseg := int(b[26])
		segs := b[27 : 27+nseg]
		body := b[27+nseg:]
		for _, s := range segs {
			cur = append(cur, body[:s]...)
			body = body[s:]
			if s < 255 {
				pkts = append(pkts, cur)
				cur = nil
			}
		}
		b = body
	}
	if len(pkts) < 3 || !bytes.HasPrefix(pkts[0], []byte("OpusHead")) {
		t.Fatalf("%s: no Opus stream", path)
	}
	return pkts[2:]
}
