package kvs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/streamwire/streamwire/internal/logstr"
)

// Query parameters of the WebSocket URL (ConnectAsMaster, ConnectAsViewer).
const (
	qChannelARN = "X-Amz-ChannelARN"
	qClientID   = "X-Amz-ClientId"
)

// wsConn is one KVS WebSocket: a master (client "") or a viewer. Two
// goroutines serve it: the HTTP handler's, which reads frames, and
// writeLoop, which writes the outbox and pings; a third lives only while a
// ping waits for its pong. The idle, duration and GO_AWAY timers are
// Config.Clock's. It is the Sink the Store delivers the client's messages
// to.
type wsConn struct {
	s       *Server
	c       *websocket.Conn
	channel string
	client  string // "" for the master

	ctx    context.Context // cancelled to close: by Close, a timer, an error
	cancel context.CancelFunc

	lastActive atomic.Int64 // Clock time of the last client frame, Unix ns
	bucket     tokenBucket  // read goroutine only

	mu        sync.Mutex
	out       []outItem // frames to write, in order
	spare     []outItem // the other of out's two buffers (see takeOut)
	outBytes  int
	closing   bool
	code      websocket.StatusCode // close status and reason, set once
	reason    string
	stops     []func() bool // the Clock timers to stop at close
	wake      chan struct{} // an item was queued (capacity 1)
	writeDone chan struct{} // writeLoop returned
}

// outItem is one frame to write: a message, a STATUS_RESPONSE (err set)
// or an event (GO_AWAY, RECONNECT_ICE_SERVER: m.Type only).
type outItem struct {
	m             Message
	event         bool
	correlationID string
	err           *APIError
}

// errSinkClosed is what Deliver returns once the WebSocket is closing.
var errSinkClosed = errors.New("kvs: websocket closed")

// framePool holds the buffers frames are read into.
var framePool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// serveWS serves PREFIX/ws (ConnectAsMaster, ConnectAsViewer): it checks
// the query, the presigned signature, the channel and the limits, answering
// a refusal as a REST error before the upgrade (400, 403, 404), then binds
// the WebSocket in the Store and reads its frames.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	s.setCORS(w, r)
	cn, ip, err := s.admit(r)
	if err != nil {
		s.refused.Add(1)
		s.writeError(w, r, err)
		return
	}
	defer s.perIP.Release(ip)
	defer s.untrack(cn)
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: s.cfg.OriginPatterns})
	if err != nil {
		s.cfg.Logger.Debug("kvs: websocket accept", "remote", r.RemoteAddr, "err", err)
		_ = s.store.Disconnect(context.Background(), cn.channel, cn.client, cn)
		cn.closeWith(abort, "accept failed")
		return
	}
	s.accepted.Add(1)
	s.cfg.Logger.Info("kvs: connected", "channel", cn.channel, "client", cn.client)
	c.SetReadLimit(int64(s.cfg.frameLimit()) + 1)
	cn.c = c
	go cn.writeLoop()
	cn.readLoop()
	cn.closeWith(websocket.StatusNormalClosure, "")
	<-cn.writeDone
	_ = c.CloseNow()
	if err := s.store.Disconnect(context.Background(), cn.channel, cn.client, cn); err != nil {
		s.cfg.Logger.Debug("kvs: disconnect", "channel", cn.channel, "err", err)
	}
}

// admit checks a WebSocket request and, when it may connect, returns its
// connection, tracked and bound in the Store, and the address it holds a
// per-IP slot for. Everything that can refuse it is checked before the
// Store binds it, which replaces a connection of the same client.
func (s *Server) admit(r *http.Request) (*wsConn, netip.Addr, error) {
	q := r.URL.Query()
	arn, client := q.Get(qChannelARN), q.Get(qClientID)
	switch {
	case arn == "":
		return nil, netip.Addr{}, Errorf(ErrInvalidArgument, "X-Amz-ChannelARN is required.")
	case q.Has(qClientID) && !ValidClientID(client):
		return nil, netip.Addr{}, Errorf(ErrInvalidArgument, "X-Amz-ClientId must be 1 to 256 characters of [a-zA-Z0-9_.-], not starting with AWS_.")
	}
	if problem := upgradeProblem(r, s.cfg.OriginPatterns); problem != "" {
		return nil, netip.Addr{}, Errorf(ErrInvalidArgument, "%s", problem)
	}
	if _, err := s.verify.verifyPresigned(r); err != nil {
		return nil, netip.Addr{}, err
	}
	ch, err := s.channelByARN(r, arn)
	if err != nil {
		return nil, netip.Addr{}, err
	}
	ip := remoteIP(r)
	if err := s.perIP.Acquire(ip); err != nil {
		return nil, netip.Addr{}, Errorf(ErrClientLimitExceeded, "Too many connections from this address.")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cn := &wsConn{s: s, channel: ch.Name, client: client, ctx: ctx, cancel: cancel,
		wake: make(chan struct{}, 1), writeDone: make(chan struct{}),
		bucket: tokenBucket{rate: float64(s.cfg.MessageRate), burst: float64(s.cfg.MessageBurst), tokens: float64(s.cfg.MessageBurst)}}
	if err := s.track(cn); err != nil {
		s.perIP.Release(ip)
		cancel()
		return nil, netip.Addr{}, err
	}
	if err := s.store.Connect(r.Context(), ch.Name, client, cn); err != nil {
		s.untrack(cn)
		s.perIP.Release(ip)
		cancel()
		return nil, netip.Addr{}, err
	}
	// Armed before the upgrade's answer, so that a client that has
	// connected finds its time-outs running.
	cn.startTimers()
	return cn, ip, nil
}

// remoteIP is the per-IP key of r's client (internal/connlimit's).
func remoteIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// upgradeProblem returns why github.com/coder/websocket's Accept would
// refuse r ("" when it would not): not a WebSocket upgrade, or an Origin
// of another host that matches none of patterns. Checking first keeps a
// request that cannot become a WebSocket from taking a client's seat.
func upgradeProblem(r *http.Request, patterns []string) string {
	if !headerHas(r.Header, "Connection", "upgrade") || !headerHas(r.Header, "Upgrade", "websocket") ||
		r.Header.Get("Sec-WebSocket-Version") != "13" || r.Header.Get("Sec-WebSocket-Key") == "" {
		return "A WebSocket upgrade (RFC 6455, version 13) is required."
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return ""
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return "The Origin header is not a URL with a host."
	}
	if strings.EqualFold(r.Host, u.Host) {
		return ""
	}
	for _, p := range patterns {
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(u.Host)); ok {
			return ""
		}
	}
	return "WebSockets from origin " + logstr.Bound(u.Host) + " are not allowed."
}

// headerHas reports whether a comma-separated header of h holds token,
// without regard to case.
func headerHas(h http.Header, key, token string) bool {
	for _, v := range h.Values(key) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// startTimers arms the idle time-out and the connection's lifetime.
func (cn *wsConn) startTimers() {
	clk := cn.s.cfg.Clock
	cn.lastActive.Store(clk.Now().UnixNano())
	cn.addTimer(cn.s.cfg.IdleTimeout, cn.checkIdle)
	cn.addTimer(cn.s.cfg.MaxConnDuration, func() { cn.event(MessageGoAway) })
}

// addTimer runs f after d on the Clock unless the connection closes first.
func (cn *wsConn) addTimer(d time.Duration, f func()) {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if !cn.closing {
		cn.stops = append(cn.stops, cn.s.cfg.Clock.AfterFunc(d, f))
	}
}

// checkIdle closes the connection when the client has sent nothing for
// IdleTimeout, else looks again when that time would be up.
func (cn *wsConn) checkIdle() {
	idle := cn.s.cfg.IdleTimeout
	quiet := cn.s.cfg.Clock.Now().Sub(time.Unix(0, cn.lastActive.Load()))
	if quiet >= idle {
		cn.s.cfg.Logger.Info("kvs: idle time-out", "channel", cn.channel, "client", cn.client)
		cn.closeWith(websocket.StatusGoingAway, "idle timeout")
		return
	}
	cn.addTimer(idle-quiet, cn.checkIdle)
}

// readLoop reads and handles frames until the connection ends. Each read
// is bounded by the idle time-out (on the Clock) and, whatever the Clock,
// by IdleTimeout plus two ping intervals of real time.
func (cn *wsConn) readLoop() {
	s := cn.s
	for {
		frame, buf, err := cn.readFrame(s.cfg.IdleTimeout + 2*s.cfg.PingInterval)
		if err != nil {
			if errors.Is(err, errFrameTooLarge) {
				cn.closeWith(websocket.StatusMessageTooBig, "frame too large")
			}
			return
		}
		cn.lastActive.Store(s.cfg.Clock.Now().UnixNano())
		cn.handle(frame)
		framePool.Put(buf)
		s.frames.Add(1)
	}
}

// errFrameTooLarge marks a frame over Config.frameLimit.
var errFrameTooLarge = errors.New("kvs: frame too large")

// readFrame reads one message of at most frameLimit bytes within limit.
// The frame aliases buf, a pooled buffer the caller returns to framePool
// once done with the frame. The wait is not tied to cn.ctx: a closing
// connection gets its close frame from writeLoop, which ends this read.
func (cn *wsConn) readFrame(limit time.Duration) (frame []byte, buf *bytes.Buffer, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	_, rd, err := cn.c.Reader(ctx)
	if err != nil {
		return nil, nil, err
	}
	max := int64(cn.s.cfg.frameLimit())
	buf = framePool.Get().(*bytes.Buffer)
	buf.Reset()
	n, err := buf.ReadFrom(io.LimitReader(rd, max+1))
	switch {
	case n > max:
		err = errFrameTooLarge
	case err == nil:
		return buf.Bytes(), buf, nil
	}
	framePool.Put(buf)
	return nil, nil, err
}

// handle routes one client frame, answering a refusal with a
// STATUS_RESPONSE when the frame had a correlationId. A frame that is not
// a JSON object has none, so it is dropped, as AWS drops it.
func (cn *wsConn) handle(frame []byte) {
	f, err := decodeClientFrame(frame)
	if err != nil {
		cn.s.cfg.Logger.Debug("kvs: frame is not JSON", "channel", cn.channel, "client", cn.client)
		return
	}
	if e := cn.route(f); e != nil {
		cn.s.cfg.Logger.Debug("kvs: message refused", "channel", cn.channel, "client", cn.client, "type", e.Type, "message", e.Message)
		if f.CorrelationID != "" {
			corr := f.CorrelationID
			if !ValidName(corr) {
				corr = ""
			}
			cn.status(corr, e)
		}
	}
}

// route checks f and hands its message to the Store: viewer to master,
// master to the viewer named by recipientClientId (a viewer's
// recipientClientId is ignored, as AWS ignores it).
func (cn *wsConn) route(f clientFrame) *APIError {
	s := cn.s
	if !cn.bucket.take(s.cfg.Clock.Now()) {
		return Errorf(ErrClientLimitExceeded, "More than %d messages per second.", s.cfg.MessageRate)
	}
	switch {
	case f.CorrelationID != "" && !ValidName(f.CorrelationID):
		return Errorf(ErrInvalidArgument, "correlationId must be 1 to 256 characters of [a-zA-Z0-9_.-].")
	case f.Action != MessageSDPOffer && f.Action != MessageSDPAnswer && f.Action != MessageICECandidate:
		return Errorf(ErrInvalidArgument, "action must be SDP_OFFER, SDP_ANSWER or ICE_CANDIDATE.")
	case !validPayload(f.MessagePayload, s.cfg.MaxMessageBytes):
		return Errorf(ErrInvalidArgument, "messagePayload must be base64 of at most %d bytes.", s.cfg.MaxMessageBytes)
	}
	to := ""
	if cn.client == "" {
		if !ValidClientID(f.RecipientClientID) {
			return Errorf(ErrInvalidArgument, "The master must name a viewer in recipientClientId.")
		}
		to = f.RecipientClientID
	}
	err := s.store.Send(cn.ctx, cn.channel, to, Message{Type: f.Action, Sender: cn.client, Payload: f.MessagePayload})
	if err != nil {
		return asAPIError(err)
	}
	return nil
}

// status queues a STATUS_RESPONSE.
func (cn *wsConn) status(correlationID string, err *APIError) {
	cn.s.statuses.Add(1)
	_ = cn.enqueue(outItem{correlationID: correlationID, err: err}, len(err.Message))
}

// event queues GO_AWAY or RECONNECT_ICE_SERVER. After GO_AWAY the
// connection is closed GoAwayGrace later with 1001 (going away), as AWS
// closes it within a minute.
func (cn *wsConn) event(messageType string) {
	if cn.enqueue(outItem{m: Message{Type: messageType}, event: true}, 0) != nil || messageType != MessageGoAway {
		return
	}
	cn.addTimer(cn.s.cfg.GoAwayGrace, func() { cn.closeWith(websocket.StatusGoingAway, "going away") })
}

// Deliver implements Sink.
func (cn *wsConn) Deliver(m Message) error { return cn.enqueue(outItem{m: m}, len(m.Payload)) }

// enqueue adds it to the outbox, unless the outbox is over
// MaxQueuedMessages or MaxQueuedBytes, which closes the connection (a
// reader that slow is gone or hostile; the Store keeps a refused message
// for its reconnect).
func (cn *wsConn) enqueue(it outItem, size int) error {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.closing {
		return errSinkClosed
	}
	if len(cn.out) >= cn.s.cfg.MaxQueuedMessages || cn.outBytes+size > cn.s.cfg.MaxQueuedBytes {
		cn.closeLocked(abort, "outbox over budget")
		return Errorf(ErrClientLimitExceeded, "The connection's outbox is full.")
	}
	cn.out = append(cn.out, it)
	cn.outBytes += size
	select {
	case cn.wake <- struct{}{}:
	default:
	}
	return nil
}

// Close implements Sink: the client connected again elsewhere, or its
// channel was deleted.
func (cn *wsConn) Close() { cn.closeWith(websocket.StatusNormalClosure, "replaced or channel deleted") }

// abort is the close "status" of a connection dropped without a close
// handshake: its peer does not read (no pong, a full outbox, a failed
// write), so the handshake would only wait out its 5 s.
const abort websocket.StatusCode = 0

// closeWith makes writeLoop close the connection with code and reason
// (abort: no close frame); the first call decides them.
func (cn *wsConn) closeWith(code websocket.StatusCode, reason string) {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	cn.closeLocked(code, reason)
}

func (cn *wsConn) closeLocked(code websocket.StatusCode, reason string) {
	if cn.closing {
		return
	}
	cn.closing, cn.code, cn.reason = true, code, reason
	for _, stop := range cn.stops {
		stop()
	}
	cn.stops = nil
	cn.out, cn.outBytes = nil, 0
	cn.cancel()
}

// writeLoop writes the outbox in order, each frame within WriteTimeout,
// and pings every PingInterval; a ping unanswered by the next one, or a
// failed write, ends the connection. Once the connection is closing it
// sends the close frame, which ends readLoop too.
func (cn *wsConn) writeLoop() {
	defer close(cn.writeDone)
	s := cn.s
	ticker := time.NewTicker(s.cfg.PingInterval)
	defer ticker.Stop()
	pong := make(chan error, 1)
	pinging := false
	var buf []byte
	for {
		select {
		case <-cn.ctx.Done():
			cn.mu.Lock()
			code, reason := cn.code, cn.reason
			cn.mu.Unlock()
			if pinging {
				<-pong // its context is cn.ctx's child: it returns now
			}
			if code == abort {
				_ = cn.c.CloseNow()
			} else {
				_ = cn.c.Close(code, reason)
			}
			return
		case <-cn.wake:
			var ok bool
			if buf, ok = cn.flush(buf); !ok {
				cn.closeWith(abort, "write failed")
			}
		case <-ticker.C:
			if pinging {
				cn.closeWith(abort, "no pong")
				continue
			}
			pinging = true
			go func() {
				ctx, cancel := context.WithTimeout(cn.ctx, s.cfg.PingInterval)
				defer cancel()
				pong <- cn.c.Ping(ctx)
			}()
		case err := <-pong:
			pinging = false
			if err != nil {
				cn.closeWith(abort, "no pong")
			}
		}
	}
}

// flush writes every queued item; buf is reused across frames. It reports
// false when a write failed.
func (cn *wsConn) flush(buf []byte) ([]byte, bool) {
	for {
		items := cn.takeOut()
		if len(items) == 0 {
			return buf, true
		}
		for _, it := range items {
			buf = it.appendFrame(buf[:0])
			ctx, cancel := context.WithTimeout(cn.ctx, cn.s.cfg.WriteTimeout)
			err := cn.c.Write(ctx, websocket.MessageText, buf)
			cancel()
			if err != nil {
				return buf, false
			}
		}
		cn.giveBack(items)
	}
}

// appendFrame appends the frame of it to b.
func (it *outItem) appendFrame(b []byte) []byte {
	switch {
	case it.err != nil:
		return appendStatusFrame(b, it.correlationID, it.err)
	case it.event:
		return appendEventFrame(b, it.m.Type)
	}
	return appendMessageFrame(b, it.m)
}

// takeOut empties the outbox and returns what it held. The outbox and
// spare take turns, so that delivering does not allocate once both have
// grown to the traffic.
func (cn *wsConn) takeOut() []outItem {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	items := cn.out
	cn.out, cn.spare, cn.outBytes = cn.spare, nil, 0
	return items
}

// giveBack returns a slice from takeOut, written, to be the next spare.
func (cn *wsConn) giveBack(items []outItem) {
	clear(items) // let the payloads go
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.spare == nil && !cn.closing {
		cn.spare = items[:0]
	}
}

// tokenBucket limits a connection's messages: rate a second, burst at once.
type tokenBucket struct {
	rate, burst, tokens float64
	last                time.Time
}

// take spends a token if one is left at now.
func (b *tokenBucket) take(now time.Time) bool {
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+b.rate*now.Sub(b.last).Seconds())
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
