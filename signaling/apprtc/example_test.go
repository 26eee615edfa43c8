package apprtc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/streamwire/streamwire/signaling/apprtc"
)

// A call's signaling as AppRTC clients do it: the initiator joins,
// registers on the Collider and posts its offer, which the room server
// saves; the callee joins and finds the offer in the join answer, then
// answers over the WebSocket.
func Example() {
	srv, err := apprtc.New(apprtc.Config{
		// Fixed client ids for the example; the default is crypto/rand.
		Rand: bytes.NewReader(append(bytes.Repeat([]byte{1}, 16), bytes.Repeat([]byte{2}, 16)...)),
	})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	mux := http.NewServeMux()
	for _, p := range apprtc.Paths() {
		mux.Handle(p, srv)
	}
	hs := httptest.NewServer(mux)
	defer hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// POST /join/{room}: params holds strings of JSON.
	join := func() (clientID, initiator, wssURL string, messages []string) {
		res, err := http.Post(hs.URL+"/join/demo", "", nil)
		if err != nil {
			panic(err)
		}
		defer res.Body.Close()
		var a struct {
			Result string
			Params struct {
				ClientID    string   `json:"client_id"`
				IsInitiator string   `json:"is_initiator"`
				WSSURL      string   `json:"wss_url"`
				Messages    []string `json:"messages"`
			}
		}
		if err := json.NewDecoder(res.Body).Decode(&a); err != nil || a.Result != apprtc.ResultSuccess {
			panic(fmt.Sprint(a.Result, err))
		}
		return a.Params.ClientID, a.Params.IsInitiator, a.Params.WSSURL, a.Params.Messages
	}
	register := func(wssURL, clientID string) *websocket.Conn {
		c, _, err := websocket.Dial(ctx, wssURL, nil)
		if err != nil {
			panic(err)
		}
		frame := `{"cmd":"register","roomid":"demo","clientid":"` + clientID + `"}`
		if err := c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
			panic(err)
		}
		return c
	}

	a, initiator, wssURL, _ := join()
	u, _ := url.Parse(wssURL)
	fmt.Println("A:", a, "initiator:", initiator, "collider:", u.Scheme, u.Path)
	wa := register(wssURL, a)
	defer wa.CloseNow()
	res, err := http.Post(hs.URL+"/message/demo/"+a, "", strings.NewReader(`{"type":"offer","sdp":"v=0\r\n"}`))
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Println("A posts its offer:", string(body))

	b, initiator, _, messages := join()
	fmt.Println("B:", b, "initiator:", initiator, "messages:", messages)
	wb := register(wssURL, b)
	defer wb.CloseNow()
	answer := `{"cmd":"send","msg":"{\"type\":\"answer\",\"sdp\":\"v=0\\r\\n\"}"}`
	if err := wb.Write(ctx, websocket.MessageText, []byte(answer)); err != nil {
		panic(err)
	}
	_, frame, err := wa.Read(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Printf("A receives: %q\n", frame)
	// Output:
	// A: 11111111 initiator: true collider: ws /collider/ws
	// A posts its offer: {"result":"SUCCESS"}
	// B: 22222222 initiator: false messages: [{"type":"offer","sdp":"v=0\r\n"}]
	// A receives: "{\"msg\":\"{\\\"type\\\":\\\"answer\\\",\\\"sdp\\\":\\\"v=0\\\\r\\\\n\\\"}\",\"error\":\"\"}\n"
}
