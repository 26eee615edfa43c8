package interop

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamwire/streamwire/signaling/kvs"
)

// kvsPageState is what testdata/kvs/call.html reports every half second.
type kvsPageState struct {
	Role          string `json:"role"`
	ClientID      string `json:"clientId"`
	Signaling     string `json:"signaling"`
	Error         string `json:"error"`
	Statuses      int    `json:"statuses"`
	ICEState      string `json:"iceState"`
	FramesDecoded int    `json:"framesDecoded"`
	FramesSent    int    `json:"framesSent"`
	CandidateType string `json:"candidateType"`
}

// TestKVSChromiumCall: the KVS WebRTC JS SDK's browser build
// (amazon-kinesis-video-streams-webrtc 2.9.0, dist/kvs-webrtc.min.js) runs as
// MASTER with a fake camera and as VIEWER in two headless Chromium
// processes. Each presigns its wss:// URL with the SDK's own SigV4 signer
// and the test key, which the server verifies; the channel and its
// endpoints come from aws-sdk-go-v2. Offer, answer and candidates cross
// the server and the viewer decodes the master's video. Chromium trusts
// the test certificate by its SPKI pin.
func TestKVSChromiumCall(t *testing.T) {
	requireNodeModules(t, "amazon-kinesis-video-streams-webrtc")
	env := startKVS(t, kvs.Config{})
	var (
		mu     sync.Mutex
		states = map[string]kvsPageState{}
	)
	bundle := filepath.Join(jsDir, "node_modules", "amazon-kinesis-video-streams-webrtc", "dist", "kvs-webrtc.min.js")
	env.mux.HandleFunc("GET /kvs-call/kvs-webrtc.min.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, bundle)
	})
	env.mux.HandleFunc("GET /kvs-call/call.html", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join("testdata", "kvs", "call.html"))
	})
	env.mux.HandleFunc("POST /kvs-call/report", func(w http.ResponseWriter, r *http.Request) {
		var st kvsPageState
		if json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&st) == nil && st.Role != "" {
			mu.Lock()
			states[st.Role] = st
			mu.Unlock()
		}
	})
	snapshot := func() map[string]kvsPageState {
		mu.Lock()
		defer mu.Unlock()
		out := make(map[string]kvsPageState, len(states))
		for k, v := range states {
			out[k] = v
		}
		return out
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kv := env.kinesisVideo()
	created, err := kv.CreateSignalingChannel(ctx, &kinesisvideo.CreateSignalingChannelInput{ChannelName: aws.String("call")})
	require.NoError(t, err)
	arn := aws.ToString(created.ChannelARN)
	ep, err := kv.GetSignalingChannelEndpoint(ctx, &kinesisvideo.GetSignalingChannelEndpointInput{ChannelARN: aws.String(arn),
		SingleMasterChannelEndpointConfiguration: &types.SingleMasterChannelEndpointConfiguration{
			Protocols: []types.ChannelProtocol{types.ChannelProtocolWss}, Role: types.ChannelRoleMaster}})
	require.NoError(t, err)
	wss := aws.ToString(ep.ResourceEndpointList[0].ResourceEndpoint)

	page := func(role, clientID string) string {
		q := url.Values{"role": {role}, "arn": {arn}, "wss": {wss}, "region": {kvsRegion}, "ak": {kvsKeyID}, "sk": {kvsSecret}}
		if clientID != "" {
			q.Set("clientId", clientID)
		}
		return env.base + "/kvs-call/call.html?" + q.Encode()
	}
	wait := func(what string, limit time.Duration, done func(map[string]kvsPageState) bool) {
		deadline := time.Now().Add(limit)
		for !done(snapshot()) {
			for _, st := range snapshot() {
				if st.Error != "" {
					t.Fatalf("page %s: %s", st.Role, st.Error)
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %v; pages: %+v; server: %+v", what, limit, snapshot(), env.srv.Stats())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	flag := "--ignore-certificate-errors-spki-list=" + env.spki
	startChromiumFlags(t, page("master", ""), flag)
	wait("the master's signaling opens", 60*time.Second, func(s map[string]kvsPageState) bool { return s["master"].Signaling == "open" })
	startChromiumFlags(t, page("viewer", "viewer-1"), flag)
	wait("the viewer decodes the master's video", 90*time.Second, func(s map[string]kvsPageState) bool {
		return s["viewer"].FramesDecoded > 0 && s["master"].FramesSent > 0
	})
	st := snapshot()
	t.Logf("pages: %+v; server: %+v", st, env.srv.Stats())
	assert.Zero(t, st["viewer"].Statuses)
	assert.Equal(t, "host", st["viewer"].CandidateType)
	stats := env.srv.Stats()
	assert.Equal(t, uint64(2), stats.Accepted)
	assert.Zero(t, stats.Refused)
	assert.GreaterOrEqual(t, stats.Frames, uint64(3), "an offer, an answer and candidates")
}
