package kvs

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSendAlexaOfferToMaster: the offer reaches the master as an SDP_OFFER
// from SenderClientId and the call answers with the master's SDP_ANSWER to
// it; with no answer within MessageTtlSeconds (Config.Clock) the call is
// ResourceNotFoundException and the sender's seat is free again.
func TestSendAlexaOfferToMaster(t *testing.T) {
	h := newHarness(t, Config{})
	arn := h.create("alexa", 5)
	m := h.master(arn)
	type result struct {
		status int
		body   string
	}
	call := func() chan result {
		done := make(chan result, 1)
		go func() {
			status, body := h.call("/v1/send-alexa-offer-to-master", `{"ChannelARN":"`+arn+`","SenderClientId":"alexa-1","MessagePayload":"`+offer+`"}`)
			done <- result{status, body}
		}()
		return done
	}
	done := call()
	assert.Equal(t, `{"senderClientId":"alexa-1","messageType":"SDP_OFFER","messagePayload":"`+offer+`"}`, m.recv())
	h.sendFrame(m, frame("ICE_CANDIDATE", "alexa-1", candidate, ""))
	h.sendFrame(m, frame("SDP_ANSWER", "alexa-1", answer, ""))
	r := <-done
	assert.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, `{"Answer":"`+answer+`"}`, r.body)

	done = call()
	m.recv()
	require.Eventually(t, func() bool {
		h.clock.Advance(time.Second)
		select {
		case r = <-done:
			return true
		default:
			return false
		}
	}, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, http.StatusNotFound, r.status)
	assert.Contains(t, r.body, `"__type":"ResourceNotFoundException"`)
	_, connected, _ := h.srv.store.(*MemoryStore).Counts()
	assert.Equal(t, 1, connected, "only the master is left")
}
