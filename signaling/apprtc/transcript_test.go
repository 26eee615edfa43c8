package apprtc

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streamwire/streamwire/internal/transcript"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamwire/streamwire/turnrest"
)

var update = flag.Bool("update", false, "rewrite the answers in testdata/transcripts with the server's")

// A transcript (testdata/transcripts/*.txt, internal/transcript's format)
// is an exchange with the server, one step a line, taken from signaling.md
// §1.2, §1.6 and §1.6b:
//
//	# comment
//	A POST /join/R?query [body]     an HTTP request by party A
//	=> 200 {"result":"SUCCESS"}     its answer: status and exact body
//	A open                          A opens a Collider WebSocket
//	A send {"cmd":"register",...}   A sends a text frame
//	A recv {"msg":"...","error":""}\n   A receives exactly this frame
//	A closed                        the server closes A's socket
//	A close                         A closes its socket
//
// A body or frame ending in the two characters \n ends in a newline; "*"
// as an answer body accepts any body.
const transcripts = "testdata/transcripts/*.txt"

// checkSteps fails on a step whose verb a transcript does not have.
func checkSteps(t *testing.T, steps []transcript.Step) {
	t.Helper()
	for _, s := range steps {
		switch s.Verb {
		case "GET", "POST", "DELETE", "OPTIONS", "=>", "open", "send", "recv", "closed", "close":
		default:
			t.Fatalf("line %d: unknown step %q", s.Line, s.Text)
		}
	}
}

// runTranscript plays steps against h and returns the transcript with the
// server's actual answers, for -update.
func runTranscript(t *testing.T, h *harness, steps []transcript.Step) []string {
	t.Helper()
	checkSteps(t, steps)
	sockets := map[string]*wsClient{}
	open := 0
	var out []string
	var lastStatus int
	var lastBody string
	for _, s := range steps {
		where := fmt.Sprintf("line %d: %s %s", s.Line, s.Party, s.Verb)
		switch s.Verb {
		case "GET", "POST", "DELETE", "OPTIONS":
			path, body, _ := strings.Cut(s.Arg, " ")
			lastStatus, lastBody = h.do(s.Verb, path, body)
			out = append(out, s.Party+" "+s.Verb+" "+s.Arg)
		case "=>":
			want := strings.TrimSpace(s.Arg)
			code, body, _ := strings.Cut(want, " ")
			if body != "*" {
				assert.Equal(t, code, strconv.Itoa(lastStatus), where)
				assert.Equal(t, transcript.UnescapeEnd(body), lastBody, where)
				body = transcript.EscapeEnd(lastBody)
			}
			out = append(out, strings.TrimSpace("=> "+strconv.Itoa(lastStatus)+" "+body))
		case "open":
			sockets[s.Party] = h.dial()
			open++
			out = append(out, s.Party+" open")
		case "send":
			before := h.srv.Stats().Frames
			sockets[s.Party].Send(s.Arg)
			// Frames on different sockets race; the next step starts
			// once the server has handled this one.
			require.Eventually(t, func() bool { return h.srv.Stats().Frames > before }, 5*time.Second, time.Millisecond, where)
			out = append(out, s.Party+" send "+s.Arg)
		case "recv":
			got, err := sockets[s.Party].Read(5 * time.Second)
			require.NoError(t, err, where)
			assert.Equal(t, transcript.UnescapeEnd(s.Arg), got, where)
			out = append(out, s.Party+" recv "+transcript.EscapeEnd(got))
		case "closed":
			sockets[s.Party].ClosedByServer(5 * time.Second)
			open--
			h.waitConns(open)
			out = append(out, s.Party+" closed")
		case "close":
			require.NoError(t, sockets[s.Party].C.Close(1000, ""), where)
			open--
			h.waitConns(open)
			out = append(out, s.Party+" close")
		}
	}
	return out
}

// transcriptHarness is the server the transcripts were written against:
// PublicURL https://host, client ids 11111111, 22222222, ..., and the ICE
// endpoint of examples/server (turnrest, FormatICE) at a fixed time.
func transcriptHarness(t *testing.T) *harness {
	minter, err := turnrest.New(turnrest.Config{
		Secrets: []string{"s3cret"}, TTL: time.Hour,
		URIs: []string{"turn:127.0.0.1:3478?transport=udp", "stun:127.0.0.1:3478"},
		Now:  func() time.Time { return time.Unix(1700000000, 0) },
	})
	require.NoError(t, err)
	return newHarness(t, Config{PublicURL: "https://host"},
		map[string]http.Handler{DefaultICEConfigPath: minter.Handler(turnrest.FormatICE)})
}

// TestTranscripts plays every golden transcript against a fresh server and
// compares every answer and frame byte for byte (-update rewrites them).
func TestTranscripts(t *testing.T) {
	transcript.Play(t, transcripts, *update, func(t *testing.T, steps []transcript.Step) []string {
		return runTranscript(t, transcriptHarness(t), steps)
	})
}

// TestJoinShapeMatchesSignalingMD compares the /join answer of join.txt with
// the example of signaling.md §1.2 (testdata/signaling_md_join.json, the
// example without its comments): the same keys in the same order, the same
// JSON type for every value (is_initiator, pc_config, ... strings holding
// JSON), and the same values but for the placeholders and the Collider's
// path, which is under /collider here.
func TestJoinShapeMatchesSignalingMD(t *testing.T) {
	doc, err := os.ReadFile("testdata/signaling_md_join.json")
	require.NoError(t, err)
	h := transcriptHarness(t)
	_, ours := h.do(http.MethodPost, "/join/abc?wshpp=collider:443&apikey=k", "")
	docKeys, docVals := orderedParams(t, doc)
	ourKeys, ourVals := orderedParams(t, []byte(ours))
	require.Equal(t, docKeys, ourKeys)
	fill := strings.NewReplacer("<orig query>", "wshpp=collider:443&apikey=k", "<apikey>", "k",
		"12345678", "11111111", "collider:443/ws", "collider:443/collider/ws", `"https://collider:443"`, `"https://collider:443/collider"`)
	for _, k := range docKeys {
		assert.JSONEq(t, fill.Replace(string(docVals[k])), string(ourVals[k]), k)
	}
}

// orderedParams returns the keys of the params object of a /join answer in
// order, and their raw values.
func orderedParams(t *testing.T, b []byte) ([]string, map[string]json.RawMessage) {
	t.Helper()
	var outer struct{ Params json.RawMessage }
	require.NoError(t, json.Unmarshal(b, &outer), string(b))
	dec := json.NewDecoder(strings.NewReader(string(outer.Params)))
	_, err := dec.Token()
	require.NoError(t, err)
	var keys []string
	vals := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		require.NoError(t, err)
		var v json.RawMessage
		require.NoError(t, dec.Decode(&v))
		keys = append(keys, tok.(string))
		vals[tok.(string)] = v
	}
	return keys, vals
}
