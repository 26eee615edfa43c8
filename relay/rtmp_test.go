package relay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamwire/streamwire/rtmp/flv"

	"github.com/streamwire/streamwire/rtmp/amf0"

	"github.com/streamwire/streamwire/rtmp"
)

func startRTMP(t *testing.T, h rtmp.Handler) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		rtmp.NewServer(rtmp.ServerConfig{Handler: h}).Serve(ctx, l)
		close(done)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return "rtmp://" + l.Addr().String()
}

// TestRTMPFanOut publishes through the RTMP server into a hub and checks
// that players joining mid-stream start with the metadata and sequence
// headers, then a keyframe, and follow timestamps across 0xFFFFFF.
func TestRTMPFanOut(t *testing.T) {
	hub := NewHub(Config{})
	base := startRTMP(t, &RTMPHandler{Hub: hub, Authorize: func(ctx context.Context, req *rtmp.StreamRequest, publish bool) error {
		if publish && req.Query.Get("key") != "secret" {
			return fmt.Errorf("wrong key: %w", rtmp.ErrUnauthorized)
		}
		return nil
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	bad, err := rtmp.Dial(ctx, base+"/live/cam?key=wrong", rtmp.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := bad.Publish(ctx); !errors.Is(err, rtmp.ErrRejected) || !strings.Contains(err.Error(), rtmp.CodePublishUnauthorized) {
		t.Errorf("publish with a wrong key: %v", err)
	}
	bad.Close()

	pub, err := rtmp.Dial(ctx, base+"/live/cam?key=secret", rtmp.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	second, _ := rtmp.Dial(ctx, base+"/live/cam?key=secret", rtmp.ClientConfig{})
	if err := second.Publish(ctx); !errors.Is(err, rtmp.ErrRejected) || !strings.Contains(err.Error(), rtmp.CodePublishBadName) {
		t.Errorf("second publisher: %v", err)
	}
	second.Close()

	meta, _ := amf0.AppendValues(nil, "@setDataFrame", "onMetaData", amf0.ECMAArray{{Key: "width", Value: 320.0}})
	write := func(m rtmp.Media) {
		if err := pub.WriteMedia(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	write(rtmp.Media{Type: rtmp.TypeDataAMF0, Payload: meta})
	write(rtmp.Media{Type: rtmp.TypeVideo, Payload: []byte{0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 0}})
	write(rtmp.Media{Type: rtmp.TypeAudio, Payload: []byte{0xaf, 0, 0x12, 0x10}})
	start := uint32(0xFFFFFF - 2000)
	frame := func(i int) {
		ts := start + uint32(i)*40
		key := byte(0x27)
		if i%25 == 0 {
			key = 0x17
		}
		write(rtmp.Media{Type: rtmp.TypeVideo, Timestamp: ts, Payload: append([]byte{key, 1, 0, 0, 0}, make([]byte, 6000)...)})
		write(rtmp.Media{Type: rtmp.TypeAudio, Timestamp: ts + 3, Payload: []byte{0xaf, 1, byte(i)}})
	}
	for i := 0; i < 30; i++ { // keyframes at 0 and 25: the GOP starts at 25
		frame(i)
	}
	// Wait until the server has relayed the frames into the hub.
	for deadline := time.Now().Add(5 * time.Second); ; {
		hub.mu.Lock()
		s := hub.streams["live/cam"]
		hub.mu.Unlock()
		s.mu.Lock()
		n := len(s.gop)
		s.mu.Unlock()
		if n == 10 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}

	const players = 3
	var wg sync.WaitGroup
	errc := make(chan error, players)
	ready := make(chan struct{}, players)
	for p := 0; p < players; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- playAndCheck(ctx, base+"/live/cam", start+25*40, ready)
		}()
	}
	for p := 0; p < players; p++ {
		<-ready
	}
	for i := 30; i < 100; i++ {
		frame(i)
	}
	pub.Close() // players get EOF after the last frame
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Error(err)
		}
	}
	waitUnbuffered(t, hub)
}

// waitUnbuffered checks that the hub's accounting returns to zero once
// every stream and player is gone.
func waitUnbuffered(t *testing.T, hub *Hub) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); hub.BufferedBytes() != 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if n := hub.BufferedBytes(); n != 0 {
		t.Errorf("hub still counts %d bytes after the streams ended", n)
	}
}

// playAndCheck plays url and checks the start of the stream and timestamp
// continuity until EOF.
func playAndCheck(ctx context.Context, url string, firstKey uint32, ready chan<- struct{}) error {
	pl, err := rtmp.Dial(ctx, url, rtmp.ClientConfig{})
	if err != nil {
		ready <- struct{}{}
		return err
	}
	defer pl.Close()
	err = pl.Play(ctx)
	ready <- struct{}{}
	if err != nil {
		return err
	}
	var kinds []string
	lastVideo := int64(-1)
	videos := 0
	for {
		m, err := pl.ReadMedia(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		switch {
		case m.Type == rtmp.TypeDataAMF0:
			kinds = append(kinds, "meta")
		case m.Type == rtmp.TypeVideo && m.Payload[1] == 0:
			kinds = append(kinds, "vseq")
		case m.Type == rtmp.TypeAudio && m.Payload[1] == 0:
			kinds = append(kinds, "aseq")
		case m.Type == rtmp.TypeVideo:
			if videos == 0 && (m.Payload[0]>>4 != 1 || m.Timestamp != firstKey) {
				return fmt.Errorf("first video frame at %d key=%v, want keyframe at %d", m.Timestamp, m.Payload[0]>>4 == 1, firstKey)
			}
			if int64(m.Timestamp) <= lastVideo {
				return fmt.Errorf("video timestamp %d after %d", m.Timestamp, lastVideo)
			}
			lastVideo = int64(m.Timestamp)
			videos++
		}
	}
	if strings.Join(kinds, ",") != "meta,vseq,aseq" {
		return fmt.Errorf("stream started with %v", kinds)
	}
	if videos != 75 || lastVideo <= 0xFFFFFF {
		return fmt.Errorf("played %d video frames up to %d", videos, lastVideo)
	}
	return nil
}

// dialPublish connects a publisher to url and waits until the hub has its
// stream.
func dialPublish(t *testing.T, ctx context.Context, url string, hub *Hub) *rtmp.Client {
	t.Helper()
	pub, err := rtmp.Dial(ctx, url, rtmp.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx); err != nil {
		pub.Close()
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); len(hub.Streams()) == 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	return pub
}

// dialPlay connects a player to url.
func dialPlay(t *testing.T, ctx context.Context, url string) *rtmp.Client {
	t.Helper()
	pl, err := rtmp.Dial(ctx, url, rtmp.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := pl.Play(ctx); err != nil {
		pl.Close()
		t.Fatal(err)
	}
	return pl
}

// TestRTMPStalledPlayer: with players written from the publisher's
// goroutine, a player that stops reading must neither block the publisher
// nor the other players, and is disconnected after the write timeout.
func TestRTMPStalledPlayer(t *testing.T) {
	hub := NewHub(Config{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srvDone := make(chan struct{})
	go func() {
		rtmp.NewServer(rtmp.ServerConfig{Handler: &RTMPHandler{Hub: hub}, WriteTimeout: 300 * time.Millisecond}).Serve(ctx, l)
		close(srvDone)
	}()
	defer func() { cancel(); <-srvDone }()
	url := "rtmp://" + l.Addr().String() + "/live/s"
	pub := dialPublish(t, ctx, url, hub)
	stalled := dialPlay(t, ctx, url)
	defer stalled.Close()
	reader := dialPlay(t, ctx, url)
	defer reader.Close()
	got := make(chan int, 1)
	go func() {
		n := 0
		for {
			if _, err := reader.ReadMedia(ctx); err != nil {
				got <- n
				return
			}
			n++
		}
	}()
	frame := make([]byte, 20000)
	frame[0], frame[1] = 0x17, 1
	start := time.Now()
	for i := 0; i < 1500; i++ { // 30 MB: far more than the stalled player's socket buffers
		if err := pub.WriteMedia(ctx, rtmp.Media{Type: rtmp.TypeVideo, Timestamp: uint32(i * 40), Payload: frame}); err != nil {
			t.Fatal(err)
		}
		if i%100 == 0 {
			time.Sleep(50 * time.Millisecond) // let the reading player keep up
		}
	}
	for deadline := time.Now().Add(5 * time.Second); hub.Subscribers("live/s") > 1 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := hub.Subscribers("live/s"); n != 1 {
		t.Errorf("%d subscribers after the stalled player's write timeout, want 1", n)
	}
	pub.Close()
	n := <-got
	if n < 1400 {
		t.Errorf("the reading player got %d of 1500 frames", n)
	}
	t.Logf("published 1500 frames in %v; the reading player got %d", time.Since(start), n)
	waitUnbuffered(t, hub)
}

// The RTMP edge makes units of FLV tags: codec, flags, composition time,
// the decoder configuration in force, Data in the unit's form (4-byte
// NAL unit lengths, whatever the record says), and what it cannot
// describe as CodecUnknown with the tag as Data. Players get each tag
// back byte for byte.
func TestFLVUnits(t *testing.T) {
	sps, pps := []byte{0x67, 0x64, 0, 0x1f, 0xac}, []byte{0x68, 0xee, 0x3c}
	avcSeq := flv.AppendVideoTagHeader(nil, flv.FrameKey, flv.FourCCAVC, flv.VideoSequenceStart, 0, false)
	record, _ := appendAVCDecoderConfig(nil, sps, pps)
	record2 := bytes.Clone(record)
	record2[4] = 0xfd // lengthSizeMinusOne 1: 2-byte lengths
	hevcSeq := flv.AppendVideoTagHeader(nil, flv.FrameKey, flv.FourCCHEVC, flv.VideoSequenceStart, 0, true)
	hevcKey := flv.AppendVideoTagHeader(nil, flv.FrameKey, flv.FourCCHEVC, flv.VideoCodedFrames, 0, true)
	avcInter := flv.AppendVideoTagHeader(nil, flv.FrameInter, flv.FourCCAVC, flv.VideoCodedFrames, 80, false)
	aacSeq := flv.AppendAudioTagHeader(nil, flv.FourCCAAC, flv.AudioSequenceStart, false)
	aac := flv.AppendAudioTagHeader(nil, flv.FourCCAAC, flv.AudioCodedFrames, false)
	mp3 := []byte{byte(flv.SoundMP3)<<4 | 0xf, 0xff, 0xfb}
	cases := []struct {
		name     string
		typ      rtmp.MessageType
		tag      []byte
		codec    Codec
		key, seq bool
		cts      int32
		config   bool // Config is set
		data     []byte
	}{
		{"hevc bad record", rtmp.TypeVideo, append(hevcSeq, 1, 2, 3), H265, true, true, 0, false, []byte{1, 2, 3}},
		{"hevc key", rtmp.TypeVideo, append(hevcKey, 0, 0, 0, 1, 0x26), H265, true, false, 0, false, []byte{0, 0, 0, 1, 0x26}},
		{"avc record", rtmp.TypeVideo, append(avcSeq, record...), H264, true, true, 0, true, record},
		{"avc inter", rtmp.TypeVideo, append(avcInter, 0, 0, 0, 2, 0x41, 0x9a), H264, false, false, 80, true, []byte{0, 0, 0, 2, 0x41, 0x9a}},
		{"avc 2-byte record", rtmp.TypeVideo, append(avcSeq, record2...), H264, true, true, 0, true, record2},
		{"avc 2-byte lengths", rtmp.TypeVideo, append(avcInter, 0, 2, 0x41, 0x9a, 0, 1, 0x41), H264, false, false, 80, true, []byte{0, 0, 0, 2, 0x41, 0x9a, 0, 0, 0, 1, 0x41}},
		{"aac config", rtmp.TypeAudio, append(aacSeq, 0x12, 0x10), AAC, false, true, 0, true, []byte{0x12, 0x10}},
		{"aac", rtmp.TypeAudio, append(aac, 0x21), AAC, false, false, 0, true, []byte{0x21}},
		{"mp3", rtmp.TypeAudio, mp3, CodecUnknown, false, false, 0, false, mp3},
		{"script", rtmp.TypeDataAMF0, []byte{2, 0, 1, 'x'}, Script, false, false, 0, false, []byte{2, 0, 1, 'x'}},
		{"malformed", rtmp.TypeVideo, []byte{}, CodecUnknown, false, false, 0, false, []byte{}},
	}
	var conv flvUnits
	for _, c := range cases {
		f := conv.frame(rtmp.Media{Type: c.typ, Timestamp: 40, Payload: c.tag})
		if f.Codec != c.codec || f.Keyframe != c.key || f.SequenceHeader != c.seq || f.Type != Type(c.typ) || f.CTS != c.cts || f.DTS != 40 {
			t.Errorf("%s: %v key=%v seq=%v cts=%d, want %v %v %v %d", c.name, f.Codec, f.Keyframe, f.SequenceHeader, f.CTS, c.codec, c.key, c.seq, c.cts)
		}
		if (f.Config != nil) != c.config || !bytes.Equal(f.Data, c.data) {
			t.Errorf("%s: config %v, data %x, want config %v, data %x", c.name, f.Config != nil, f.Data, c.config, c.data)
		}
		if !bytes.Equal(f.FLVTag(), c.tag) {
			t.Errorf("%s: FLV tag %x, want the publisher's %x", c.name, f.FLVTag(), c.tag)
		}
		if f.Arrival.IsZero() || f.RTPTime != f.PTS()*(f.Codec.ClockRate()/1000) {
			t.Errorf("%s: arrival %v, RTP time %d", c.name, f.Arrival, f.RTPTime)
		}
	}
	if sets := conv.video.ParamSets(); len(sets) != 2 || !bytes.Equal(sets[0], sps) || !bytes.Equal(sets[1], pps) {
		t.Errorf("parameter sets %x", sets)
	}
}

// A unit written without an FLV tag (Publisher.Write, WebRTC) gets one
// built for RTMP players: legacy AVC and AAC, Enhanced RTMP otherwise.
func TestFLVTagFromUnit(t *testing.T) {
	cases := []struct {
		u    Unit
		want []byte
	}{
		{Unit{Type: Video, Codec: H264, Keyframe: true, SequenceHeader: true, Data: []byte{1, 0x64}}, []byte{0x17, 0, 0, 0, 0, 1, 0x64}},
		{Unit{Type: Video, Codec: H264, CTS: -1, Data: []byte{0, 0, 0, 1, 0x41}}, []byte{0x27, 1, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0x41}},
		{Unit{Type: Video, Codec: H265, Keyframe: true, Data: []byte{0, 0, 0, 1, 0x26}}, append(flv.AppendVideoTagHeader(nil, flv.FrameKey, flv.FourCCHEVC, flv.VideoCodedFramesX, 0, true), 0, 0, 0, 1, 0x26)},
		{Unit{Type: Video, Codec: AV1, Data: []byte{0x32, 0}}, append(flv.AppendVideoTagHeader(nil, flv.FrameInter, flv.FourCCAV1, flv.VideoCodedFrames, 0, true), 0x32, 0)},
		{Unit{Type: Audio, Codec: AAC, Data: []byte{0x21}}, []byte{0xaf, 1, 0x21}},
		{Unit{Type: Audio, Codec: Opus, Data: []byte{0xfc}}, append(flv.AppendAudioTagHeader(nil, flv.FourCCOpus, flv.AudioCodedFrames, true), 0xfc)},
		{Unit{Type: Data, Codec: Script, Data: []byte{2, 0, 1, 'x'}}, []byte{2, 0, 1, 'x'}},
		{Unit{Type: Audio, Data: []byte{0x2f, 1}}, []byte{0x2f, 1}},
	}
	for i, c := range cases {
		f := &Frame{Unit: c.u}
		if got := f.FLVTag(); !bytes.Equal(got, c.want) {
			t.Errorf("case %d (%v): tag %x, want %x", i, c.u.Codec, got, c.want)
		}
	}
}

// TestRTMPStalledPlayerLargeFrames is the review's case on loopback: a
// publisher sends 4 MiB frames and a player stops reading after Play. What
// the hub holds for it stays within MaxQueueBytes (plus the GOP cache), and
// so does the heap, up to the player's last batch and the connections'
// buffers; before the byte bound the queue took every frame (the review
// measured 3.3 GB of RSS in 22 s).
func TestRTMPStalledPlayerLargeFrames(t *testing.T) {
	const (
		frame    = 4 << 20
		frames   = 40
		maxQueue = 32 << 20
		// The stalled player's last batch with its chunk encoding, the
		// publisher's chunk reader and the test's own frame.
		slack = 4 * frame
	)
	base := heapInuse()
	hub := NewHub(Config{MaxQueueBytes: maxQueue})
	url := startRTMP(t, &RTMPHandler{Hub: hub}) + "/live/big"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pub := dialPublish(t, ctx, url, hub)
	defer pub.Close()
	stalled := dialPlay(t, ctx, url)
	defer stalled.Close()
	payload := make([]byte, frame)
	maxHeld, grown := int64(0), int64(0)
	for i := 0; i < frames; i++ {
		payload[0] = 0x27
		if i == 0 {
			payload[0] = 0x17
		}
		if err := pub.WriteMedia(ctx, rtmp.Media{Type: rtmp.TypeVideo, Timestamp: uint32(i * 40), Payload: payload}); err != nil {
			t.Fatal(err)
		}
		maxHeld = max(maxHeld, hub.BufferedBytes())
		if i%4 == 3 {
			grown = max(grown, heapInuse()-base)
		}
	}
	// Let the server take in what is still in flight.
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		maxHeld = max(maxHeld, hub.BufferedBytes())
		time.Sleep(20 * time.Millisecond)
	}
	grown = max(grown, heapInuse()-base)
	t.Logf("%d frames of %d MiB to a stalled player: hub held at most %d MiB, heap +%d MiB", frames, frame>>20, maxHeld>>20, grown>>20)
	if bound := int64(maxQueue + DefaultMaxGOPBytes); maxHeld > bound {
		t.Errorf("hub held %d bytes, above %d", maxHeld, bound)
	}
	if bound := int64(maxQueue + DefaultMaxGOPBytes + slack); grown > bound {
		t.Errorf("heap grew by %d bytes, above %d", grown, bound)
	}
	pub.Close()
	stalled.Close()
	waitUnbuffered(t, hub)
}

// TestRTMPSourceDropped: the media source of an RTMP player reports the
// frames its subscriber dropped, for a server's metrics.
func TestRTMPSourceDropped(t *testing.T) {
	hub := NewHub(Config{QueueLen: 4})
	h := &RTMPHandler{Hub: hub}
	ctx := context.Background()
	req := &rtmp.StreamRequest{App: "live", Name: "s"}
	sink, err := h.Publish(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	src, err := h.Play(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	d, ok := src.(interface{ Dropped() int64 })
	if !ok {
		t.Fatalf("%T has no Dropped", src)
	}
	for i := 0; i < 10; i++ { // a keyframe, then inter frames the unread queue cannot hold
		typ := byte(0x27)
		if i == 0 {
			typ = 0x17
		}
		if err := sink.WriteMedia(rtmp.Media{Type: rtmp.TypeVideo, Timestamp: uint32(i * 40), Payload: []byte{typ, 1, 0, 0, 0}}); err != nil {
			t.Fatal(err)
		}
	}
	if n := d.Dropped(); n == 0 {
		t.Error("Dropped() = 0 after overflowing the player's queue")
	}
}
