package whip

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// authorized checks the bearer token of a POST or OPTIONS against Config and
// answers 401 when it fails.
func (h *Handler) authorized(w http.ResponseWriter, r *http.Request, res resource) bool {
	token, given := bearerToken(r.Header.Get("Authorization"))
	ok := true
	switch {
	case h.authorize != nil:
		ok = h.authorize(res.kind, res.stream, token)
	case res.kind == KindWHIP && h.publishKey != nil:
		ok = tokenIs(token, h.publishKey)
	case res.kind == KindWHEP && h.playKey != nil:
		ok = tokenIs(token, h.playKey)
	}
	if ok {
		return true
	}
	challenge := `Bearer realm="` + res.kind.String() + `"` // RFC 6750 §3
	if given {
		challenge += `, error="invalid_token"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	h.refuse(w, r, res, ErrUnauthorized)
	return false
}

// bearerToken returns the token of an Authorization field value "Bearer
// <token>" (the scheme is case-insensitive, RFC 9110 §11.1), and whether the
// field was there. A value without a space is taken as a bare token: the
// Eyevinn player sends its authKey verbatim, and apps configure it without
// "Bearer ".
func bearerToken(v string) (token string, given bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", false
	}
	scheme, rest, found := strings.Cut(v, " ")
	if !found {
		return v, true
	}
	if !strings.EqualFold(scheme, "Bearer") {
		return "", true
	}
	return strings.TrimSpace(rest), true
}

// tokenIs compares token with a configured token's digest in constant time.
func tokenIs(token string, want *[sha256.Size]byte) bool {
	got := sha256.Sum256([]byte(token))
	return token != "" && subtle.ConstantTimeCompare(got[:], want[:]) == 1
}
