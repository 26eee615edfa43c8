package apprtc

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/coder/websocket"
	"github.com/streamwire/streamwire/internal/wsconn"
)

// wsConn is one Collider WebSocket, on internal/wsconn: the HTTP
// handler's goroutine reads frames (serveWS), the Conn's write loop writes
// the outbox and pings. It is the Sink the Store delivers the client's
// messages to.
type wsConn struct {
	*wsconn.Conn[string]
	s    *Server
	rate wsconn.RateLimit // read goroutine only
}

// errSinkClosed is what Deliver returns once the WebSocket is closing.
var errSinkClosed = wsconn.ErrClosed

// newWSConn returns the connection of s's next WebSocket, not serving yet.
func newWSConn(s *Server) *wsConn {
	return &wsConn{s: s, rate: wsconn.NewRateLimit(s.cfg.MessageRate, s.cfg.MessageBurst),
		Conn: wsconn.New(wsconn.Config[string]{
			AppendFrame:  func(b []byte, msg string) []byte { return appendServerFrame(b, msg, "") },
			WriteTimeout: s.cfg.WriteTimeout, PingInterval: s.cfg.PingInterval,
			MaxQueued: s.cfg.MaxQueuedMessages, MaxQueuedBytes: s.cfg.MaxQueuedBytes,
			ReadLimit: s.cfg.frameLimit(),
		})}
}

// serveWS serves /collider/ws (collider.go wsHandler): a register frame,
// then send frames, each answered with an error frame when it is wrong.
// Frames over the limit, that are not JSON or that break the protocol get
// an error frame and a close (status 1000, 1009 for size); an unknown cmd,
// a message over the rate or one the Store cannot take gets an error frame
// only.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	if s.isClosed() {
		http.Error(w, "server closed", http.StatusServiceUnavailable)
		return
	}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: s.cfg.OriginPatterns})
	if err != nil {
		s.cfg.Logger.Debug("apprtc: websocket accept", "remote", r.RemoteAddr, "err", err)
		return
	}
	conn := newWSConn(s)
	if err := s.track(conn); err != nil {
		_ = c.Close(websocket.StatusGoingAway, "server shutting down")
		conn.CloseWith(wsconn.Abort, "server closed")
		return
	}
	defer s.untrack(conn)
	conn.Serve(c)
	room, client := conn.readLoop()
	conn.Finish()
	if client != "" {
		s.openWS.Add(-1)
		if err := s.store.Deregister(context.Background(), room, client, conn); err != nil {
			s.cfg.Logger.Debug("apprtc: deregister", "room", room, "client", client, "err", err)
		}
	}
}

// readLoop reads and handles frames until the connection ends, and returns
// the room and client it registered ("" when it did not).
func (cn *wsConn) readLoop() (room, client string) {
	s := cn.s
	for {
		limit := s.cfg.RegisterTimeout // the first frame must come soon
		if client != "" {
			limit = s.cfg.IdleTimeout
		}
		frame, buf, err := cn.ReadFrame(limit)
		if err != nil {
			if errors.Is(err, wsconn.ErrFrameTooLarge) {
				cn.fail(textFrameTooLarge, websocket.StatusMessageTooBig)
				s.frames.Add(1)
			}
			return room, client
		}
		m, err := decodeClientFrame(frame)
		wsconn.Release(buf)
		if !cn.handle(m, err, &room, &client) {
			return room, client
		}
	}
}

// handle acts on one decoded frame (err is the decoding's) and reports
// whether to read on; it counts the frame in Stats.Frames once done.
func (cn *wsConn) handle(m wsClientMsg, err error, room, client *string) bool {
	defer cn.s.frames.Add(1)
	switch {
	case err != nil:
		cn.fail(textReceivePrefix+err.Error(), websocket.StatusNormalClosure)
		return false
	case m.Cmd == "register" && *client != "":
		cn.fail(textDuplicatedRegister, websocket.StatusNormalClosure)
		return false
	case m.Cmd == "register":
		if text := cn.register(m); text != "" {
			cn.fail(text, websocket.StatusNormalClosure)
			return false
		}
		*room, *client = m.RoomID, m.ClientID
	case m.Cmd == "send" && *client == "":
		cn.fail(textNotRegistered, websocket.StatusNormalClosure)
		return false
	case m.Cmd == "send" && m.Msg == "":
		cn.fail(textMissingMsg, websocket.StatusNormalClosure)
		return false
	case m.Cmd == "send":
		cn.send(*room, *client, m.Msg)
	default:
		cn.writeError(textUnexpectedCmd)
	}
	return true
}

// register binds the connection to m's room and client, and returns the
// error text to fail with ("" on success).
func (cn *wsConn) register(m wsClientMsg) string {
	s := cn.s
	if m.RoomID == "" || m.ClientID == "" {
		return textInvalidRegister
	}
	if !ValidID(m.RoomID) || !ValidID(m.ClientID) {
		return textBadRegisterIDs
	}
	if err := s.store.Register(cn.Context(), m.RoomID, m.ClientID, cn); err != nil {
		return ColliderText(err)
	}
	s.openWS.Add(1)
	s.totalWS.Add(1)
	s.cfg.Logger.Info("apprtc: registered", "room", m.RoomID, "client", m.ClientID)
	return ""
}

// send hands msg from client to the Store; a message over MaxMessageBytes
// or over the MessageRate, or one the Store refuses, gets an error frame
// and the socket stays open (upstream Collider dropped it without a word).
func (cn *wsConn) send(room, client, msg string) {
	switch {
	case len(msg) > cn.s.cfg.MaxMessageBytes:
		cn.writeError(textMessageTooLarge)
		return
	case !cn.rate.Allow(time.Now()):
		cn.writeError(textRateExceeded)
		return
	}
	if err := cn.s.store.Send(cn.Context(), room, client, msg); err != nil {
		cn.writeError(ColliderText(err))
	}
}

// textMessageTooLarge and textRateExceeded answer a send frame whose msg
// is over MaxMessageBytes, or that comes over MessageRate (not Collider
// texts: it had neither cap).
const (
	textMessageTooLarge = "Invalid send request: 'msg' too large"
	textRateExceeded    = "Invalid send request: too many messages"
)

// fail sends an error frame and closes the connection with code, as
// Collider's wsError followed by ws.Close.
func (cn *wsConn) fail(text string, code websocket.StatusCode) {
	cn.writeError(text)
	cn.CloseWith(code, "")
}

// writeError writes an error frame {"msg":"","error":text} at once (not
// through the outbox: it answers the frame just read).
func (cn *wsConn) writeError(text string) {
	cn.s.wsErrors.Add(1)
	cn.s.cfg.Logger.Debug("apprtc: websocket error frame", "err", text)
	_ = cn.WriteNow(appendServerFrame(nil, "", text))
}

// Deliver implements Sink: msg joins the outbox, unless the outbox is over
// MaxQueuedMessages or MaxQueuedBytes, which closes the connection (a reader
// that slow is gone or hostile; the Store keeps msg for its reconnect).
func (cn *wsConn) Deliver(msg string) error {
	err := cn.Enqueue(msg, len(msg))
	if errors.Is(err, wsconn.ErrOutboxFull) {
		return ErrQueueFull
	}
	return err
}

// Close implements Sink: the Store removed the client (Collider's DELETE).
func (cn *wsConn) Close() { cn.CloseWith(websocket.StatusNormalClosure, "") }
