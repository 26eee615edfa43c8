package sdp

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/streamwire/streamwire/dtlsparams"
)

// chromeManyVideo builds a Chromium 156 offer with n video m-sections, as a
// browser subscribing to n video tracks from an SFU sends: each section is a
// copy of the recorded video section (about 5.5 KB) with its own mid.
func chromeManyVideo(t *testing.T, n int) []byte {
	t.Helper()
	offer := string(readOffer(t, "chromium156_sendrecv.sdp"))
	first := strings.Index(offer, "m=")
	video := strings.Index(offer, "m=video")
	head, section := offer[:first], offer[video:]
	mids := make([]string, n)
	var b strings.Builder
	for i := range n {
		mids[i] = strconv.Itoa(i)
		b.WriteString(strings.Replace(section, "a=mid:1\r\n", "a=mid:"+mids[i]+"\r\n", 1))
	}
	head = strings.Replace(head, "a=group:BUNDLE 0 1", "a=group:BUNDLE "+strings.Join(mids, " "), 1)
	return []byte(head + b.String())
}

// TestManyVideoSections answers a 64-section offer of about 350 KB, above the
// former 256 KiB MaxSize.
func TestManyVideoSections(t *testing.T) {
	offer := chromeManyVideo(t, 64)
	if len(offer) <= 256<<10 {
		t.Fatalf("offer of %d bytes does not exceed the old limit", len(offer))
	}
	sess, err := Answer(offer, testConfig())
	if err != nil {
		t.Fatalf("Answer of %d bytes: %v", len(offer), err)
	}
	if len(sess.Sections) != 64 || sess.Sections[0].Rejected {
		t.Fatalf("%d sections, first %s", len(sess.Sections), summary(&sess.Sections[0]))
	}
	if _, err := Answer(make([]byte, MaxSize+1), testConfig()); !errors.Is(err, ErrTooLarge) {
		t.Errorf("MaxSize+1: %v", err)
	}
}

// TestRemoteTransportValues answers offers carrying the longest ICE
// credentials RFC 8839 §5.4 allows, every fingerprint hash of RFC 8122's
// registry in upper and lower case hex, and a=setup with trailing blanks.
func TestRemoteTransportValues(t *testing.T) {
	base := string(readOffer(t, "chromium156_sendrecv.sdp"))
	ufrag, pwd := strings.Repeat("U", 256), strings.Repeat("p+/9", 64)
	long := strings.ReplaceAll(base, "a=ice-ufrag:jSD6", "a=ice-ufrag:"+ufrag)
	long = replaceAttr(long, "a=ice-pwd:", pwd)
	sess, err := Answer([]byte(long), testConfig())
	if err != nil {
		t.Fatal(err)
	}
	if s := sess.Sections[0]; s.RemoteUfrag != ufrag || s.RemotePwd != pwd {
		t.Errorf("ufrag %d chars, pwd %d chars", len(s.RemoteUfrag), len(s.RemotePwd))
	}

	for alg, n := range map[string]int{"sha-1": 20, "SHA-224": 28, "sha-256": 32, "sha-384": 48, "SHA-512": 64} {
		for _, hex := range []string{"ab", "AB"} {
			v := strings.TrimSuffix(strings.Repeat(hex+":", n), ":")
			offer := replaceAttr(base, "a=fingerprint:", alg+" "+v)
			sess, err := Answer([]byte(offer), testConfig())
			if err != nil {
				t.Fatalf("%s %s: %v", alg, hex, err)
			}
			if f := sess.Sections[0].RemoteFingerprints[0]; f.String() != strings.ToLower(alg)+" "+strings.ToUpper(v) {
				t.Errorf("%s: got %+v", alg, f)
			}
		}
	}

	padded := strings.ReplaceAll(base, "a=setup:actpass\r\n", "a=setup:ACTPASS \r\n")
	if _, err := Answer([]byte(padded), testConfig()); err != nil {
		t.Errorf("a=setup with upper case and a trailing blank: %v", err)
	}
}

// replaceAttr replaces the value of every line starting with prefix.
func replaceAttr(sdp, prefix, value string) string {
	lines := strings.Split(sdp, "\r\n")
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			lines[i] = prefix + value
		}
	}
	return strings.Join(lines, "\r\n")
}

// TestSDPFragSpecLines parses fragments with lines RFC 8840's grammar allows
// that the parser used to refuse: c= and b= lines in an m-section, the "typ"
// literal in upper case, and 256-character credentials.
func TestSDPFragSpecLines(t *testing.T) {
	ufrag, pwd := strings.Repeat("u", 256), strings.Repeat("P", 256)
	frag := "a=ice-ufrag:" + ufrag + "\r\na=ice-pwd:" + pwd + "\r\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\nb=AS:64\r\na=mid:0\r\n" +
		"a=candidate:1 1 UDP 2130706431 192.0.2.1 5000 TYP host\r\n"
	f, err := ParseSDPFrag([]byte(frag))
	if err != nil {
		t.Fatal(err)
	}
	if f.Ufrag != ufrag || f.Pwd != pwd || len(f.Media) != 1 || len(f.Media[0].Candidates) != 1 {
		t.Errorf("parsed %+v", f)
	}
	if _, err := ParseSDPFrag([]byte("v=0\r\n")); !errors.Is(err, ErrBadSDPFrag) {
		t.Errorf("a v= line: %v", err)
	}
}

// TestConfigICECredentials checks that local credentials outside RFC 8839
// §5.4 fail with ErrConfig instead of producing SDP peers refuse.
func TestConfigICECredentials(t *testing.T) {
	for _, c := range []struct{ ufrag, pwd string }{
		{"abc", ""}, {"bad ufrag", ""}, {"", "tooShortPassword"}, {"", strings.Repeat("p", 257)},
	} {
		cfg := testConfig()
		cfg.ICEUfrag, cfg.ICEPwd = c.ufrag, c.pwd
		if _, err := Offer(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("ufrag %q pwd %q: %v", c.ufrag, c.pwd, err)
		}
	}
	cfg := testConfig()
	cfg.ICEUfrag, cfg.ICEPwd = strings.Repeat("u", 256), strings.Repeat("p", 256)
	if _, err := Offer(cfg); err != nil {
		t.Errorf("256-character credentials: %v", err)
	}
}

// TestZeroValues checks that the zero value of each exported type works or
// fails with a clear error, never a nil dereference.
func TestZeroValues(t *testing.T) {
	offer := readOffer(t, "chromium156_sendrecv.sdp")
	if _, err := Answer(offer, &Config{}); !errors.Is(err, ErrNoFingerprint) {
		t.Errorf("zero Config: %v", err)
	}
	if _, err := Answer(offer, nil); !errors.Is(err, ErrNoFingerprint) {
		t.Errorf("nil Config: %v", err)
	}
	if _, err := Offer(nil); !errors.Is(err, ErrNoFingerprint) {
		t.Errorf("Offer(nil): %v", err)
	}
	if _, err := (&LocalOffer{}).Accept(offer); !errors.Is(err, ErrAnswerMismatch) {
		t.Errorf("zero LocalOffer: %v", err)
	}
	if _, err := AnswerDescription(nil, &Config{Fingerprints: []dtlsparams.Fingerprint{testFingerprint}}); !errors.Is(err, ErrParse) {
		t.Errorf("nil description: %v", err)
	}
	var f SDPFrag
	if got := f.AppendTo(nil); len(got) != 0 {
		t.Errorf("zero SDPFrag wrote %q", got)
	}
	if u, p := f.Credentials(&FragMedia{}); u != "" || p != "" {
		t.Error("zero SDPFrag has credentials")
	}
	if (&Session{}).Section("0") != nil {
		t.Error("zero Session has a section")
	}
	cfg := &Config{Fingerprints: []dtlsparams.Fingerprint{testFingerprint}}
	sess, err := Answer(offer, cfg)
	if err != nil {
		t.Fatalf("Config with only Fingerprints: %v", err)
	}
	if s := sess.Sections[0]; len(s.Extensions) == 0 || sess.LocalUfrag == "" {
		t.Errorf("defaults not applied: %+v", s)
	}
}

// TestErrorTextBounded checks that remote text quoted in an error, which
// callers log, is bounded: a 512 KB a=setup value, mid and malformed line.
func TestErrorTextBounded(t *testing.T) {
	huge := strings.Repeat("z", 512<<10)
	base := string(readOffer(t, "chromium156_sendrecv.sdp"))
	for name, offer := range map[string]string{
		"setup":     strings.ReplaceAll(base, "a=setup:actpass", "a=setup:"+huge),
		"mid":       strings.ReplaceAll(replaceAttr(base, "a=ice-ufrag:", ""), "a=mid:0", "a=mid:"+huge),
		"bad line":  "v=0\r\no=" + huge + "\r\n",
		"bad media": strings.Replace(base, "m=audio 33494", "m=audio "+huge, 1),
	} {
		_, err := Answer([]byte(offer), testConfig())
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if n := len(err.Error()); n > 512 {
			t.Errorf("%s: error text of %d bytes", name, n)
		}
	}
	_, err := ParseSDPFrag([]byte("m=audio 9 x 0\r\na=mid:" + huge + "\r\na=ice-ufrag:abcd\r\n"))
	if err == nil || len(err.Error()) > 512 {
		t.Errorf("sdpfrag: %d bytes: %v", len(err.Error()), err != nil)
	}
}
