package turnrest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzHandler sends arbitrary methods, query strings, bodies and
// Authorization headers to both handler formats and checks that every answer
// has an expected status, is JSON with the documented fields, and never
// contains the secrets or the API key.
func FuzzHandler(f *testing.F) {
	f.Add("GET", "service=turn&username=alice", "", "")
	f.Add("POST", "service=turn&api=k&key=k&username=janus", "service=turn&api=k&key=k&username=janus", "")
	f.Add("POST", "", "", "Bearer api-key-never-leaks")
	f.Add("GET", "service=turn&key=api-key-never-leaks&username=s3cr3t-never-leaks", "", "")
	f.Add("PUT", "username=%zz", "", "Basic x")
	f.Add("OPTIONS", "", "", "")
	f.Add("POST", "username=a:b&service=stun", strings.Repeat("a", 5000), "")
	m, err := New(Config{
		Secrets:     []string{testSecret, testOld},
		URIs:        []string{"turn:127.0.0.1:3478?transport=udp", "stun:127.0.0.1:3478"},
		APIKeys:     []string{testAPIKey},
		AllowOrigin: "*",
		Now:         fixedNow,
	})
	if err != nil {
		f.Fatal(err)
	}
	handlers := []*Handler{m.Handler(FormatREST), m.Handler(FormatICE)}
	f.Fuzz(func(t *testing.T, method, query, body, auth string) {
		if !validMethod(method) {
			method = http.MethodPost
		}
		for _, h := range handlers {
			req := httptest.NewRequest(http.MethodGet, "/turn", strings.NewReader(body))
			req.Method = method
			req.URL.RawQuery = query
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			out := rec.Body.Bytes()
			for _, s := range []string{testSecret, testOld, testAPIKey} {
				// A client may ask for a user id equal to a secret; echoing
				// its own input back is not a leak.
				if bytes.Contains(out, []byte(s)) && !strings.Contains(input(query, body, auth), s) {
					t.Fatalf("response leaks %q: %s", s, out)
				}
			}
			var fields map[string]json.RawMessage
			switch rec.Code {
			case http.StatusNoContent:
				if method != http.MethodOptions || len(out) != 0 {
					t.Fatalf("204 for %s with body %q", method, out)
				}
				continue
			case http.StatusOK:
				if err := json.Unmarshal(out, &fields); err != nil {
					t.Fatalf("200 body is not JSON: %v: %s", err, out)
				}
				want := "username"
				if h.format == FormatICE {
					want = "iceServers"
				}
				if _, ok := fields[want]; !ok {
					t.Fatalf("200 body lacks %q: %s", want, out)
				}
			case http.StatusBadRequest, http.StatusUnauthorized, http.StatusMethodNotAllowed, http.StatusRequestEntityTooLarge:
				if err := json.Unmarshal(out, &fields); err != nil || fields["error"] == nil {
					t.Fatalf("%d body is not a JSON error: %s", rec.Code, out)
				}
			default:
				t.Fatalf("unexpected status %d: %s", rec.Code, out)
			}
		}
	})
}

// input is everything the request carried, raw and form-decoded.
func input(query, body, auth string) string {
	all := []string{query, body, auth}
	for _, raw := range []string{query, body} {
		v, _ := url.ParseQuery(raw)
		for _, vs := range v {
			all = append(all, vs...)
		}
	}
	return strings.Join(all, "\n")
}

// validMethod reports whether s is an HTTP token, as net/http requires of a
// request method.
func validMethod(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c > '~' || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}
