package kvs_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/streamwire/streamwire/signaling/kvs"
)

// A channel's signaling as the KVS SDKs do it, without credentials (local
// development): the control plane makes the channel, the master and a
// viewer connect, the viewer's offer reaches the master and the master's
// answer the viewer.
func Example() {
	srv, err := kvs.New(kvs.Config{})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	mux := http.NewServeMux()
	mux.Handle(srv.Pattern(), srv)
	hs := httptest.NewServer(mux)
	defer hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	post := func(op, body string) string {
		res, err := http.Post(hs.URL+"/kvs"+op, "application/json", strings.NewReader(body))
		if err != nil {
			panic(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	created := post("/createSignalingChannel", `{"ChannelName":"door"}`)
	arn := strings.TrimSuffix(strings.TrimPrefix(created, `{"ChannelARN":"`), `"}`)
	fmt.Println("ARN:", arn[:strings.LastIndexByte(arn, '/')])

	connect := func(client string) *websocket.Conn {
		q := url.Values{"X-Amz-ChannelARN": {arn}}
		if client != "" {
			q.Set("X-Amz-ClientId", client)
		}
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/kvs/ws?"+q.Encode(), nil)
		if err != nil {
			panic(err)
		}
		return c
	}
	master, viewer := connect(""), connect("viewer-1")
	defer master.CloseNow()
	defer viewer.CloseNow()
	offer := base64.StdEncoding.EncodeToString([]byte(`{"type":"offer","sdp":"v=0\r\n"}`))
	_ = viewer.Write(ctx, websocket.MessageText, []byte(`{"action":"SDP_OFFER","messagePayload":"`+offer+`"}`))
	_, got, _ := master.Read(ctx)
	fmt.Println("master gets:", string(got) == `{"senderClientId":"viewer-1","messageType":"SDP_OFFER","messagePayload":"`+offer+`"}`)
	answer := base64.StdEncoding.EncodeToString([]byte(`{"type":"answer","sdp":"v=0\r\n"}`))
	_ = master.Write(ctx, websocket.MessageText, []byte(`{"action":"SDP_ANSWER","recipientClientId":"viewer-1","messagePayload":"`+answer+`"}`))
	_, got, _ = viewer.Read(ctx)
	fmt.Println("viewer gets:", string(got) == `{"messageType":"SDP_ANSWER","messagePayload":"`+answer+`"}`)
	// Output:
	// ARN: arn:aws:kinesisvideo:us-east-1:000000000000:channel/door
	// master gets: true
	// viewer gets: true
}
