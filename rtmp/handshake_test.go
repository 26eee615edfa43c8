package rtmp

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Vectors from /work/shared/testdata/rtmp (reference rtmp.md §3.7),
// cross-checked there against gortmplib and livego.
type hsVector struct {
	C1DigestPos int    `json:"c1_digest_pos"`
	C1Digest    string `json:"c1_digest"`
	C1SHA256    string `json:"c1_sha256"`
	S1DigestPos int    `json:"s1_digest_pos"`
	S1Digest    string `json:"s1_digest"`
	S1SHA256    string `json:"s1_sha256"`
	S2Key       string `json:"s2_key"`
	S2Sig       string `json:"s2_sig"`
	C2Key       string `json:"c2_key"`
	C2Sig       string `json:"c2_sig"`
}

func loadVectors(t *testing.T) map[string]hsVector {
	t.Helper()
	b, err := os.ReadFile("testdata/handshake/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]hsVector
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v) != 2 {
		t.Fatalf("%d vectors", len(v))
	}
	return v
}

func readBin(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata/handshake", name))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != HandshakeSize {
		t.Fatalf("%s: %d bytes", name, len(b))
	}
	return b
}

func hexOf(b []byte) string { return hex.EncodeToString(b) }

func sha(b []byte) string { s := sha256.Sum256(b); return hexOf(s[:]) }

// patternRand yields f(i) for i = start, start+1, ...: the vectors'
// "random" bytes, so that our C1/S1/S2/C2 can be compared byte for byte.
type patternRand struct {
	parts []func(i int) byte
	lens  []int
	start []int
	i     int
	part  int
}

func (p *patternRand) Read(b []byte) (int, error) {
	for k := range b {
		if p.part >= len(p.parts) {
			return k, io.EOF
		}
		b[k] = p.parts[p.part](p.start[p.part] + p.i)
		p.i++
		if p.i == p.lens[p.part] {
			p.part, p.i = p.part+1, 0
		}
	}
	return len(b), nil
}

func TestHandshakeKeys(t *testing.T) {
	if got := sha(flashPlayerKey); got != "3046c02eaa736fb5aaf7630b9e59a207b167a17cd7a05afb4fc7f8ca9021528e" {
		t.Errorf("sha256(FP62) = %s", got)
	}
	if got := sha(mediaServerKey); got != "0bec8fa996d2485ef90f0484c820d178663643a6f4510d0638cbd649bf17d9a5" {
		t.Errorf("sha256(FMS68) = %s", got)
	}
}

func TestHandshakeVectors(t *testing.T) {
	for name, v := range loadVectors(t) {
		t.Run(name, func(t *testing.T) {
			layout := LayoutDigestFirst
			if name == "key_first_ptr772" {
				layout = LayoutKeyFirst
			}
			c1, s1, s2, c2 := readBin(t, name+"_c1.bin"), readBin(t, name+"_s1.bin"), readBin(t, name+"_s2.bin"), readBin(t, name+"_c2.bin")
			if sha(c1) != v.C1SHA256 || sha(s1) != v.S1SHA256 {
				t.Fatal("vector files do not match vectors.json")
			}
			if p := digestPos(c1, layout); p != v.C1DigestPos {
				t.Errorf("C1 digest pos %d, want %d", p, v.C1DigestPos)
			}
			if p := digestPos(s1, layout); p != v.S1DigestPos {
				t.Errorf("S1 digest pos %d, want %d", p, v.S1DigestPos)
			}
			l, d := findDigest(c1, flashPlayerC1)
			if l != layout || hexOf(d) != v.C1Digest {
				t.Errorf("C1: layout %v digest %x", l, d)
			}
			l, sd := findDigest(s1, mediaServerS1)
			if l != layout || hexOf(sd) != v.S1Digest {
				t.Errorf("S1: layout %v digest %x", l, sd)
			}
			k := hmac.New(sha256.New, mediaServerKey)
			k.Write(d)
			if hexOf(k.Sum(nil)) != v.S2Key {
				t.Errorf("S2 key mismatch")
			}
			if got := hexOf(signature(s2, mediaServerKey, d)); got != v.S2Sig || got != hexOf(s2[1504:]) {
				t.Errorf("S2 signature %s", got)
			}
			k = hmac.New(sha256.New, flashPlayerKey)
			k.Write(sd)
			if hexOf(k.Sum(nil)) != v.C2Key {
				t.Errorf("C2 key mismatch")
			}
			if got := hexOf(signature(c2, flashPlayerKey, sd)); got != v.C2Sig || got != hexOf(c2[1504:]) {
				t.Errorf("C2 signature %s", got)
			}

			// Our server, fed the vector's random bytes, answers C1 with
			// exactly the vector's S1 and S2.
			rnd := &patternRand{
				parts: []func(int) byte{func(i int) byte { return byte(7*i + 3) }, func(i int) byte { return byte(13*i + 5) }},
				lens:  []int{1528, 1504}, start: []int{8, 0},
			}
			out, info, err := serverResponse(append([]byte{3}, c1...), &HandshakeConfig{Rand: rnd, ServerVersion: [4]byte{13, 14, 10, 13}})
			if err != nil {
				t.Fatal(err)
			}
			if !info.Complex || info.PeerLayout != layout || info.PeerVersion != [4]byte{9, 0, 124, 2} {
				t.Errorf("info %+v", info)
			}
			if !bytes.Equal(out[1:1537], s1) || !bytes.Equal(out[1537:], s2) {
				t.Errorf("server S1/S2 differ from the vector")
			}
			// Our client verifies S1/S2 and signs C2 as the vector does.
			cfg := &HandshakeConfig{Rand: &patternRand{parts: []func(int) byte{func(i int) byte { return byte(11*i + 1) }}, lens: []int{1504}, start: []int{0}}}
			gotC2, cinfo, err := clientResponse(append(append([]byte{3}, s1...), s2...), d, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(gotC2, c2) || !cinfo.Complex || cinfo.PeerLayout != layout {
				t.Errorf("client C2 differs from the vector (%+v)", cinfo)
			}
		})
	}
}

// Our client, fed the vector's random bytes, sends exactly the
// digest-first vector C1 (ffmpeg's layout and version).
func TestClientC1MatchesVector(t *testing.T) {
	want := readBin(t, "digest_first_ptr8_c1.bin")
	cfg := HandshakeConfig{Rand: &patternRand{parts: []func(int) byte{func(i int) byte { return byte(i) }}, lens: []int{1528}, start: []int{8}}}
	cfg.defaults()
	c1 := make([]byte, HandshakeSize)
	if err := fillC1(c1, &cfg); err != nil {
		t.Fatal(err)
	}
	imprintDigest(c1, LayoutDigestFirst, flashPlayerC1)
	if !bytes.Equal(c1, want) {
		t.Error("C1 differs from digest_first_ptr8_c1.bin")
	}
}

// The C1 ffmpeg 5.1.9 really sends (captured, identical across runs).
func TestHandshakeFFmpegC1(t *testing.T) {
	c1 := readBin(t, "ffmpeg-5.1.9_C1.bin")
	if sha(c1) != "50c8f966513a733e2726dacd9ebb4544e0ff96b9f54d49f50ac7908fa804a7c9" {
		t.Fatal("ffmpeg C1 file changed")
	}
	l, d := findDigest(c1, flashPlayerC1)
	if l != LayoutDigestFirst || digestPos(c1, l) != 494 || hexOf(d) != "650bfb9b65f953d848e3456965d0d76b627a84e35e9ddabd8b43f0fadaee458c" {
		t.Fatalf("layout %v pos %d digest %x", l, digestPos(c1, l), d)
	}
	out, info, err := serverResponse(append([]byte{3}, c1...), &HandshakeConfig{Rand: zeroRand{}, ServerVersion: [4]byte{13, 14, 10, 13}})
	if err != nil || !info.Complex || info.PeerVersion != [4]byte{9, 0, 124, 2} {
		t.Fatalf("%+v %v", info, err)
	}
	// What ffmpeg (playing) checks: S1 digest with FMS[:36], 772 then 8,
	// and S2 signed from its C1 digest.
	if l, _ := findDigest(out[1:1537], mediaServerS1); l == LayoutNone {
		t.Error("S1 digest does not validate")
	}
	if !bytes.Equal(out[1537+1504:], signature(out[1537:], mediaServerKey, d)) {
		t.Error("S2 signature does not validate")
	}
	if out[1+4] < 3 {
		t.Error("complex S1 must have a version >= 3")
	}
}

type zeroRand struct{}

func (zeroRand) Read(b []byte) (int, error) { clear(b); return len(b), nil }

// One-byte corruptions of the C1 digest make the server fall back to a
// simple handshake (as SRS and nginx-rtmp do): S1 version 0, S2 = C1.
func TestServerFallsBackOnCorruptDigest(t *testing.T) {
	for _, name := range []string{"digest_first_ptr8_c1.bin", "key_first_ptr772_c1.bin", "ffmpeg-5.1.9_C1.bin"} {
		c1 := readBin(t, name)
		l, _ := findDigest(c1, flashPlayerC1)
		pos := digestPos(c1, l)
		for _, off := range []int{0, 17, 31} {
			bad := append([]byte{3}, c1...)
			bad[1+pos+off] ^= 0x01
			out, info, err := serverResponse(bad, &HandshakeConfig{Rand: zeroRand{}})
			if err != nil {
				t.Fatal(err)
			}
			if info.Complex || !bytes.Equal(out[1+4:1+8], []byte{0, 0, 0, 0}) || !bytes.Equal(out[1537:], bad[1:]) {
				t.Errorf("%s byte %d: complex=%v S1 version %x", name, off, info.Complex, out[5:9])
			}
		}
	}
	if _, _, err := serverResponse(append([]byte{6}, make([]byte, HandshakeSize)...), &HandshakeConfig{Rand: zeroRand{}}); !errors.Is(err, ErrHandshakeVersion) {
		t.Errorf("C0=6: %v", err)
	}
}

// Client-side checks: a corrupt S1 digest or S2 signature fails (as ffmpeg
// play does); a version < 3 S1 falls back to an S1 echo.
func TestClientVerification(t *testing.T) {
	c1 := readBin(t, "digest_first_ptr8_c1.bin")
	_, d := findDigest(c1, flashPlayerC1)
	s1, s2 := readBin(t, "digest_first_ptr8_s1.bin"), readBin(t, "digest_first_ptr8_s2.bin")
	resp := func(s1, s2 []byte) []byte { return append(append([]byte{3}, s1...), s2...) }
	cfg := &HandshakeConfig{Rand: zeroRand{}}

	badS1 := bytes.Clone(s1)
	badS1[290] ^= 0x80
	if _, _, err := clientResponse(resp(badS1, s2), d, cfg); !errors.Is(err, ErrHandshakeDigest) {
		t.Errorf("bad S1 digest: %v", err)
	}
	badS2 := bytes.Clone(s2)
	badS2[1535] ^= 1
	if _, _, err := clientResponse(resp(s1, badS2), d, cfg); !errors.Is(err, ErrHandshakeSignature) {
		t.Errorf("bad S2 signature: %v", err)
	}
	old := bytes.Clone(badS1)
	old[4] = 1 // SRS's 1.0.5.4: not validated
	c2, info, err := clientResponse(resp(old, badS2), d, cfg)
	if err != nil || info.Complex || !bytes.Equal(c2, old) {
		t.Errorf("S1 version 1: %+v %v", info, err)
	}
	if _, _, err := clientResponse(append([]byte{6}, make([]byte, 2*HandshakeSize)...), d, cfg); !errors.Is(err, ErrHandshakeVersion) {
		t.Errorf("S0=6: %v", err)
	}
}

func TestHandshakeInProcess(t *testing.T) {
	for _, simple := range []bool{false, true} {
		cc, sc := net.Pipe()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		type res struct {
			info HandshakeInfo
			err  error
		}
		ch := make(chan res, 1)
		go func() {
			i, err := ServerHandshake(ctx, sc, HandshakeConfig{Epoch: time.Now().Add(-time.Second)})
			ch <- res{i, err}
		}()
		ci, err := ClientHandshake(ctx, cc, HandshakeConfig{Simple: simple})
		if err != nil {
			t.Fatalf("simple=%v: client: %v", simple, err)
		}
		sr := <-ch
		if sr.err != nil {
			t.Fatalf("simple=%v: server: %v", simple, sr.err)
		}
		if ci.Complex == simple || sr.info.Complex == simple {
			t.Errorf("simple=%v: client %+v server %+v", simple, ci, sr.info)
		}
		if !simple && (!sr.info.C2Signed || sr.info.PeerLayout != LayoutDigestFirst || ci.PeerTime < 900) {
			t.Errorf("complex: client %+v server %+v", ci, sr.info)
		}
		if simple && !sr.info.C2EchoesS1 {
			t.Errorf("simple: C2 should echo S1: %+v", sr.info)
		}
		cancel()
		cc.Close()
		sc.Close()
	}
}

func TestHandshakeDeadlineAndCancel(t *testing.T) {
	cc, sc := net.Pipe()
	defer cc.Close()
	defer sc.Close()
	start := time.Now()
	_, err := ServerHandshake(context.Background(), sc, HandshakeConfig{Timeout: 50 * time.Millisecond})
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || time.Since(start) > 2*time.Second {
		t.Errorf("timeout: %v after %v", err, time.Since(start))
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err = ClientHandshake(ctx, cc, HandshakeConfig{Timeout: -1})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancel: %v", err)
	}
}

func TestServerHandshakeRejectsNonRTMPAtOnce(t *testing.T) {
	var out bytes.Buffer
	start := time.Now()
	_, err := ServerHandshake(context.Background(), rwPair{strings.NewReader("GET / HTTP/1.1\r\n"), &out}, HandshakeConfig{})
	if !errors.Is(err, ErrHandshakeVersion) || time.Since(start) > time.Second || out.Len() != 0 {
		t.Errorf("%v", err)
	}
}
