package httpserver

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
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

// net/http's error lines reach slog bounded: a failed TLS handshake at
// Debug, other lines at Warn.
func TestErrorLog(t *testing.T) {
	var buf strings.Builder
	l := errorLog{slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	_, _ = l.Write([]byte("http: TLS handshake error from 127.0.0.1:1: " + strings.Repeat("x", 10000) + "\n"))
	_, _ = l.Write([]byte("http: panic serving 127.0.0.1:2: boom\n"))
	out := buf.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2)
	assert.Contains(t, lines[0], "level=DEBUG")
	assert.Less(t, len(lines[0]), 400, "a client-made line is not bounded")
	assert.Contains(t, lines[1], "level=WARN")
	assert.Contains(t, lines[1], "boom")
}
