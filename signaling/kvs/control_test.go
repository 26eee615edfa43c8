package kvs

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestControlPlane: create, describe (by name and by ARN), list with a
// prefix and pages, get endpoints and delete, with AWS's exact keys; the
// wire shapes are those of aws-sdk-go-v2 service/kinesisvideo v1.34.0's
// deserializers (signaling.md §3.2).
func TestControlPlane(t *testing.T) {
	h := newHarness(t, Config{PublicURL: "https://rtc.example.com:8443", Rand: strings.NewReader(strings.Repeat("\x01", 4096))})
	arn := h.create("front-door", 30)
	assert.Equal(t, "arn:aws:kinesisvideo:us-east-1:000000000000:channel/front-door/1700000000000", arn)

	want := `{"ChannelInfo":{"ChannelARN":"` + arn + `","ChannelName":"front-door","ChannelStatus":"ACTIVE","ChannelType":"SINGLE_MASTER",` +
		`"CreationTime":1700000000,"SingleMasterConfiguration":{"MessageTtlSeconds":30},"Version":"BBBBBBBBBBBBBBBBBBBB"}}`
	status, body := h.call("/describeSignalingChannel", `{"ChannelName":"front-door"}`)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, want, body)
	status, body = h.call("/describeSignalingChannel", `{"ChannelARN":"`+arn+`"}`)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, want, body)

	h.clock.Advance(1500 * time.Millisecond)
	h.create("front-yard", 0)
	h.create("back-door", 0)
	var list listOutputJSON
	status, body = h.call("/listSignalingChannels", `{"ChannelNameCondition":{"ComparisonOperator":"BEGINS_WITH","ComparisonValue":"front"},"MaxResults":1}`)
	require.Equal(t, http.StatusOK, status, body)
	require.NoError(t, json.Unmarshal([]byte(body), &list))
	require.Len(t, list.ChannelInfoList, 1)
	assert.Equal(t, "front-door", list.ChannelInfoList[0].ChannelName)
	require.NotEmpty(t, list.NextToken)
	status, body = h.call("/listSignalingChannels", `{"ChannelNameCondition":{"ComparisonOperator":"BEGINS_WITH","ComparisonValue":"front"},"MaxResults":1,"NextToken":"`+list.NextToken+`"}`)
	require.Equal(t, http.StatusOK, status, body)
	assert.Contains(t, body, `"ChannelName":"front-yard"`)
	assert.Contains(t, body, `"CreationTime":1700000001.5`)
	assert.NotContains(t, body, "NextToken")
	status, body = h.call("/listSignalingChannels", `{}`)
	require.Equal(t, http.StatusOK, status)
	require.NoError(t, json.Unmarshal([]byte(body), &list))
	assert.Len(t, list.ChannelInfoList, 3)
	assert.Equal(t, "back-door", list.ChannelInfoList[0].ChannelName, "sorted by name")

	status, body = h.call("/getSignalingChannelEndpoint", `{"ChannelARN":"`+arn+`","SingleMasterChannelEndpointConfiguration":{"Protocols":["WSS","HTTPS"],"Role":"MASTER"}}`)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, `{"ResourceEndpointList":[{"Protocol":"WSS","ResourceEndpoint":"wss://rtc.example.com:8443/kvs/ws"},`+
		`{"Protocol":"HTTPS","ResourceEndpoint":"https://rtc.example.com:8443/kvs"}]}`, body)
	status, body = h.call("/getSignalingChannelEndpoint", `{"ChannelARN":"`+arn+`","SingleMasterChannelEndpointConfiguration":{"Protocols":["HTTPS"],"Role":"VIEWER"}}`)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, `{"ResourceEndpointList":[{"Protocol":"HTTPS","ResourceEndpoint":"https://rtc.example.com:8443/kvs"}]}`, body)

	status, body = h.call("/deleteSignalingChannel", `{"ChannelARN":"`+arn+`","CurrentVersion":"wrong"}`)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, `"__type":"VersionMismatchException"`)
	status, body = h.call("/deleteSignalingChannel", `{"ChannelARN":"`+arn+`","CurrentVersion":"BBBBBBBBBBBBBBBBBBBB"}`)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, `{}`, body)
	status, _ = h.call("/describeSignalingChannel", `{"ChannelARN":"`+arn+`"}`)
	assert.Equal(t, http.StatusNotFound, status)
}

// listOutputJSON decodes ListSignalingChannels' answer.
type listOutputJSON struct {
	ChannelInfoList []struct{ ChannelName, ChannelARN string }
	NextToken       string
}

// TestEndpointsFromRequest: without PublicURL the endpoints take the
// request's host, always https and wss (the JS SDK refuses ws://).
func TestEndpointsFromRequest(t *testing.T) {
	h := newHarness(t, Config{Prefix: "/signaling/kvs/"})
	status, body := h.callPrefixed("/signaling/kvs/createSignalingChannel", `{"ChannelName":"c"}`)
	require.Equal(t, http.StatusOK, status, body)
	var c struct{ ChannelARN string }
	require.NoError(t, json.Unmarshal([]byte(body), &c))
	status, body = h.callPrefixed("/signaling/kvs/getSignalingChannelEndpoint", `{"ChannelARN":"`+c.ChannelARN+`"}`)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, `{"ResourceEndpointList":[{"Protocol":"WSS","ResourceEndpoint":"wss://`+h.addr+`/signaling/kvs/ws"},`+
		`{"Protocol":"HTTPS","ResourceEndpoint":"https://`+h.addr+`/signaling/kvs"}]}`, body)
}

// callPrefixed posts body to an absolute path.
func (h *harness) callPrefixed(path, body string) (int, string) {
	req, err := http.NewRequest(http.MethodPost, "http://"+h.addr+path, strings.NewReader(body))
	require.NoError(h.t, err)
	status, b, _ := h.send(req)
	return status, b
}

// TestRESTErrors: refusals are restJson1 errors with AWS's __type, the
// X-Amzn-ErrorType header and AWS's status codes (signaling.md §3.4).
func TestRESTErrors(t *testing.T) {
	h := newHarness(t, Config{MaxChannels: 2, MaxMessageBytes: 100})
	arn := h.create("taken", 0)
	otherARN := strings.Replace(arn, "/taken/1700000000000", "/taken/1700000000001", 1)
	cases := []struct {
		name, op, body string
		status         int
		typ            string
	}{
		{"duplicate name", "/createSignalingChannel", `{"ChannelName":"taken"}`, 400, "ResourceInUseException"},
		{"bad name", "/createSignalingChannel", `{"ChannelName":"no spaces"}`, 400, "InvalidArgumentException"},
		{"name too long", "/createSignalingChannel", `{"ChannelName":"` + strings.Repeat("n", 257) + `"}`, 400, "InvalidArgumentException"},
		{"TTL too short", "/createSignalingChannel", `{"ChannelName":"x","SingleMasterConfiguration":{"MessageTtlSeconds":4}}`, 400, "InvalidArgumentException"},
		{"TTL too long", "/createSignalingChannel", `{"ChannelName":"x","SingleMasterConfiguration":{"MessageTtlSeconds":121}}`, 400, "InvalidArgumentException"},
		{"FULL_MESH", "/createSignalingChannel", `{"ChannelName":"x","ChannelType":"FULL_MESH"}`, 400, "InvalidArgumentException"},
		{"51 tags", "/createSignalingChannel", `{"ChannelName":"x","Tags":[` + strings.Repeat(`{"Key":"k"},`, 50) + `{"Key":"k"}]}`, 400, "TagsPerResourceExceededLimitException"},
		{"not JSON", "/createSignalingChannel", `{"ChannelName":`, 400, "SerializationException"},
		{"unknown name", "/describeSignalingChannel", `{"ChannelName":"nope"}`, 404, "ResourceNotFoundException"},
		{"stale ARN", "/describeSignalingChannel", `{"ChannelARN":"` + otherARN + `"}`, 404, "ResourceNotFoundException"},
		{"not an ARN", "/describeSignalingChannel", `{"ChannelARN":"arn:aws:s3:::bucket"}`, 400, "InvalidArgumentException"},
		{"nothing to describe", "/describeSignalingChannel", `{}`, 400, "InvalidArgumentException"},
		{"MaxResults 0", "/listSignalingChannels", `{"MaxResults":0}`, 400, "InvalidArgumentException"},
		{"foreign NextToken", "/listSignalingChannels", `{"NextToken":"!!"}`, 400, "InvalidArgumentException"},
		{"WEBRTC endpoint", "/getSignalingChannelEndpoint", `{"ChannelARN":"` + arn + `","SingleMasterChannelEndpointConfiguration":{"Protocols":["WEBRTC"]}}`, 400, "InvalidArgumentException"},
		{"bad role", "/getSignalingChannelEndpoint", `{"ChannelARN":"` + arn + `","SingleMasterChannelEndpointConfiguration":{"Role":"BOSS"}}`, 400, "InvalidArgumentException"},
		{"unknown operation", "/createStream", `{}`, 404, "UnknownOperationException"},
		{"ICE for no channel", "/v1/get-ice-server-config", `{"ChannelARN":"` + otherARN + `"}`, 404, "ResourceNotFoundException"},
		{"ICE service", "/v1/get-ice-server-config", `{"ChannelARN":"` + arn + `","Service":"STUN"}`, 400, "InvalidArgumentException"},
		{"body over the cap", "/createSignalingChannel", `{"ChannelName":"` + strings.Repeat("x", 2000) + `"}`, 413, "RequestEntityTooLargeException"},
		{"Alexa payload not base64", "/v1/send-alexa-offer-to-master", `{"ChannelARN":"` + arn + `","SenderClientId":"a","MessagePayload":"not base64!"}`, 400, "InvalidArgumentException"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := h.request(c.op, c.body)
			status, body, hdr := h.send(req)
			assert.Equal(t, c.status, status, body)
			assert.Equal(t, c.typ, hdr.Get("X-Amzn-ErrorType"))
			assert.Equal(t, "application/json", hdr.Get("Content-Type"))
			var e map[string]string
			require.NoError(t, json.Unmarshal([]byte(body), &e), body)
			assert.Equal(t, c.typ, e["__type"])
			assert.NotEmpty(t, e["message"])
			assert.Len(t, e, 2)
		})
	}
	h.create("second", 0)
	status, body := h.call("/createSignalingChannel", `{"ChannelName":"third"}`)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, `"__type":"AccountChannelLimitExceededException"`)
	status, _, _ = h.send(mustRequest(t, http.MethodGet, "http://"+h.addr+"/kvs/describeSignalingChannel"))
	assert.Equal(t, http.StatusNotFound, status, "operations are POST only")
}

// mustRequest is http.NewRequest that cannot fail.
func mustRequest(t *testing.T, method, u string) *http.Request {
	req, err := http.NewRequest(method, u, nil)
	require.NoError(t, err)
	return req
}

// TestCORS: every REST answer carries the CORS headers AWS sends (seed
// 001's GetIceServerConfig dump); a preflight is answered 200 and allows
// the headers it asks for.
func TestCORS(t *testing.T) {
	h := newHarness(t, Config{})
	arn := h.create("c", 0)
	_, _, hdr := h.send(h.request("/v1/get-ice-server-config", `{"ChannelARN":"`+arn+`"}`))
	assert.Equal(t, "*", hdr.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token", hdr.Get("Access-Control-Allow-Headers"))
	assert.Equal(t, "GET,OPTIONS,POST", hdr.Get("Access-Control-Allow-Methods"))
	assert.Equal(t, "x-amzn-RequestId,x-amzn-ErrorType", hdr.Get("Access-Control-Expose-Headers"))
	assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, hdr.Get("X-Amzn-RequestId"))

	pre := mustRequest(t, http.MethodOptions, "http://"+h.addr+"/kvs/v1/get-ice-server-config")
	pre.Header.Set("Origin", "https://app.example.com")
	pre.Header.Set("Access-Control-Request-Method", "POST")
	pre.Header.Set("Access-Control-Request-Headers", "amz-sdk-invocation-id,amz-sdk-request,authorization,content-type,x-amz-date,x-amz-user-agent")
	status, body, hdr := h.send(pre)
	assert.Equal(t, http.StatusOK, status)
	assert.Empty(t, body)
	assert.Equal(t, "*", hdr.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, hdr.Get("Access-Control-Allow-Headers"), "amz-sdk-invocation-id,amz-sdk-request")

	pre.Header.Set("Access-Control-Request-Headers", "x-evil;a=b, <script>")
	_, _, hdr = h.send(pre)
	assert.Equal(t, corsAllowHeaders, hdr.Get("Access-Control-Allow-Headers"), "a header list that is not one is not echoed")
}
