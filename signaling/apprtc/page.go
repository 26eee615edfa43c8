package apprtc

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"errors"
	"net/http"
)

// callPageHTML is the two-party call page served at /r/{room}: HTML and an
// inline script that use the room API and the Collider WebSocket as
// AppRTC's web client does (GET /params, WebSocket, POST /join, register,
// ICE from ice_server_url, offer/answer/candidates, POST /leave, bye,
// DELETE). It needs nothing else from the server.
//
//go:embed page/call.html
var callPageHTML []byte

// fullPage is the answer to /r/{room} for a room with two seats
// (full_template.html).
const fullPage = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Room full</title></head>
<body><p>This room is full: it already has two participants.</p></body></html>
`

// callPage serves callPageHTML with a Content-Security-Policy that allows its
// one inline script by hash and nothing else inline.
type callPage struct {
	csp string
}

// newCallPage hashes callPageHTML's inline script for the CSP header.
func newCallPage() (callPage, error) {
	_, rest, ok := bytes.Cut(callPageHTML, []byte("<script>"))
	script, _, ok2 := bytes.Cut(rest, []byte("</script>"))
	if !ok || !ok2 {
		return callPage{}, errors.New("apprtc: call page has no <script>")
	}
	sum := sha256.Sum256(script)
	return callPage{csp: "default-src 'none'; script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; " +
		"style-src 'unsafe-inline'; connect-src 'self' ws: wss: http: https:; media-src 'self' blob:; " +
		"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"}, nil
}

// serve writes the call page, or the full page when full.
func (p callPage) serve(w http.ResponseWriter, full bool) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if full {
		h.Set("Content-Security-Policy", "default-src 'none'")
		_, _ = w.Write([]byte(fullPage))
		return
	}
	h.Set("Content-Security-Policy", p.csp)
	_, _ = w.Write(callPageHTML)
}
