package apprtc

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/streamwire/streamwire/internal/wstest"

	"github.com/streamwire/streamwire/internal/transcript"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"
)

// FuzzAppendJSONString: appendJSONString writes what encoding/json
// writes, for any string, and appendServerFrame what json.Encoder writes.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range transcript.Steps(f, transcripts) {
		f.Add(s.Arg)
	}
	f.Add("<>&\u2028\u2029\x00\x1f\b\f\n\r\t\"\\\xff\xc3")
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		require.NoError(t, err)
		require.Equal(t, string(want), string(appendJSONString(nil, s)))
		require.Equal(t, serverFrame(s, s), string(appendServerFrame(nil, s, s)))
	})
}

// FuzzDecodeClientFrame: any bytes decode to a frame or to an error whose
// text goes after Collider's prefix; a decoded frame survives a round trip.
func FuzzDecodeClientFrame(f *testing.F) {
	for _, s := range transcript.Steps(f, transcripts) {
		if s.Verb == "send" {
			f.Add([]byte(s.Arg))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeClientFrame(b)
		if err != nil {
			require.NotEmpty(t, err.Error())
			return
		}
		again, err := json.Marshal(m)
		require.NoError(t, err)
		m2, err := decodeClientFrame(again)
		require.NoError(t, err)
		require.Equal(t, m, m2)
	})
}

// FuzzRoomRequest: any method, path, query and body sent to the Server's
// handler (no network) gets an answer of a known status, and every JSON
// answer parses; the seeds are the transcripts' requests.
func FuzzRoomRequest(f *testing.F) {
	for _, s := range transcript.Steps(f, transcripts) {
		switch s.Verb {
		case "GET", "POST", "DELETE", "OPTIONS":
			path, body, _ := strings.Cut(s.Arg, " ")
			f.Add(s.Verb, path, body)
		}
	}
	srv, err := New(Config{RegisterTimeout: time.Minute, Rand: &ids{}})
	require.NoError(f, err)
	f.Cleanup(func() { _ = srv.Close() })
	allowed := map[int]bool{200: true, 400: true, 404: true, 405: true, 413: true, 500: true, 301: true, 307: true, 308: true, 426: true}
	f.Fuzz(func(t *testing.T, method, target, body string) {
		if !strings.HasPrefix(target, "/") {
			target = "/" + target
		}
		req, err := http.NewRequest(method, "http://host"+target, strings.NewReader(body))
		if err != nil || strings.HasSuffix(req.URL.Path, "/ws") {
			return // not a request a client can send; or the WebSocket (FuzzFrames)
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		require.True(t, allowed[w.Code], "status %d for %s %q", w.Code, method, target)
		if w.Header().Get("Content-Type") == "application/json" {
			require.True(t, json.Valid(w.Body.Bytes()), "invalid JSON %q", w.Body.String())
		}
		require.True(t, utf8.Valid(w.Body.Bytes()) || w.Code == 200)
	})
}

// FuzzFrames: frames sent on a real Collider WebSocket, before and after
// a register, are answered with well-formed frames (both keys, final
// newline) and errors Collider knows; nothing panics or hangs.
func FuzzFrames(f *testing.F) {
	for _, s := range transcript.Steps(f, transcripts) {
		if s.Verb == "send" {
			f.Add(true, []byte(s.Arg))
			f.Add(false, []byte(s.Arg))
		}
	}
	h := newHarness(f, Config{MaxMessageBytes: 4096, ReconnectGrace: time.Millisecond}, nil)
	f.Fuzz(func(t *testing.T, register bool, frame []byte) {
		w := wstest.Wrap(t, dial(t, h))
		defer w.C.CloseNow()
		if register {
			w.Register("fuzz", "c")
		}
		w.Send(string(frame))
		for {
			got, err := w.Read(200 * time.Millisecond)
			if err != nil {
				return // closed by the server, or nothing more to read
			}
			require.True(t, strings.HasSuffix(got, "}\n"), "%q", got)
			var m map[string]string
			require.NoError(t, json.Unmarshal([]byte(got), &m), "%q", got)
			require.Len(t, m, 2, "%q", got)
			_, hasMsg := m["msg"]
			e, hasErr := m["error"]
			require.True(t, hasMsg && hasErr, "%q", got)
			if e != "" {
				require.True(t, knownError(e), "unknown error %q", e)
			}
		}
	})
}

// dial opens a WebSocket to h for a fuzz run, cleaned up with it.
func dial(t *testing.T, h *harness) *websocket.Conn {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+h.addr+ColliderPrefix+"/ws", nil)
	require.NoError(t, err)
	return c
}

// knownError reports whether e is an error text of Collider (or of ours
// for limits Collider did not have).
func knownError(e string) bool {
	switch e {
	case textDuplicatedRegister, textInvalidRegister, textBadRegisterIDs, textRoomCapacity, textDuplicatedRegistrat,
		textNotRegistered, textMissingMsg, textUnexpectedCmd, textQueueFull, textMessageTooLarge, textFrameTooLarge, textRateExceeded:
		return true
	}
	return strings.HasPrefix(e, textReceivePrefix)
}
