package apprtc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// wsConn is one Collider WebSocket. Two goroutines serve it: the HTTP
// handler's, which reads frames (serveWS), and writeLoop, which writes the
// outbox and pings; a third lives only while a ping waits for its pong.
// It is the Sink the Store delivers the client's messages to.
type wsConn struct {
	s *Server
	c *websocket.Conn

	ctx    context.Context // cancelled to close: by Close, a kick, an error
	cancel context.CancelFunc

	mu        sync.Mutex
	out       []string // messages to write, in order
	spare     []string // the other of out's two buffers (see takeOut)
	outBytes  int
	closing   bool
	code      websocket.StatusCode // close status and reason, set once
	reason    string
	wake      chan struct{} // a message was queued (capacity 1)
	writeDone chan struct{} // writeLoop returned
}

// errSinkClosed is what Deliver returns once the WebSocket is closing.
var errSinkClosed = errors.New("apprtc: websocket closed")

// errFrameTooLarge marks a frame over Config.frameLimit.
var errFrameTooLarge = errors.New("apprtc: frame too large")

// framePool holds the buffers frames are read into.
var framePool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// serveWS serves /collider/ws (collider.go wsHandler): a register frame,
// then send frames, each answered with an error frame when it is wrong.
// Frames over the limit, that are not JSON or that break the protocol get
// an error frame and a close (status 1000, 1009 for size); an unknown cmd
// or a message the Store cannot take gets an error frame only.
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
	c.SetReadLimit(int64(s.cfg.frameLimit()) + 1)
	ctx, cancel := context.WithCancel(context.Background())
	conn := &wsConn{s: s, c: c, ctx: ctx, cancel: cancel, wake: make(chan struct{}, 1), writeDone: make(chan struct{})}
	if err := s.track(conn); err != nil {
		_ = c.Close(websocket.StatusGoingAway, "server shutting down")
		cancel()
		return
	}
	defer s.untrack(conn)
	go conn.writeLoop()
	room, client := conn.readLoop()
	conn.closeWith(websocket.StatusNormalClosure, "")
	<-conn.writeDone
	_ = c.CloseNow()
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
		frame, buf, err := cn.readFrame(limit)
		if err != nil {
			if errors.Is(err, errFrameTooLarge) {
				cn.fail(textFrameTooLarge, websocket.StatusMessageTooBig)
				s.frames.Add(1)
			}
			return room, client
		}
		m, err := decodeClientFrame(frame)
		framePool.Put(buf)
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
	if err := s.store.Register(cn.ctx, m.RoomID, m.ClientID, cn); err != nil {
		return ColliderText(err)
	}
	s.openWS.Add(1)
	s.totalWS.Add(1)
	s.cfg.Logger.Info("apprtc: registered", "room", m.RoomID, "client", m.ClientID)
	return ""
}

// send hands msg from client to the Store; a message over MaxMessageBytes,
// or one the Store refuses, gets an error frame and the socket stays open
// (upstream Collider dropped it without a word).
func (cn *wsConn) send(room, client, msg string) {
	if len(msg) > cn.s.cfg.MaxMessageBytes {
		cn.writeError(textMessageTooLarge)
		return
	}
	if err := cn.s.store.Send(cn.ctx, room, client, msg); err != nil {
		cn.writeError(ColliderText(err))
	}
}

// textMessageTooLarge answers a send frame whose msg is over
// MaxMessageBytes (not a Collider text: it had no cap).
const textMessageTooLarge = "Invalid send request: 'msg' too large"

// readFrame reads one message of at most frameLimit bytes, waiting at most
// limit for it. The frame aliases buf, a pooled buffer the caller returns
// to framePool once done with the frame. The wait is not tied to cn.ctx:
// coder/websocket drops the connection when a read's context ends, and a
// closing connection should get its close frame from writeLoop, which ends
// this read in turn.
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

// fail sends an error frame and closes the connection with code, as
// Collider's wsError followed by ws.Close.
func (cn *wsConn) fail(text string, code websocket.StatusCode) {
	cn.writeError(text)
	cn.closeWith(code, "")
}

// writeError writes an error frame {"msg":"","error":text} at once (not
// through the outbox: it answers the frame just read).
func (cn *wsConn) writeError(text string) {
	cn.s.wsErrors.Add(1)
	cn.s.cfg.Logger.Debug("apprtc: websocket error frame", "err", text)
	ctx, cancel := context.WithTimeout(cn.ctx, cn.s.cfg.WriteTimeout)
	defer cancel()
	_ = cn.c.Write(ctx, websocket.MessageText, appendServerFrame(nil, "", text))
}

// Deliver implements Sink: msg joins the outbox, unless the outbox is over
// MaxQueuedMessages or MaxQueuedBytes, which closes the connection (a reader
// that slow is gone or hostile; the Store keeps msg for its reconnect).
func (cn *wsConn) Deliver(msg string) error {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.closing {
		return errSinkClosed
	}
	if len(cn.out) >= cn.s.cfg.MaxQueuedMessages || cn.outBytes+len(msg) > cn.s.cfg.MaxQueuedBytes {
		cn.closeLocked(abort, "outbox over budget")
		return ErrQueueFull
	}
	cn.out = append(cn.out, msg)
	cn.outBytes += len(msg)
	select {
	case cn.wake <- struct{}{}:
	default:
	}
	return nil
}

// Close implements Sink: the Store removed the client (Collider's DELETE).
func (cn *wsConn) Close() { cn.closeWith(websocket.StatusNormalClosure, "") }

// abort is the close "status" of a connection that is dropped without a
// close handshake: its peer does not read (no pong, a full outbox, a
// failed write), so the handshake would only wait out its 5 s.
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
	cn.out, cn.outBytes = nil, 0
	cn.cancel()
}

// writeLoop writes the outbox in order, each frame within WriteTimeout, and
// pings every PingInterval; a ping unanswered by the next one, or a failed
// write, ends the connection. Once the connection is closing it sends the
// close frame, which ends readLoop too.
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

// flush writes every queued message; buf is reused across frames. It
// reports false when a write failed.
func (cn *wsConn) flush(buf []byte) ([]byte, bool) {
	for {
		msgs := cn.takeOut()
		if len(msgs) == 0 {
			return buf, true
		}
		for _, m := range msgs {
			buf = appendServerFrame(buf[:0], m, "")
			ctx, cancel := context.WithTimeout(cn.ctx, cn.s.cfg.WriteTimeout)
			err := cn.c.Write(ctx, websocket.MessageText, buf)
			cancel()
			if err != nil {
				return buf, false
			}
		}
		cn.giveBack(msgs)
	}
}

// takeOut empties the outbox and returns what it held. The outbox and
// spare take turns, so that delivering does not allocate once both have
// grown to the traffic.
func (cn *wsConn) takeOut() []string {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	msgs := cn.out
	cn.out, cn.spare, cn.outBytes = cn.spare, nil, 0
	return msgs
}

// giveBack returns a slice from takeOut, written, to be the next spare.
func (cn *wsConn) giveBack(msgs []string) {
	clear(msgs) // let the strings go
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.spare == nil && !cn.closing {
		cn.spare = msgs[:0]
	}
}
