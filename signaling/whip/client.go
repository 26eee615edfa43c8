package whip

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/streamwire/streamwire/internal/logstr"
	"github.com/streamwire/streamwire/sdp"
)

// maxErrorBody bounds the error text a Client reads from an answer.
const maxErrorBody = 4 << 10

// Client is a WHIP and WHEP client (RFC 9725 §4.2, §4.3): Post sends an
// offer and reads the 201 (the Location, resolved against the request URL as
// RFC 9110 §10.2.2 says; the ETag; the ICE servers of the Link headers,
// parsed by RFC 8288), and the Resource it returns trickles, restarts ICE and
// deletes the session. Load generators and Go players use it, and the tests
// of this package read the Handler's answers back with it. The zero Client
// works.
type Client struct {
	// HTTPClient sends the requests. Nil means http.DefaultClient, which
	// follows a 307 of the POST with the body sent again (RFC 9725 §4.5).
	HTTPClient *http.Client
	// Token, when set, is sent as "Authorization: Bearer <Token>" on every
	// request (RFC 9725 §4.7).
	Token string
}

// Resource is a session made by Client.Post. Its methods may be called
// concurrently.
type Resource struct {
	// URL is the absolute session URL (the resolved Location).
	URL string
	// Answer is the server's SDP answer.
	Answer []byte
	// Links are the Link headers of the 201 (RFC 8288), and ICEServers the
	// STUN and TURN servers among them (RFC 9725 §4.6).
	Links      []Link
	ICEServers []ICEServer

	client *Client
	mu     sync.Mutex
	etag   string
}

// ETag returns the entity tag of the current ICE session, quotes included:
// the 201's, then that of the last ICE restart; "" if the server sent none.
func (r *Resource) ETag() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.etag
}

// Post POSTs offer to a WHIP or WHEP endpoint and returns the session. Any
// answer other than 201 with a Location and an application/sdp body is an
// error: an *Error (status, Retry-After, the body's text) for an HTTP error,
// one wrapping ErrBadResponse for a malformed 201, ErrBadLink for Link headers
// that do not parse.
func (c *Client) Post(ctx context.Context, endpoint string, offer []byte) (*Resource, error) {
	resp, err := c.do(ctx, http.MethodPost, endpoint, typeSDP, "", offer)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return nil, responseError(resp)
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return nil, fmt.Errorf("%w: 201 without Location", ErrBadResponse)
	}
	u, err := resp.Request.URL.Parse(loc)
	if err != nil {
		return nil, fmt.Errorf("%w: Location %q: %v", ErrBadResponse, logstr.Bound(loc), err)
	}
	if mt := strings.TrimSpace(strings.Split(resp.Header.Get("Content-Type"), ";")[0]); !strings.EqualFold(mt, typeSDP) {
		return nil, fmt.Errorf("%w: 201 with Content-Type %q, want %s", ErrBadResponse, logstr.Bound(mt), typeSDP)
	}
	answer, err := readAtMost(resp.Body, sdp.MaxSize)
	if err != nil {
		return nil, err
	}
	if len(answer) == 0 {
		return nil, fmt.Errorf("%w: 201 without an answer", ErrBadResponse)
	}
	links, err := ParseLinks(resp.Header.Values("Link")...)
	if err != nil {
		return nil, err
	}
	return &Resource{URL: u.String(), Answer: answer, Links: links, ICEServers: ICEServers(links),
		client: c, etag: resp.Header.Get("ETag")}, nil
}

// Trickle sends candidates (RFC 9725 §4.3.2) with If-Match set to the current
// ETag, when there is one, and expects 204.
func (r *Resource) Trickle(ctx context.Context, frag *sdp.SDPFrag) error {
	resp, err := r.client.do(ctx, http.MethodPatch, r.URL, typeSDPFrag, r.ETag(), frag.AppendTo(nil))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return responseError(resp)
	}
	return nil
}

// Restart restarts ICE (RFC 9725 §4.3.3): frag carries the client's new
// ice-ufrag and ice-pwd, If-Match is "*", and the answer must be 200 with the
// server's fragment, whose ETag becomes the current one.
func (r *Resource) Restart(ctx context.Context, frag *sdp.SDPFrag) (*sdp.SDPFrag, error) {
	resp, err := r.client.do(ctx, http.MethodPatch, r.URL, typeSDPFrag, "*", frag.AppendTo(nil))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, responseError(resp)
	}
	etag := resp.Header.Get("ETag")
	if etag == "" {
		return nil, fmt.Errorf("%w: ICE restart answered without ETag", ErrBadResponse)
	}
	body, err := readAtMost(resp.Body, sdp.MaxSize)
	if err != nil {
		return nil, err
	}
	local, err := sdp.ParseSDPFrag(body)
	if err != nil {
		return nil, fmt.Errorf("%w: ICE restart answer: %w", ErrBadResponse, err)
	}
	r.mu.Lock()
	r.etag = etag
	r.mu.Unlock()
	return local, nil
}

// Delete ends the session (RFC 9725 §4.2) and expects a 2xx answer.
func (r *Resource) Delete(ctx context.Context) error {
	resp, err := r.client.do(ctx, http.MethodDelete, r.URL, "", "", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return responseError(resp)
	}
	return nil
}

// do sends one request.
func (c *Client) do(ctx context.Context, method, target, contentType, ifMatch string, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, fmt.Errorf("whip: %s %s: %w", method, logstr.Bound(target), err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("whip: %s %s: %w", method, logstr.Bound(target), err)
	}
	return resp, nil
}

// responseError turns an unexpected answer into an *Error.
func responseError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return &Error{
		Status:     resp.StatusCode,
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
		Reason:     logstr.Bound(strings.TrimSpace(string(b))),
	}
}

// parseRetryAfter reads delay-seconds or an HTTP-date (RFC 9110 §10.2.3);
// zero when absent, malformed or past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseUint(v, 10, 31); err == nil {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// readAtMost reads r to the end, failing if it holds more than n bytes.
func readAtMost(r io.Reader, n int) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, int64(n)+1))
	if err != nil {
		return nil, fmt.Errorf("whip: read response body: %w", err)
	}
	if len(b) > n {
		return nil, fmt.Errorf("%w: response body over %d bytes", ErrBadResponse, n)
	}
	return b, nil
}
