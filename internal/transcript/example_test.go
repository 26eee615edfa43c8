package transcript_test

import (
	"fmt"

	"github.com/streamwire/streamwire/internal/transcript"
)

// A transcript's steps, and the same text with a new answer written in.
func ExampleParse() {
	text := "# join, then a message\nA POST /join/r\n=> {\"result\":\"SUCCESS\"}\n"
	steps, err := transcript.Parse(text)
	if err != nil {
		panic(err)
	}
	for _, s := range steps {
		fmt.Printf("line %d: %s %s %s\n", s.Line, s.Party, s.Verb, s.Arg)
	}
	fmt.Print(transcript.Rewrite(text, []string{"A POST /join/r", `=> {"result":"FULL"}`}))
	// Output:
	// line 2: A POST /join/r
	// line 3: => => {"result":"SUCCESS"}
	// # join, then a message
	// A POST /join/r
	// => {"result":"FULL"}
}
