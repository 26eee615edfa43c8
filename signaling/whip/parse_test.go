package whip

import (
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

func TestParseResource(t *testing.T) {
	id := strings.Repeat("A", idLen)
	for _, tc := range []struct {
		rest   string
		stream Stream
		id     string
		bad    bool
	}{
		{"live/cam", Stream{"live", "cam"}, "", false},
		{"live/cam/", Stream{"live", "cam"}, "", false},
		{"live/cam/" + id, Stream{"live", "cam"}, id, false},
		{"li%20ve/c%C3%A4m", Stream{"li ve", "cäm"}, "", false},
		{"live/" + strings.Repeat("n", MaxNameLen), Stream{"live", strings.Repeat("n", MaxNameLen)}, "", false},
		{"live/" + strings.Repeat("n", MaxNameLen+1), Stream{}, "", true},
		{"live", Stream{}, "", true},
		{"", Stream{}, "", true},
		{"/cam", Stream{}, "", true},
		{"live//", Stream{}, "", true},
		{"live/cam/" + id + "/", Stream{}, "", true},
		{"live/cam/" + id[1:], Stream{}, "", true},
		{"live/cam/" + id[1:] + "=", Stream{}, "", true},
		{"live/a%2Fb", Stream{}, "", true},
		{"live/..", Stream{}, "", true},
		{"live/%2E", Stream{}, "", true},
		{"live/a%00b", Stream{}, "", true},
		{"live/%ff", Stream{}, "", true},
		{"live/%zz", Stream{}, "", true},
	} {
		s, id, err := parseResource(tc.rest)
		if s != tc.stream || id != tc.id || (err != nil) != tc.bad {
			t.Errorf("parseResource(%q) = %+v, %q, %v; want %+v, %q, error %v", tc.rest, s, id, err, tc.stream, tc.id, tc.bad)
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
