package whip

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestIfMatch(t *testing.T) {
	const cur = `"abc"`
	for _, tc := range []struct {
		lines          []string
		present, match bool
		bad            bool
	}{
		{nil, false, false, false},
		{[]string{""}, false, false, false},
		{[]string{" , "}, false, false, false},
		{[]string{`"abc"`}, true, true, false},
		{[]string{`*`}, true, true, false},
		{[]string{`"*"`}, true, true, false},
		{[]string{`abc`}, true, true, false},
		{[]string{`"x", "abc"`}, true, true, false},
		{[]string{`"x"`, `"abc"`}, true, true, false},
		{[]string{`"x",,"y"`}, true, false, false},
		{[]string{`W/"abc"`}, true, false, false},
		{[]string{`"ABC"`}, true, false, false},
		{[]string{`"abc`}, true, false, true},
		{[]string{`"a"b"`}, true, false, true},
		{[]string{`"abc" "abc"`}, true, false, true},
		{[]string{`W/*`}, true, false, true},
		{[]string{`W/`}, true, false, true},
		{[]string{"\"a\x01\""}, true, false, true},
		{[]string{`**`}, true, false, true},
	} {
		present, match, err := ifMatch(tc.lines, cur)
		if present != tc.present || match != tc.match || (err != nil) != tc.bad {
			t.Errorf("ifMatch(%q) = %v, %v, %v; want %v, %v, error %v", tc.lines, present, match, err, tc.present, tc.match, tc.bad)
		}
	}
}

// TestParseResource: endpoints of one- and several-segment names, session
// URLs when the last segment has an ID's shape and a session of it is
// asked for (isSession), and the paths that name nothing.
func TestParseResource(t *testing.T) {
	id := strings.Repeat("A", idLen)
	hex := strings.Repeat("0123456789abcdef", 2) // a stream key of an ID's shape
	long := strings.Repeat("n", MaxNameLen)
	deep := strings.Repeat("s/", MaxNameSegments-1) + "s" // MaxNameSegments segments
	for _, tc := range []struct {
		rest    string
		session bool // what isSession answers
		stream  Stream
		id      string
		bad     bool
	}{
		{"live/cam", false, Stream{"live", "cam"}, "", false},
		{"live/cam/", false, Stream{"live", "cam"}, "", false},
		{"live/cam/" + id, true, Stream{"live", "cam"}, id, false},
		{"live/cam/" + id, false, Stream{"live", "cam/" + id}, "", false},
		{"live/user/" + hex, false, Stream{"live", "user/" + hex}, "", false},
		{"live/user/" + hex + "/" + id, true, Stream{"live", "user/" + hex}, id, false},
		{"live/" + id, true, Stream{"live", id}, "", false}, // APP/NAME comes first
		{"live/a/b", true, Stream{"live", "a/b"}, "", false},
		{"live/a/b/", false, Stream{"live", "a/b"}, "", false},
		{"live/a/b/c", false, Stream{"live", "a/b/c"}, "", false},
		{"live/cam/" + id + "/", true, Stream{"live", "cam/" + id}, "", false}, // a session URL has no trailing '/'
		{"li%20ve/c%C3%A4m/x%20y", false, Stream{"li ve", "cäm/x y"}, "", false},
		{"live/" + long, false, Stream{"live", long}, "", false},
		{"live/" + long + "/" + long, false, Stream{"live", long + "/" + long}, "", false},
		{deep, false, Stream{"s", deep[2:]}, "", false},
		{deep + "/" + id, true, Stream{"s", deep[2:]}, id, false},
		{deep + "/s", false, Stream{}, "", true},
		{deep + "/s/" + id, true, Stream{}, "", true},
		{"live/" + long + "n", false, Stream{}, "", true},
		{"live/a/" + long + "n", false, Stream{}, "", true},
		{"live", false, Stream{}, "", true},
		{"live/", false, Stream{}, "", true},
		{"", false, Stream{}, "", true},
		{"/cam", false, Stream{}, "", true},
		{"live//", false, Stream{}, "", true},
		{"live//cam", false, Stream{}, "", true},
		{"live/a//b", false, Stream{}, "", true},
		{"live/cam//" + id, true, Stream{}, "", true},
		{"live/a%2Fb", false, Stream{}, "", true},
		{"live/a%2Fb/" + id, true, Stream{}, "", true},
		{"live/..", false, Stream{}, "", true},
		{"live/a/../b", false, Stream{}, "", true},
		{"live/%2E", false, Stream{}, "", true},
		{"live/a%00b", false, Stream{}, "", true},
		{"live/a/b%7F", false, Stream{}, "", true},
		{"live/%ff", false, Stream{}, "", true},
		{"live/%zz", false, Stream{}, "", true},
	} {
		var asked Stream
		s, id, err := parseResource(tc.rest, func(s Stream, id string) bool { asked = s; return tc.session })
		if s != tc.stream || id != tc.id || (err != nil) != tc.bad {
			t.Errorf("parseResource(%q) = %+v, %q, %v; want %+v, %q, error %v", tc.rest, s, id, err, tc.stream, tc.id, tc.bad)
		}
		if id != "" && asked != s {
			t.Errorf("parseResource(%q) asked about the session of %+v, answered %+v", tc.rest, asked, s)
		}
		if err != nil && !errors.Is(err, errPath) {
			t.Errorf("parseResource(%q): %v does not match errPath", tc.rest, err)
		}
	}
}

// TestParseStream: ParseStream reads what EscapedPath writes, and refuses
// what no URL can name, with ErrBadName.
func TestParseStream(t *testing.T) {
	for _, s := range []Stream{{"live", "cam"}, {"live", "a/b"}, {"li ve", "c%m/ä?#"}, {"a", "b/c/d/e"}} {
		got, err := ParseStream(s.EscapedPath())
		if err != nil || got != s {
			t.Errorf("ParseStream(%q) = %+v, %v; want %+v", s.EscapedPath(), got, err, s)
		}
	}
	if got := (Stream{"li ve", "a/b?c"}).EscapedPath(); got != "li%20ve/a/b%3Fc" {
		t.Errorf("EscapedPath = %q", got)
	}
	for _, p := range []string{"", "live", "live/", "/cam", "live//cam", "live/a%2Fb", "live/.", "live/a/..", "live/%01",
		"live/" + strings.Repeat("n", MaxNameLen+1), strings.Repeat("s/", MaxNameSegments) + "s"} {
		if s, err := ParseStream(p); !errors.Is(err, ErrBadName) {
			t.Errorf("ParseStream(%q) = %+v, %v; want ErrBadName", p, s, err)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "1", time.Millisecond: "1", time.Second: "1", 1001 * time.Millisecond: "2", time.Minute: "60"} {
		if got := retryAfterValue(d); got != want {
			t.Errorf("retryAfterValue(%v) = %s, want %s", d, got, want)
		}
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"": 0, "5": 5 * time.Second, " 7 ": 7 * time.Second, "-1": 0, "soon": 0,
		"Fri, 02 Jan 2026 03:04:35 GMT": 30 * time.Second, "Fri, 02 Jan 2026 03:04:00 GMT": 0,
	} {
		if got := parseRetryAfter(v, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestOfferUfrag(t *testing.T) {
	for name, want := range map[string]string{
		"obs30_whip_sendonly.sdp":     "Wd3h",
		"ffmpeg8_whip_sendonly.sdp":   offerUfragFF,
		"chromium156_recvonly.sdp":    "HvqQ",
		"gstreamer_whip_sendonly.sdp": "Yr9J9nVkbgR9O9Vr0Dx8cmeUXWUwbwvl",
	} {
		if got := offerUfrag(readOffer(t, name)); got != want {
			t.Errorf("%s: ufrag %q, want %q", name, got, want)
		}
	}
}
