package kvs

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/streamwire/streamwire/internal/logstr"
	"github.com/streamwire/streamwire/internal/wsconn"
)

// Query parameters of the WebSocket URL (ConnectAsMaster, ConnectAsViewer).
const (
	qChannelARN = "X-Amz-ChannelARN"
	qClientID   = "X-Amz-ClientId"
)

// wsConn is one KVS WebSocket, on internal/wsconn: a master (client "")
// or a viewer. The HTTP handler's goroutine reads frames, the Conn's write
// loop writes the outbox and pings. The idle, duration and GO_AWAY timers
// are Config.Clock's. It is the Sink the Store delivers the client's
// messages to.
type wsConn struct {
	*wsconn.Conn[outItem]
	s       *Server
	channel string
	client  string // "" for the master

	lastActive atomic.Int64     // Clock time of the last client frame, Unix ns
	rate       wsconn.RateLimit // read goroutine only
}

// newWSConn returns a connection of s to channel as client, not serving
// yet.
func newWSConn(s *Server, channel, client string) *wsConn {
	return &wsConn{s: s, channel: channel, client: client,
		rate: wsconn.NewRateLimit(s.cfg.MessageRate, s.cfg.MessageBurst),
		Conn: wsconn.New(wsconn.Config[outItem]{
			AppendFrame:  func(b []byte, it outItem) []byte { return it.appendFrame(b) },
			WriteTimeout: s.cfg.WriteTimeout, PingInterval: s.cfg.PingInterval,
			MaxQueued: s.cfg.MaxQueuedMessages, MaxQueuedBytes: s.cfg.MaxQueuedBytes,
			ReadLimit: s.cfg.frameLimit(),
		})}
}

// outItem is one frame to write: a message, a STATUS_RESPONSE (err set)
// or an event (GO_AWAY, RECONNECT_ICE_SERVER: m.Type only).
type outItem struct {
	m             Message
	event         bool
	correlationID string
	err           *APIError
}

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
		cn.CloseWith(wsconn.Abort, "accept failed")
		return
	}
	s.accepted.Add(1)
	s.cfg.Logger.Info("kvs: connected", "channel", cn.channel, "client", cn.client)
	cn.Serve(c)
	cn.readLoop()
	cn.Finish()
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
	cn := newWSConn(s, ch.Name, client)
	if err := s.track(cn); err != nil {
		s.perIP.Release(ip)
		cn.CloseWith(wsconn.Abort, "server closed")
		return nil, netip.Addr{}, err
	}
	if err := s.store.Connect(r.Context(), ch.Name, client, cn); err != nil {
		s.untrack(cn)
		s.perIP.Release(ip)
		cn.CloseWith(wsconn.Abort, "refused")
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
	cn.AtClose(func() func() bool { return cn.s.cfg.Clock.AfterFunc(d, f) })
}

// checkIdle closes the connection when the client has sent nothing for
// IdleTimeout, else looks again when that time would be up.
func (cn *wsConn) checkIdle() {
	idle := cn.s.cfg.IdleTimeout
	quiet := cn.s.cfg.Clock.Now().Sub(time.Unix(0, cn.lastActive.Load()))
	if quiet >= idle {
		cn.s.cfg.Logger.Info("kvs: idle time-out", "channel", cn.channel, "client", cn.client)
		cn.CloseWith(websocket.StatusGoingAway, "idle timeout")
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
		frame, buf, err := cn.ReadFrame(s.cfg.IdleTimeout + 2*s.cfg.PingInterval)
		if err != nil {
			if errors.Is(err, wsconn.ErrFrameTooLarge) {
				cn.CloseWith(websocket.StatusMessageTooBig, "frame too large")
			}
			return
		}
		cn.lastActive.Store(s.cfg.Clock.Now().UnixNano())
		cn.handle(frame)
		wsconn.Release(buf)
		s.frames.Add(1)
	}
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
	if !cn.rate.Allow(s.cfg.Clock.Now()) {
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
	err := s.store.Send(cn.Context(), cn.channel, to, Message{Type: f.Action, Sender: cn.client, Payload: f.MessagePayload})
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
	cn.addTimer(cn.s.cfg.GoAwayGrace, func() { cn.CloseWith(websocket.StatusGoingAway, "going away") })
}

// Deliver implements Sink.
func (cn *wsConn) Deliver(m Message) error { return cn.enqueue(outItem{m: m}, len(m.Payload)) }

// enqueue adds it to the outbox, unless the outbox is over
// MaxQueuedMessages or MaxQueuedBytes, which closes the connection (a
// reader that slow is gone or hostile; the Store keeps a refused message
// for its reconnect).
func (cn *wsConn) enqueue(it outItem, size int) error {
	err := cn.Enqueue(it, size)
	if errors.Is(err, wsconn.ErrOutboxFull) {
		return Errorf(ErrClientLimitExceeded, "The connection's outbox is full.")
	}
	return err
}

// Close implements Sink: the client connected again elsewhere, or its
// channel was deleted.
func (cn *wsConn) Close() { cn.CloseWith(websocket.StatusNormalClosure, "replaced or channel deleted") }

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
