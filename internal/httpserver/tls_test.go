package httpserver

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamwire/streamwire/internal/testcert"
)

// With Config.TLS the server speaks HTTPS, HTTP/2 by ALPN, and the per-IP
// cap refuses a connection before its TLS handshake.
func TestTLS(t *testing.T) {
	server, client := testcert.Loopback(t)
	s, addr := start(t, Config{TLS: server, MaxConnsPerIP: 1, Handler: http.HandlerFunc(ok)})
	hc := &http.Client{Timeout: 5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: client, ForceAttemptHTTP2: true}}
	defer hc.CloseIdleConnections()
	res, err := hc.Get("https://" + addr + "/")
	require.NoError(t, err)
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, "ok", string(b))
	assert.Equal(t, "HTTP/2.0", res.Proto)

	d := &net.Dialer{Timeout: 2 * time.Second}
	_, err = tls.DialWithDialer(d, "tcp4", addr, client)
	require.Error(t, err, "second connection from the same IP got a TLS handshake")
	assert.Equal(t, uint64(1), s.Stats().RefusedPerIP)
}
