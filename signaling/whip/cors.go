package whip

import "net/http"

// cors sets the CORS response headers (Fetch standard, "CORS protocol").
// They go on every answer, so that a page can read errors and Retry-After.
func (h *Handler) cors(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	origin := r.Header.Get("Origin")
	allowed := h.anyOrigin || h.origins[origin]
	switch {
	case h.anyOrigin:
		hd.Set("Access-Control-Allow-Origin", "*")
	case allowed:
		hd.Set("Access-Control-Allow-Origin", origin)
		hd.Add("Vary", "Origin")
	default:
		hd.Add("Vary", "Origin")
	}
	hd.Set("Access-Control-Allow-Methods", "POST, PATCH, DELETE, OPTIONS")
	hd.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
	hd.Set("Access-Control-Expose-Headers", "Location, Link, ETag, Retry-After")
	if r.Method == http.MethodOptions {
		hd.Set("Access-Control-Max-Age", "86400")
		// Chrome's Private Network Access asks before a public page reaches a
		// server on a private address (a WHIP server on the LAN).
		if allowed && r.Header.Get("Access-Control-Request-Private-Network") == "true" {
			hd.Set("Access-Control-Allow-Private-Network", "true")
		}
	}
}

// isPreflight reports a CORS preflight: an OPTIONS request with
// Access-Control-Request-Method (Fetch standard, "CORS-preflight request").
// RFC 9725 §4.6 says not to mint TURN credentials for one.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
}
