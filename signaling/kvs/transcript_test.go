package kvs

import (
	"bufio"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamwire/streamwire/turnrest"
)

var update = flag.Bool("update", false, "rewrite the answers in testdata/transcripts with the server's")

// TestTranscripts plays every golden transcript (testdata/transcripts/*.txt,
// taken from signaling.md §3) against a fresh server and compares every
// answer and frame byte for byte; -update rewrites the answers and frames
// received.
func TestTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/transcripts/*.txt")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			got := runTranscript(t, string(b))
			if *update {
				require.NoError(t, os.WriteFile(f, []byte(got), 0o644))
			}
		})
	}
}

// runTranscript plays text and returns it with the server's answers.
func runTranscript(t *testing.T, text string) string {
	clk := newFakeClock()
	minter, err := turnrest.New(turnrest.Config{Secrets: []string{"s3cret"}, TTL: 300 * time.Second,
		URIs: []string{"turn:127.0.0.1:3478?transport=udp", "stun:127.0.0.1:3478"}, Now: clk.Now})
	require.NoError(t, err)
	h := newHarness(t, Config{Clock: clk, ICE: minter, PublicURL: "https://kvs.example.com",
		Rand: strings.NewReader(strings.Repeat("\x01", 1<<12))})
	h.clock = clk
	var out strings.Builder
	var arn string
	sockets := map[string]*ws{}
	status, body := 0, ""
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		where := "line " + strconv.Itoa(n) + ": " + line
		party, rest, _ := strings.Cut(line, " ")
		verb, arg, _ := strings.Cut(rest, " ")
		switch {
		case line == "" || line[0] == '#':
		case party == "POST":
			op, reqBody, _ := strings.Cut(rest, " ")
			status, body = h.call(op, reqBody)
			if strings.HasPrefix(body, `{"ChannelARN":"`) {
				arn = strings.TrimSuffix(strings.TrimPrefix(body, `{"ChannelARN":"`), `"}`)
			}
		case party == "=>":
			assert.Equal(t, verb, strconv.Itoa(status), where)
			assert.Equal(t, arg, body, where)
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
		out.WriteString(line + "\n")
	}
	return out.String()
}
