package kvs

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// signalingExamples are the frames of signaling.md §3.6 and §3.6b, the
// seeds of the frame fuzz targets.
var signalingExamples = []string{
	`{"action":"SDP_OFFER","messagePayload":"eyJ0eXBlIjoib2ZmZXIiLCJzZHAiOiJ2PTAuLi4ifQ==","correlationId":"1700000000000"}`,
	`{"action":"SDP_ANSWER","recipientClientId":"v1","messagePayload":"eyJ0eXBlIjoib2ZmZXIiLCJzZHAiOiJ2PTAuLi4ifQ=="}`,
	`{"action":"ICE_CANDIDATE","RecipientClientId":"v1","MessagePayload":"eyJ0eXBlIjoib2ZmZXIiLCJzZHAiOiJ2PTAuLi4ifQ==","CorrelationId":"c"}`,
	`{"senderClientId":"v1","messageType":"SDP_OFFER","messagePayload":"eyJ0eXBlIjoib2ZmZXIiLCJzZHAiOiJ2PTAuLi4ifQ=="}`,
	`{"messageType":"STATUS_RESPONSE","statusResponse":{"correlationId":"1700000000000","errorType":"InvalidArgumentException","statusCode":"400","description":"..."}}`,
	`{"messageType":"GO_AWAY"}`,
}

// FuzzDecodeClientFrame: any bytes decode to a frame or an error, and a
// decoded frame survives a round trip.
func FuzzDecodeClientFrame(f *testing.F) {
	for _, s := range signalingExamples {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeClientFrame(b)
		if err != nil {
			return
		}
		again, err := json.Marshal(m)
		require.NoError(t, err)
		m2, err := decodeClientFrame(again)
		require.NoError(t, err)
		require.Equal(t, m, m2)
	})
}

// FuzzServerFrames: for every sender id, payload and correlationId the
// server would pass on, the frames it writes are JSON that decodes to
// exactly those values, and validPayload accepts only what base64 decodes.
func FuzzServerFrames(f *testing.F) {
	f.Add("v1", "eyJ0eXBlIjoib2ZmZXIiLCJzZHAiOiJ2PTAuLi4ifQ==", "1700000000000", "desc \"quoted\" <tag>")
	f.Add("", "AAAA", "", "")
	f.Fuzz(func(t *testing.T, sender, payload, corr, desc string) {
		if (sender != "" && !ValidName(sender)) || !validPayload(payload, 1<<20) || (corr != "" && !ValidName(corr)) {
			return
		}
		var got struct {
			SenderClientID string `json:"senderClientId"`
			MessageType    string
			MessagePayload string
			StatusResponse *struct {
				CorrelationID, ErrorType, StatusCode, Description string
				Success                                           *bool
			}
		}
		b := appendMessageFrame(nil, Message{Type: MessageICECandidate, Sender: sender, Payload: payload})
		require.NoError(t, json.Unmarshal(b, &got), "%s", b)
		require.Equal(t, sender, got.SenderClientID)
		require.Equal(t, payload, got.MessagePayload)
		b = appendStatusFrame(nil, corr, Errorf(ErrInvalidArgument, "%s", desc))
		require.NoError(t, json.Unmarshal(b, &got), "%s", b)
		require.Equal(t, corr, got.StatusResponse.CorrelationID)
		require.Equal(t, "400", got.StatusResponse.StatusCode)
		require.False(t, *got.StatusResponse.Success)
		if strings.ToValidUTF8(desc, "\ufffd") == desc {
			require.Equal(t, desc, got.StatusResponse.Description)
		}
	})
}

// FuzzREST: any operation path and body get a known status, and every
// error is a restJson1 error with __type; the seeds are the requests of
// signaling.md §3.2 and §3.3.
func FuzzREST(f *testing.F) {
	arn := "arn:aws:kinesisvideo:us-east-1:000000000000:channel/c/1700000000000"
	for _, s := range [][2]string{
		{"/createSignalingChannel", `{"ChannelName":"x","ChannelType":"SINGLE_MASTER","SingleMasterConfiguration":{"MessageTtlSeconds":60},"Tags":[{"Key":"k","Value":"v"}]}`},
		{"/describeSignalingChannel", `{"ChannelARN":"` + arn + `"}`},
		{"/listSignalingChannels", `{"ChannelNameCondition":{"ComparisonOperator":"BEGINS_WITH","ComparisonValue":"c"},"MaxResults":2,"NextToken":"Yw"}`},
		{"/getSignalingChannelEndpoint", `{"ChannelARN":"` + arn + `","SingleMasterChannelEndpointConfiguration":{"Protocols":["WSS","HTTPS"],"Role":"MASTER"}}`},
		{"/deleteSignalingChannel", `{"ChannelARN":"` + arn + `","CurrentVersion":"v"}`},
		{"/v1/get-ice-server-config", `{"ChannelARN":"` + arn + `","ClientId":"viewer1","Service":"TURN","Username":"u"}`},
		{"/v1/send-alexa-offer-to-master", `{"ChannelARN":"` + arn + `","SenderClientId":"a","MessagePayload":"AAAA"}`},
	} {
		f.Add(s[0], s[1])
	}
	clk := newFakeClock()
	srv, err := New(Config{Clock: clk, Logger: discard(), MaxChannels: 100})
	require.NoError(f, err)
	f.Cleanup(func() { _ = srv.Close() })
	_ = srv.store.CreateChannel(context.Background(), Channel{Name: "c", ARN: arn, Created: epoch, MessageTTL: 5 * time.Second, Version: "v0"})
	allowed := map[int]bool{200: true, 400: true, 403: true, 404: true, 413: true}
	f.Fuzz(func(t *testing.T, op, body string) {
		if strings.Contains(op, "alexa") {
			return // it waits for a master: TestSendAlexaOfferToMaster
		}
		req := httptest.NewRequest(http.MethodPost, "http://host/kvs/x", strings.NewReader(body))
		req.URL.Path = "/kvs" + op
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		require.True(t, allowed[w.Code], "status %d for %q", w.Code, op)
		require.True(t, json.Valid(w.Body.Bytes()), "%q", w.Body.String())
		if w.Code != 200 {
			var e restError
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &e))
			require.Equal(t, e.Type, w.Header().Get("X-Amzn-ErrorType"))
		}
	})
}

// FuzzPresigned: any query on the WebSocket URL is verified or refused
// with AccessDeniedException, never a panic; the seeds are the JS SDK's
// presigned URLs.
func FuzzPresigned(f *testing.F) {
	file, err := os.Open("testdata/sigv4/js-presigned.txt")
	require.NoError(f, err)
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		if l := sc.Text(); l != "" && l[0] != '#' {
			f.Add(l[strings.IndexByte(l, '?')+1:])
		}
	}
	file.Close()
	v := newVerifier(Config{Credentials: map[string]string{testKeyID: testSecret}, Clock: newFakeClock()}.withDefaults())
	f.Fuzz(func(t *testing.T, query string) {
		req := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/kvs/ws", RawQuery: query}, Host: "127.0.0.1:8443", Header: http.Header{}}
		if _, err := v.verifyPresigned(req); err != nil {
			require.ErrorIs(t, err, ErrAccessDenied)
		}
	})
}

// FuzzNameFromARN: an ARN that parses names a valid channel, and every
// ARN channelARN makes parses back to its name.
func FuzzNameFromARN(f *testing.F) {
	f.Add("arn:aws:kinesisvideo:us-west-2:123456789012:channel/demo/1700000000000")
	f.Add("arn:aws-cn:kinesisvideo:cn-north-1:1:channel/a.b-c_d/0")
	f.Fuzz(func(t *testing.T, arn string) {
		if name, ok := nameFromARN(arn); ok {
			require.True(t, ValidName(name))
			return
		}
		if ValidName(arn) {
			name, ok := nameFromARN(channelARN("r", "a", arn, epoch))
			require.True(t, ok)
			require.Equal(t, arn, name)
		}
	})
}
