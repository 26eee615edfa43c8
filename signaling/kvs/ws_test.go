package kvs

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// b64 is base64 as btoa writes it.
func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

var (
	offer     = b64(`{"type":"offer","sdp":"v=0..."}`)
	offer2    = b64(`{"type":"offer","sdp":"v=0 (restart)"}`)
	answer    = b64(`{"type":"answer","sdp":"v=0..."}`)
	candidate = b64(`{"candidate":"candidate:1 1 udp 1 192.0.2.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0}`)
)

// TestRouting: a viewer's messages reach the master with its client id as
// senderClientId; the master's reach the viewer it names, without
// senderClientId; keys are matched without regard to case (the C SDK
// sends PascalCase); a viewer's recipientClientId is ignored.
func TestRouting(t *testing.T) {
	h := newHarness(t, Config{})
	arn := h.create("route", 0)
	m := h.master(arn)
	v1, v2 := h.viewer(arn, "v1"), h.viewer(arn, "v2")
	h.waitOpen(3)

	h.sendFrame(v1, frame("SDP_OFFER", "", offer, "1700000000000"))
	assert.Equal(t, `{"senderClientId":"v1","messageType":"SDP_OFFER","messagePayload":"`+offer+`"}`, m.recv())
	h.sendFrame(m, frame("SDP_ANSWER", "v1", answer, ""))
	assert.Equal(t, `{"messageType":"SDP_ANSWER","messagePayload":"`+answer+`"}`, v1.recv())
	// The C SDK's keys (LwsApiCalls.h SIGNALING_SEND_MESSAGE_TEMPLATE).
	h.sendFrame(m, `{"action":"ICE_CANDIDATE","RecipientClientId":"v2","MessagePayload":"`+candidate+`","CorrelationId":"c-1"}`)
	assert.Equal(t, `{"messageType":"ICE_CANDIDATE","messagePayload":"`+candidate+`"}`, v2.recv())
	// Viewer to viewer is not honoured: it goes to the master.
	h.sendFrame(v2, frame("ICE_CANDIDATE", "v1", candidate, ""))
	assert.Equal(t, `{"senderClientId":"v2","messageType":"ICE_CANDIDATE","messagePayload":"`+candidate+`"}`, m.recv())
	v1.quiet(100 * time.Millisecond)
}

// TestStatusResponse: a message refused gets a STATUS_RESPONSE when it
// carried a correlationId, and nothing otherwise; the socket stays open.
func TestStatusResponse(t *testing.T) {
	h := newHarness(t, Config{MaxMessageBytes: 64})
	arn := h.create("status", 0)
	m := h.master(arn)
	cases := []struct {
		frame, typ, desc string
	}{
		{frame("SDP_ANSWER", "", answer, "c1"), "InvalidArgumentException", "The master must name a viewer in recipientClientId."},
		{frame("SDP_ANSWER", "AWS_x", answer, "c2"), "InvalidArgumentException", "The master must name a viewer in recipientClientId."},
		{frame("HELLO", "v1", answer, "c3"), "InvalidArgumentException", "action must be SDP_OFFER, SDP_ANSWER or ICE_CANDIDATE."},
		{frame("SDP_ANSWER", "v1", "not base64", "c4"), "InvalidArgumentException", "messagePayload must be base64 of at most 64 bytes."},
		{frame("SDP_ANSWER", "v1", b64(strings.Repeat("x", 60)), "c5"), "InvalidArgumentException", "messagePayload must be base64 of at most 64 bytes."},
	}
	for _, c := range cases {
		h.sendFrame(m, c.frame)
		corr := c.frame[strings.Index(c.frame, `"correlationId":"`)+17:]
		corr = corr[:strings.IndexByte(corr, '"')]
		assert.Equal(t, statusFrame(corr, c.typ, "400", c.desc), m.recv())
	}
	h.sendFrame(m, frame("SDP_ANSWER", "", answer, ""))
	h.sendFrame(m, `not json`)
	h.sendFrame(m, `{"action":"SDP_ANSWER","correlationId":"bad id!"}`)
	assert.Equal(t, statusFrame("", "InvalidArgumentException", "400", "correlationId must be 1 to 256 characters of [a-zA-Z0-9_.-]."), m.recv())
	m.quiet(100 * time.Millisecond)
	assert.Equal(t, uint64(len(cases)+1), h.srv.Stats().StatusResponses)
}

// TestKeptForTTL: messages to a client that is not connected are kept for
// the channel's MessageTtlSeconds and delivered in order when it
// connects; older ones are gone.
func TestKeptForTTL(t *testing.T) {
	h := newHarness(t, Config{})
	arn := h.create("ttl", 10)
	v := h.viewer(arn, "v1")
	h.sendFrame(v, frame("SDP_OFFER", "", offer, ""))
	h.clock.Advance(6 * time.Second)
	h.sendFrame(v, frame("ICE_CANDIDATE", "", candidate, ""))
	h.clock.Advance(5 * time.Second) // the offer is 11 s old, the candidate 5 s
	m := h.master(arn)
	assert.Equal(t, `{"senderClientId":"v1","messageType":"ICE_CANDIDATE","messagePayload":"`+candidate+`"}`, m.recv())
	m.quiet(100 * time.Millisecond)

	// Master to a viewer that left: kept, delivered when it comes back.
	require.NoError(t, v.c.Close(websocket.StatusNormalClosure, ""))
	h.waitOpen(1)
	h.sendFrame(m, frame("SDP_ANSWER", "v1", answer, ""))
	h.sendFrame(m, frame("ICE_CANDIDATE", "v1", candidate, ""))
	v = h.viewer(arn, "v1")
	assert.Equal(t, `{"messageType":"SDP_ANSWER","messagePayload":"`+answer+`"}`, v.recv())
	assert.Equal(t, `{"messageType":"ICE_CANDIDATE","messagePayload":"`+candidate+`"}`, v.recv())
	_, _, kept := h.srv.store.(*MemoryStore).Counts()
	assert.Zero(t, kept)
}

// TestOfferOverwritten: an undelivered offer is replaced by a newer one
// from the same sender, with the candidates that followed it; another
// sender's offer stays.
func TestOfferOverwritten(t *testing.T) {
	h := newHarness(t, Config{})
	arn := h.create("overwrite", 0)
	v1, v2 := h.viewer(arn, "v1"), h.viewer(arn, "v2")
	h.sendFrame(v1, frame("SDP_OFFER", "", offer, ""))
	h.sendFrame(v1, frame("ICE_CANDIDATE", "", candidate, ""))
	h.sendFrame(v2, frame("SDP_OFFER", "", offer, ""))
	h.sendFrame(v1, frame("SDP_OFFER", "", offer2, ""))
	m := h.master(arn)
	assert.Equal(t, `{"senderClientId":"v2","messageType":"SDP_OFFER","messagePayload":"`+offer+`"}`, m.recv())
	assert.Equal(t, `{"senderClientId":"v1","messageType":"SDP_OFFER","messagePayload":"`+offer2+`"}`, m.recv())
	m.quiet(100 * time.Millisecond)
}

// TestViewerLimitAndPrecedence: the 11th viewer is refused with 400
// ClientLimitExceededException before the upgrade; a viewer id that
// connects again replaces its older connection, and so does a second
// master.
func TestViewerLimitAndPrecedence(t *testing.T) {
	h := newHarness(t, Config{})
	arn := h.create("limit", 0)
	var viewers []*ws
	for i := range DefaultMaxViewers {
		viewers = append(viewers, h.viewer(arn, "v"+itoa(i)))
	}
	_, detail, err := h.tryDial(h.wsURL(arn, "v10"))
	require.Error(t, err)
	assert.Contains(t, detail, `400 {"__type":"ClientLimitExceededException"`)

	again := h.viewer(arn, "v3")
	code, _ := viewers[3].closedByServer(5 * time.Second)
	assert.Equal(t, websocket.StatusNormalClosure, code)
	m1 := h.master(arn)
	m2 := h.master(arn)
	code, _ = m1.closedByServer(5 * time.Second)
	assert.Equal(t, websocket.StatusNormalClosure, code)
	h.sendFrame(again, frame("SDP_OFFER", "", offer, ""))
	assert.Contains(t, m2.recv(), `"senderClientId":"v3"`)
}

// TestHandshakeRefusals: a WebSocket request without a channel, with a bad
// client id, for an unknown channel, or from a disallowed origin is
// refused before the upgrade, and takes nobody's seat.
func TestHandshakeRefusals(t *testing.T) {
	h := newHarness(t, Config{OriginPatterns: []string{"*.example.com"}})
	arn := h.create("hs", 0)
	m := h.master(arn)
	base := "ws://" + h.addr + "/kvs/ws"
	for u, want := range map[string]string{
		base:                                  `400 {"__type":"InvalidArgumentException"`,
		h.wsURL(arn, "AWS_reserved"):          `400 {"__type":"InvalidArgumentException"`,
		h.wsURL(arn, "bad id"):                `400 {"__type":"InvalidArgumentException"`,
		h.wsURL(arn+"1", "v"):                 `404 {"__type":"ResourceNotFoundException"`,
		base + "?X-Amz-ChannelARN=arn%3Anope": `400 {"__type":"InvalidArgumentException"`,
	} {
		_, detail, err := h.tryDial(u)
		require.Error(t, err, u)
		assert.Contains(t, detail, want, u)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hdr := map[string][]string{"Origin": {"https://evil.test"}}
	_, res, err := websocket.Dial(ctx, h.wsURL(arn, ""), &websocket.DialOptions{HTTPHeader: hdr})
	require.Error(t, err)
	assert.Equal(t, 400, res.StatusCode)
	hdr["Origin"] = []string{"https://app.example.com"}
	ok, _, err := websocket.Dial(ctx, h.wsURL(arn, "v"), &websocket.DialOptions{HTTPHeader: hdr})
	require.NoError(t, err)
	ok.CloseNow()
	m.quiet(50 * time.Millisecond) // the master kept its seat throughout
	assert.Equal(t, uint64(6), h.srv.Stats().Refused)
}

// TestGoAwayOnClose: Close sends GO_AWAY to every WebSocket; a client
// that closes then lets Close return at once, one that does not is closed
// with 1001 (going away) after GoAwayGrace.
func TestGoAwayOnClose(t *testing.T) {
	h := newHarness(t, Config{GoAwayGrace: 300 * time.Millisecond})
	arn := h.create("bye", 0)
	polite, stubborn := h.viewer(arn, "polite"), h.viewer(arn, "stubborn")
	h.waitOpen(2)
	closed := make(chan error, 1)
	begin := time.Now()
	go func() { closed <- h.srv.Close() }()
	assert.Equal(t, `{"messageType":"GO_AWAY"}`, polite.recv())
	require.NoError(t, polite.c.Close(websocket.StatusNormalClosure, ""))
	code, frames := stubborn.closedByServer(5 * time.Second)
	assert.Equal(t, []string{`{"messageType":"GO_AWAY"}`}, frames)
	assert.Equal(t, websocket.StatusGoingAway, code)
	assert.GreaterOrEqual(t, time.Since(begin), 300*time.Millisecond)
	require.NoError(t, <-closed)
	_, detail, err := h.tryDial(h.wsURL(arn, "late"))
	require.Error(t, err)
	assert.Contains(t, detail, "503 ")
}

// TestReconnectICEServer: RECONNECT_ICE_SERVER reaches the WebSockets of
// the channel named, or of every channel.
func TestReconnectICEServer(t *testing.T) {
	h := newHarness(t, Config{})
	a, b := h.create("a", 0), h.create("b", 0)
	ma, vb := h.master(a), h.viewer(b, "v")
	h.waitOpen(2)
	h.srv.ReconnectICEServer("a")
	assert.Equal(t, `{"messageType":"RECONNECT_ICE_SERVER"}`, ma.recv())
	vb.quiet(100 * time.Millisecond)
	h.srv.ReconnectICEServer("")
	assert.Equal(t, `{"messageType":"RECONNECT_ICE_SERVER"}`, ma.recv())
	assert.Equal(t, `{"messageType":"RECONNECT_ICE_SERVER"}`, vb.recv())
}

// TestIdleTimeout: a WebSocket on which the client sent nothing for 10
// minutes (Config.Clock) is closed; one that sent a message 9 minutes in
// stays open until 10 minutes after that message.
func TestIdleTimeout(t *testing.T) {
	h := newHarness(t, Config{})
	arn := h.create("idle", 0)
	quiet, chatty := h.viewer(arn, "quiet"), h.viewer(arn, "chatty")
	h.waitOpen(2)
	h.clock.Advance(9 * time.Minute)
	h.sendFrame(chatty, frame("ICE_CANDIDATE", "", candidate, ""))
	h.clock.Advance(time.Minute)
	code, _ := quiet.closedByServer(5 * time.Second)
	assert.Equal(t, websocket.StatusGoingAway, code)
	chatty.quiet(100 * time.Millisecond)
	h.clock.Advance(9*time.Minute - time.Second)
	chatty.quiet(100 * time.Millisecond)
	h.clock.Advance(time.Second)
	code, _ = chatty.closedByServer(5 * time.Second)
	assert.Equal(t, websocket.StatusGoingAway, code)
}

// TestMaxConnDuration: after an hour a WebSocket gets GO_AWAY, and is
// closed GoAwayGrace later.
func TestMaxConnDuration(t *testing.T) {
	h := newHarness(t, Config{IdleTimeout: 2 * time.Hour})
	arn := h.create("hour", 0)
	m := h.master(arn)
	h.waitOpen(1)
	h.clock.Advance(time.Hour - time.Second)
	m.quiet(100 * time.Millisecond)
	h.clock.Advance(time.Second)
	assert.Equal(t, `{"messageType":"GO_AWAY"}`, m.recv())
	m.quiet(100 * time.Millisecond)
	h.clock.Advance(DefaultGoAwayGrace)
	code, _ := m.closedByServer(5 * time.Second)
	assert.Equal(t, websocket.StatusGoingAway, code)
}

// TestRateLimit: past MessageBurst messages at once, a WebSocket's
// messages are refused (ClientLimitExceededException) until the rate has
// refilled its bucket.
func TestRateLimit(t *testing.T) {
	h := newHarness(t, Config{MessageRate: 2, MessageBurst: 3})
	arn := h.create("rate", 0)
	m, v := h.master(arn), h.viewer(arn, "v")
	for range 3 {
		h.sendFrame(v, frame("ICE_CANDIDATE", "", candidate, "c"))
		m.recv()
	}
	h.sendFrame(v, frame("ICE_CANDIDATE", "", candidate, "c"))
	assert.Equal(t, statusFrame("c", "ClientLimitExceededException", "400", "More than 2 messages per second."), v.recv())
	h.clock.Advance(500 * time.Millisecond)
	h.sendFrame(v, frame("ICE_CANDIDATE", "", candidate, "c"))
	m.recv()
	v.quiet(50 * time.Millisecond)
}

// TestPerIPLimit: past MaxConnsPerIP WebSockets from one address, the next
// is refused with 400 ClientLimitExceededException; closing one frees its
// slot.
func TestPerIPLimit(t *testing.T) {
	h := newHarness(t, Config{MaxConnsPerIP: 2})
	arn := h.create("ip", 0)
	a := h.viewer(arn, "a")
	h.viewer(arn, "b")
	_, detail, err := h.tryDial(h.wsURL(arn, "c"))
	require.Error(t, err)
	assert.Contains(t, detail, `400 {"__type":"ClientLimitExceededException"`)
	require.NoError(t, a.c.Close(websocket.StatusNormalClosure, ""))
	h.waitOpen(1)
	h.viewer(arn, "c")
}

// TestDeleteClosesSockets: deleting a channel closes its WebSockets.
func TestDeleteClosesSockets(t *testing.T) {
	h := newHarness(t, Config{})
	arn := h.create("gone", 0)
	m := h.master(arn)
	status, _ := h.call("/deleteSignalingChannel", `{"ChannelARN":"`+arn+`"}`)
	require.Equal(t, 200, status)
	code, _ := m.closedByServer(5 * time.Second)
	assert.Equal(t, websocket.StatusNormalClosure, code)
	h.waitOpen(0)
}

// TestHostileFrames: a frame over the limit closes the socket with 1009;
// binary and broken frames are dropped; the server keeps nothing of them.
func TestHostileFrames(t *testing.T) {
	h := newHarness(t, Config{MaxMessageBytes: 1000})
	arn := h.create("hostile", 0)
	m := h.master(arn)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, m.c.Write(ctx, websocket.MessageBinary, []byte{0xff, 0}))
	h.sendFrame(m, `[1,2,3]`)
	h.sendFrame(m, `{"action":7}`)
	h.sendFrame(m, `{"action":"SDP_ANSWER","recipientClientId":"v","messagePayload":"`+answer+`","extra":{"deep":[[[[]]]]}}`)
	m.quiet(50 * time.Millisecond)
	require.NoError(t, m.c.Write(ctx, websocket.MessageText, []byte(strings.Repeat(" ", 3000))))
	code, _ := m.closedByServer(5 * time.Second)
	assert.Equal(t, websocket.StatusMessageTooBig, code)
	h.waitOpen(0)
}
