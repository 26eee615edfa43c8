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
// NAME may have several segments (see Stream): /whep/live/a/b plays
// "live/a/b". A session URL repeats its stream, so that it reads well in
// logs of proxies, and carries its own unguessable ID, which alone
// authorizes PATCH and DELETE: OBS clears the query string when it resolves
// a Location, so a stream key in the query would not survive (RFC 9725 §4.7
// allows the token in the URL).
//
// A last segment with the shape of a session ID (32 base64url characters)
// is therefore either a session's ID or part of a nested NAME (a stream key
// of 32 hex digits: live/user/0123...cdef). The method and the session table
// tell: PATCH and DELETE (and a CORS preflight for them) address sessions
// only, since endpoints take neither; other methods address the session if
// one of that kind, stream and ID is live, and the endpoint otherwise, so
// that a GET after a DELETE reads as one on an endpoint (204), and a POST
// to a live session's URL is refused (405). A random ID of 192 bits names
// no stream by chance, and the holder of one could DELETE its session
// anyway.

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

// resolve finds the resource that r's path names under the handler's
// prefixes (see the URL map above).
func (h *Handler) resolve(r *http.Request) (resource, error) {
	p := r.URL.EscapedPath()
	var res resource
	rest, ok := strings.CutPrefix(p, h.whipPath)
	res.kind = KindWHIP
	if !ok {
		if rest, ok = strings.CutPrefix(p, h.whepPath); !ok {
			return resource{}, errPath
		}
		res.kind = KindWHEP
	}
	isSession := func(s Stream, id string) bool {
		method := r.Method
		if isPreflight(r) {
			method = r.Header.Get("Access-Control-Request-Method")
		}
		if method == http.MethodPatch || method == http.MethodDelete {
			return true
		}
		return h.lookup(resource{kind: res.kind, stream: s, id: id}) != nil
	}
	var err error
	if res.stream, res.id, err = parseResource(rest, isSession); err != nil {
		return resource{}, err
	}
	res.endpoint = strings.TrimSuffix(p, "/")
	if res.id != "" {
		res.endpoint = res.endpoint[:len(res.endpoint)-len(res.id)-1]
	}
	return res, nil
}

// parseResource reads the escaped path after a prefix: "APP/NAME" or
// "APP/NAME/" (an endpoint), or "APP/NAME/SESSIONID" when isSession says
// that the last segment, shaped like a session ID, is one (see the URL
// map above).
func parseResource(rest string, isSession func(s Stream, id string) bool) (s Stream, id string, err error) {
	rest, trailing := strings.CutSuffix(rest, "/")
	segs := strings.SplitN(rest, "/", MaxNameSegments+2) // a stream's segments and an ID, and one too many
	names, err := decodeNames(segs)
	if err != nil {
		return Stream{}, "", fmt.Errorf("%w: %w", errPath, err)
	}
	if n := len(segs); !trailing && n >= 3 && validID(segs[n-1]) {
		if s, err := streamOf(names[:n-1]); err == nil && isSession(s, segs[n-1]) {
			return s, segs[n-1], nil
		}
	}
	if s, err = streamOf(names); err != nil {
		return Stream{}, "", fmt.Errorf("%w: %w", errPath, err)
	}
	return s, "", nil
}

// decodeNames percent-decodes and checks each segment of a stream's path
// (see Stream); errors wrap ErrBadName.
func decodeNames(segs []string) ([]string, error) {
	names := make([]string, len(segs))
	for i, seg := range segs {
		if seg == "" || len(seg) > 3*MaxNameLen {
			return nil, fmt.Errorf("%w: empty or overlong segment", ErrBadName)
		}
		name, err := url.PathUnescape(seg)
		if err != nil {
			return nil, fmt.Errorf("%w: bad percent-encoding", ErrBadName)
		}
		if len(name) > MaxNameLen || name == "." || name == ".." || !utf8.ValidString(name) {
			return nil, fmt.Errorf("%w: segment longer than %d bytes, a dot segment or not UTF-8", ErrBadName, MaxNameLen)
		}
		// An encoded '/' would make the path ambiguous: "live/a%2Fb" and
		// "live/a/b" would be the one relay key; control characters have no
		// business in one.
		if strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f || r == '/' }) {
			return nil, fmt.Errorf("%w: segment holds '/' or a control character", ErrBadName)
		}
		names[i] = name
	}
	return names, nil
}

// streamOf is the stream of decoded segments: APP and NAME's segments.
func streamOf(names []string) (Stream, error) {
	if len(names) < 2 || len(names) > MaxNameSegments {
		return Stream{}, fmt.Errorf("%w: want APP/NAME, at most %d segments", ErrBadName, MaxNameSegments)
	}
	return Stream{App: names[0], Name: strings.Join(names[1:], "/")}, nil
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
