package rtmp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/streamwire/streamwire/internal/syncbuf"
	"github.com/streamwire/streamwire/rtmp/amf0"
)

// TestServerRefusalHidesHandlerError: a refused publish or play gets the
// standard description of its status code, not the Handler's error text
// (which went to the peer verbatim, e.g. `bad key for "cam": rtmp:
// unauthorized`), unless the Handler returns a *StatusError; the full
// error is in the server's log.
func TestServerRefusalHidesHandlerError(t *testing.T) {
	secret := `bad key for "cam" (db row 42)`
	cases := []struct {
		reject     error
		play       bool
		code, desc string
	}{
		{fmt.Errorf("%s: %w", secret, ErrUnauthorized), false, CodePublishUnauthorized, "Publishing is not authorized."},
		{fmt.Errorf("%s: %w", secret, ErrBadName), false, CodePublishBadName, "Stream name is invalid or already published."},
		{errors.New(secret), false, CodePublishBadName, "Stream name is invalid or already published."},
		{fmt.Errorf("%s: %w", secret, ErrUnauthorized), true, CodePlayUnauthorized, "Playing is not authorized."},
		{fmt.Errorf("%s: %w", secret, ErrStreamNotFound), true, CodePlayStreamNotFound, "No such stream."},
		{errors.New(secret), true, CodePlayFailed, "Playing failed."},
		// The handler's deliberate words reach the client, wrapped or not.
		{fmt.Errorf("%s: %w", secret, &StatusError{Code: CodePublishUnauthorized, Description: "Stream key expired."}),
			false, CodePublishUnauthorized, "Stream key expired."},
		{&StatusError{Description: "Come back at 8 pm."}, true, CodePlayFailed, "Come back at 8 pm."},
		{&StatusError{Code: CodePlayStreamNotFound}, true, CodePlayStreamNotFound, "No such stream."},
	}
	var logs syncbuf.Buffer
	h := &memHandler{}
	base := startServer(t, ServerConfig{Handler: h, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for _, c := range cases {
		err := tryRejected(t, ctx, h, base+"/live/cam", c.reject, c.play)
		var se *StatusError
		if !errors.As(err, &se) {
			t.Fatalf("play=%v, rejected with %v: got %v", c.play, c.reject, err)
		}
		if se.Code != c.code || se.Description != c.desc {
			t.Errorf("play=%v, rejected with %v: status %s %q, want %s %q", c.play, c.reject, se.Code, se.Description, c.code, c.desc)
		}
		if strings.Contains(err.Error(), "db row") {
			t.Errorf("the handler's error reached the client: %v", err)
		}
	}
	for _, c := range cases {
		if !strings.Contains(logs.String(), fmt.Sprintf("%q", c.reject.Error())) {
			t.Errorf("the handler's error %q is not logged:\n%s", c.reject, logs.String())
		}
	}
}

// TestRefusalStatus: the server's own refusals (names over MaxNameLength)
// say what was too long; unknown codes get a neutral text.
func TestRefusalStatus(t *testing.T) {
	long := fmt.Errorf("%w: %w", ErrBadName, checkName("publish name", strings.Repeat("x", MaxNameLength+1)))
	if _, d := refusalStatus(CodePublishBadName, long); d != "Stream name too long (limit 4096 bytes)." {
		t.Errorf("long name: %q", d)
	}
	if _, d := refusalStatus(CodeConnectRejected, checkName("app", strings.Repeat("x", MaxNameLength+1))); d != "App or tcUrl too long (limit 4096 bytes)." {
		t.Errorf("long app: %q", d)
	}
	if c, d := refusalStatus("NetStream.Custom", errors.New("secret")); c != "NetStream.Custom" || d != "Request refused." {
		t.Errorf("unknown code: %s %q", c, d)
	}
}

// TestClientErrorsRedactStreamKey: the client's errors quote the stream
// name with its query values redacted: `rtmp: publish "cam?key=…"`, not
// the key.
func TestClientErrorsRedactStreamKey(t *testing.T) {
	h := &memHandler{rejectPub: ErrUnauthorized, rejectPlay: ErrUnauthorized}
	base := startServer(t, ServerConfig{Handler: h}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, play := range []bool{false, true} {
		cl, err := Dial(ctx, base+"/live/cam?key=s3cret&sig=abc", ClientConfig{})
		if err != nil {
			t.Fatal(err)
		}
		if play {
			err = cl.Play(ctx)
		} else {
			err = cl.Publish(ctx)
		}
		cl.Close()
		if err == nil || strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "abc") ||
			!strings.Contains(err.Error(), `"cam?key=…&sig=…"`) {
			t.Errorf("play=%v: %v", play, err)
		}
	}
	for _, raw := range []string{
		"rtmp://user:pw@/live/cam?key=s3cret",      // no host
		"rtmp://host:port/live/cam?key=s3cret",     // url.Parse: invalid port
		"rtmp://user:pw@host/?key=s3cret",          // no application
		"rtmp://host/live/cam?key=s3cret\x7f&a=pw", // url.Parse: control character
	} {
		_, _, _, _, _, err := ParseURL(raw)
		if err == nil || strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "pw") {
			t.Errorf("ParseURL(%q): %v", raw, err)
		}
	}
}

func TestRedactQuery(t *testing.T) {
	for in, want := range map[string]string{
		"cam":                     "cam",
		"cam?key=s3cret":          "cam?key=…",
		"cam?key=s3cret&token":    "cam?key=…&…",
		"cam?":                    "cam?",
		"cam?a=&&b=1":             "cam?a=…&&b=…",
		strings.Repeat("x", 1000): strings.Repeat("x", 128) + "…(+872 bytes)",
	} {
		if got := redactQuery(in); got != want {
			t.Errorf("redactQuery(%.40q) = %q, want %q", in, got, want)
		}
	}
	if got := redactURL("rtmp://u:p@h:1935/live/cam?key=s"); got != "rtmp://…@h:1935/live/cam?key=…" {
		t.Errorf("redactURL: %q", got)
	}
}

// TestServerLogsRedactKeys: stream keys in the app ("live?token=...") and
// the stream name's query stay out of the server's log lines.
func TestServerLogsRedactKeys(t *testing.T) {
	var logs syncbuf.Buffer
	h := &memHandler{rejectPlay: ErrUnauthorized}
	base := startServer(t, ServerConfig{Handler: h, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}, nil)
	c, _ := rawSession(t, base)
	sendCmd(t, c, 0, Command{Name: "connect", TransactionID: 1, Object: amf0.Object{{Key: "app", Value: "live?token=s3cret1"}}})
	sendCmd(t, c, 0, Command{Name: "createStream", TransactionID: 2})
	sendCmd(t, c, 0, Command{Name: "createStream", TransactionID: 3})
	sendCmd(t, c, 1, Command{Name: "publish", TransactionID: 4, Args: []any{"cam?key=s3cret2", "live"}})
	sendCmd(t, c, 2, Command{Name: "play", TransactionID: 5, Args: []any{"cam?key=s3cret3"}})
	readUntilClosed(t, c)
	out := logs.String()
	if strings.Contains(out, "s3cret") || !strings.Contains(out, "token=…") || !strings.Contains(out, "play rejected") {
		t.Errorf("server log:\n%s", out)
	}
}
