package rtmp

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/streamwire/streamwire/rtmp/flv"

	"github.com/streamwire/streamwire/rtmp/amf0"
)

// The recorded chunk stream: what ffmpeg 5.1.9 sent after the handshake when
// publishing 3 s of testsrc (libx264, 320x240, 30 fps, GOP 30) and sine
// (AAC) to a minimal server. Regenerate with
//
//	go test ./rtmp -run TestRecordedStream -update
//
// (needs ffmpeg; like crypto/tls's golden transcripts).
const recordingPath = "testdata/ffmpeg_publish.chunks"

var update = flag.Bool("update", false, "re-record testdata/ffmpeg_publish.chunks with ffmpeg")

// teeConn records every byte read from a net.Conn once recording is on.
type teeConn struct {
	net.Conn
	mu  sync.Mutex
	on  bool
	buf bytes.Buffer
}

func (c *teeConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	if c.on {
		c.buf.Write(p[:n])
	}
	c.mu.Unlock()
	return n, err
}

// recordFFmpegPublish runs ffmpeg against a minimal publish server and
// returns the client-to-server chunk stream that followed the handshake.
func recordFFmpegPublish(t *testing.T, seconds string, extra ...string) []byte {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	port := ln.Addr().(*net.TCPAddr).Port
	args := []string{"-hide_banner", "-loglevel", "error",
		"-re", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=30", "-f", "lavfi", "-i", "sine",
		"-c:v", "libx264", "-g", "30", "-c:a", "aac", "-t", seconds}
	args = append(args, extra...)
	args = append(args, "-f", "flv", "rtmp://127.0.0.1:"+strconv.Itoa(port)+"/live/test")
	cmd := exec.CommandContext(ctx, "ffmpeg", args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Wait() }()
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	tc := &teeConn{Conn: nc}
	defer tc.Close()
	if _, err := ServerHandshake(ctx, tc, HandshakeConfig{}); err != nil {
		t.Fatal(err)
	}
	tc.mu.Lock()
	tc.on = true
	tc.mu.Unlock()
	serveMinimalPublish(ctx, t, NewConn(tc, ConnConfig{}))
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return bytes.Clone(tc.buf.Bytes())
}

// serveMinimalPublish answers connect, createStream and publish just enough
// for ffmpeg to send media, until the client disconnects.
func serveMinimalPublish(ctx context.Context, t *testing.T, c *Conn) {
	reply := func(streamID uint32, cmd Command) {
		m, err := cmd.Message(streamID)
		if err == nil {
			err = c.WriteMessage(ctx, m)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for {
		m, err := c.ReadMessage(ctx)
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if m.Type != TypeCommandAMF0 {
			continue
		}
		cmd, err := ParseCommand(m)
		if err != nil {
			t.Fatal(err)
		}
		switch cmd.Name {
		case "connect":
			err := c.WithWriter(ctx, func(w *ChunkWriter) error {
				if err := w.WriteWindowAckSize(2500000); err != nil {
					return err
				}
				return w.WriteSetPeerBandwidth(2500000, LimitDynamic)
			})
			if err != nil {
				t.Fatal(err)
			}
			reply(0, Command{Name: "_result", TransactionID: cmd.TransactionID,
				Object: amf0.Object{{Key: "fmsVer", Value: "FMS/3,0,1,123"}, {Key: "capabilities", Value: 31.0}},
				Args:   []any{amf0.Object{{Key: "level", Value: "status"}, {Key: "code", Value: "NetConnection.Connect.Success"}, {Key: "description", Value: "Connection succeeded."}}}})
		case "createStream":
			reply(0, Command{Name: "_result", TransactionID: cmd.TransactionID, Args: []any{1.0}})
		case "publish":
			reply(m.StreamID, Command{Name: "onStatus", Args: []any{amf0.Object{{Key: "level", Value: "status"}, {Key: "code", Value: "NetStream.Publish.Start"}, {Key: "description", Value: "Publishing."}}}})
		}
	}
}

func loadRecording(t testing.TB) []byte {
	b, err := os.ReadFile(recordingPath)
	if err != nil {
		t.Fatalf("%v (record it with -update)", err)
	}
	return b
}

// TestRecordedStream reads ffmpeg's real publish stream: commands, metadata,
// and every audio and video payload down to AVC NAL units and the AAC
// AudioSpecificConfig.
func TestRecordedStream(t *testing.T) {
	if *update {
		b := recordFFmpegPublish(t, "3")
		if err := os.WriteFile(recordingPath, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("recorded %d bytes", len(b))
	}
	r := NewChunkReader(bytes.NewReader(loadRecording(t)), ReaderConfig{})
	var (
		commands   []string
		metadata   amf0.ECMAArray
		avc        flv.AVCDecoderConfig
		asc        flv.AudioSpecificConfig
		video      int
		keyframes  int
		audio      int
		nalus      int
		lastVideo  uint32
		sawCTS     bool
		chunkSizes []uint32
	)
	for {
		m, err := r.ReadMessage()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch m.Type {
		case TypeSetChunkSize:
			chunkSizes = append(chunkSizes, r.ChunkSize())
		case TypeCommandAMF0:
			c, err := ParseCommand(m)
			if err != nil {
				t.Fatal(err)
			}
			commands = append(commands, c.Name)
			if c.Name == "connect" {
				o, _ := c.Object.(amf0.Object)
				if o.String("app") != "live" || o.String("tcUrl") == "" {
					t.Errorf("connect object %v", o)
				}
			}
		case TypeDataAMF0:
			vs, err := DecodeAMFPayload(m.Type, m.Payload)
			if err != nil {
				t.Fatal(err)
			}
			if len(vs) == 3 && vs[0] == "@setDataFrame" && vs[1] == "onMetaData" {
				metadata, _ = vs[2].(amf0.ECMAArray)
			}
		case TypeVideo:
			tag, err := flv.ParseVideoTag(m.Payload)
			if err != nil {
				t.Fatal(err)
			}
			if tag.FourCC != flv.FourCCAVC {
				t.Fatalf("video codec %v", tag.FourCC)
			}
			if tag.IsSequenceHeader() {
				if avc, err = flv.ParseAVCDecoderConfig(tag.Data); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if video > 0 && m.Timestamp < lastVideo {
				t.Errorf("video timestamp went back: %d after %d", m.Timestamp, lastVideo)
			}
			lastVideo = m.Timestamp
			video++
			sawCTS = sawCTS || tag.CompositionTime > 0
			if tag.IsKeyFrame() {
				keyframes++
			}
			it := flv.NewNALUIter(tag.Data, avc.LengthSize)
			for _, ok := it.Next(); ok; _, ok = it.Next() {
				nalus++
			}
			if err := it.Err(); err != nil {
				t.Fatal(err)
			}
		case TypeAudio:
			tag, err := flv.ParseAudioTag(m.Payload)
			if err != nil {
				t.Fatal(err)
			}
			if tag.FourCC != flv.FourCCAAC {
				t.Fatalf("audio codec %v", tag.FourCC)
			}
			if tag.IsSequenceHeader() {
				if asc, err = flv.ParseAudioSpecificConfig(tag.Data); err != nil {
					t.Fatal(err)
				}
				continue
			}
			audio++
		}
	}
	t.Logf("commands %v, chunk sizes %v, %d video (%d key, %d NAL units), %d audio, metadata %d keys",
		commands, chunkSizes, video, keyframes, nalus, audio, len(metadata))
	if len(commands) < 4 || commands[0] != "connect" || commands[len(commands)-1] != "publish" && commands[len(commands)-1] != "deleteStream" && commands[len(commands)-1] != "FCUnpublish" {
		t.Errorf("commands %v", commands)
	}
	if w, _ := metadata.Get("width"); w != 320.0 {
		t.Errorf("metadata width %v", w)
	}
	if avc.Profile == 0 || len(avc.SPS) != 1 || len(avc.PPS) != 1 || avc.LengthSize != 4 {
		t.Errorf("AVC config %+v", avc)
	}
	if asc.ObjectType != 2 || asc.SampleRate != 44100 || asc.Channels != 1 {
		t.Errorf("AudioSpecificConfig %+v", asc)
	}
	if video < 80 || keyframes < 3 || audio < 100 || nalus < video || !sawCTS {
		t.Errorf("%d video, %d keyframes, %d audio, %d NAL units, composition times seen: %v", video, keyframes, audio, nalus, sawCTS)
	}
}

// The same publish, 1 s at 300 kb/s, with timestamps offset by 16,800 s:
// past 0xFFFFFF ms (the 4.66-hour mark). After the sequence headers at time
// 0, ffmpeg's next delta is above 0xFFFFFF, so it writes an extended
// timestamp and repeats it in every type 3 chunk of the 2.9 KB keyframe.
// Regenerate with -update.
const recordingExtTSPath = "testdata/ffmpeg_publish_extts.chunks"

func TestRecordedStreamExtendedTimestamps(t *testing.T) {
	if *update {
		b := recordFFmpegPublish(t, "1", "-b:v", "300k", "-output_ts_offset", "16800")
		if err := os.WriteFile(recordingExtTSPath, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("recorded %d bytes", len(b))
	}
	data, err := os.ReadFile(recordingExtTSPath)
	if err != nil {
		t.Fatal(err)
	}
	r := NewChunkReader(bytes.NewReader(data), ReaderConfig{})
	last := map[MessageType]uint32{}
	var below, above, multiChunk int
	for {
		m, err := r.ReadMessage()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if m.Type != TypeVideo && m.Type != TypeAudio {
			continue
		}
		// A type 3 chunk whose repeated extended timestamp were taken for
		// payload would shift the NAL unit lengths: iterate them.
		if m.Type == TypeVideo {
			tag, err := flv.ParseVideoTag(m.Payload)
			if err != nil {
				t.Fatal(err)
			}
			if tag.IsSequenceHeader() {
				continue // ffmpeg sends sequence headers at time 0
			}
			it := flv.NewNALUIter(tag.Data, 4)
			for _, ok := it.Next(); ok; _, ok = it.Next() {
			}
			if it.Err() != nil || len(m.Payload) > 128 && m.Timestamp >= 0xFFFFFF {
				multiChunk++
			}
			if err := it.Err(); err != nil {
				t.Fatalf("video at %d: %v", m.Timestamp, err)
			}
		} else if tag, err := flv.ParseAudioTag(m.Payload); err != nil {
			t.Fatal(err)
		} else if tag.IsSequenceHeader() {
			continue
		}
		if prev, ok := last[m.Type]; ok && (m.Timestamp < prev || m.Timestamp-prev > 100) {
			t.Errorf("%v timestamp %d after %d", m.Type, m.Timestamp, prev)
		}
		last[m.Type] = m.Timestamp
		if m.Timestamp < 0xFFFFFF {
			below++
		} else {
			above++
		}
	}
	t.Logf("%d media messages below 0xFFFFFF ms, %d at or above (%d video of several chunks), %d type 3 chunks repeated the extended timestamp; last %v",
		below, above, multiChunk, r.extRepeats, last)
	if below != 0 || above < 50 || multiChunk < 5 || r.extRepeats < 10 {
		t.Errorf("want every frame past 0xFFFFFF ms, several multi-chunk frames and repeated extended timestamps")
	}
}
