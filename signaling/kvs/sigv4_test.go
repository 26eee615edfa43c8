package kvs

import (
	"bufio"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// signedHarness is a harness that requires the test credentials.
func signedHarness(t *testing.T) *harness {
	return newHarness(t, Config{Credentials: map[string]string{testKeyID: testSecret, "OTHERKEY": "other-secret"}})
}

// TestSignedREST: a call signed by aws-sdk-go-v2's signer verifies; the
// same call changed by one byte anywhere it was signed, signed with
// another key, unsigned, or signed more than 5 minutes away from the
// server's clock, gets 403 AccessDeniedException.
func TestSignedREST(t *testing.T) {
	h := signedHarness(t)
	body := `{"ChannelName":"signed"}`
	signed := func() *http.Request {
		req := h.request("/createSignalingChannel", body)
		h.signRequest(req, body, h.now())
		return req
	}
	cases := []struct {
		name   string
		tamper func(*http.Request)
		body   string // sent instead of body when not empty
	}{
		{"body byte", nil, `{"ChannelName":"signes"}`},
		{"path changed", func(r *http.Request) { r.URL.Path = "/kvs/describeSignalingChannel" }, ""},
		{"query added", func(r *http.Request) { r.URL.RawQuery = "a=b" }, ""},
		{"signed header byte", func(r *http.Request) { r.Header.Set("Content-Type", "application/jsoN") }, ""},
		{"date byte", func(r *http.Request) {
			r.Header.Set("X-Amz-Date", strings.Replace(r.Header.Get("X-Amz-Date"), "20Z", "21Z", 1))
		}, ""},
		{"signature byte", func(r *http.Request) {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:len(a)-1]+string("0123456789abcdef"[(strings.IndexByte("0123456789abcdef", a[len(a)-1])+1)%16]))
		}, ""},
		{"other key id", func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), testKeyID, "OTHERKEY", 1))
		}, ""},
		{"unknown key id", func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), testKeyID, "AKIDUNKNOWN", 1))
		}, ""},
		{"other service", func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/kinesisvideo/", "/s3/", 1))
		}, ""},
		{"unsigned", func(r *http.Request) { r.Header.Del("Authorization") }, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := signed()
			if c.body != "" {
				req = h.request("/createSignalingChannel", c.body)
				hdr := signed().Header
				req.Header = hdr
			}
			if c.tamper != nil {
				c.tamper(req)
			}
			status, out, hdr := h.send(req)
			assert.Equal(t, http.StatusForbidden, status, out)
			assert.Equal(t, "AccessDeniedException", hdr.Get("X-Amzn-ErrorType"))
		})
	}
	for _, skew := range []time.Duration{-5*time.Minute - time.Second, 5*time.Minute + time.Second} {
		req := h.request("/createSignalingChannel", body)
		h.signRequest(req, body, h.now().Add(skew))
		status, out, _ := h.send(req)
		assert.Equal(t, http.StatusForbidden, status, "skew %v: %s", skew, out)
		assert.Contains(t, out, "Signature ")
	}
	for _, skew := range []time.Duration{-5 * time.Minute, 5 * time.Minute} {
		req := h.request("/describeSignalingChannel", `{"ChannelName":"x"}`)
		h.signRequest(req, `{"ChannelName":"x"}`, h.now().Add(skew))
		status, out, _ := h.send(req)
		assert.Equal(t, http.StatusNotFound, status, "skew %v is allowed: %s", skew, out)
	}
	status, out, _ := h.send(signed())
	assert.Equal(t, http.StatusOK, status, out)
}

// TestSignedRESTSessionToken: a temporary credential's session token is
// part of the signature.
func TestSignedRESTSessionToken(t *testing.T) {
	h := signedHarness(t)
	body := `{"ChannelName":"tok"}`
	req := h.request("/createSignalingChannel", body)
	req.Header.Set("X-Amz-Security-Token", "session/token+1=")
	h.signRequest(req, body, h.now())
	req.Header.Set("X-Amz-Security-Token", "session/token+2=")
	status, _, _ := h.send(req)
	assert.Equal(t, http.StatusForbidden, status)
}

// TestUnsignedWithoutCredentials: with no credentials configured, unsigned
// calls and WebSockets are served and signatures are not looked at.
func TestUnsignedWithoutCredentials(t *testing.T) {
	h := newHarness(t, Config{})
	arn := h.create("open", 0)
	req := h.request("/describeSignalingChannel", `{"ChannelARN":"`+arn+`"}`)
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=nobody/20000101/x/kinesisvideo/aws4_request, SignedHeaders=host, Signature=00")
	status, _, _ := h.send(req)
	assert.Equal(t, http.StatusOK, status)
	m := h.master(arn)
	m.c.CloseNow()
}

// TestPresignedWebSocket: a WebSocket URL presigned at the server's clock
// connects; one presigned with a one-byte change, an expired one, one
// signed in the future, and an unsigned one are refused with 403 before
// the upgrade.
func TestPresignedWebSocket(t *testing.T) {
	h := signedHarness(t)
	arn := h.create("ws", 0)
	good := h.wsURL(arn, "viewer-1")
	h.dial(good).c.CloseNow()

	unsigned := "ws://" + h.addr + "/kvs/ws?" + url.Values{qChannelARN: {arn}}.Encode()
	base := unsigned + "&" + qClientID + "=viewer-1"
	refused := map[string]string{
		"unsigned":          unsigned,
		"client id changed": strings.Replace(good, "viewer-1", "viewer-2", 1),
		"expired":           h.presign(base, h.now().Add(-300*time.Second), 299),
		"from the future":   h.presign(base, h.now().Add(5*time.Minute+time.Second), 299),
		"signature byte":    good[:len(good)-1] + flipHex(good[len(good)-1]),
		"expiry raised":     strings.Replace(good, "X-Amz-Expires=299", "X-Amz-Expires=2990", 1),
	}
	for name, u := range refused {
		_, detail, err := h.tryDial(u)
		require.Error(t, err, name)
		assert.Contains(t, detail, "403 ", name)
		assert.Contains(t, detail, `"__type":"AccessDeniedException"`, name)
	}
	// At the edges: issued 298 s ago with 299 s to live, 5 min ahead.
	h.dial(h.presign(base, h.now().Add(-298*time.Second), 299)).c.CloseNow()
	h.dial(h.presign(base, h.now().Add(5*time.Minute), 299)).c.CloseNow()
}

// flipHex returns another hex digit than c.
func flipHex(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}

// TestJSPresignedVectors: URLs presigned by the KVS WebRTC JS SDK's own
// signer (testdata/sigv4/js-presigned.txt) verify, with and without a
// session token, and a one-byte change to any of them does not.
func TestJSPresignedVectors(t *testing.T) {
	f, err := os.Open("testdata/sigv4/js-presigned.txt")
	require.NoError(t, err)
	defer f.Close()
	clk := newFakeClock() // epoch is the vectors' signing time
	v := newVerifier(Config{Credentials: map[string]string{testKeyID: testSecret}, Clock: clk}.withDefaults())
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		n++
		req := presignedRequest(t, line)
		_, err := v.verifyPresigned(req)
		require.NoError(t, err, line)
		for i := strings.IndexByte(line, '?') + 1; i < len(line); i += 7 {
			changed := line[:i] + string(line[i]^1) + line[i+1:]
			if r, err := tryPresignedRequest(changed); err == nil {
				_, err := v.verifyPresigned(r)
				assert.Error(t, err, "byte %d changed: %s", i, changed)
			}
		}
	}
	require.Equal(t, 2, n)
}

// presignedRequest is the GET a browser sends for a wss:// URL.
func presignedRequest(t *testing.T, u string) *http.Request {
	r, err := tryPresignedRequest(u)
	require.NoError(t, err)
	return r
}

func tryPresignedRequest(u string) (*http.Request, error) {
	pu, err := url.Parse(u)
	if err != nil {
		return nil, err
	}
	return &http.Request{Method: http.MethodGet, URL: &url.URL{Path: pu.Path, RawQuery: pu.RawQuery}, Host: pu.Host, Header: http.Header{}}, nil
}
