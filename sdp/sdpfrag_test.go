package sdp

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// whipFrag is the trickle example of RFC 9725 §4.3.2 (draft-16 text).
const whipFrag = "a=group:BUNDLE 0 1\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" +
	"a=mid:0\r\n" +
	"a=ice-ufrag:EsAw\r\n" +
	"a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\n" +
	"a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 ufrag EsAw network-id 1\r\n" +
	"a=end-of-candidates\r\n"

func TestParseSDPFragWHIP(t *testing.T) {
	f, err := ParseSDPFrag([]byte(whipFrag))
	require.NoError(t, err)
	assert.Equal(t, []string{"0", "1"}, f.Bundle)
	require.Len(t, f.Media, 1)
	m := &f.Media[0]
	assert.Equal(t, "audio 9 UDP/TLS/RTP/SAVPF 111", m.MediaLine)
	assert.Equal(t, "0", m.Mid)
	ufrag, pwd := f.Credentials(m)
	assert.Equal(t, "EsAw", ufrag)
	assert.Equal(t, "P2uYro0UCOQ4zxjKXaWCBui1", pwd)
	assert.Equal(t, []string{"1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 ufrag EsAw network-id 1"}, m.Candidates)
	assert.True(t, m.EndOfCandidates)

	// Written back, the media part reads the same.
	again, err := ParseSDPFrag(f.AppendTo(nil))
	require.NoError(t, err)
	assert.Equal(t, f, again)
}

// TestSDPFragRestart is a server's answer to an ICE restart (RFC 9725 §4.3.3):
// session-level credentials, ice-lite and options, LF line endings accepted.
func TestSDPFragRestart(t *testing.T) {
	in := &SDPFrag{
		ICELite: true, ICEOptions: []string{"trickle"}, Ufrag: "newU", Pwd: "newPasswordPasswordPass",
		Media: []FragMedia{{MediaLine: "video 9 UDP/TLS/RTP/SAVPF 96", Mid: "v",
			Candidates: []string{"1 1 udp 2130706431 192.0.2.10 8443 typ host"}, EndOfCandidates: true}},
	}
	b := in.AppendTo([]byte("prefix"))
	require.True(t, strings.HasPrefix(string(b), "prefixa=ice-lite\r\na=ice-options:trickle\r\na=ice-ufrag:newU\r\n"))
	out, err := ParseSDPFrag([]byte(strings.ReplaceAll(string(b[len("prefix"):]), "\r\n", "\n")))
	require.NoError(t, err)
	assert.Equal(t, in, out)
	u, p := out.Credentials(&out.Media[0])
	assert.Equal(t, "newU", u)
	assert.Equal(t, "newPasswordPasswordPass", p)

	// A session-level end-of-candidates ends every m-section.
	out, err = ParseSDPFrag([]byte("m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n"))
	require.NoError(t, err)
	assert.False(t, out.Media[1].EndOfCandidates)

	// medooze whep.js before 2024 writes its m= lines without a port.
	out, err = ParseSDPFrag([]byte("a=ice-ufrag:EsAw\r\na=ice-pwd:bP+XJMM09aR8AiX1jdukzR6Y\r\nm=video RTP/AVP 0\r\na=mid:0\r\na=candidate:1 1 udp 2122260223 192.0.2.5 61665 typ host\r\n"))
	require.NoError(t, err)
	assert.Equal(t, "video RTP/AVP 0", out.Media[0].MediaLine)
	assert.Len(t, out.Media[0].Candidates, 1)
}

func TestParseSDPFragErrors(t *testing.T) {
	for _, tc := range []struct {
		name, frag, msg string
	}{
		{"no type", "hello\r\n", "line 1"},
		{"session line", "v=0\r\n", "unexpected"},
		{"empty m line", "m= \r\na=mid:0\r\n", "empty m= line"},
		{"candidate before m", "a=candidate:1 1 udp 1 192.0.2.1 1 typ host\r\n", "before any m="},
		{"mid before m", "a=mid:0\r\n", "before any m="},
		{"m without mid", "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=candidate:1 1 udp 1 192.0.2.1 1 typ host\r\n", "no a=mid"},
		{"m without mid then m", "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n", "no a=mid"},
		{"short candidate", "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=candidate:1 1 udp 1 192.0.2.1\r\n", "fields"},
		{"bad component", "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=candidate:1 0 udp 1 192.0.2.1 1 typ host\r\n", "component"},
		{"bad priority", "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=candidate:1 1 udp x 192.0.2.1 1 typ host\r\n", "priority"},
		{"bad port", "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=candidate:1 1 udp 1 192.0.2.1 70000 typ host\r\n", "port"},
		{"no typ", "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=candidate:1 1 udp 1 192.0.2.1 1 type host\r\n", "typ"},
		{"bad foundation", "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=candidate:a;b 1 udp 1 192.0.2.1 1 typ host\r\n", "foundation"},
		{"ufrag without pwd", "a=ice-ufrag:abcd\r\n", "together"},
		{"media ufrag without pwd", "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=ice-ufrag:abcd\r\n", "together"},
		{"bad ufrag chars", "a=ice-ufrag:a b\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n", "ice-ufrag"},
		{"empty mid", "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:\r\n", "empty a=mid"},
	} {
		_, err := ParseSDPFrag([]byte(tc.frag))
		require.ErrorIs(t, err, ErrBadSDPFrag, tc.name)
		assert.Contains(t, err.Error(), tc.msg, tc.name)
	}
	_, err := ParseSDPFrag(make([]byte, MaxSize+1))
	assert.ErrorIs(t, err, ErrTooLarge)
	f, err := ParseSDPFrag(nil)
	require.NoError(t, err)
	assert.Empty(t, f.Media)
}

// TestSDPFragNil: a nil fragment writes nothing and has no credentials, and
// Credentials(nil) falls back to the session level, instead of panicking.
func TestSDPFragNil(t *testing.T) {
	var nilFrag *SDPFrag
	if b := nilFrag.AppendTo([]byte("x")); string(b) != "x" {
		t.Errorf("nil AppendTo = %q, want the input unchanged", b)
	}
	if u, p := nilFrag.Credentials(nil); u != "" || p != "" {
		t.Errorf("nil Credentials(nil) = %q, %q", u, p)
	}
	if u, p := nilFrag.Credentials(&FragMedia{Ufrag: "mUfr", Pwd: "mPwd"}); u != "mUfr" || p != "mPwd" {
		t.Errorf("nil Credentials(m) = %q, %q; want m's own", u, p)
	}
	f := &SDPFrag{Ufrag: "sUfr", Pwd: "sPwd"}
	if u, p := f.Credentials(nil); u != "sUfr" || p != "sPwd" {
		t.Errorf("Credentials(nil) = %q, %q; want the session level's", u, p)
	}
}
