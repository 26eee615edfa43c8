package apprtc

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamwire/streamwire/turnrest"
)

// counts returns the MemoryStore's rooms, seats, clients and registered
// clients.
func (h *harness) counts() [4]int {
	r, s, c, reg := h.srv.store.(*MemoryStore).Counts()
	return [4]int{r, s, c, reg}
}

// TestCallTwoClients: the full life of a call with our client, in the
// order AppRTC's web client uses: both join and register, exchange offer,
// answer and candidates both ways (the initiator through /message, the
// callee through the WebSocket), hang up; the server then holds nothing.
func TestCallTwoClients(t *testing.T) {
	h := newHarness(t, Config{}, nil)
	a := h.join("room-1")
	require.Equal(t, ResultSuccess, a.Result)
	assert.Equal(t, "true", a.Params.IsInitiator)
	assert.Equal(t, "ws://host/collider/ws", a.Params.WSSURL)
	assert.Equal(t, "http://host/collider", a.Params.WSSPostURL)
	wa := h.dial()
	wa.Register("room-1", a.Params.ClientID)

	offer := `{"type":"offer","sdp":"v=0\r\n"}`
	require.Equal(t, ResultSuccess, h.message("room-1", a.Params.ClientID, offer))
	b := h.join("room-1")
	require.Equal(t, ResultSuccess, b.Result)
	assert.Equal(t, "false", b.Params.IsInitiator)
	assert.Equal(t, []string{offer}, b.Params.Messages)
	wb := h.dial()
	wb.Register("room-1", b.Params.ClientID)

	answer := `{"type":"answer","sdp":"v=0\r\n"}`
	wb.SendMsg(answer)
	assert.Equal(t, answer, wa.RecvMsg())
	for i := range 20 { // candidates both ways, in order
		ca := `{"type":"candidate","label":0,"id":"0","candidate":"a` + strconv.Itoa(i) + `"}`
		cb := `{"type":"candidate","label":0,"id":"0","candidate":"b` + strconv.Itoa(i) + `"}`
		require.Equal(t, ResultSuccess, h.message("room-1", a.Params.ClientID, ca))
		wb.SendMsg(cb)
		assert.Equal(t, ca, wb.RecvMsg())
		assert.Equal(t, cb, wa.RecvMsg())
	}
	assert.Equal(t, [4]int{1, 2, 2, 2}, h.counts())
	status, body := h.do(http.MethodGet, "/collider/status", "")
	assert.Equal(t, http.StatusOK, status)
	var st map[string]float64
	require.NoError(t, json.Unmarshal([]byte(body), &st), body)
	assert.Positive(t, st["upsec"])
	delete(st, "upsec")
	assert.Equal(t, map[string]float64{"openws": 2, "totalws": 2, "wserrors": 0, "httperrors": 0}, st)
	assert.True(t, strings.HasSuffix(body, "}\n"), "json.Encoder's newline")

	// Hang-up as Call.hangup, both sides.
	status, body = h.do(http.MethodPost, "/leave/room-1/"+a.Params.ClientID, "")
	assert.Equal(t, http.StatusOK, status)
	assert.Empty(t, body)
	wa.SendMsg(`{"type":"bye"}`)
	assert.Equal(t, `{"type":"bye"}`, wb.RecvMsg())
	require.NoError(t, wa.C.Close(1000, ""))
	status, body = h.do(http.MethodDelete, "/collider/room-1/"+a.Params.ClientID, "")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "OK\n", body)
	h.do(http.MethodPost, "/leave/room-1/"+b.Params.ClientID, "")
	require.NoError(t, wb.C.Close(1000, ""))
	h.do(http.MethodDelete, "/collider/room-1/"+b.Params.ClientID, "")
	h.waitConns(0)
	assert.Equal(t, [4]int{0, 0, 0, 0}, h.counts())
	stats := h.srv.Stats()
	assert.Equal(t, uint64(2), stats.TotalWS)
	assert.Zero(t, stats.OpenWS)
	assert.Zero(t, stats.WSErrors)
}

// TestJoinResults: a third joiner gets FULL; a client id drawn twice gets
// DUPLICATE_CLIENT; /message to an unknown room or client gets UNKNOWN_ROOM
// or UNKNOWN_CLIENT; a message that is not UTF-8 gets ERROR; after one
// leaves, the room has a seat again and the one left is the initiator.
func TestJoinResults(t *testing.T) {
	h := newHarness(t, Config{Rand: bytes.NewReader(bytes.Repeat([]byte{7}, 16*4))}, nil)
	first := h.join("dup")
	require.Equal(t, ResultSuccess, first.Result)
	assert.Equal(t, "77777777", first.Params.ClientID)
	dup := h.join("dup") // the source gives 77777777 again
	assert.Equal(t, ResultDuplicateClient, dup.Result)
	assert.Empty(t, dup.Params.Messages)
	assert.NotNil(t, dup.Params.Messages, "error answers carry params.messages = []")

	h2 := newHarness(t, Config{}, nil)
	a, b := h2.join("full"), h2.join("full")
	require.Equal(t, ResultSuccess, a.Result)
	require.Equal(t, ResultSuccess, b.Result)
	status, body := h2.do(http.MethodPost, "/join/full", "")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, `{"result":"FULL","params":{"messages":[]}}`, body)
	_, page := h2.do(http.MethodGet, "/r/full", "")
	assert.Contains(t, page, "This room is full")

	assert.Equal(t, ResultUnknownRoom, h2.message("nosuch", a.Params.ClientID, "{}"))
	assert.Equal(t, ResultUnknownClient, h2.message("full", "12345678", "{}"))
	assert.Equal(t, ResultError, h2.message("full", a.Params.ClientID, "\xff\xfe"))

	h2.do(http.MethodPost, "/leave/full/"+a.Params.ClientID, "")
	c := h2.join("full")
	require.Equal(t, ResultSuccess, c.Result)
	assert.Equal(t, "false", c.Params.IsInitiator, "b became the initiator when a left")
	_, page = h2.do(http.MethodGet, "/r/full", "")
	assert.Contains(t, page, "This room is full")
	h2.do(http.MethodPost, "/leave/full/"+b.Params.ClientID, "")
	_, page = h2.do(http.MethodGet, "/r/full", "")
	assert.Contains(t, page, "<video")
}

// TestBadPathsAndBodies: ids outside [a-zA-Z0-9_-]{1,64} are 404 on the
// room API and "Invalid path" on the Collider; bodies over MaxMessageBytes
// are 413 (JSON ERROR on the room API); wrong methods are 405.
func TestBadPathsAndBodies(t *testing.T) {
	h := newHarness(t, Config{MaxMessageBytes: 1000}, nil)
	long := strings.Repeat("a", MaxIDLen+1)
	for _, p := range []string{"/join/" + long, "/join/a%20b", "/join/a.b", "/message/r/" + long, "/leave/" + long + "/c"} {
		status, _ := h.do(http.MethodPost, p, "")
		assert.Equal(t, http.StatusNotFound, status, p)
	}
	status, _ := h.do(http.MethodGet, "/r/"+long, "")
	assert.Equal(t, http.StatusNotFound, status)
	status, _ = h.do(http.MethodGet, "/join/r", "")
	assert.Equal(t, http.StatusMethodNotAllowed, status)

	a := h.join("r")
	big := strings.Repeat("x", 1001)
	status, body := h.do(http.MethodPost, "/message/r/"+a.Params.ClientID, big)
	assert.Equal(t, http.StatusRequestEntityTooLarge, status)
	assert.Equal(t, `{"result":"ERROR"}`, body)
	assert.Equal(t, ResultSuccess, h.message("r", a.Params.ClientID, big[:1000]))

	status, body = h.do(http.MethodPost, "/collider/r/"+a.Params.ClientID, big)
	assert.Equal(t, http.StatusRequestEntityTooLarge, status)
	assert.Equal(t, "Failed to read request body: Request Entity Too Large\n", body)
	status, body = h.do(http.MethodPost, "/collider/r/"+long, "{}")
	assert.Equal(t, http.StatusInternalServerError, status)
	assert.Equal(t, "Invalid path: /r/"+long+"\n", body)
	status, body = h.do(http.MethodPost, "/collider/r/x%3Cy", "{}")
	assert.Equal(t, http.StatusInternalServerError, status)
	assert.Equal(t, "Invalid path: /r/x&lt;y\n", body)
	assert.Equal(t, uint64(3), h.srv.Stats().HTTPErrors)
}

// TestColliderPOSTBeforeRegister: a Collider client made by POST queues
// what it sends until the other client registers, which gets it all in
// order (collider room.send and register).
func TestColliderPOSTBeforeRegister(t *testing.T) {
	h := newHarness(t, Config{}, nil)
	for i := range 5 {
		status, body := h.do(http.MethodPost, "/collider/r/A", "m"+strconv.Itoa(i))
		require.Equal(t, http.StatusOK, status, body)
	}
	wb := h.dial()
	wb.Register("r", "B")
	for i := range 5 {
		assert.Equal(t, "m"+strconv.Itoa(i), wb.RecvMsg())
	}
	wa := h.dial()
	wa.Register("r", "A") // A had nothing queued for it
	wb.SendMsg("to-a")
	assert.Equal(t, "to-a", wa.RecvMsg())
	_, err := wa.Read(100 * time.Millisecond)
	assert.Error(t, err, "A got a frame it should not have")
}

// TestICEInPCConfig: with Config.ICE, pc_config carries the minted
// credential, one RTCIceServer per URI with "urls" a string (what Android's
// RoomParametersFetcher parses), the TURN ones with username and
// credential; /params mints too.
func TestICEInPCConfig(t *testing.T) {
	minter, err := turnrest.New(turnrest.Config{Secrets: []string{"s"}, TTL: time.Hour,
		URIs: []string{"turn:t.example:3478?transport=udp", "stun:t.example:3478"},
		Now:  func() time.Time { return time.Unix(1700000000, 0) }})
	require.NoError(t, err)
	h := newHarness(t, Config{ICE: minter}, nil)
	a := h.join("r")
	require.Equal(t, ResultSuccess, a.Result)
	pw := turnrest.Password("s", "1700003600:"+a.Params.ClientID)
	assert.Equal(t, `{"iceServers": [{"urls": "turn:t.example:3478?transport=udp", "username": "1700003600:`+a.Params.ClientID+
		`", "credential": "`+pw+`"}, {"urls": "stun:t.example:3478"}], "bundlePolicy": "max-bundle", "rtcpMuxPolicy": "require"}`, a.Params.PCConfig)
	_, params := h.do(http.MethodGet, "/params", "")
	assert.Contains(t, params, `\"username\": \"1700003600\"`)
}

// TestCallPage: /r/{room} serves the call page with a Content-Security-
// Policy that allows its inline script by hash only.
func TestCallPage(t *testing.T) {
	h := newHarness(t, Config{}, nil)
	res, err := h.client.Get("http://" + h.addr + "/r/some-room")
	require.NoError(t, err)
	defer res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"))
	script := strings.SplitN(strings.SplitN(string(callPageHTML), "<script>", 2)[1], "</script>", 2)[0]
	sum := sha256.Sum256([]byte(script))
	assert.Contains(t, res.Header.Get("Content-Security-Policy"), "script-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"';")
	assert.NotContains(t, res.Header.Get("Content-Security-Policy"), "unsafe-eval")
}
