package relay

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/streamwire/streamwire/relay/internal/ffmpegtest"
	"github.com/streamwire/streamwire/rtmp"
	"github.com/streamwire/streamwire/rtmp/amf0"
	"github.com/streamwire/streamwire/rtmp/flv"
)

// playRequest is an RTMP play of live/x by a client whose connect
// command announced fourCCs (Enhanced RTMP fourCcList), none when empty.
func playRequest(fourCCs ...any) *rtmp.StreamRequest {
	req := &rtmp.StreamRequest{App: "live", Name: "x", Connect: amf0.Object{{Key: "app", Value: "live"}}}
	if len(fourCCs) > 0 {
		req.Connect = append(req.Connect, amf0.Property{Key: "fourCcList", Value: fourCCs})
	}
	return req
}

// readMedia reads a player's media until done says it has enough, for
// at most 20 s.
func readMedia(t *testing.T, src rtmp.MediaSource, done func([]rtmp.Media) bool) []rtmp.Media {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var got []rtmp.Media
	for !done(got) {
		batch, err := src.ReadMedia(ctx, nil)
		for _, m := range batch {
			m.Payload = append([]byte(nil), m.Payload...)
			m.Chunks = nil
			got = append(got, m)
		}
		if err != nil {
			t.Fatalf("ReadMedia after %d messages: %v", len(got), err)
		}
	}
	return got
}

// audioFourCC is the codec of an audio tag: FourCCAAC for legacy AAC.
func audioFourCC(t *testing.T, m rtmp.Media) (flv.FourCC, bool) {
	t.Helper()
	tag, err := flv.ParseAudioTag(m.Payload)
	if err != nil {
		t.Fatalf("audio tag % x: %v", m.Payload[:min(8, len(m.Payload))], err)
	}
	return tag.FourCC, tag.IsSequenceHeader()
}

// TestRTMPPlayerOpusAsAAC: a stream's Opus (a WebRTC publisher's) reaches
// an RTMP player that did not announce Enhanced RTMP Opus as AAC, from
// the stream's Opus to AAC transcoder, sequence header first, and the AAC
// decodes; a player that announced Opus gets the Opus itself.
func TestRTMPPlayerOpusAsAAC(t *testing.T) {
	ffmpegtest.Need(t)
	h := NewHub(Config{})
	handler := &RTMPHandler{Hub: h}
	pub, _ := h.Publish("live/x")
	// One legacy player joins before the stream has audio (it joins the
	// transcoder at its first Opus frame), one after (at Play).
	early, err := handler.Play(context.Background(), playRequest())
	if err != nil {
		t.Fatal(err)
	}
	writeTags(t, pub, flvMsg{Type: Audio, Payload: opusHeadTag(2)})
	legacy, err := handler.Play(context.Background(), playRequest())
	if err != nil {
		t.Fatal(err)
	}
	enhanced, err := handler.Play(context.Background(), playRequest("Opus"))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		// 3 s of Opus in bursts of 100 ms, each packet stamped at 20 ms.
		for i, p := range oggOpusPackets(t, testOpusFile) {
			hdr := flv.AppendAudioTagHeader(nil, flv.FourCCOpus, flv.AudioCodedFrames, true)
			_ = (&rtmpSink{p: pub}).WriteMedia(rtmp.Media{Type: rtmp.TypeAudio, Timestamp: uint32(20 * i), Payload: append(hdr, p...)})
			if i%5 == 4 {
				time.Sleep(100 * time.Millisecond)
			}
		}
	}()

	const wantAAC = 50 // about 1.1 s of 48 kHz AAC
	aac := 0
	got := readMedia(t, legacy, func(ms []rtmp.Media) bool { return countAAC(t, ms) >= wantAAC })
	var file []byte
	file = flv.AppendHeader(file, true, false)
	seqFirst := false
	for i, m := range got {
		if m.Type != rtmp.TypeAudio {
			continue
		}
		fc, seq := audioFourCC(t, m)
		if fc != flv.FourCCAAC {
			t.Fatalf("message %d: %v audio to a player without Enhanced RTMP Opus", i, fc)
		}
		if aac == 0 && seq {
			seqFirst = true
		}
		if !seq {
			aac++
		}
		file = flv.AppendTag(file, uint8(m.Type), m.Timestamp, m.Payload)
	}
	if !seqFirst {
		t.Fatal("no AAC sequence header before the first AAC frame")
	}
	st, ok := h.transcodeStats("live/x", AAC)
	if !ok || st.Packets == 0 {
		t.Fatalf("Opus to AAC transcoder stats %+v, %v", st, ok)
	}
	pcm := ffmpegtest.Run(t, "-f", "flv", "-i", writeTemp(t, "aac.flv", file), "-f", "s16le", "-ac", "1", "-ar", "48000", "-")
	if ms := len(pcm) / 96; ms < 900 {
		t.Errorf("the player's AAC decodes to %d ms of audio, want about 1 s", ms)
	}

	if n := countAAC(t, readMedia(t, early, func(ms []rtmp.Media) bool { return countAAC(t, ms) >= 10 })); n < 10 {
		t.Errorf("the player that came before the audio got %d AAC frames", n)
	}
	opus := readMedia(t, enhanced, func(ms []rtmp.Media) bool { return len(ms) >= 10 })
	for i, m := range opus {
		if fc, _ := audioFourCC(t, m); m.Type == rtmp.TypeAudio && fc != flv.FourCCOpus {
			t.Fatalf("message %d: %v audio to a player that announced Opus", i, fc)
		}
	}
	legacy.Close()
	early.Close()
	enhanced.Close()
	if _, ok := h.transcodeStats("live/x", AAC); ok {
		t.Error("the transcoder runs after its last player left")
	}
	pub.Close()
}

// countAAC counts the AAC frames (not sequence headers) in ms.
func countAAC(t *testing.T, ms []rtmp.Media) int {
	n := 0
	for _, m := range ms {
		if fc, seq := audioFourCC(t, m); m.Type == rtmp.TypeAudio && fc == flv.FourCCAAC && !seq {
			n++
		}
	}
	return n
}

// TestRTMPPlayerVP8Refused: a player that did not announce vp08 is
// refused a VP8 stream with NetStream.Play.Failed saying why; one that
// did plays it.
func TestRTMPPlayerVP8Refused(t *testing.T) {
	h := NewHub(Config{})
	handler := &RTMPHandler{Hub: h}
	pub, _ := h.Publish("live/x")
	defer pub.Close()
	writeTags(t, pub, flvMsg{Type: Video, Payload: flv.AppendVideoTagHeader(nil, flv.FrameKey, flv.FourCCVP8, flv.VideoSequenceStart, 0, true)})
	_, err := handler.Play(context.Background(), playRequest())
	var se *rtmp.StatusError
	if !errors.As(err, &se) || se.Code != rtmp.CodePlayFailed || !strings.Contains(se.Description, "VP8") || !strings.Contains(se.Description, "WHEP") {
		t.Fatalf("Play of a VP8 stream without vp08: %v", err)
	}
	if n := h.Subscribers("live/x"); n != 0 {
		t.Errorf("%d subscribers after the refusal", n)
	}
	src, err := handler.Play(context.Background(), playRequest("vp08", "Opus"))
	if err != nil {
		t.Fatalf("Play with vp08 announced: %v", err)
	}
	src.Close()
}
