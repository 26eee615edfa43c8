package whip_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"

	"github.com/streamwire/streamwire/dtlsparams"
	"github.com/streamwire/streamwire/sdp"
	"github.com/streamwire/streamwire/signaling/whip"
)

// answerOnly is the smallest Backend: it answers offers with package sdp and
// makes sessions that carry no media. The server's backend does the same
// with relay and peer behind it.
type answerOnly struct{}

func (answerOnly) Publish(_ context.Context, o *whip.Offer) (whip.Session, []byte, error) {
	fp, err := dtlsparams.ComputeFingerprint(dtlsparams.SHA256, []byte("the DTLS certificate, DER"))
	if err != nil {
		return nil, nil, err
	}
	s, err := sdp.Answer(o.SDP, &sdp.Config{
		ICELite:      true,
		Candidates:   []string{"candidate:1 1 udp 2130706431 192.0.2.10 3478 typ host"},
		Fingerprints: []dtlsparams.Fingerprint{fp},
	})
	if err != nil {
		return nil, nil, err // sdp's errors are answered 400 or 422
	}
	return &idle{done: make(chan struct{})}, s.SDP, nil
}

func (answerOnly) Play(context.Context, *whip.Offer) (whip.Session, []byte, error) {
	return nil, nil, whip.ErrNotPublished // 409 with Retry-After
}

// idle is a Session without media.
type idle struct {
	done chan struct{}
	once sync.Once
}

func (*idle) Trickle(context.Context, *sdp.SDPFrag) error { return nil }
func (*idle) Restart(context.Context, *sdp.SDPFrag) (*sdp.SDPFrag, error) {
	return nil, whip.ErrUnsupported // 422, as RFC 9725 §4.3.1 asks
}
func (s *idle) Close() error             { s.once.Do(func() { close(s.done) }); return nil }
func (s *idle) Done() <-chan struct{}    { return s.done }
func (*idle) Connected() <-chan struct{} { return nil }
func (*idle) Err() error                 { return nil }

const offer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\na=rtcp-mux\r\n" +
	"a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=setup:actpass\r\n" +
	"a=fingerprint:sha-256 A1:0B:7C:3E:D5:92:64:F8:1D:C0:2A:B7:59:E3:48:06:9F:71:CE:25:B4:8D:13:6A:F0:57:E2:39:C8:04:9B:DE\r\n" +
	"a=rtpmap:111 opus/48000/2\r\n"

// A server mounts one Handler at both prefixes of its URL map; a publisher
// POSTs its offer and gets the answer and the session URL.
func Example() {
	h, err := whip.NewHandler(whip.Config{
		Backend:    answerOnly{},
		ICEServers: []whip.ICEServer{{URL: "stun:stun.example.net:3478"}},
	})
	if err != nil {
		panic(err)
	}
	defer h.Close()
	mux := http.NewServeMux()
	mux.Handle(whip.DefaultWHIPPath, h)
	mux.Handle(whip.DefaultWHEPPath, h)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Post(srv.URL+"/whip/live/cam", "application/sdp", strings.NewReader(offer))
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	loc := strings.TrimPrefix(resp.Header.Get("Location"), srv.URL)
	fmt.Println(resp.Status, resp.Header.Get("Content-Type"))
	fmt.Println("Location: <server>" + loc[:len(loc)-32] + "<32-character session ID>")
	fmt.Println("Link:", resp.Header.Get("Link"))

	resp, err = http.Post(srv.URL+"/whep/live/other", "application/sdp", strings.NewReader(offer))
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status, "Retry-After:", resp.Header.Get("Retry-After"))
	// Output:
	// 201 Created application/sdp
	// Location: <server>/whip/live/cam/<32-character session ID>
	// Link: <stun:stun.example.net:3478>; rel="ice-server"
	// 409 Conflict Retry-After: 2
}

// A Go client publishes and ends the session.
func ExampleClient() {
	h, err := whip.NewHandler(whip.Config{Backend: answerOnly{}, PublishToken: "secret"})
	if err != nil {
		panic(err)
	}
	defer h.Close()
	srv := httptest.NewServer(h)
	defer srv.Close()

	ctx := context.Background()
	c := &whip.Client{Token: "secret"}
	res, err := c.Post(ctx, srv.URL+"/whip/live/cam", []byte(offer))
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.HasPrefix(string(res.Answer), "v=0"), h.Sessions(whip.KindWHIP))
	if err := res.Delete(ctx); err != nil {
		panic(err)
	}
	fmt.Println(h.Sessions(whip.KindWHIP))
	// Output:
	// true 1
	// 0
}
