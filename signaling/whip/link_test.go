package whip

import (
	"errors"
	"reflect"
	"testing"

	"github.com/streamwire/streamwire/turnrest"
)

func TestParseLinks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string
		want  []Link
	}{
		{"RFC 9725 §4.6 example", []string{
			`<stun:stun.example.net>; rel="ice-server"`,
			`<turn:turn.example.net?transport=udp>; rel="ice-server"; username="user"; credential="myPassword"; credential-type="password"`,
		}, []Link{
			{Target: "stun:stun.example.net", Rel: []string{"ice-server"}},
			{Target: "turn:turn.example.net?transport=udp", Rel: []string{"ice-server"}, Params: []LinkParam{
				{"username", "user"}, {"credential", "myPassword"}, {"credential-type", "password"}}},
		}},
		{"comma-joined, as a browser's headers.get gives them", []string{
			`<stun:a>; rel="ice-server", <turn:b>; rel=ice-server; username="u,1"; credential="p;2"`,
		}, []Link{
			{Target: "stun:a", Rel: []string{"ice-server"}},
			{Target: "turn:b", Rel: []string{"ice-server"}, Params: []LinkParam{{"username", "u,1"}, {"credential", "p;2"}}},
		}},
		{"RFC 8288 §3.5 examples", []string{
			`<http://example.com/TheBook/chapter2>; rel="previous"; title="previous chapter"`,
			`</>; rel="http://example.net/foo"`,
			`</terms>; rel="copyright"; anchor="#foo"`,
			`<http://example.org/>; rel="start http://example.net/relation/other"`,
		}, []Link{
			{Target: "http://example.com/TheBook/chapter2", Rel: []string{"previous"}, Params: []LinkParam{{"title", "previous chapter"}}},
			{Target: "/", Rel: []string{"http://example.net/foo"}},
			{Target: "/terms", Rel: []string{"copyright"}, Params: []LinkParam{{"anchor", "#foo"}}},
			{Target: "http://example.org/", Rel: []string{"start", "http://example.net/relation/other"}},
		}},
		{"escapes, case, whitespace, second rel ignored, empty elements", []string{
			` , <turn:x> ;REL = "ICE-Server" ; rel="other"; UserName="a\"b\\c" ;; flag ,, `,
		}, []Link{
			{Target: "turn:x", Rel: []string{"ice-server"}, Params: []LinkParam{{"username", `a"b\c`}, {"flag", ""}}},
		}},
		{"empty", []string{"", " , "}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseLinks(tc.lines...)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseLinksErrors(t *testing.T) {
	for _, line := range []string{
		`stun:a; rel="ice-server"`,
		`<stun:a; rel="ice-server"`,
		`<stun:a> rel="ice-server"`,
		`<stun:a>; rel="ice-server`,
		`<stun:a>; ="x"`,
		`<stun:a>; rel=`,
		`<stun:a>; credential:"x"`, // gst-plugins-rs build_link_header's typo
		"<stun:a>; username=\"a\x01b\"",
	} {
		if links, err := ParseLinks(line); !errors.Is(err, ErrBadLink) || links != nil {
			t.Errorf("ParseLinks(%q) = %v, %v; want ErrBadLink", line, links, err)
		}
	}
}

func TestICEServers(t *testing.T) {
	links, err := ParseLinks(
		`<stun:s>; rel="ice-server"`,
		`<turn:t>; rel="ice-server"; username="u"; credential="p"; credential-type="password"`,
		`<turn:o>; rel="ice-server"; username="u"; credential="tok"; credential-type="oauth"`,
		`<https://example.com/>; rel="urn:ietf:params:whip:ext:example"`,
	)
	if err != nil {
		t.Fatal(err)
	}
	want := []ICEServer{{URL: "stun:s"}, {URL: "turn:t", Username: "u", Credential: "p"}}
	if got := ICEServers(links); !reflect.DeepEqual(got, want) {
		t.Errorf("ICEServers = %+v, want %+v", got, want)
	}
}

// TestLinkRoundTrip reads back what the handler writes: turnrest's quoting
// and this package's parsing agree on every credential a TURN REST minter
// makes and on hostile ones.
func TestLinkRoundTrip(t *testing.T) {
	for _, s := range []ICEServer{
		{URL: "stun:stun.example.net:3478"},
		{URL: "turn:t.example:3478?transport=udp", Username: "1700086400:user", Credential: turnrest.Password("s", "1700086400:user")},
		{URL: "turns:t.example:5349?transport=tcp", Username: `we"ird\user, ; x`, Credential: `"quoted"`},
	} {
		links, err := ParseLinks(s.linkValue())
		if err != nil {
			t.Fatalf("%q: %v", s.linkValue(), err)
		}
		if got := ICEServers(links); len(got) != 1 || got[0] != s {
			t.Errorf("%q read back as %+v, want %+v", s.linkValue(), got, s)
		}
	}
}
