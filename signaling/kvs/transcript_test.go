package kvs

import (
	"flag"
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

// TestTranscripts plays every golden transcript (testdata/transcripts/*.txt
// in internal/transcript's format, taken from signaling.md §3) against a
// fresh server and compares every answer and frame byte for byte; -update
// rewrites the answers and frames received.
func TestTranscripts(t *testing.T) {
	transcript.Play(t, "testdata/transcripts/*.txt", *update, runTranscript)
}

// runTranscript plays steps and returns their lines with the server's
// answers.
func runTranscript(t *testing.T, steps []transcript.Step) []string {
	clk := newFakeClock()
	minter, err := turnrest.New(turnrest.Config{Secrets: []string{"s3cret"}, TTL: 300 * time.Second,
		URIs: []string{"turn:127.0.0.1:3478?transport=udp", "stun:127.0.0.1:3478"}, Now: clk.Now})
	require.NoError(t, err)
	h := newHarness(t, Config{Clock: clk, ICE: minter, PublicURL: "https://kvs.example.com",
		Rand: strings.NewReader(strings.Repeat("\x01", 1<<12))})
	h.clock = clk
	var out []string
	var arn string
	sockets := map[string]*ws{}
	status, body := 0, ""
	for _, s := range steps {
		line := s.Text
		where := "line " + strconv.Itoa(s.Line) + ": " + line
		party, verb, arg := s.Party, s.Verb, s.Arg
		switch {
		case party == "POST":
			status, body = h.call(verb, arg)
			if strings.HasPrefix(body, `{"ChannelARN":"`) {
				arn = strings.TrimSuffix(strings.TrimPrefix(body, `{"ChannelARN":"`), `"}`)
			}
		case party == "=>":
			code, want, _ := strings.Cut(arg, " ")
			assert.Equal(t, code, strconv.Itoa(status), where)
			assert.Equal(t, want, body, where)
			line = "=> " + strconv.Itoa(status) + " " + body
		case verb == "open":
			role, id, _ := strings.Cut(arg, " ")
			if role == "master" {
				id = ""
			}
			sockets[party] = h.dial(h.wsURL(arn, id))
			h.waitOpen(len(sockets))
		case verb == "send":
			h.sendFrame(sockets[party], arg)
		case verb == "recv":
			got := sockets[party].recv()
			assert.Equal(t, arg, got, where)
			line = party + " recv " + got
		case verb == "quiet":
			sockets[party].quiet(100 * time.Millisecond)
		default:
			t.Fatalf("%s: unknown step", where)
		}
		out = append(out, line)
	}
	return out
}
