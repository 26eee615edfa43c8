package rtmp_test

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/streamwire/streamwire/rtmp"
)

// keyHandler accepts publishers whose URL carries ?key=secret and counts
// the media they send; it has nothing to play.
type keyHandler struct{ media chan rtmp.MessageType }

func (h keyHandler) Publish(ctx context.Context, req *rtmp.StreamRequest) (rtmp.MediaSink, error) {
	if req.Query.Get("key") != "secret" {
		return nil, fmt.Errorf("stream %s: %w", req.Path(), rtmp.ErrUnauthorized)
	}
	return sink(h), nil
}

func (h keyHandler) Play(ctx context.Context, req *rtmp.StreamRequest) (rtmp.MediaSource, error) {
	return nil, rtmp.ErrStreamNotFound
}

type sink keyHandler

func (s sink) WriteMedia(m rtmp.Media) error { s.media <- m.Type; return nil }
func (s sink) Close() error                  { close(s.media); return nil }

func ExampleServer() {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := keyHandler{media: make(chan rtmp.MessageType, 16)}
	go rtmp.NewServer(rtmp.ServerConfig{Handler: h}).Serve(ctx, ln)
	base := "rtmp://" + ln.Addr().String() + "/live/cam"

	// A publisher without the key is refused with NetStream.Publish.Unauthorized.
	c, _ := rtmp.Dial(ctx, base, rtmp.ClientConfig{})
	err := c.Publish(ctx)
	fmt.Println(errors.Is(err, rtmp.ErrRejected))
	c.Close()

	// With the key, media flows to the handler's sink.
	c, _ = rtmp.Dial(ctx, base+"?key=secret", rtmp.ClientConfig{})
	if err := c.Publish(ctx); err != nil {
		fmt.Println(err)
		return
	}
	c.WriteMedia(ctx, rtmp.Media{Type: rtmp.TypeVideo, Payload: []byte{0x17, 0, 0, 0, 0}})
	c.WriteMedia(ctx, rtmp.Media{Type: rtmp.TypeAudio, Timestamp: 10, Payload: []byte{0xaf, 0, 0x12, 0x10}})
	c.Close()
	for typ := range h.media {
		fmt.Println(typ)
	}
	// Output:
	// true
	// Video
	// Audio
}

func ExampleParseURL() {
	addr, app, name, tcURL, tls, _ := rtmp.ParseURL("rtmps://example.com/live/cam?key=k")
	fmt.Println(addr, app, name, tcURL, tls)
	// Output: example.com:443 live cam?key=k rtmps://example.com/live true
}
