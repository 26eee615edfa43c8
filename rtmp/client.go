package rtmp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/streamwire/streamwire/internal/logstr"
	"github.com/streamwire/streamwire/rtmp/amf0"
)

// ClientConfig configures Dial. The zero value works.
type ClientConfig struct {
	// Handshake configures the handshake (ffmpeg-style digest C1 by
	// default). Its zero Timeout means DefaultHandshakeTimeout (10 s).
	Handshake HandshakeConfig
	// Conn configures the chunk stream: limits, read timeout (zero means
	// DefaultReadTimeout, 60 s) and write timeout (zero means
	// DefaultWriteTimeout, 30 s).
	Conn ConnConfig
	// TLSConfig is used for rtmps:// URLs. Nil means a config with the
	// URL's host as ServerName.
	TLSConfig *tls.Config
	// ChunkSize is announced with Set Chunk Size after connecting, in
	// bytes (§5.4.1). Zero means DefaultAnnouncedChunkSize (4096).
	ChunkSize uint32
	// FlashVer is the flashVer of connect. Empty means DefaultFlashVer
	// ("FMLE/3.0 (compatible; streamwire)"), which servers treat like OBS
	// and ffmpeg.
	FlashVer string
	// FourCCList is the Enhanced RTMP codecs the client announces in
	// connect's fourCcList, e.g. "hvc1", "av01", "vp08", "Opus", so that
	// a server sends them to it (see StreamRequest.AcceptsFourCC). Empty
	// means none: a legacy client, sent AVC and AAC only.
	FourCCList []string
	// Dialer dials TCP. Nil means a zero net.Dialer.
	Dialer *net.Dialer
	// Logger receives client events. Nil means none.
	Logger *slog.Logger
}

// ErrNotConnected: a Client method was called on a Client that Dial did
// not return (a zero Client{}).
var ErrNotConnected = errors.New("rtmp: client not connected (use Dial)")

// ErrNoConn: a zero ChunkReader, ChunkWriter or Conn has no connection to
// read or write; create them with NewChunkReader, NewChunkWriter and NewConn.
// (A zero ChunkWriter still encodes with AppendMessage.)
var ErrNoConn = errors.New("rtmp: no connection (use NewChunkReader, NewChunkWriter or NewConn)")

// Client is an RTMP client connection: Dial connects to an application,
// then Publish or Play starts one stream on it. Its methods must not be
// called concurrently, except that WriteMedia (publishing) and Close may
// be called from any goroutine.
type Client struct {
	cfg      ClientConfig
	nc       net.Conn
	c        *Conn
	app      string
	tcURL    string
	name     string // stream name from the URL, with its query
	tx       float64
	streamID uint32
	pending  []Media // media that arrived before Play.Start, with owned payloads
	ended    bool
	agg      AggregateIter // the aggregate message ReadMedia is splitting
	inAgg    bool
}

// ParseURL splits an rtmp:// or rtmps:// URL into the TCP address, the
// application (first path element), the stream name (the rest, with the
// query) and the tcUrl sent with connect. Its errors quote the URL with
// the values of its query (the stream key) and its password redacted.
func ParseURL(raw string) (addr, app, name, tcURL string, tls bool, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = redactURL(ue.URL) // url.Error quotes the whole URL
		}
		return "", "", "", "", false, fmt.Errorf("rtmp: url: %w", err)
	}
	port := "1935"
	switch u.Scheme {
	case "rtmp":
	case "rtmps":
		tls, port = true, "443"
	default:
		return "", "", "", "", false, fmt.Errorf("rtmp: url scheme %q, want rtmp or rtmps", u.Scheme)
	}
	if u.Port() != "" {
		port = u.Port()
	}
	if u.Hostname() == "" {
		return "", "", "", "", false, fmt.Errorf("rtmp: url %q has no host", redactURL(raw))
	}
	addr = net.JoinHostPort(u.Hostname(), port)
	app, name, _ = strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	if app == "" {
		return "", "", "", "", false, fmt.Errorf("rtmp: url %q has no application", redactURL(raw))
	}
	if u.RawQuery != "" {
		name += "?" + u.RawQuery
	}
	tcURL = u.Scheme + "://" + u.Host + "/" + app
	return addr, app, name, tcURL, tls, nil
}

// Dial connects to the server of an rtmp:// or rtmps:// URL
// ("rtmp://host[:port]/app/name?query"), runs the handshake and the
// connect command for app, and returns a client ready to Publish or Play
// the stream name of the URL.
func Dial(ctx context.Context, rawURL string, cfg ClientConfig) (*Client, error) {
	addr, app, name, tcURL, useTLS, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if cfg.Handshake.Timeout == 0 {
		cfg.Handshake.Timeout = DefaultHandshakeTimeout
	}
	if cfg.ChunkSize == 0 {
		cfg.ChunkSize = DefaultAnnouncedChunkSize
	}
	if cfg.FlashVer == "" {
		cfg.FlashVer = DefaultFlashVer
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	d := cfg.Dialer
	if d == nil {
		d = &net.Dialer{}
	}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("rtmp: dial: %w", err)
	}
	if useTLS {
		tc := cfg.TLSConfig
		if tc == nil {
			host, _, _ := net.SplitHostPort(addr)
			tc = &tls.Config{ServerName: host}
		}
		tlsConn := tls.Client(nc, tc)
		if err := tlsConn.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("rtmp: tls: %w", err)
		}
		nc = tlsConn
	}
	c, err := newClient(ctx, nc, app, name, tcURL, cfg)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

func newClient(ctx context.Context, nc net.Conn, app, name, tcURL string, cfg ClientConfig) (*Client, error) {
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := ClientHandshake(ctx, nc, cfg.Handshake); err != nil {
		return nil, fmt.Errorf("rtmp: handshake: %w", err)
	}
	cl := &Client{cfg: cfg, nc: nc, c: NewConn(nc, cfg.Conn), app: app, tcURL: tcURL, name: name}
	err := cl.c.WithWriter(ctx, func(w *ChunkWriter) error { return w.WriteSetChunkSize(cfg.ChunkSize) })
	if err != nil {
		return nil, err
	}
	obj := amf0.Object{
		{Key: "app", Value: app},
		{Key: "type", Value: "nonprivate"},
		{Key: "flashVer", Value: cfg.FlashVer},
		{Key: "tcUrl", Value: tcURL},
		{Key: "fpad", Value: false},
		{Key: "capabilities", Value: float64(15)},
		{Key: "audioCodecs", Value: float64(4071)},
		{Key: "videoCodecs", Value: float64(252)},
		{Key: "videoFunction", Value: float64(1)},
		{Key: "objectEncoding", Value: float64(0)},
	}
	if len(cfg.FourCCList) > 0 {
		list := make([]any, len(cfg.FourCCList))
		for i, f := range cfg.FourCCList {
			list[i] = f
		}
		obj = append(obj, amf0.Property{Key: "fourCcList", Value: list})
	}
	if _, err := cl.call(ctx, Command{Name: "connect", Object: obj}); err != nil {
		return nil, fmt.Errorf("rtmp: connect to %q: %w", logstr.Bound(app), err)
	}
	return cl, nil
}

// call sends cmd with a new transaction id and waits for its _result or
// _error, answering pings meanwhile.
func (cl *Client) call(ctx context.Context, cmd Command) (Command, error) {
	cl.tx++
	cmd.TransactionID = cl.tx
	if err := cl.send(ctx, 0, cmd); err != nil {
		return Command{}, err
	}
	for {
		m, err := cl.c.ReadMessage(ctx)
		if err != nil {
			return Command{}, err
		}
		if m.Type != TypeCommandAMF0 && m.Type != TypeCommandAMF3 {
			cl.control(ctx, m)
			continue
		}
		res, err := ParseCommand(m)
		if err != nil {
			return Command{}, err
		}
		if res.TransactionID != cmd.TransactionID {
			continue // onBWDone and the like
		}
		switch res.Name {
		case "_result":
			return res, nil
		case "_error":
			return res, statusErrorOf(cmd.Name, res)
		}
	}
}

func (cl *Client) send(ctx context.Context, streamID uint32, cmd Command) error {
	m, err := cmd.Message(streamID)
	if err != nil {
		return err
	}
	return cl.c.WriteMessage(ctx, m)
}

// control answers a ping request; other non-command messages need nothing.
func (cl *Client) control(ctx context.Context, m Message) {
	if m.Type != TypeUserControl {
		return
	}
	u, err := ParseUserControl(m.Payload)
	if err == nil && u.Event == EventPingRequest {
		cl.c.WithWriter(ctx, func(w *ChunkWriter) error {
			return w.WriteUserControl(UserControl{Event: EventPingResponse, Timestamp: u.Timestamp})
		})
	}
}

func (cl *Client) createStream(ctx context.Context) error {
	res, err := cl.call(ctx, Command{Name: "createStream"})
	if err != nil {
		return fmt.Errorf("rtmp: createStream: %w", err)
	}
	for _, a := range res.Args {
		if id, ok := a.(float64); ok && id >= 0 && id < 1<<32 {
			cl.streamID = uint32(id)
			return nil
		}
	}
	return fmt.Errorf("%w: createStream result without a stream id", ErrProtocol)
}

// waitStatus reads until an onStatus with code want (nil) or an error
// level status (a *StatusError for command). Media read meanwhile is kept
// for ReadMedia.
func (cl *Client) waitStatus(ctx context.Context, command, want string) error {
	for {
		m, err := cl.c.ReadMessage(ctx)
		if err != nil {
			return err
		}
		switch m.Type {
		case TypeCommandAMF0, TypeCommandAMF3:
			cmd, err := ParseCommand(m)
			if err != nil {
				return err
			}
			if cmd.Name != "onStatus" {
				continue
			}
			level, code, _ := statusCode(cmd)
			if code == want {
				return nil
			}
			if level == LevelError {
				return statusErrorOf(command, cmd)
			}
		case TypeAudio, TypeVideo, TypeDataAMF0, TypeDataAMF3, TypeAggregate:
			// The server started sending media without the status:
			// playing has started.
			if err := cl.keepPending(m); err != nil {
				return err
			}
			if len(cl.pending) > 0 {
				return nil
			}
		default:
			cl.control(ctx, m)
		}
	}
}

// Publish starts publishing the URL's stream (releaseStream, FCPublish,
// createStream, publish "live") and waits for NetStream.Publish.Start. A
// refusal is a *StatusError (errors.Is ErrRejected) with the status code,
// e.g. NetStream.Publish.BadName.
func (cl *Client) Publish(ctx context.Context) error {
	if cl.c == nil {
		return ErrNotConnected
	}
	for _, name := range []string{"releaseStream", "FCPublish"} {
		cl.tx++
		if err := cl.send(ctx, 0, Command{Name: name, TransactionID: cl.tx, Args: []any{cl.name}}); err != nil {
			return err
		}
	}
	if err := cl.createStream(ctx); err != nil {
		return err
	}
	if err := cl.send(ctx, cl.streamID, Command{Name: "publish", Args: []any{cl.name, "live"}}); err != nil {
		return err
	}
	if err := cl.waitStatus(ctx, "publish", CodePublishStart); err != nil {
		return fmt.Errorf("rtmp: publish %q: %w", redactQuery(cl.name), err)
	}
	return nil
}

// Play starts playing the URL's stream (createStream, play) and waits for
// NetStream.Play.Start or the first media message. A refusal is a *StatusError (errors.Is ErrRejected) with the status
// code, e.g. NetStream.Play.StreamNotFound.
func (cl *Client) Play(ctx context.Context) error {
	if cl.c == nil {
		return ErrNotConnected
	}
	if err := cl.createStream(ctx); err != nil {
		return err
	}
	// Buffer length hint as ffmpeg sends it; servers do not require it.
	cl.c.WithWriter(ctx, func(w *ChunkWriter) error {
		return w.WriteUserControl(UserControl{Event: EventSetBufferLength, StreamID: cl.streamID, BufferLength: 3000})
	})
	if err := cl.send(ctx, cl.streamID, Command{Name: "play", Args: []any{cl.name, float64(-2000)}}); err != nil {
		return err
	}
	if err := cl.waitStatus(ctx, "play", CodePlayStart); err != nil {
		return fmt.Errorf("rtmp: play %q: %w", redactQuery(cl.name), err)
	}
	return nil
}

// ErrMediaType: Client.WriteMedia was given a message type other than
// audio (8), video (9) or data (18 AMF0, 15 AMF3). A control message sent
// as media (Set Chunk Size, §5.4.1) would change the session's state
// behind the client's back: the server would read the following chunks
// with a chunk size the client does not write, and lose them.
var ErrMediaType = errors.New("rtmp: not a media message type (want audio, video or data)")

// WriteMedia sends one audio, video or data message (TypeAudio,
// TypeVideo, TypeDataAMF0, TypeDataAMF3) on the published stream; any
// other m.Type returns ErrMediaType and sends nothing. Data messages
// carrying onMetaData should start with the AMF0 string "@setDataFrame"
// as encoders send them.
func (cl *Client) WriteMedia(ctx context.Context, m Media) error {
	if cl.c == nil {
		return ErrNotConnected
	}
	if !m.Type.isMedia() {
		return fmt.Errorf("%w: %v", ErrMediaType, m.Type)
	}
	return cl.c.WriteMessage(ctx, Message{ChunkStreamID: MediaCSID(m.Type), Type: m.Type,
		StreamID: cl.streamID, Timestamp: m.Timestamp, Payload: m.Payload})
}

// ReadMedia returns the next audio, video or data message of the played
// stream; the sub-messages of Aggregate messages (type 22, §7.1.6) are
// returned one by one. Its Payload is valid until the next ReadMedia call.
// It returns io.EOF when the server reports that the stream ended
// (StreamEOF, NetStream.Play.UnpublishNotify or NetStream.Play.Stop) or
// closes the connection.
func (cl *Client) ReadMedia(ctx context.Context) (Media, error) {
	if cl.c == nil {
		return Media{}, ErrNotConnected
	}
	if len(cl.pending) > 0 {
		m := cl.pending[0]
		cl.pending = cl.pending[1:]
		return m, nil
	}
	for {
		if md, ok, err := cl.nextAggregated(); ok || err != nil {
			return md, err
		}
		if cl.ended {
			return Media{}, io.EOF
		}
		m, err := cl.c.ReadMessage(ctx)
		if errors.Is(err, io.EOF) {
			return Media{}, io.EOF
		}
		if err != nil {
			return Media{}, err
		}
		switch m.Type {
		case TypeAudio, TypeVideo, TypeDataAMF0, TypeDataAMF3:
			if md, ok := mediaOf(m); ok {
				return md, nil
			}
		case TypeAggregate:
			cl.agg, cl.inAgg = NewAggregateIter(m), true
		case TypeCommandAMF0, TypeCommandAMF3:
			cmd, err := ParseCommand(m)
			if err != nil {
				return Media{}, err
			}
			cl.onCommand(cmd)
		case TypeUserControl:
			if u, err := ParseUserControl(m.Payload); err == nil && u.Event == EventStreamEOF && u.StreamID == cl.streamID {
				cl.ended = true
				continue
			}
			cl.control(ctx, m)
		default:
			cl.ignored(m.Type)
		}
	}
}

// nextAggregated returns the next media sub-message of the aggregate being
// split, if any.
func (cl *Client) nextAggregated() (Media, bool, error) {
	var sub Message
	for cl.inAgg && cl.agg.Next(&sub) {
		if md, ok := mediaOf(sub); ok {
			return md, true, nil
		}
		if sub.Type != TypeDataAMF0 && sub.Type != TypeDataAMF3 {
			cl.ignored(sub.Type)
		}
	}
	if !cl.inAgg {
		return Media{}, false, nil
	}
	cl.inAgg = false
	if err := cl.agg.Err(); err != nil {
		return Media{}, false, fmt.Errorf("rtmp: play: %w", err)
	}
	return Media{}, false, nil
}

// keepPending queues the media of m (split if it is an aggregate) with
// owned payloads, for ReadMedia.
func (cl *Client) keepPending(m Message) error {
	keep := func(m Message) {
		if md, ok := mediaOf(m); ok {
			md.Payload = append([]byte(nil), md.Payload...)
			cl.pending = append(cl.pending, md)
		}
	}
	if m.Type != TypeAggregate {
		keep(m)
		return nil
	}
	it := NewAggregateIter(m)
	var sub Message
	for it.Next(&sub) {
		keep(sub)
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("rtmp: play: %w", err)
	}
	return nil
}

// onCommand notes the end of the played stream.
func (cl *Client) onCommand(cmd Command) {
	if cmd.Name != "onStatus" {
		return
	}
	switch _, code, _ := statusCode(cmd); code {
	case CodePlayUnpublishNotify, CodePlayStop:
		cl.ended = true
	}
}

// ignored logs a message type that a player has no use for (shared
// objects, or types no spec defines), so that nothing is dropped without
// a trace.
func (cl *Client) ignored(t MessageType) {
	cl.cfg.Logger.Debug("rtmp: ignored message", "type", t.String())
}

// mediaOf returns m as Media when it is audio, video, or a data message
// that belongs to the stream (not |RtmpSampleAccess or onStatus); AMF3
// data messages lose their format byte.
func mediaOf(m Message) (Media, bool) {
	switch m.Type {
	case TypeAudio, TypeVideo:
		return Media{Type: m.Type, Timestamp: m.Timestamp, Payload: m.Payload}, true
	case TypeDataAMF0, TypeDataAMF3:
		p := m.Payload
		if m.Type == TypeDataAMF3 && len(p) > 0 {
			p = p[1:]
		}
		if !isSessionData(p) {
			return Media{Type: TypeDataAMF0, Timestamp: m.Timestamp, Payload: p}, true
		}
	}
	return Media{}, false
}

// Conn returns the chunk stream, e.g. for ReadMessage on messages
// ReadMedia does not return, or to send acknowledgements while draining
// NetConn directly. It is nil on a Client that Dial did not return.
func (cl *Client) Conn() *Conn { return cl.c }

// NetConn returns the underlying connection (nil on a Client that Dial
// did not return).
func (cl *Client) NetConn() net.Conn { return cl.nc }

// StreamID is the message stream id the server gave createStream.
func (cl *Client) StreamID() uint32 { return cl.streamID }

// Close ends the session: for a publisher it sends FCUnpublish and
// deleteStream first (best effort, bounded by one second), then closes the
// connection. Like io.Closer implementations by convention, it may be
// called more than once, and on a zero Client, where it returns nil.
func (cl *Client) Close() error {
	if cl.nc == nil {
		return nil // nothing to close
	}
	if cl.c.state.Load() == connClosed { // closed before: nothing to send
		return nil
	}
	if cl.streamID != 0 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		cl.send(ctx, 0, Command{Name: "FCUnpublish", Args: []any{cl.name}})
		cl.send(ctx, 0, Command{Name: "deleteStream", Args: []any{float64(cl.streamID)}})
		cancel()
	}
	return cl.c.Close() // closes nc, and frees what reading holds
}

// isSessionData reports data messages that belong to the session, not to
// the stream: |RtmpSampleAccess and onStatus (NetStream.Data.Start).
func isSessionData(p []byte) bool {
	for _, s := range [...]string{"\x02\x00\x11|RtmpSampleAccess", "\x02\x00\x08onStatus"} {
		if len(p) >= len(s) && string(p[:len(s)]) == s {
			return true
		}
	}
	return false
}
