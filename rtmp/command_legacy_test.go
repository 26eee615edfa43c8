package rtmp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/streamwire/streamwire/internal/syncbuf"
	"github.com/streamwire/streamwire/rtmp/amf0"
)

// readCommands reads until n commands arrived and returns them.
func readCommands(t *testing.T, c *Conn, n int) []Command {
	t.Helper()
	var cmds []Command
	for len(cmds) < n {
		m, err := c.ReadMessage(context.Background())
		if err != nil {
			t.Fatalf("after %d commands %+v: %v", len(cmds), cmds, err)
		}
		if m.Type == TypeCommandAMF0 {
			cmd, err := ParseCommand(m)
			if err != nil {
				t.Fatal(err)
			}
			cmds = append(cmds, cmd)
		}
	}
	return cmds
}

func connectRaw(t *testing.T, base string) *Conn {
	t.Helper()
	c, _ := rawSession(t, base)
	sendCmd(t, c, 0, Command{Name: "connect", TransactionID: 1, Object: amf0.Object{{Key: "app", Value: "live"}}})
	if got := readCommands(t, c, 2); got[0].Name != "_result" || got[1].Name != "onBWDone" {
		t.Fatalf("connect answered %+v", got)
	}
	return c
}

// TestServerLegacyReplies: the FMLE/ffmpeg command sequence gets the
// replies FMS and SRS send (see command_legacy.go).
func TestServerLegacyReplies(t *testing.T) {
	base := startServer(t, ServerConfig{Handler: &memHandler{}}, nil)
	c := connectRaw(t, base)
	sendCmd(t, c, 0, Command{Name: "releaseStream", TransactionID: 2, Args: []any{"cam"}})
	sendCmd(t, c, 0, Command{Name: "FCPublish", TransactionID: 3, Args: []any{"cam"}})
	sendCmd(t, c, 0, Command{Name: "createStream", TransactionID: 4})
	sendCmd(t, c, 0, Command{Name: "_checkbw", TransactionID: 5})
	sendCmd(t, c, 1, Command{Name: "publish", TransactionID: 6, Args: []any{"cam", "live"}})
	sendCmd(t, c, 0, Command{Name: "FCUnpublish", TransactionID: 7, Args: []any{"cam"}})
	got := readCommands(t, c, 9)
	type reply struct {
		name string
		tx   float64
		arg  any // first argument, or the status code of an info object
	}
	want := []reply{
		{"_result", 2, amf0.Undefined{}},
		{"onFCPublish", 0, CodePublishStart},
		{"_result", 3, amf0.Undefined{}},
		{"_result", 4, 1.0},
		{"_result", 5, nil},
		{"onStatus", 0, CodePublishStart},
		{"onFCUnpublish", 0, CodeUnpublishSuccess},
		{"_result", 7, amf0.Undefined{}},
		{"onStatus", 0, CodeUnpublishSuccess},
	}
	for i, w := range want {
		g := got[i]
		var arg any
		if len(g.Args) > 0 {
			arg = g.Args[0]
			if o, ok := arg.(amf0.Object); ok {
				arg = o.String("code")
			}
		}
		if g.Name != w.name || g.TransactionID != w.tx || g.Object != nil || arg != w.arg {
			t.Errorf("reply %d = %s(%v, %v, %#v), want %s(%v, null, %#v)", i, g.Name, g.TransactionID, g.Object, arg, w.name, w.tx, w.arg)
		}
	}
	if info, _ := got[1].Args[0].(amf0.Object); info.String("level") != LevelStatus || info.String("description") != "cam" {
		t.Errorf("onFCPublish info %v, want level status and the stream name as description", info)
	}
}

// TestServerGetStreamLength: ffmpeg's getStreamLength before play gets a
// number, so that ffmpeg does not warn.
func TestServerGetStreamLength(t *testing.T) {
	base := startServer(t, ServerConfig{Handler: &memHandler{}}, nil)
	c := connectRaw(t, base)
	sendCmd(t, c, 0, Command{Name: "createStream", TransactionID: 2})
	sendCmd(t, c, 1, Command{Name: "getStreamLength", TransactionID: 3, Args: []any{"cam"}})
	got := readCommands(t, c, 2)
	if got[1].Name != "_result" || got[1].TransactionID != 3 || len(got[1].Args) != 1 || got[1].Args[0] != 0.0 {
		t.Errorf("getStreamLength answered %+v, want _result(3, null, 0)", got[1])
	}
}

// TestServerPlaySequence: a play is answered StreamBegin, Play.Reset,
// Play.Start and |RtmpSampleAccess, in that order, and no Data.Start.
func TestServerPlaySequence(t *testing.T) {
	h := &memHandler{published: map[string][]Media{"live/cam": {{Type: TypeAudio, Payload: []byte{0xaf, 1}}}}}
	base := startServer(t, ServerConfig{Handler: h}, nil)
	c := connectRaw(t, base)
	sendCmd(t, c, 0, Command{Name: "createStream", TransactionID: 2})
	sendCmd(t, c, 1, Command{Name: "play", Args: []any{"cam"}})
	var seq []string
	for len(seq) < 6 {
		m, err := c.ReadMessage(context.Background())
		if err != nil {
			t.Fatalf("%v after %v", err, seq)
		}
		switch m.Type {
		case TypeUserControl:
			u, _ := ParseUserControl(m.Payload)
			seq = append(seq, u.Event.String())
		case TypeCommandAMF0, TypeDataAMF0:
			vs, err := amf0.DecodeAll(m.Payload)
			if err != nil {
				t.Fatal(err)
			}
			s := fmt.Sprint(vs[0])
			for _, v := range vs {
				if o, ok := v.(amf0.Object); ok {
					s += " " + o.String("code")
				}
			}
			seq = append(seq, s)
		case TypeAudio:
			seq = append(seq, "audio")
		}
	}
	want := "StreamBegin onStatus NetStream.Play.Reset onStatus NetStream.Play.Start |RtmpSampleAccess audio"
	if strings.Join(seq[1:], " ") != want {
		t.Errorf("play sequence %q, want %q", strings.Join(seq[1:], " "), want)
	}
}

// TestServerLongNames: a 1 MB app, tcUrl or stream name is refused with a
// status naming the limit, and no log line grows with it.
func TestServerLongNames(t *testing.T) {
	var logs syncbuf.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	base := startServer(t, ServerConfig{Handler: &memHandler{}, Logger: logger}, nil)
	huge := strings.Repeat("x", 1<<20)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	for _, field := range []string{"app", "tcUrl"} {
		c, _ := rawSession(t, base)
		obj := amf0.Object{{Key: "app", Value: "live"}, {Key: "tcUrl", Value: "rtmp://h/live"}}
		for i := range obj {
			if obj[i].Key == field {
				obj[i].Value = huge
			}
		}
		sendCmd(t, c, 0, Command{Name: "connect", TransactionID: 1, Object: obj})
		cmds, _ := readUntilClosed(t, c)
		if len(cmds) != 1 || cmds[0].Name != "_error" {
			t.Fatalf("connect with a 1 MB %s answered %+v", field, cmds)
		}
		if _, code, desc := statusCode(cmds[0]); code != CodeConnectRejected || !strings.Contains(desc, "4096") {
			t.Errorf("connect with a 1 MB %s: %s %q", field, code, desc)
		}
	}

	for _, play := range []bool{false, true} {
		cl, err := Dial(ctx, base+"/live/"+huge, ClientConfig{})
		if err != nil {
			t.Fatal(err)
		}
		if play {
			err = cl.Play(ctx)
		} else {
			err = cl.Publish(ctx)
		}
		cl.Close()
		var se *StatusError
		if !errors.As(err, &se) || !errors.Is(err, ErrRejected) || !strings.Contains(se.Description, "name too long") {
			t.Errorf("play=%v with a 1 MB name: %v", play, err)
		}
		if len(err.Error()) > 1024 {
			t.Errorf("error text of %d bytes", len(err.Error()))
		}
	}

	c := connectRaw(t, base)
	sendCmd(t, c, 0, Command{Name: huge, TransactionID: 2})
	sendCmd(t, c, 0, Command{Name: "FCPublish", TransactionID: 3, Args: []any{huge}})
	if got := readCommands(t, c, 1); got[0].Name != "_error" || got[0].TransactionID != 3 {
		t.Errorf("FCPublish with a 1 MB name answered %+v", got[0])
	}

	out := logs.String()
	for _, line := range strings.Split(out, "\n") {
		if len(line) > 1500 {
			t.Errorf("log line of %d bytes: %.300s...", len(line), line)
		}
	}
	if !strings.Contains(out, "ignored command") || !strings.Contains(out, "publish rejected") {
		t.Errorf("expected log lines missing:\n%.3000s", out)
	}
}

// TestStatusErrorIs: the typed status error matches ErrRejected and the
// sentinel of its code.
func TestStatusErrorIs(t *testing.T) {
	cases := []struct {
		code string
		is   error
	}{
		{CodePublishUnauthorized, ErrUnauthorized},
		{CodePlayUnauthorized, ErrUnauthorized},
		{CodePublishBadName, ErrBadName},
		{CodePlayStreamNotFound, ErrStreamNotFound},
	}
	for _, c := range cases {
		err := fmt.Errorf("wrapped: %w", &StatusError{Command: "publish", Level: LevelError, Code: c.code})
		if !errors.Is(err, ErrRejected) || !errors.Is(err, c.is) {
			t.Errorf("%s: errors.Is ErrRejected %v, %v %v", c.code, errors.Is(err, ErrRejected), c.is, errors.Is(err, c.is))
		}
		var se *StatusError
		if !errors.As(err, &se) || se.Code != c.code {
			t.Errorf("%s: errors.As gives %+v", c.code, se)
		}
	}
	if errors.Is(&StatusError{Code: CodePlayFailed}, ErrUnauthorized) {
		t.Error("Play.Failed matches ErrUnauthorized")
	}
}

// TestClientStatusErrors: a refused publish and play come back as
// *StatusError with the server's code; a connect refused as well.
func TestClientStatusErrors(t *testing.T) {
	h := &memHandler{rejectPub: fmt.Errorf("busy: %w", ErrBadName), rejectPlay: fmt.Errorf("gone: %w", ErrStreamNotFound)}
	base := startServer(t, ServerConfig{Handler: h}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, play := range []bool{false, true} {
		cl, err := Dial(ctx, base+"/live/x", ClientConfig{})
		if err != nil {
			t.Fatal(err)
		}
		want, sentinel := CodePublishBadName, ErrBadName
		if play {
			err = cl.Play(ctx)
			want, sentinel = CodePlayStreamNotFound, ErrStreamNotFound
		} else {
			err = cl.Publish(ctx)
		}
		cl.Close()
		var se *StatusError
		if !errors.As(err, &se) || se.Code != want || se.Level != LevelError || !errors.Is(err, sentinel) {
			t.Errorf("play=%v: %v (%+v)", play, err, se)
		}
	}
	// connect refused by a server: _error with NetConnection.Connect.Rejected.
	_, err := Dial(ctx, base+"/"+strings.Repeat("a", MaxNameLength+1)+"/x", ClientConfig{})
	var se *StatusError
	if !errors.As(err, &se) || se.Code != CodeConnectRejected || se.Command != "connect" || !errors.Is(err, ErrRejected) {
		t.Errorf("connect with a long app: %v", err)
	}
}

// TestClientTimeoutIsNetError: a read that times out satisfies net.Error
// with Timeout() true, and a cancelled context is not a timeout.
func TestClientTimeoutIsNetError(t *testing.T) {
	h := &memHandler{}
	base := startServer(t, ServerConfig{Handler: h}, nil)
	cl, err := Dial(context.Background(), base+"/live/x", ClientConfig{Conn: ConnConfig{ReadTimeout: 100 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.Publish(context.Background()); err != nil {
		t.Fatal(err)
	}
	var ne net.Error
	// Drain what the server sent, then wait for nothing.
	for i := 0; i < 10; i++ {
		if _, err = cl.Conn().ReadMessage(context.Background()); err != nil {
			break
		}
	}
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("read timeout %v is not a net.Error timeout", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = cl.ReadMedia(ctx)
	if !errors.Is(err, context.Canceled) || (errors.As(err, &ne) && ne.Timeout()) {
		t.Errorf("cancelled read: %v", err)
	}
}
