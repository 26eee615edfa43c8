package whip

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// The URL map under a prefix P (WHIPPath or WHEPPath):
//
//	P + "APP/NAME"            the endpoint: POST, OPTIONS, GET, HEAD
//	P + "APP/NAME/SESSIONID"  a session:    PATCH, DELETE, OPTIONS, GET, HEAD
//
// A session URL repeats its stream, so that it reads well in logs of proxies,
// and carries its own unguessable ID, which alone authorizes PATCH and DELETE:
// OBS clears the query string when it resolves a Location, so a stream key in
// the query would not survive (RFC 9725 §4.7 allows the token in the URL).

// idBytes is the entropy of a session ID: 192 bits, written as 32 base64url
// characters. The first logIDLen characters are logged; the other 144 bits
// stay secret even where logs leak.
const (
	idBytes  = 24
	idLen    = 32 // base64.RawURLEncoding.EncodedLen(idBytes)
	logIDLen = 8
)

// errPath reports a path that names no endpoint or session.
var errPath = errors.New("whip: path names no WHIP or WHEP resource")

// resource is what a request's path names.
type resource struct {
	kind   Kind
	stream Stream
	// id is the session ID, "" for the endpoint.
	id string
	// endpoint is the escaped path of the endpoint without a trailing '/',
	// as the client wrote it: the base of the session's Location.
	endpoint string
}

// resolve finds the resource that the escaped path p names under the
// handler's prefixes.
func (h *Handler) resolve(p string) (resource, error) {
	var res resource
	rest, ok := strings.CutPrefix(p, h.whipPath)
	res.kind = KindWHIP
	if !ok {
		if rest, ok = strings.CutPrefix(p, h.whepPath); !ok {
			return resource{}, errPath
		}
		res.kind = KindWHEP
	}
	var err error
	if res.stream, res.id, err = parseResource(rest); err != nil {
		return resource{}, err
	}
	res.endpoint = strings.TrimSuffix(p, "/")
	if res.id != "" {
		res.endpoint = res.endpoint[:len(res.endpoint)-len(res.id)-1]
	}
	return res, nil
}

// parseResource reads "APP/NAME", "APP/NAME/" or "APP/NAME/SESSIONID", the
// escaped path after a prefix.
func parseResource(rest string) (s Stream, id string, err error) {
	segs := strings.SplitN(rest, "/", 4)
	switch {
	case len(segs) == 3 && segs[2] == "": // a trailing '/' after the endpoint
	case len(segs) == 3:
		id = segs[2]
		if !validID(id) {
			return Stream{}, "", fmt.Errorf("%w: malformed session ID", errPath)
		}
	case len(segs) != 2:
		return Stream{}, "", fmt.Errorf("%w: want APP/NAME", errPath)
	}
	if s.App, err = decodeName(segs[0]); err != nil {
		return Stream{}, "", err
	}
	if s.Name, err = decodeName(segs[1]); err != nil {
		return Stream{}, "", err
	}
	return s, id, nil
}

// decodeName percent-decodes one APP or NAME segment and checks it (see
// Stream).
func decodeName(seg string) (string, error) {
	if seg == "" || len(seg) > 3*MaxNameLen {
		return "", fmt.Errorf("%w: empty or overlong name", errPath)
	}
	name, err := url.PathUnescape(seg)
	if err != nil {
		return "", fmt.Errorf("%w: bad percent-encoding", errPath)
	}
	if len(name) > MaxNameLen || name == "." || name == ".." || !utf8.ValidString(name) {
		return "", fmt.Errorf("%w: name longer than %d bytes, a dot segment or not UTF-8", errPath, MaxNameLen)
	}
	// An encoded '/' would make APP/NAME ambiguous with the RTMP and relay
	// name of the same stream; control characters have no business in one.
	if strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f || r == '/' }) {
		return "", fmt.Errorf("%w: name holds '/' or a control character", errPath)
	}
	return name, nil
}

// validID reports whether s has the shape of a session ID.
func validID(s string) bool {
	if len(s) != idLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// randomToken returns n bytes from r as base64url text.
func randomToken(r io.Reader, n int) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("whip: read random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// location returns the absolute URL of the session id of res (RFC 9725 §4.2:
// the Location of the 201). An absolute URL is what every client resolves
// correctly: OBS replaces the path (and clears the query) of a value that
// does not start with "http", and Eyevinn's player uses a value that does not
// start with '/' verbatim.
func (h *Handler) location(r *http.Request, res resource, id string) string {
	p := res.endpoint + "/" + id
	if h.publicURL != "" {
		return h.publicURL + p
	}
	if r.Host == "" { // HTTP/1.0 without Host: an absolute path is the best there is
		return p
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if h.trustProto {
		v, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
		if v = strings.ToLower(strings.TrimSpace(v)); v == "http" || v == "https" {
			scheme = v
		}
	}
	return scheme + "://" + r.Host + p
}
