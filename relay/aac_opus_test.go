package relay

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"math"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/streamwire/streamwire/internal/syncbuf"
	"github.com/streamwire/streamwire/relay/internal/ffmpegtest"
	"github.com/streamwire/streamwire/relay/transcode"
	"github.com/streamwire/streamwire/rtmp/flv"
)

// syncFLV makes an FLV file of H.264 (25 fps, no B-frames) and AAC in
// which every second has, at 0.52 s, a white video frame and the start
// of a 50 ms beep, black and silent otherwise: markers to find in what a
// viewer decodes.
func syncFLV(t *testing.T, seconds string) []flvMsg {
	t.Helper()
	path := writeTemp(t, "sync.flv", nil)
	marker := "between(mod(t\\,1)\\,0.52\\,0.559)"
	ffmpegtest.Run(t, "-f", "lavfi", "-i", "color=c=black:s=160x120:r=25,drawbox=c=white:t=fill:enable='"+marker+"'",
		"-f", "lavfi", "-i", "aevalsrc=if(between(mod(t\\,1)\\,0.52\\,0.57)\\,0.8*sin(2*PI*1000*t)\\,0):s=44100",
		"-t", seconds, "-pix_fmt", "yuv420p", "-c:v", "libx264", "-profile:v", "baseline", "-g", "25",
		"-c:a", "aac", "-ac", "2", "-y", "-f", "flv", path)
	return flvPackets(t, path)
}

// publishPaced writes the packets at speed times real time.
func publishPaced(t *testing.T, pub *Publisher, pkts []flvMsg, speed float64) {
	t.Helper()
	start := time.Now()
	for _, p := range pkts {
		due := time.Duration(float64(p.Timestamp) * float64(time.Millisecond) / speed)
		time.Sleep(due - time.Since(start))
		writeTags(t, pub, p)
	}
}

// zeroRand makes a viewer's RTP timestamps start at 0, so that they are
// the stream's milliseconds times 90 (video) and 48 (audio).
func zeroRand() *bytes.Reader { return bytes.NewReader(make([]byte, 12)) }

// streamOpus returns the stream's transcoder, nil if none runs.
func streamOpus(h *Hub, name string) *transcode.Transcoder {
	h.mu.Lock()
	s := h.streams[name]
	h.mu.Unlock()
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.toOpus == nil {
		return nil
	}
	return s.toOpus.tc
}

// waitUntil polls cond every 5 ms for up to 10 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestWebRTCSubscriberAACToOpus: an RTMP-style stream of H.264 and AAC
// reaches two WebRTC viewers with Opus audio from one ffmpeg for the
// stream; both get the same Opus packets; the video and audio they get
// decode with ffmpeg without a message; and each white frame and the
// beep that starts with it in the source are within 80 ms of each other
// on the viewer's RTP timelines. A player of the stream gets the AAC,
// never the Opus.
func TestWebRTCSubscriberAACToOpus(t *testing.T) {
	pkts := syncFLV(t, "4.3")
	// Published at 4 times real time, the audio comes faster than ffmpeg
	// starts: a queue of 11 s of AAC keeps it all.
	h := NewHub(Config{Transcode: transcode.Config{QueueLen: 512}})
	pub, _ := h.Publish("live/sync")
	player, _ := h.Subscribe("live/sync")
	type viewer struct {
		video, audio *fakeLocal
		v            *WebRTCSubscriber
		wait         func() error
	}
	var viewers []viewer
	for range 2 {
		sub, _ := h.Subscribe("live/sync")
		vw := viewer{video: newFakeLocal("H264"), audio: newFakeLocal("opus")}
		vw.v, vw.wait = runViewer(t, sub, WebRTCSubscriberConfig{Rand: zeroRand()}, vw.video, vw.audio)
		viewers = append(viewers, vw)
	}
	publishPaced(t, pub, pkts, 4)
	// ffmpeg holds the last few packets until more input comes.
	waitUntil(t, "the Opus of 4 s", func() bool { return len(viewers[1].audio.sent()) >= 4000/20-10 })
	st, ok := h.TranscodeStats("live/sync")
	pub.Close()
	if _, after := h.TranscodeStats("live/sync"); !ok || after {
		t.Fatalf("TranscodeStats: %v while the stream lives, %v after", ok, after)
	}
	if st.Starts != 1 || st.Crashes != 0 || st.Dropped != 0 {
		t.Fatalf("transcoder stats %+v, want one ffmpeg, nothing dropped", st)
	}
	for _, vw := range viewers {
		if err := vw.wait(); err != nil {
			t.Fatal(err)
		}
	}
	a0, a1 := viewers[0].audio.sent(), viewers[1].audio.sent()
	n := min(len(a0), len(a1))
	for i := range n {
		if !bytes.Equal(a0[len(a0)-n+i].payload, a1[len(a1)-n+i].payload) || a0[len(a0)-n+i].ts != a1[len(a1)-n+i].ts {
			t.Fatalf("the viewers' Opus packets differ (%d from the end)", n-i)
		}
	}
	for _, f := range playerFrames(t, player) {
		if tag, _ := flv.ParseAudioTag(f.FLVTag()); f.Type == Audio && tag.FourCC != flv.FourCCAAC {
			t.Fatalf("the player got %v audio", tag.FourCC)
		}
	}

	flashes := whiteFrames(t, depacketizeH264(t, viewers[0].video.sent()))
	beeps := opusBeeps(t, a0)
	if len(flashes) < 4 || len(beeps) < 4 {
		t.Fatalf("white frames at %v ms, beeps at %v ms: want 4 of each", flashes, beeps)
	}
	worst := 0.0
	for _, f := range flashes {
		d := math.Inf(1)
		for _, b := range beeps {
			if math.Abs(b-f) < math.Abs(d) {
				d = b - f
			}
		}
		worst = max(worst, math.Abs(d))
		if math.Abs(d) > 80 {
			t.Errorf("white frame at %.1f ms: nearest beep %.1f ms away", f, d)
		}
	}
	t.Logf("white frames at %.1f ms, beeps at %.1f ms: audio within %.1f ms of video", flashes, beeps, worst)
	if s := viewers[0].v.Stats(); s.Skipped != 0 {
		t.Errorf("viewer stats %+v: AAC frames counted as skipped", s)
	}
}

// playerFrames reads what a subscriber has queued until the stream's end.
func playerFrames(t *testing.T, sub *Subscriber) []*Frame {
	t.Helper()
	var out []*Frame
	for {
		f, err := sub.Read(context.Background())
		if err != nil {
			return out
		}
		out = append(out, f)
	}
}

// whiteFrames decodes the frames with ffmpeg and returns the RTP times,
// in ms, of the white ones.
func whiteFrames(t *testing.T, frames []sentFrame) []float64 {
	t.Helper()
	var stream []byte
	for _, f := range frames {
		stream = append(stream, f.data...)
	}
	gray := ffmpegtest.Run(t, "-f", "h264", "-i", writeTemp(t, "v.h264", stream), "-f", "rawvideo", "-pix_fmt", "gray", "-")
	const size = 160 * 120
	if len(gray) != len(frames)*size {
		t.Fatalf("ffmpeg decoded %d bytes, want %d frames of %d", len(gray), len(frames), size)
	}
	var out []float64
	for i, f := range frames {
		sum := 0
		for _, y := range gray[i*size : (i+1)*size] {
			sum += int(y)
		}
		if sum/size > 128 {
			out = append(out, float64(f.ts)/90)
		}
	}
	return out
}

// opusBeeps decodes a viewer's Opus packets with ffmpeg and returns the
// RTP times, in ms, where the beeps start.
func opusBeeps(t *testing.T, pkts []sentPacket) []float64 {
	t.Helper()
	// An Ogg Opus file (RFC 7845) of the packets, with no pre-skip, so that
	// decoded sample i is sample i%960 of packet i/960.
	var ogg []byte
	head := []byte("OpusHead\x01\x02\x00\x00\x80\xbb\x00\x00\x00\x00\x00")
	tags := []byte("OpusTags\x00\x00\x00\x00\x00\x00\x00\x00")
	ogg = appendOggPage(ogg, 2, 0, 0, head)
	ogg = appendOggPage(ogg, 0, 0, 1, tags)
	for i, p := range pkts {
		ogg = appendOggPage(ogg, 0, int64(960*(i+1)), uint32(i+2), p.payload)
	}
	pcm := ffmpegtest.Run(t, "-i", writeTemp(t, "a.opus", ogg), "-f", "s16le", "-ac", "1", "-ar", "48000", "-")
	var out []float64
	quiet := 4800
	for i := 0; i+1 < len(pcm); i += 2 {
		v := int16(binary.LittleEndian.Uint16(pcm[i:]))
		if v > 8000 || v < -8000 {
			if quiet >= 4800 {
				k := i / 2
				out = append(out, float64(pkts[k/960].ts)/48+float64(k%960)/48)
			}
			quiet = 0
			continue
		}
		quiet++
	}
	return out
}

// appendOggPage appends an Ogg page (RFC 3533) holding one whole packet.
func appendOggPage(b []byte, typ byte, granule int64, seq uint32, pkt []byte) []byte {
	start := len(b)
	b = append(b, "OggS\x00"...)
	b = append(b, typ)
	b = binary.LittleEndian.AppendUint64(b, uint64(granule))
	b = binary.LittleEndian.AppendUint32(b, 1)
	b = binary.LittleEndian.AppendUint32(b, seq)
	b = append(b, 0, 0, 0, 0)
	var lacing []byte
	n := len(pkt)
	for ; n >= 255; n -= 255 {
		lacing = append(lacing, 255)
	}
	lacing = append(lacing, byte(n))
	b = append(append(append(b, byte(len(lacing))), lacing...), pkt...)
	var crc uint32
	for _, c := range b[start:] {
		crc = crc<<8 ^ oggCRC(byte(crc>>24)^c)
	}
	binary.LittleEndian.PutUint32(b[start+22:], crc)
	return b
}

// oggCRC is one entry of the Ogg checksum's table (CRC-32, polynomial
// 0x04c11db7, not reflected).
func oggCRC(i byte) uint32 {
	r := uint32(i) << 24
	for range 8 {
		if r&0x80000000 != 0 {
			r = r<<1 ^ 0x04c11db7
		} else {
			r <<= 1
		}
	}
	return r
}

// TestAACToOpusLifecycle: the stream's ffmpeg starts with its first
// Opus viewer, is shared by the second, survives the first's leaving,
// and is killed when the last leaves; a new viewer starts a new one, and
// the publisher's leaving kills that.
func TestAACToOpusLifecycle(t *testing.T) {
	ffmpegtest.Need(t)
	h := NewHub(Config{})
	pub, _ := h.Publish("live/life")
	writeTags(t, pub, flvMsg{Type: Audio, Payload: []byte{0xaf, 0, 0x12, 0x10}})
	join := func() (cancel func() error) {
		sub, err := h.Subscribe("live/life")
		if err != nil {
			t.Fatal(err)
		}
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- NewWebRTCSubscriber(sub, WebRTCSubscriberConfig{}).Run(ctx, nil, newFakeLocal("opus")) }()
		t.Cleanup(stop)
		return func() error { stop(); return <-done }
	}
	pid := func() int {
		if tc := streamOpus(h, "live/life"); tc != nil {
			return tc.PID()
		}
		return 0
	}
	leave1 := join()
	waitUntil(t, "ffmpeg for the first viewer", func() bool { return pid() != 0 })
	first := pid()
	tc := streamOpus(h, "live/life")
	leave2 := join()
	time.Sleep(100 * time.Millisecond)
	if err := leave1(); !errors.Is(err, context.Canceled) {
		t.Fatalf("viewer 1: %v", err)
	}
	if pid() != first || tc.Stats().Starts != 1 {
		t.Fatalf("ffmpeg %d after the first viewer left, want %d still (stats %+v)", pid(), first, tc.Stats())
	}
	if err := leave2(); !errors.Is(err, context.Canceled) {
		t.Fatalf("viewer 2: %v", err)
	}
	if streamOpus(h, "live/life") != nil || !processGone(first) {
		t.Fatalf("ffmpeg %d still there after the last viewer left", first)
	}
	join()
	waitUntil(t, "ffmpeg for a new viewer", func() bool { return pid() != 0 })
	second := pid()
	if second == first {
		t.Fatal("the same ffmpeg")
	}
	pub.Close()
	if streamOpus(h, "live/life") != nil || !processGone(second) {
		t.Fatalf("ffmpeg %d still there after the publisher left", second)
	}
}

// processGone reports whether process pid no longer exists.
func processGone(pid int) bool { return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) }

// TestAACToOpusNoFFmpeg: without ffmpeg on PATH, WebRTC viewers of an AAC
// stream get its video only, and the stream's log says why once, however
// many viewers there are; a viewer without Opus gets a warning of its
// own kind, with or without ffmpeg.
func TestAACToOpusNoFFmpeg(t *testing.T) {
	pkts := syncFLV(t, "1")
	t.Setenv("PATH", t.TempDir())
	for _, c := range []struct {
		name, audio, want string
	}{
		{"no ffmpeg", "opus", "no ffmpeg on PATH"},
		{"no Opus", "PCMU", "did not offer Opus"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var logs syncbuf.Buffer
			h := NewHub(Config{})
			pub, _ := h.Publish("live/noff")
			var viewers []*fakeLocal
			var waits []func() error
			for range 3 {
				sub, _ := h.Subscribe("live/noff")
				video, audio := newFakeLocal("H264"), newFakeLocal(c.audio)
				_, wait := runViewer(t, sub, WebRTCSubscriberConfig{Logger: slog.New(slog.NewTextHandler(&logs, nil)), Rand: zeroRand()}, video, audio)
				viewers, waits = append(viewers, video, audio), append(waits, wait)
			}
			last := uint32(0)
			for _, p := range pkts {
				writeTags(t, pub, p)
				if p.Type == Video {
					last = p.Timestamp
				}
			}
			// The publisher leaves once the viewers have taken everything,
			// as a live one does.
			for i := 0; i < len(viewers); i += 2 {
				waitUntil(t, "the last video frame", func() bool {
					v := viewers[i].sent()
					return len(v) > 0 && v[len(v)-1].ts >= last*90
				})
			}
			pub.Close()
			for i, wait := range waits {
				if err := wait(); err != nil {
					t.Fatal(err)
				}
				if v, a := len(viewers[2*i].sent()), len(viewers[2*i+1].sent()); v == 0 || a != 0 {
					t.Fatalf("viewer %d: %d video and %d audio packets, want video only", i, v, a)
				}
			}
			if n := strings.Count(logs.String(), "audio is AAC"); n != 1 || !strings.Contains(logs.String(), c.want) {
				t.Fatalf("%d AAC warnings, want 1 saying %q:\n%s", n, c.want, logs.String())
			}
		})
	}
}
