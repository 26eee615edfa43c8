package dtlsparams

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode"
)

// The a=fingerprint lines of the seed post's offer (one certificate, five
// hash functions) and of a recorded Chrome offer.
var sdpFingerprints = []string{
	"sha-1 F8:68:61:3B:98:6C:E0:45:35:81:CC:50:F6:C2:5E:E6:73:2A:42:FF",
	"sha-224 82:82:24:8C:1D:22:B9:A2:C3:14:D7:EC:B8:9D:69:24:2B:CA:89:55:7E:7B:26:36:A9:7F:A4:5A",
	"sha-256 97:65:BF:A0:69:DE:2F:10:85:1D:E4:B9:36:D5:34:B7:E3:3A:E3:5F:00:2E:29:80:1D:61:6A:A6:7C:86:0A:67",
	"sha-384 0C:47:56:DF:55:58:3E:7F:DD:E4:4F:BA:01:89:B3:7F:7D:6F:EC:59:C0:DC:3C:3D:91:83:EA:64:2B:34:0F:ED:02:BD:19:B9:0A:9E:32:84:79:A5:C5:97:03:57:BF:C3",
	"sha-512 B3:13:3F:36:3A:16:7C:5C:5D:7A:22:4B:EA:9F:50:37:67:69:46:E8:49:24:4E:80:FB:73:F5:7A:13:E2:84:FE:1A:0E:4E:26:B2:D1:9C:0A:10:3C:D8:E5:F1:AF:F1:1D:69:41:F5:C0:87:DC:C5:54:AF:CB:BA:25:D4:CD:3A:BF",
	"sha-256 E0:54:7B:2C:A4:36:15:1A:5D:FE:B6:43:C6:90:CD:7E:96:2B:59:67:A1:A6:85:DF:DB:1E:EB:5E:35:A5:44:41",
}

func TestParseFingerprintRoundTrip(t *testing.T) {
	for _, s := range sdpFingerprints {
		f, err := ParseFingerprint(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if f.String() != s {
			t.Errorf("round trip:\n got %s\nwant %s", f, s)
		}
		if got := string(f.AppendTo([]byte("a=fingerprint:"))); got != "a=fingerprint:"+s {
			t.Errorf("AppendTo = %s", got)
		}
		g, err := NewFingerprint(f.Algorithm(), f.Digest())
		if err != nil || g != f {
			t.Errorf("NewFingerprint(%v) = %v, %v", f.Algorithm(), g, err)
		}
	}
}

// TestParseFingerprintForms feeds every form real peers write, for each of
// the five hash functions: lower and upper case names and hex, mixed case,
// several blanks or a tab between name and digest, and blanks, tabs or the
// CR of a CRLF line around the value. Each must give the canonical value.
func TestParseFingerprintForms(t *testing.T) {
	for _, canonical := range sdpFingerprints[:5] {
		alg, digest, _ := strings.Cut(canonical, " ")
		mixed := []byte(digest)
		for i := range mixed {
			if i%2 == 0 {
				mixed[i] = byte(unicode.ToLower(rune(mixed[i])))
			}
		}
		for _, form := range []string{
			canonical,
			strings.ToLower(canonical),
			strings.ToUpper(alg) + " " + digest,
			alg + " " + string(mixed),
			alg + "   " + digest,
			alg + "\t" + digest,
			alg + " \t " + digest,
			"  " + canonical + " ",
			canonical + "\r",
			"\t" + canonical + "\r\n",
		} {
			f, err := ParseFingerprint(form)
			if err != nil {
				t.Errorf("ParseFingerprint(%q): %v", form, err)
				continue
			}
			if f.String() != canonical {
				t.Errorf("ParseFingerprint(%q) = %s, want %s", form, f, canonical)
			}
		}
	}
}

// TestFingerprintZero: the zero Fingerprint is "no fingerprint" everywhere.
func TestFingerprintZero(t *testing.T) {
	var z Fingerprint
	if !z.IsZero() || z.Algorithm() != 0 || z.String() != "" || len(z.Digest()) != 0 || z.Matches(nil) {
		t.Errorf("zero Fingerprint: IsZero %v, Algorithm %v, String %q, Digest %x", z.IsZero(), z.Algorithm(), z.String(), z.Digest())
	}
	if got := z.AppendTo([]byte("x")); string(got) != "x" {
		t.Errorf("zero AppendTo appended %q", got[1:])
	}
	if _, err := ParseFingerprint(""); err == nil {
		t.Error("the empty value parsed")
	}
	f, _ := ParseFingerprint(sdpFingerprints[0])
	if f.IsZero() || f == z {
		t.Error("a parsed Fingerprint is zero")
	}
	if HashAlgorithm(0).Size() != 0 || HashAlgorithm(0).String() != "HashAlgorithm(0)" {
		t.Errorf("zero HashAlgorithm: %v, size %d", HashAlgorithm(0), HashAlgorithm(0).Size())
	}
}

// TestFingerprintText: the encoding.Text* methods round-trip through JSON, as a
// configuration file holds a fingerprint, and a bad value is refused there too.
func TestFingerprintText(t *testing.T) {
	for _, s := range sdpFingerprints {
		f, _ := ParseFingerprint(s)
		b, err := json.Marshal(f)
		if err != nil || string(b) != `"`+s+`"` {
			t.Fatalf("json.Marshal: %s, %v", b, err)
		}
		var g Fingerprint
		if err := json.Unmarshal(b, &g); err != nil || g != f {
			t.Errorf("json.Unmarshal(%s) = %v, %v", b, g, err)
		}
		if out, _ := f.AppendText([]byte("a=fingerprint:")); string(out) != "a=fingerprint:"+s {
			t.Errorf("AppendText = %s", out)
		}
	}
	before, _ := ParseFingerprint(sdpFingerprints[0])
	g := before
	if err := json.Unmarshal([]byte(`"md5 00:11"`), &g); !errors.Is(err, ErrUnsupportedHash) || g != before {
		t.Errorf("UnmarshalText of md5: %v, value now %v", err, g)
	}
}

func TestParseFingerprintErrors(t *testing.T) {
	cases := map[string]error{
		"":            ErrBadFingerprint,
		"sha-256":     ErrBadFingerprint,
		"md5 00:11":   ErrUnsupportedHash,
		"sha-3 00":    ErrUnsupportedHash,
		"sha-1 F8:68": ErrBadFingerprint, // too short
		"sha-1 F8:68:61:3B:98:6C:E0:45:35:81:CC:50:F6:C2:5E:E6:73:2A:42:FF:00":   ErrBadFingerprint, // too long
		"sha-1 F8-68-61-3B-98-6C-E0-45-35-81-CC-50-F6-C2-5E-E6-73-2A-42-FF":      ErrBadFingerprint, // wrong separator
		"sha-1 F8:68:61:3B:98:6C:E0:45:35:81:CC:50:F6:C2:5E:E6:73:2A:42:FG":      ErrBadFingerprint, // not hex
		"sha-1 F868613B986CE0453581CC50F6C25EE6732A42FF":                         ErrBadFingerprint, // no colons
		"sha-1 F8:68:61:3B:98:6C:E0:45:35:81:CC:50:F6:C2:5E:E6:73:2A:42:F\u00ff": ErrBadFingerprint,
	}
	for s, want := range cases {
		if _, err := ParseFingerprint(s); !errors.Is(err, want) {
			t.Errorf("ParseFingerprint(%q): %v, want %v", s, err, want)
		}
	}
	if _, err := NewFingerprint(SHA256, make([]byte, 20)); !errors.Is(err, ErrBadFingerprint) {
		t.Errorf("NewFingerprint with a sha-1 sized digest: %v", err)
	}
	if _, err := ComputeFingerprint(HashAlgorithm(9), nil); !errors.Is(err, ErrUnsupportedHash) {
		t.Errorf("ComputeFingerprint(9): %v", err)
	}
	if (Fingerprint{}).Matches(nil) {
		t.Error("the zero Fingerprint matched")
	}
}

func TestParseFingerprintZeroAllocs(t *testing.T) {
	s := "  SHA-512\t" + strings.ToLower(sdpFingerprints[4][8:]) + "\r"
	buf := make([]byte, 0, 256)
	allocs := testing.AllocsPerRun(100, func() {
		f, err := ParseFingerprint(s)
		if err != nil {
			t.Fatal(err)
		}
		buf = f.AppendTo(buf[:0])
		buf = f.AppendDigest(buf)
		if f.Algorithm() != SHA512 {
			t.Fatal(f.Algorithm())
		}
	})
	if allocs != 0 {
		t.Fatalf("ParseFingerprint+AppendTo: %v allocs/op, want 0", allocs)
	}
}

func TestHashAlgorithmNames(t *testing.T) {
	for _, name := range []string{"sha-1", "SHA-224", "Sha-256", "sha-384", "SHA-512"} {
		h, err := ParseHashAlgorithm(name)
		if err != nil || !strings.EqualFold(h.String(), name) || h.Size() == 0 {
			t.Errorf("ParseHashAlgorithm(%q) = %v, %v", name, h, err)
		}
	}
	for _, name := range []string{"sha256", "sha-2", "md5", "md2", ""} {
		if _, err := ParseHashAlgorithm(name); !errors.Is(err, ErrUnsupportedHash) {
			t.Errorf("ParseHashAlgorithm(%q): %v", name, err)
		}
	}
}

// FuzzParseFingerprint's corpus: the values below, and under
// testdata/fuzz/FuzzParseFingerprint the a=fingerprint values of every offer in
// ../sdp/testdata/offers (Chromium, Firefox, OBS, ffmpeg, GStreamer, SRS), each
// with the CR its CRLF line ends with.
func FuzzParseFingerprint(f *testing.F) {
	for _, s := range sdpFingerprints {
		f.Add(s)
		f.Add(strings.ToLower(s) + "\r\n")
	}
	f.Fuzz(func(t *testing.T, s string) {
		fp, err := ParseFingerprint(s)
		if err != nil {
			if !errors.Is(err, ErrBadFingerprint) && !errors.Is(err, ErrUnsupportedHash) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		// Anything accepted formats canonically and parses back to itself.
		out := fp.String()
		again, err := ParseFingerprint(out)
		if err != nil || again != fp {
			t.Fatalf("%q -> %q -> %v, %v", s, out, again, err)
		}
		if !strings.EqualFold(out, strings.Join(strings.Fields(s), " ")) {
			t.Fatalf("%q formatted as %q", s, out)
		}
		if len(fp.Digest()) != fp.Algorithm().Size() || fp.Algorithm().Size() == 0 {
			t.Fatalf("%q: %v digest of %d bytes", s, fp.Algorithm(), len(fp.Digest()))
		}
		if g, err := NewFingerprint(fp.Algorithm(), fp.Digest()); err != nil || g != fp {
			t.Fatalf("NewFingerprint(%v, Digest()) = %v, %v", fp.Algorithm(), g, err)
		}
	})
}

// BenchmarkParseFingerprint parses and formats a sha-256 value as a browser
// writes it; both are 0 allocs/op.
func BenchmarkParseFingerprint(b *testing.B) {
	s := sdpFingerprints[5]
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		f, err := ParseFingerprint(s)
		if err != nil {
			b.Fatal(err)
		}
		buf = f.AppendTo(buf[:0])
	}
}
