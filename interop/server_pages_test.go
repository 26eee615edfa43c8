package interop

// A test-side web server for the end-to-end tests whose browser pages are
// the test's own (testdata/server/*.html) rather than the server's: it
// serves the pages and the medooze whip-whep modules, collects the pages'
// reports, and passes /whip/ and /whep/ to the server through a reverse
// proxy that records every request, so that a test can check what a real
// client sent (PATCH, If-Match) and what the server answered. The proxy
// keeps the page's Host header: the server builds its absolute Location
// from it, so the client's PATCH and DELETE come back through the proxy.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// pageReport is what testdata/server/webrtc.html and medooze.html post
// every 250 ms (and at once on an error).
type pageReport struct {
	Role          string   `json:"role"`
	Error         string   `json:"error"`
	State         string   `json:"state"`         // RTCPeerConnection.connectionState
	Codec         string   `json:"codec"`         // the video codec's mimeType, from getStats
	FramesEncoded int      `json:"framesEncoded"` // outbound video
	FramesDecoded int      `json:"framesDecoded"` // inbound video
	PacketsSent   int      `json:"packetsSent"`
	UserAgent     string   `json:"userAgent"`
	OfferCodecs   []string `json:"offerCodecs"` // the rtpmap names of the page's offer
}

// proxiedRequest is one WHIP or WHEP request that went through the proxy.
type proxiedRequest struct {
	Method, Path, ContentType, IfMatch string
	Status                             int
}

func (r proxiedRequest) String() string {
	return fmt.Sprintf("%s %s (Content-Type %q, If-Match %q) -> %d", r.Method, r.Path, r.ContentType, r.IfMatch, r.Status)
}

// pageServer serves the test pages and proxies WHIP/WHEP to a server.
type pageServer struct {
	URL string // http://127.0.0.1:PORT

	mu       sync.Mutex
	reports  map[string]pageReport // by role
	requests []proxiedRequest
}

// servePages serves the pages on ln (a new loopback listener when nil) and
// proxies /whip/ and /whep/ to s through s.HTTP's transport.
func servePages(t *testing.T, s *serverProc, ln net.Listener) *pageServer {
	t.Helper()
	ps := &pageServer{reports: map[string]pageReport{}}
	target, err := url.Parse(s.Web)
	if err != nil {
		t.Fatal(err)
	}
	transport := s.HTTP.Transport
	if transport == nil {
		transport = http.DefaultTransport
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host // the server's Location names the proxy
		},
		Transport: transport,
		ModifyResponse: func(res *http.Response) error {
			ps.record(res.Request, res.StatusCode)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			ps.record(r, http.StatusBadGateway)
			http.Error(w, "proxy: "+err.Error(), http.StatusBadGateway)
		},
	}
	mux := http.NewServeMux()
	mux.Handle("/whip/", proxy)
	mux.Handle("/whep/", proxy)
	mux.HandleFunc("GET /page/{name}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join("testdata", "server", filepath.Base(r.PathValue("name"))))
	})
	// The medooze client's ES modules, as its npm package ships them.
	mux.Handle("GET /whip-whep/", http.StripPrefix("/whip-whep/",
		http.FileServer(http.Dir(filepath.Join(jsDir, "node_modules", "whip-whep")))))
	mux.HandleFunc("POST /report", func(w http.ResponseWriter, r *http.Request) {
		var rep pageReport
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&rep); err != nil || rep.Role == "" {
			http.Error(w, "bad report", http.StatusBadRequest)
			return
		}
		ps.mu.Lock()
		ps.reports[rep.Role] = rep
		ps.mu.Unlock()
	})
	srv := httptest.NewUnstartedServer(mux)
	if ln != nil {
		srv.Listener.Close()
		srv.Listener = ln
	}
	srv.Start()
	t.Cleanup(srv.Close)
	ps.URL = srv.URL
	return ps
}

func (ps *pageServer) record(r *http.Request, status int) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.requests = append(ps.requests, proxiedRequest{Method: r.Method, Path: r.URL.Path,
		ContentType: r.Header.Get("Content-Type"), IfMatch: r.Header.Get("If-Match"), Status: status})
}

// proxied returns the requests recorded so far.
func (ps *pageServer) proxied() []proxiedRequest {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return append([]proxiedRequest(nil), ps.requests...)
}

func (ps *pageServer) report(role string) pageReport {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.reports[role]
}

// waitReport waits at most limit until role's report satisfies ok; a page
// that reports an error fails the test at once.
func (ps *pageServer) waitReport(t *testing.T, s *serverProc, role, what string, limit time.Duration, ok func(pageReport) bool) pageReport {
	t.Helper()
	var rep pageReport
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		rep = ps.report(role)
		if rep.Error != "" {
			t.Fatalf("%s page: %s\nrequests: %v\nserver:\n%s", role, rep.Error, ps.proxied(), tail(s.out.String(), 3000))
		}
		if ok(rep) {
			return rep
		}
	}
	t.Fatalf("%s: not within %v; %s page's last report: %+v\nrequests: %v\nserver:\n%s",
		what, limit, role, rep, ps.proxied(), tail(s.out.String(), 3000))
	return rep
}

// pageURL is the URL of testdata/server/name with query.
func (ps *pageServer) pageURL(name string, query url.Values) string {
	return ps.URL + "/page/" + name + "?" + query.Encode()
}

// nsHTTPClient is an HTTP client whose connections are made by dial, for
// example inside a network namespace.
func nsHTTPClient(dial func(network, addr string) (net.Conn, error)) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(_ context.Context, network, addr string) (net.Conn, error) { return dial(network, addr) },
	}, Timeout: 30 * time.Second}
}

// serverLines returns the lines of the server's log that contain every
// one of words.
func serverLines(s *serverProc, words ...string) []string {
	var out []string
	for _, l := range strings.Split(s.out.String(), "\n") {
		all := true
		for _, w := range words {
			all = all && strings.Contains(l, w)
		}
		if all && l != "" {
			out = append(out, l)
		}
	}
	return out
}
