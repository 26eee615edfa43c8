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

// The handshake's steps on a fresh (unpooled) state, for the tests here
// and in fuzz_test.go.

func findDigest(b, key []byte) (DigestLayout, []byte) {
	return new(handshakeMAC).findDigest(b, key)
}

func imprintDigest(b []byte, l DigestLayout, key []byte) []byte {
	return new(handshakeMAC).imprint(b, l, key)
}

func signature(b, fullKey, peerDigest []byte) []byte {
	return new(handshakeMAC).signature(b, fullKey, peerDigest)
}

func serverResponse(c0c1 []byte, cfg *HandshakeConfig) ([]byte, HandshakeInfo, error) {
	return new(handshakeState).serverResponse(c0c1, cfg)
}

func clientResponse(s0s1s2, c1Digest []byte, cfg *HandshakeConfig) ([]byte, HandshakeInfo, error) {
	return new(handshakeState).clientResponse(s0s1s2, c1Digest, cfg)
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

// ffmpegPeer is ffmpeg's side of a server handshake in memory: it sends C0
// and its real C1, keeps S0+S1+S2, and sends c2(S1) as C2.
type ffmpegPeer struct {
	c0c1, out []byte
	c2        func(s1 []byte) []byte
	read      int
}

func newFFmpegPeer(t testing.TB, c2 func(s1 []byte) []byte) *ffmpegPeer {
	c0c1 := append([]byte{3}, readBin(t, "ffmpeg-5.1.9_C1.bin")...)
	return &ffmpegPeer{c0c1: c0c1, out: make([]byte, 0, 1+2*HandshakeSize), c2: c2}
}

func (p *ffmpegPeer) Read(b []byte) (int, error) {
	src, off := p.c0c1, p.read
	if off >= len(p.c0c1) {
		if len(p.out) != 1+2*HandshakeSize {
			return 0, io.ErrUnexpectedEOF
		}
		src, off = p.c2(p.out[1:1+HandshakeSize]), off-len(p.c0c1)
	}
	if off >= len(src) {
		return 0, io.EOF
	}
	n := copy(b, src[off:])
	p.read += n
	return n, nil
}

func (p *ffmpegPeer) Write(b []byte) (int, error) {
	if len(p.out)+len(b) > 1+2*HandshakeSize {
		return 0, io.ErrShortWrite
	}
	p.out = append(p.out, b...)
	return len(b), nil
}

func (p *ffmpegPeer) reset() { p.out, p.read = p.out[:0], 0 }

// echoS1 is what ffmpeg publishing sends as C2.
func echoS1(s1 []byte) []byte { return s1 }

// signedC2 is what ffmpeg playing (and Flash) sends as C2: random bytes
// signed from the S1 digest.
func signedC2(s1 []byte) []byte {
	_, d := findDigest(s1, mediaServerS1)
	c2 := make([]byte, HandshakeSize)
	for i := range c2 {
		c2[i] = byte(i * 31)
	}
	copy(c2[HandshakeSize-digestLen:], signature(c2, flashPlayerKey, d))
	return c2
}

// The server tells an echoed C2 from a signed one (and from neither), and
// checks the signature against the digest of the S1 it sent.
func TestServerHandshakeC2(t *testing.T) {
	for _, c := range []struct {
		name         string
		c2           func([]byte) []byte
		echo, signed bool
	}{
		{"echo", echoS1, true, false},
		{"signed", signedC2, false, true},
		{"bad signature", func(s1 []byte) []byte { c2 := signedC2(s1); c2[1535] ^= 1; return c2 }, false, false},
		{"other", func([]byte) []byte { return make([]byte, HandshakeSize) }, false, false},
	} {
		p := newFFmpegPeer(t, c.c2)
		info, err := ServerHandshake(context.Background(), p, HandshakeConfig{})
		if err != nil || !info.Complex || info.C2EchoesS1 != c.echo || info.C2Signed != c.signed {
			t.Errorf("%s: %+v %v", c.name, info, err)
		}
	}
}

// A warm server handshake allocates nothing: its buffers, HMAC states and
// random source come with the (pooled) state. Measured on one state, so
// that the race detector's random drops from sync.Pool do not count; the
// peer's signed C2 is computed once (zero random bytes give the same S1
// every time).
func TestServerHandshakeAllocs(t *testing.T) {
	s := getHandshakeState(new(HandshakeConfig))
	for _, c := range []struct {
		name   string
		rand   io.Reader
		c2     func([]byte) []byte
		signed bool
	}{
		{"publish", &s.rng, echoS1, false},
		{"play", zeroRand{}, signedC2, true},
	} {
		var c2 []byte
		p := newFFmpegPeer(t, func(s1 []byte) []byte {
			if c2 == nil {
				c2 = bytes.Clone(c.c2(s1))
			}
			if c.rand == (zeroRand{}) {
				return c2
			}
			return s1
		})
		cfg := HandshakeConfig{Rand: c.rand}
		cfg.defaults()
		run := func() {
			p.reset()
			info, err := s.server(context.Background(), p, &cfg)
			if err != nil || !info.Complex || info.C2Signed != c.signed || info.C2EchoesS1 == c.signed {
				t.Fatalf("%s: %+v %v", c.name, info, err)
			}
		}
		run()
		if a := testing.AllocsPerRun(100, run); a != 0 {
			t.Errorf("%s: %v allocs per handshake", c.name, a)
		}
	}
}

// A reused state leaves nothing of the previous handshake in what it
// sends: a simple answer after a digest one has a zero S1 version and S2 =
// C1, and a simple C1 after a digest one has a zero version.
func TestHandshakeStateReuse(t *testing.T) {
	s := getHandshakeState(new(HandshakeConfig))
	cfg := HandshakeConfig{Rand: &s.rng}
	cfg.defaults()
	c0c1 := append([]byte{3}, readBin(t, "ffmpeg-5.1.9_C1.bin")...)
	if _, info, err := s.serverResponse(c0c1, &cfg); err != nil || !info.Complex {
		t.Fatalf("%+v %v", info, err)
	}
	c0c1[1+494] ^= 0xff // ffmpeg's digest: the C1 is simple now
	out, info, err := s.serverResponse(c0c1, &cfg)
	if err != nil || info.Complex || !bytes.Equal(out[5:9], []byte{0, 0, 0, 0}) || !bytes.Equal(out[1537:], c0c1[1:]) {
		t.Errorf("simple after digest: %+v %v, S1 version %x", info, err, out[5:9])
	}

	c1 := s.out[1 : 1+HandshakeSize]
	for _, simple := range []bool{false, true} {
		ccfg := HandshakeConfig{Simple: simple, Rand: &s.rng}
		ccfg.defaults()
		if err := fillC1(c1, &ccfg); err != nil {
			t.Fatal(err)
		}
		if zero := bytes.Equal(c1[4:8], []byte{0, 0, 0, 0}); zero != simple {
			t.Errorf("simple=%v: C1 version %x", simple, c1[4:8])
		}
	}
}

// The signature's hand-padded HMAC of a derived key is crypto/hmac's.
func TestHandshakeSignatureIsHMAC(t *testing.T) {
	b := make([]byte, HandshakeSize)
	m := new(handshakeMAC)
	for i := range 50 {
		for k := range b {
			b[k] = byte(k*7 + i*13)
		}
		peer := b[i : i+digestLen]
		for _, full := range [][]byte{flashPlayerKey, mediaServerKey} {
			k := hmac.New(sha256.New, full)
			k.Write(peer)
			h := hmac.New(sha256.New, k.Sum(nil))
			h.Write(b[:HandshakeSize-digestLen])
			if want, got := h.Sum(nil), m.signature(b, full, peer); !bytes.Equal(got, want) {
				t.Fatalf("round %d: %x, want %x", i, got, want)
			}
		}
	}
}

// The default random source gives every handshake its own bytes.
func TestHandshakeDefaultRand(t *testing.T) {
	p1, p2 := newFFmpegPeer(t, echoS1), newFFmpegPeer(t, echoS1)
	for _, p := range []*ffmpegPeer{p1, p2} {
		if _, err := ServerHandshake(context.Background(), p, HandshakeConfig{}); err != nil {
			t.Fatal(err)
		}
	}
	r1, r2 := p1.out[1+8:1+HandshakeSize], p2.out[1+8:1+HandshakeSize]
	if bytes.Equal(r1, r2) || bytes.Count(r1, []byte{0}) > 40 {
		t.Errorf("S1 random bytes repeat or are mostly zero: %x...", r1[:32])
	}
}
