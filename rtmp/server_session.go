package rtmp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/bits"
	"net"
	"strings"
	"sync"

	"github.com/streamwire/streamwire/internal/logstr"
	"github.com/streamwire/streamwire/internal/sockio"
	"github.com/streamwire/streamwire/rtmp/amf0"
)

// serverStream is one message stream created by createStream.
type serverStream struct {
	id     uint32
	sink   MediaSink   // publishing
	source MediaSource // playing
	stop   context.CancelFunc
	done   chan struct{} // closed when the play writer has exited
}

// serverSession is the state of one server connection after the handshake.
type serverSession struct {
	srv *Server
	cfg *ServerConfig
	nc  net.Conn
	c   *Conn
	log *slog.Logger

	connected  bool
	app, tcURL string
	connectObj amf0.Object
	nextID     uint32
	created    int

	mu      sync.Mutex // guards streams and playing against the writers' exit
	streams map[uint32]*serverStream
	playing int
}

func newServerSession(s *Server, nc net.Conn) *serverSession {
	cfg := &s.cfg
	c := NewConn(sockio.RawReads(nc), ConnConfig{Reader: cfg.Reader, ReadTimeout: -1, WriteTimeout: cfg.WriteTimeout})
	return &serverSession{
		srv: s, cfg: cfg, nc: nc, c: c,
		log:     cfg.Logger.With("remote", nc.RemoteAddr().String()),
		streams: make(map[uint32]*serverStream),
	}
}

func (ss *serverSession) run(ctx context.Context) (err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		// Unblock a player's writer stuck on a peer that stopped reading
		// before waiting for it; free the reassembly buffers now.
		ss.c.Close()
		ss.closeAll()
	}()
	for {
		ss.mu.Lock()
		idle := ss.playing == 0
		ss.mu.Unlock()
		if idle {
			ss.c.SetReadTimeout(ss.cfg.IdleTimeout)
		} else {
			ss.c.SetReadTimeout(-1) // players may stay silent
		}
		m, err := ss.c.ReadMessage(ctx)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			ss.logBudget(err)
			return err
		}
		if err := ss.handle(ctx, m); err != nil {
			return err
		}
	}
}

func (ss *serverSession) handle(ctx context.Context, m Message) error {
	switch m.Type {
	case TypeCommandAMF0, TypeCommandAMF3:
		cmd, err := ParseCommand(m)
		if err != nil {
			return err
		}
		return ss.command(ctx, m.StreamID, cmd)
	case TypeAudio, TypeVideo:
		return ss.media(m.StreamID, Media{Type: m.Type, Timestamp: m.Timestamp, Payload: m.Payload})
	case TypeDataAMF0, TypeDataAMF3:
		p := m.Payload
		if m.Type == TypeDataAMF3 {
			if len(p) == 0 {
				return nil
			}
			p = p[1:]
		}
		return ss.media(m.StreamID, Media{Type: TypeDataAMF0, Timestamp: m.Timestamp, Payload: stripSetDataFrame(p)})
	case TypeAggregate:
		it := NewAggregateIter(m)
		var sub Message
		for it.Next(&sub) {
			switch sub.Type {
			case TypeAudio, TypeVideo, TypeDataAMF0, TypeDataAMF3:
				if err := ss.handle(ctx, sub); err != nil {
					return err
				}
			default:
				// §7.1.6: an aggregate carries audio, video and data only.
				ss.log.Debug("rtmp: ignored aggregate sub-message", "type", sub.Type.String())
			}
		}
		return it.Err()
	}
	// Control messages were applied by the chunk reader; user control
	// (ping responses, buffer length) and shared objects need no answer.
	return nil
}

// setDataFrame is the AMF0 encoding of the string "@setDataFrame", which
// publishers put before onMetaData and players must not see.
var setDataFrame = []byte("\x02\x00\x0d@setDataFrame")

func stripSetDataFrame(p []byte) []byte {
	if len(p) >= len(setDataFrame) && string(p[:len(setDataFrame)]) == string(setDataFrame) {
		return p[len(setDataFrame):]
	}
	return p
}

func (ss *serverSession) media(streamID uint32, md Media) error {
	st := ss.lookup(streamID)
	if st == nil || st.sink == nil {
		return nil // media on a stream that does not publish: ignore, as nginx-rtmp does
	}
	if err := st.sink.WriteMedia(md); err != nil {
		return fmt.Errorf("rtmp: publish: %w", err)
	}
	return nil
}

func (ss *serverSession) command(ctx context.Context, streamID uint32, cmd Command) error {
	if !ss.connected && cmd.Name != "connect" {
		return fmt.Errorf("%w: %q before connect", ErrProtocol, logstr.Bound(cmd.Name))
	}
	switch cmd.Name {
	case "connect":
		return ss.connect(ctx, cmd)
	case "createStream":
		return ss.createStream(ctx, cmd)
	case cmdReleaseStream:
		return ss.releaseStream(ctx, cmd)
	case cmdFCPublish:
		return ss.fcPublish(ctx, cmd)
	case cmdGetStreamLength:
		return ss.getStreamLength(ctx, cmd)
	case cmdCheckBW:
		return ss.checkBW(ctx, cmd)
	case "publish":
		return ss.publish(ctx, streamID, cmd)
	case "play":
		return ss.play(ctx, streamID, cmd)
	case cmdFCUnpublish:
		return ss.fcUnpublish(ctx, cmd)
	case "closeStream":
		if st := ss.lookup(streamID); st != nil {
			ss.closeStream(st.id)
		}
		return nil
	case "deleteStream":
		if len(cmd.Args) > 0 {
			if id, ok := cmd.Args[0].(float64); ok && id >= 0 && id < 1<<32 {
				ss.closeStream(uint32(id))
				ss.mu.Lock()
				delete(ss.streams, uint32(id))
				ss.mu.Unlock()
			}
		}
		return nil
	}
	ss.log.Debug("rtmp: ignored command", logstr.Attr("name", cmd.Name))
	return nil
}

func (ss *serverSession) reply(ctx context.Context, streamID uint32, cmd Command) error {
	m, err := cmd.Message(streamID)
	if err != nil {
		return err
	}
	return ss.c.WriteMessage(ctx, m)
}

func (ss *serverSession) connect(ctx context.Context, cmd Command) error {
	if ss.connected {
		return fmt.Errorf("%w: second connect", ErrProtocol)
	}
	obj, _ := cmd.Object.(amf0.Object)
	ss.connectObj = obj
	ss.app = objectString(cmd, "app")
	ss.tcURL = objectString(cmd, "tcUrl")
	enc := objectNumber(cmd, "objectEncoding")
	if ss.app == "" {
		return fmt.Errorf("%w: connect without app", ErrProtocol)
	}
	if err := ss.checkConnect(); err != nil {
		ss.reply(ctx, 0, Command{Name: "_error", TransactionID: cmd.TransactionID,
			Args: []any{refusal(CodeConnectRejected, err)}})
		return fmt.Errorf("rtmp: connect: %w", err)
	}
	ss.connected = true
	ss.log = ss.log.With(redactedAttr("app", ss.app))
	res := connectResult(cmd.TransactionID, enc)
	err := ss.c.WithWriter(ctx, func(w *ChunkWriter) error {
		if err := w.WriteWindowAckSize(ss.cfg.WindowAckSize); err != nil {
			return err
		}
		if err := w.WriteSetPeerBandwidth(ss.cfg.PeerBandwidth, LimitDynamic); err != nil {
			return err
		}
		if err := w.WriteSetChunkSize(ss.cfg.ChunkSize); err != nil {
			return err
		}
		m, err := res.Message(0)
		if err != nil {
			return err
		}
		return w.WriteMessage(m)
	})
	if err != nil {
		return err
	}
	return ss.onBWDone(ctx)
}

// checkConnect refuses an app or tcUrl longer than MaxNameLength.
func (ss *serverSession) checkConnect() error {
	if err := checkName("app", ss.app); err != nil {
		return err
	}
	return checkName("tcUrl", ss.tcURL)
}

func (ss *serverSession) createStream(ctx context.Context, cmd Command) error {
	if ss.created >= ss.cfg.MaxStreams {
		ss.reply(ctx, 0, Command{Name: "_error", TransactionID: cmd.TransactionID,
			Args: []any{statusInfo(LevelError, CodeCallFailed, "too many streams")}})
		return fmt.Errorf("%w: more than %d streams", ErrProtocol, ss.cfg.MaxStreams)
	}
	ss.created++
	ss.nextID++
	id := ss.nextID
	ss.mu.Lock()
	ss.streams[id] = &serverStream{id: id}
	ss.mu.Unlock()
	return ss.reply(ctx, 0, Command{Name: "_result", TransactionID: cmd.TransactionID, Args: []any{float64(id)}})
}

func (ss *serverSession) request(cmd Command) *StreamRequest {
	app, raw := ss.app, argString(cmd, 0)
	if raw == "" {
		// gortmplib's client (MediaMTX) connects with the whole URL path
		// as app ("live/cam") and publishes or plays an empty name: take
		// the last path element as the name, which gives the same Path.
		if i := strings.LastIndexByte(app, '/'); i > 0 && i < len(app)-1 {
			app, raw = app[:i], app[i+1:]
		}
	}
	name, q := parseStreamName(raw)
	return &StreamRequest{App: app, TCURL: ss.tcURL, Name: name, Query: q,
		RemoteAddr: ss.nc.RemoteAddr(), Connect: ss.connectObj}
}

// stream returns the stream id of a publish or play, which must have been
// created and must be idle.
func (ss *serverSession) stream(streamID uint32, what string) (*serverStream, error) {
	st := ss.lookup(streamID)
	if st == nil {
		return nil, fmt.Errorf("%w: %s on stream %d that was not created", ErrProtocol, what, streamID)
	}
	if st.sink != nil || st.source != nil {
		return nil, fmt.Errorf("%w: %s on busy stream %d", ErrProtocol, what, streamID)
	}
	return st, nil
}

// lookup returns the stream created with id, also when the peer wrote the
// message stream id of the chunk header big-endian: the spec
// (§5.3.1.2.1) has it little-endian, but gortmplib keeps ids in
// byte-swapped form (it writes stream 1 as 0x1000000) and code built on
// its message package that sets 1 puts 00 00 00 01 on the wire. Ids are
// small, so a swapped one (1<<24 and up) never collides with a real one.
func (ss *serverSession) lookup(id uint32) *serverStream {
	if st := ss.streams[id]; st != nil {
		return st
	}
	return ss.streams[bits.ReverseBytes32(id)]
}

func (ss *serverSession) publish(ctx context.Context, streamID uint32, cmd Command) error {
	st, err := ss.stream(streamID, "publish")
	if err != nil {
		return err
	}
	streamID = st.id // answer in the spec's byte order
	req := ss.request(cmd)
	req.PublishType = argString(cmd, 1)
	if req.PublishType == "" {
		req.PublishType = "live"
	}
	var sink MediaSink
	if err = checkName("publish name", argString(cmd, 0)); err != nil {
		err = fmt.Errorf("%w: %w", ErrBadName, err)
	} else if ss.cfg.Handler == nil {
		err = fmt.Errorf("%w: no handler", ErrUnauthorized)
	} else if req.Name == "" {
		err = fmt.Errorf("%w: empty name", ErrBadName)
	} else {
		sink, err = ss.cfg.Handler.Publish(ctx, req)
	}
	if err != nil {
		code := CodePublishBadName
		if errors.Is(err, ErrUnauthorized) {
			code = CodePublishUnauthorized
		}
		ss.log.Info("rtmp: publish rejected", redactedAttr("stream", req.Path()), errAttr(err))
		ss.reply(ctx, streamID, onStatusRefused(code, err))
		return fmt.Errorf("rtmp: publish %q: %w", redactQuery(req.Path()), err)
	}
	st.sink = sink
	ss.log.Info("rtmp: publish", redactedAttr("stream", req.Path()))
	return ss.c.WithWriter(ctx, func(w *ChunkWriter) error {
		if err := w.WriteUserControl(UserControl{Event: EventStreamBegin, StreamID: streamID}); err != nil {
			return err
		}
		m, err := onStatus(LevelStatus, CodePublishStart, req.Name+" is now published.").Message(streamID)
		if err != nil {
			return err
		}
		return w.WriteMessage(m)
	})
}

func (ss *serverSession) play(ctx context.Context, streamID uint32, cmd Command) error {
	st, err := ss.stream(streamID, "play")
	if err != nil {
		return err
	}
	streamID = st.id // answer in the spec's byte order
	req := ss.request(cmd)
	var src MediaSource
	if err = checkName("play name", argString(cmd, 0)); err != nil {
		err = fmt.Errorf("%w: %w", ErrBadName, err)
	} else if ss.cfg.Handler == nil {
		err = fmt.Errorf("%w: no handler", ErrUnauthorized)
	} else if req.Name == "" {
		err = fmt.Errorf("%w: empty name", ErrStreamNotFound)
	} else {
		src, err = ss.cfg.Handler.Play(ctx, req)
	}
	if err != nil {
		code := CodePlayFailed
		switch {
		case errors.Is(err, ErrUnauthorized):
			code = CodePlayUnauthorized
		case errors.Is(err, ErrStreamNotFound), errors.Is(err, ErrBadName):
			code = CodePlayStreamNotFound
		}
		ss.log.Info("rtmp: play rejected", redactedAttr("stream", req.Path()), errAttr(err))
		ss.reply(ctx, streamID, onStatusRefused(code, err))
		return fmt.Errorf("rtmp: play %q: %w", redactQuery(req.Path()), err)
	}
	ss.log.Info("rtmp: play", redactedAttr("stream", req.Path()))
	err = ss.c.WithWriter(ctx, func(w *ChunkWriter) error {
		if err := w.WriteUserControl(UserControl{Event: EventStreamBegin, StreamID: streamID}); err != nil {
			return err
		}
		for _, c := range []Command{
			onStatus(LevelStatus, CodePlayReset, "Playing and resetting "+req.Name+"."),
			onStatus(LevelStatus, CodePlayStart, "Started playing "+req.Name+"."),
		} {
			m, err := c.Message(streamID)
			if err != nil {
				return err
			}
			if err := w.WriteMessage(m); err != nil {
				return err
			}
		}
		// No onStatus NetStream.Data.Start data message after it, unlike
		// FMS: ffmpeg's FLV demuxer turns that one into an empty data
		// stream ("Stream #0:0: Data: none"), as SRS found.
		p, err := amf0.AppendValues(nil, "|RtmpSampleAccess", true, true)
		if err != nil {
			return err
		}
		return w.WriteMessage(Message{ChunkStreamID: CSIDCommand, Type: TypeDataAMF0, StreamID: streamID, Payload: p})
	})
	if err != nil {
		src.Close()
		return err
	}
	pctx, stop := context.WithCancel(ctx)
	st.source, st.stop, st.done = src, stop, make(chan struct{})
	ss.mu.Lock()
	ss.playing++
	ss.mu.Unlock()
	go ss.playLoop(pctx, st)
	return nil
}

// appendChunks is AppendSharedChunks with a given message stream and chunk
// size, for sessions whose parameters differ from the shared ones.
func appendChunks(b []byte, t MessageType, timestamp uint32, payload []byte, streamID, chunkSize uint32) []byte {
	if streamID == SharedStreamID && chunkSize == SharedChunkSize {
		return AppendSharedChunks(b, t, timestamp, payload)
	}
	w := ChunkWriter{chunkSize: chunkSize, streams: make(map[uint32]*outStream, 1)}
	// The only possible error is an oversized payload, which the chunk
	// reader never produces; such a message is dropped.
	b, _ = w.AppendMessage(b, Message{ChunkStreamID: MediaCSID(t), Type: t, StreamID: streamID, Timestamp: timestamp, Payload: payload})
	return b
}

// closeStream stops publishing or playing on stream id.
func (ss *serverSession) closeStream(id uint32) {
	st := ss.streams[id]
	if st == nil {
		return
	}
	if st.sink != nil {
		st.sink.Close()
		st.sink = nil
	}
	if st.source != nil {
		st.stop()
		<-st.done
		st.source.Close()
		st.source = nil
	}
}

func (ss *serverSession) closeAll() {
	for id := range ss.streams {
		ss.closeStream(id)
	}
}
