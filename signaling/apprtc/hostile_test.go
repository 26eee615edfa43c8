package apprtc

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHostileFrames: frames a client should never send get Collider's
// exact error frame, and the socket is closed where Collider closes it;
// the server neither panics nor keeps anything of them.
func TestHostileFrames(t *testing.T) {
	const maxMsg = 1000
	h := newHarness(t, Config{MaxMessageBytes: maxMsg, ReconnectGrace: short}, nil)
	limit := 2*maxMsg + 1024
	cases := []struct {
		name   string
		frames []string // sent in order; the last one gets the error
		binary bool
		want   string
		close  websocket.StatusCode // 0: the socket stays open
	}{
		{"over the frame limit", []string{strings.Repeat(" ", limit+1)}, false, textFrameTooLarge, websocket.StatusMessageTooBig},
		{"far over the frame limit", []string{strings.Repeat("x", 10*limit)}, false, textFrameTooLarge, websocket.StatusMessageTooBig},
		{"not JSON", []string{"\x00\x01garbage"}, false, textReceivePrefix + "invalid character '\\x00' looking for beginning of value", websocket.StatusNormalClosure},
		{"binary not JSON", []string{"\xff"}, true, textReceivePrefix + "invalid character 'ÿ' looking for beginning of value", websocket.StatusNormalClosure},
		{"truncated JSON", []string{`{"cmd":"register","roomid":"R"`}, false, textReceivePrefix + "unexpected end of JSON input", websocket.StatusNormalClosure},
		{"array", []string{`["register"]`}, false, textReceivePrefix + "json: cannot unmarshal array into Go value of type apprtc.wsClientMsg", websocket.StatusNormalClosure},
		{"roomid a number", []string{`{"cmd":"register","roomid":7,"clientid":"A"}`}, false, textReceivePrefix + "json: cannot unmarshal number into Go struct field wsClientMsg.roomid of type string", websocket.StatusNormalClosure},
		{"empty ids", []string{`{"cmd":"register","roomid":"","clientid":""}`}, false, textInvalidRegister, websocket.StatusNormalClosure},
		{"id too long", []string{`{"cmd":"register","roomid":"R","clientid":"` + strings.Repeat("a", MaxIDLen+1) + `"}`}, false, textBadRegisterIDs, websocket.StatusNormalClosure},
		{"null", []string{`null`}, false, textUnexpectedCmd, 0},
		{"msg over MaxMessageBytes", []string{`{"cmd":"register","roomid":"R2","clientid":"A"}`, `{"cmd":"send","msg":"` + strings.Repeat("m", maxMsg+1) + `"}`}, false, textMessageTooLarge, 0},
		{"send with an empty msg", []string{`{"cmd":"register","roomid":"R3","clientid":"A"}`, `{"cmd":"send","msg":""}`}, false, textMissingMsg, websocket.StatusNormalClosure},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := h.dial()
			typ := websocket.MessageText
			if c.binary {
				typ = websocket.MessageBinary
			}
			for _, f := range c.frames {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err := w.C.Write(ctx, typ, []byte(f))
				cancel()
				require.NoError(t, err)
			}
			assert.Equal(t, serverFrame("", c.want), w.Recv())
			if c.close != 0 {
				assert.Equal(t, c.close, w.ClosedByServer(10*time.Second))
				return
			}
			w.Send(`{"cmd":"nothing"}`) // still open, still answering
			assert.Equal(t, serverFrame("", textUnexpectedCmd), w.Recv())
			w.C.CloseNow()
		})
	}
	h.waitConns(0)
	require.Eventually(t, func() bool { return h.counts() == [4]int{} }, 10*short, 10*time.Millisecond,
		"hostile clients left state behind after the grace")
}

// TestQueueLimits: a client's Collider queue takes MaxQueuedMessages
// messages and then answers "Too many messages queued for the client" (an
// error frame on the WebSocket, 500 on POST), as does a queue at
// MaxQueuedBytes; the room server's saved messages answer ERROR. The
// queue is delivered whole when the other client registers.
func TestQueueLimits(t *testing.T) {
	h := newHarness(t, Config{MaxQueuedMessages: 8, MaxQueuedBytes: 100}, nil)
	w := h.dial()
	w.Register("r", "A")
	for i := range 8 {
		w.SendMsg("m" + strconv.Itoa(i))
	}
	w.SendMsg("one too many")
	assert.Equal(t, serverFrame("", textQueueFull), w.Recv())
	status, body := h.do(http.MethodPost, "/collider/r/A", "over")
	assert.Equal(t, http.StatusInternalServerError, status)
	assert.Equal(t, "Failed to send the message: Too many messages queued for the client\n", body)
	wb := h.dial()
	wb.Register("r", "B")
	for i := range 8 {
		assert.Equal(t, "m"+strconv.Itoa(i), wb.RecvMsg())
	}

	// Bytes: 60 + 40 fit in 100, one more byte does not.
	wc := h.dial()
	wc.Register("bytes", "A")
	wc.SendMsg(strings.Repeat("a", 60))
	wc.SendMsg(strings.Repeat("b", 40))
	wc.SendMsg("c")
	assert.Equal(t, serverFrame("", textQueueFull), wc.Recv())

	// The room server's queue (saved while alone).
	j := h.join("saved")
	for range 8 {
		require.Equal(t, ResultSuccess, h.message("saved", j.Params.ClientID, "x"))
	}
	assert.Equal(t, ResultError, h.message("saved", j.Params.ClientID, "x"))
	assert.Len(t, h.join("saved").Params.Messages, 8)
}

// TestMessageRate: send frames over MessageBurst at once, or over
// MessageRate, get an error frame and are dropped; the connection stays
// open and sends again once the bucket has refilled.
func TestMessageRate(t *testing.T) {
	h := newHarness(t, Config{MessageRate: 5, MessageBurst: 3}, nil)
	wa, wb := h.dial(), h.dial()
	wa.Register("rate", "A")
	wb.Register("rate", "B")
	for i := range 4 {
		wa.SendMsg("m" + strconv.Itoa(i))
	}
	assert.Equal(t, serverFrame("", textRateExceeded), wa.Recv())
	for i := range 3 {
		assert.Equal(t, "m"+strconv.Itoa(i), wb.RecvMsg())
	}
	time.Sleep(300 * time.Millisecond) // a token a 200 ms
	wa.SendMsg("later")
	assert.Equal(t, "later", wb.RecvMsg())
	_, err := wa.Read(100 * time.Millisecond)
	assert.Error(t, err, "an error frame for a send within the rate")
}

// TestOutboxBudget: a WebSocket whose outbox is over its budget (its
// reader does not keep up) refuses the message, which the Store then
// keeps on the sender, and the connection is dropped.
func TestOutboxBudget(t *testing.T) {
	srv := &Server{cfg: Config{MaxQueuedMessages: 2, MaxQueuedBytes: 10}.withDefaults()}
	cn := newWSConn(srv)
	ctx := cn.Context()
	require.NoError(t, cn.Deliver("12345"))
	require.NoError(t, cn.Deliver("12345"))
	assert.ErrorIs(t, cn.Deliver("1"), ErrQueueFull)
	assert.Error(t, ctx.Err(), "the connection was not dropped")
	assert.ErrorIs(t, cn.Deliver("1"), errSinkClosed)

	// Through a Store: the refused message stays queued on the sender.
	st := NewMemoryStore(Config{})
	defer st.Close()
	full := newWSConn(srv)
	ctx2 := full.Context()
	require.NoError(t, st.Register(context.Background(), "r", "B", full))
	require.NoError(t, st.Send(context.Background(), "r", "A", "1234567890"))
	require.NoError(t, st.Send(context.Background(), "r", "A", "overflow"))
	assert.Error(t, ctx2.Err())
	require.NoError(t, st.Deregister(context.Background(), "r", "B", full))
	rec := &recorder{}
	require.NoError(t, st.Register(context.Background(), "r", "B", rec))
	assert.Equal(t, []string{"overflow"}, rec.msgs)
}

// recorder is a Sink that keeps what it is given.
type recorder struct {
	msgs   []string
	closed bool
}

func (r *recorder) Deliver(m string) error { r.msgs = append(r.msgs, m); return nil }
func (r *recorder) Close()                 { r.closed = true }
