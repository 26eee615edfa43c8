package rtmp

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
	"time"
)

// Handshake sizes (§5.2.2-§5.2.4).
const (
	HandshakeSize = 1536 // C1, S1, C2, S2
	rtmpVersion   = 3    // C0/S0 for plain RTMP
	digestLen     = 32
)

// Handshake errors; test with errors.Is.
var (
	// ErrHandshakeVersion: C0 or S0 is not 3 (6, 8 and 9 are RTMPE,
	// which this package does not implement).
	ErrHandshakeVersion = errors.New("rtmp: unsupported handshake version")
	// ErrHandshakeDigest: the client found no valid digest in S1 although
	// S1 announced a complex handshake (version byte >= 3).
	ErrHandshakeDigest = errors.New("rtmp: S1 digest does not validate")
	// ErrHandshakeSignature: S2 is not signed with the key derived from
	// the C1 digest.
	ErrHandshakeSignature = errors.New("rtmp: S2 signature mismatch")
)

// The keys of the digest handshake (identical in ffmpeg, SRS, rtmpdump,
// nginx-rtmp): ASCII identification followed by the same 32 bytes. The
// ASCII prefix alone (30 and 36 bytes) signs C1 and S1; the full keys
// derive the keys that sign C2 and S2.
var (
	keyTail = []byte{
		0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0, 0xD1,
		0x02, 0x9E, 0x7E, 0x57, 0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80, 0x6F, 0xAB,
		0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE,
	}
	flashPlayerKey = append([]byte("Genuine Adobe Flash Player 001"), keyTail...)       // 62 bytes
	mediaServerKey = append([]byte("Genuine Adobe Flash Media Server 001"), keyTail...) // 68 bytes
	flashPlayerC1  = flashPlayerKey[:30]
	mediaServerS1  = mediaServerKey[:36]
)

// DigestLayout says where the digest of a C1 or S1 sits. The 1528 bytes
// after time and version are two 764-byte blocks, a digest block and a key
// block (the key is only used by RTMPE); the layouts differ in their order.
// SRS calls digest-first "schema1" and key-first "schema0"; rtmpdump counts
// the other way round, hence names that say what the layout is.
type DigestLayout uint8

// Digest layouts.
const (
	// LayoutNone: no digest (simple handshake).
	LayoutNone DigestLayout = iota
	// LayoutDigestFirst: digest offset at bytes 8..11, digest at
	// sum(b[8..11]) % 728 + 12. ffmpeg, Flash Player 9+, nginx-rtmp.
	LayoutDigestFirst
	// LayoutKeyFirst: digest offset at bytes 772..775, digest at
	// sum(b[772..775]) % 728 + 776.
	LayoutKeyFirst
)

// String names the layout.
func (l DigestLayout) String() string {
	switch l {
	case LayoutDigestFirst:
		return "digest-first"
	case LayoutKeyFirst:
		return "key-first"
	}
	return "none"
}

// offsetField is where the layout keeps its 4-byte digest offset.
func (l DigestLayout) offsetField() int {
	if l == LayoutKeyFirst {
		return 772
	}
	return 8
}

// digestPos returns where the digest of b sits in layout l.
func digestPos(b []byte, l DigestLayout) int {
	p := l.offsetField()
	sum := int(b[p]) + int(b[p+1]) + int(b[p+2]) + int(b[p+3])
	return sum%728 + p + 4
}

// handshakeKeys are the four keys the digest handshake signs with, in the
// order of handshakeMAC.keyed.
var handshakeKeys = [...][]byte{flashPlayerC1, mediaServerS1, flashPlayerKey, mediaServerKey}

// handshakeMAC computes the HMAC-SHA256s (RFC 2104) of one handshake
// without allocating once warm. The four fixed keys keep one crypto/hmac
// each, which hashes the key's padded blocks once and restores them on
// Reset; a key derived from a peer digest (32 bytes, changing with every
// handshake) is padded here on a plain SHA-256, as crypto/hmac would
// allocate a new HMAC for it.
type handshakeMAC struct {
	fixed [len(handshakeKeys)]hash.Hash
	sha   hash.Hash
	pad   [sha256.BlockSize]byte
	key   [sha256.Size]byte
	sum   [sha256.Size]byte
}

// keyed returns the HMAC of key, reset. key must be one of handshakeKeys
// (the same slice, not a copy); other keys get a new HMAC.
func (m *handshakeMAC) keyed(key []byte) hash.Hash {
	for i, k := range handshakeKeys {
		if len(k) != len(key) || &k[0] != &key[0] {
			continue
		}
		if m.fixed[i] == nil {
			m.fixed[i] = hmac.New(sha256.New, k)
		}
		m.fixed[i].Reset() // the first Reset saves the padded states
		return m.fixed[i]
	}
	return hmac.New(sha256.New, key)
}

// digest returns HMAC-SHA256(key, b without the 32 bytes at pos). The
// result is valid until the next call on m.
func (m *handshakeMAC) digest(b []byte, pos int, key []byte) []byte {
	h := m.keyed(key)
	h.Write(b[:pos])
	h.Write(b[pos+digestLen:])
	return h.Sum(m.sum[:0])
}

// findDigest looks for a valid digest in a C1 or S1 and returns it (a
// slice of b). It tries digest-first before key-first: ffmpeg, Flash
// Player and our client send digest-first, and servers answer in the
// client's layout, so the common handshake costs one HMAC here instead of
// two. The order changes no result: the two layouts' digests lie in
// disjoint halves, and a wrong guess matches with probability 2^-256.
func (m *handshakeMAC) findDigest(b, key []byte) (DigestLayout, []byte) {
	for _, l := range [...]DigestLayout{LayoutDigestFirst, LayoutKeyFirst} {
		pos := digestPos(b, l)
		if hmac.Equal(m.digest(b, pos, key), b[pos:pos+digestLen]) {
			return l, b[pos : pos+digestLen]
		}
	}
	return LayoutNone, nil
}

// imprint writes the digest of b (layout l, key) into b and returns it (a
// slice of b).
func (m *handshakeMAC) imprint(b []byte, l DigestLayout, key []byte) []byte {
	pos := digestPos(b, l)
	copy(b[pos:], m.digest(b, pos, key))
	return b[pos : pos+digestLen]
}

// signature returns the last 32 bytes a signed C2/S2 must carry:
// HMAC(HMAC(fullKey, peerDigest), b[:1504]). The result is valid until the
// next call on m.
func (m *handshakeMAC) signature(b, fullKey, peerDigest []byte) []byte {
	h := m.keyed(fullKey)
	h.Write(peerDigest)
	key := h.Sum(m.key[:0]) // 32 bytes: shorter than a block, used as is
	if m.sha == nil {
		m.sha = sha256.New()
	}
	m.padKey(key, 0x36)
	m.sha.Reset()
	m.sha.Write(m.pad[:])
	m.sha.Write(b[:HandshakeSize-digestLen])
	inner := m.sha.Sum(m.sum[:0])
	m.padKey(key, 0x5c)
	m.sha.Reset()
	m.sha.Write(m.pad[:])
	m.sha.Write(inner)
	return m.sha.Sum(m.sum[:0])
}

// padKey sets m.pad to key (at most one block) XOR pad, zero-filled to a
// block (RFC 2104 §2).
func (m *handshakeMAC) padKey(key []byte, pad byte) {
	for i := range m.pad {
		m.pad[i] = pad
	}
	for i, c := range key {
		m.pad[i] ^= c
	}
}

// handshakeState is the memory of one handshake: what the peer sends,
// what we send, the HMACs and the default random source. States are
// pooled, so a warm handshake allocates nothing.
type handshakeState struct {
	in  [1 + 2*HandshakeSize]byte
	out [1 + 2*HandshakeSize]byte
	mac handshakeMAC
	// s1Digest is the digest of our S1 (server side, digest handshake),
	// which signs C2: remembered rather than searched for again.
	s1Digest []byte
	// rng is HandshakeConfig.Rand's default.
	rng keystream
}

// keystream is the default source of the handshake's random bytes: an
// AES-128-CTR keystream under a key and counter from crypto/rand, one per
// pooled state. §5.2.3 asks the random field for uniqueness, not secrecy
// ("no need for cryptographically-secure randomness"), while crypto/rand
// reads 3,032 bytes per digest S1+S2 from the kernel: on the bench machine
// that took longer than all the handshake's HMACs together (and
// math/rand/v2's ChaCha8 a third of them). The keystream is still
// unpredictable and never repeats.
type keystream struct{ ctr cipher.Stream }

// Read fills p with the next len(p) bytes of the keystream; it never fails.
func (k *keystream) Read(p []byte) (int, error) {
	clear(p)
	k.ctr.XORKeyStream(p, p)
	return len(p), nil
}

var handshakePool = sync.Pool{New: func() any {
	var seed [16 + aes.BlockSize]byte
	_, _ = rand.Read(seed[:]) // crypto/rand.Read never fails (Go 1.24)
	block, err := aes.NewCipher(seed[:16])
	if err != nil {
		panic(err) // a 16-byte key is always valid
	}
	return &handshakeState{rng: keystream{cipher.NewCTR(block, seed[16:])}}
}}

// getHandshakeState takes a pooled state and gives cfg its random source
// when cfg has none.
func getHandshakeState(cfg *HandshakeConfig) *handshakeState {
	s := handshakePool.Get().(*handshakeState)
	if cfg.Rand == nil {
		cfg.Rand = &s.rng
	}
	return s
}

// HandshakeConfig configures ServerHandshake and ClientHandshake. The zero
// value works.
type HandshakeConfig struct {
	// Rand fills the random parts of C1/S1/C2/S2 (§5.2.3: they make the
	// handshake unique, not secret). Default: an AES-CTR keystream keyed
	// from crypto/rand, which costs no system call per handshake.
	Rand io.Reader
	// Now returns the current time, for deadlines and the time field.
	// Default time.Now.
	Now func() time.Time
	// Epoch is the origin of the 4-byte time field of C1/S1, in
	// milliseconds. The zero value sends 0, as ffmpeg does.
	Epoch time.Time
	// Timeout bounds the whole handshake when ctx has no earlier deadline
	// and the stream has SetDeadline (net.Conn). Zero means
	// DefaultHandshakeTimeout (10 s); negative disables it.
	Timeout time.Duration
	// Simple makes ClientHandshake send a simple C1 (version 0, no
	// digest), as librtmp/OBS do. The default is an ffmpeg-style digest
	// C1 (digest-first, version 9.0.124.2).
	Simple bool
	// ClientVersion is the C1 version of a digest C1. Zero means
	// DefaultClientVersion (9.0.124.2, as ffmpeg).
	ClientVersion [4]byte
	// ServerVersion is the S1 version of a digest S1. Zero means
	// DefaultServerVersion (13.14.10.13, as nginx-rtmp); it must be >= 3
	// in its first byte for ffmpeg to check S1 and S2.
	ServerVersion [4]byte
}

// defaults fills the zero fields except Rand, whose default comes with the
// pooled handshake state (getHandshakeState).
func (c *HandshakeConfig) defaults() {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultHandshakeTimeout
	}
	if c.ClientVersion == [4]byte{} {
		binary.BigEndian.PutUint32(c.ClientVersion[:], DefaultClientVersion)
	}
	if c.ServerVersion == [4]byte{} {
		binary.BigEndian.PutUint32(c.ServerVersion[:], DefaultServerVersion)
	}
}

func (c *HandshakeConfig) timeField() uint32 {
	if c.Epoch.IsZero() {
		return 0
	}
	return uint32(c.Now().Sub(c.Epoch).Milliseconds())
}

// HandshakeInfo describes a completed handshake.
type HandshakeInfo struct {
	// Complex is true for a digest handshake, false for a simple one.
	Complex bool
	// PeerLayout is where the peer's C1 (server side) or S1 (client side)
	// digest was found; LayoutNone for a simple handshake.
	PeerLayout DigestLayout
	// PeerVersion is the version field of C1 or S1 (e.g. 9.0.124.2 from
	// ffmpeg, 0.0.0.0 from librtmp).
	PeerVersion [4]byte
	// PeerTime is the time field of C1 or S1.
	PeerTime uint32
	// C2Signed (server side) reports that C2 carried a valid signature, as
	// Flash Player and ffmpeg playing do. ffmpeg publishing echoes S1
	// instead (C2EchoesS1). Neither is required.
	C2Signed bool
	// C2EchoesS1 (server side) reports that C2 repeated S1's random bytes.
	C2EchoesS1 bool
}

type deadliner interface{ SetDeadline(time.Time) error }

// withDeadline applies the ctx deadline (or cfg.Timeout) to rw and makes
// ctx cancellation interrupt blocked reads and writes. The returned
// function clears the deadline.
func withDeadline(ctx context.Context, rw io.ReadWriter, cfg *HandshakeConfig) (func(), error) {
	d, ok := rw.(deadliner)
	if !ok {
		return func() {}, nil
	}
	t, has := ctx.Deadline()
	if cfg.Timeout > 0 {
		if tt := cfg.Now().Add(cfg.Timeout); !has || tt.Before(t) {
			t, has = tt, true
		}
	}
	if has {
		if err := d.SetDeadline(t); err != nil {
			return nil, err
		}
	}
	stop := context.AfterFunc(ctx, func() { _ = d.SetDeadline(time.Unix(1, 0)) })
	return func() {
		stop()
		_ = d.SetDeadline(time.Time{})
	}, nil
}

// ctxErr prefers the context's error when a read failed because of it.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

// ServerHandshake runs the server side of the handshake on rw (§5.2).
// When rw is a net.Conn (has SetDeadline), the handshake is bounded by the
// ctx deadline or cfg.Timeout, cancelling ctx interrupts it, and the
// deadline is cleared when it returns.
//
// C0 must be 3. If C1 carries a digest signed with the Flash Player key
// (digest-first layout tried first, then key-first), the answer is a
// digest handshake: S1 signed with the Media Server key in the same layout,
// S2 signed from the C1 digest. Otherwise the answer is simple: S1 with a
// zero version (ffmpeg would otherwise try to validate it and fail) and S2
// echoing C1. C2 is read but never required to be anything: ffmpeg
// publishing echoes S1, Flash and ffmpeg playing sign it, and strict checks
// have broken real clients; HandshakeInfo reports which it was.
//
// A digest handshake costs four HMAC-SHA256s (C1 digest, S1 digest, S2 key
// and signature), one more for a key-first C1 and two more when C2 is
// signed; once warm it allocates nothing unless rw is a net.Conn (whose
// deadline follows ctx).
func ServerHandshake(ctx context.Context, rw io.ReadWriter, cfg HandshakeConfig) (HandshakeInfo, error) {
	cfg.defaults()
	done, err := withDeadline(ctx, rw, &cfg)
	if err != nil {
		return HandshakeInfo{}, err
	}
	defer done()
	s := getHandshakeState(&cfg)
	defer handshakePool.Put(s)
	return s.server(ctx, rw, &cfg)
}

// server runs ServerHandshake on s; cfg has its defaults and Rand.
func (s *handshakeState) server(ctx context.Context, rw io.ReadWriter, cfg *HandshakeConfig) (HandshakeInfo, error) {
	var info HandshakeInfo
	c0c1 := s.in[:1+HandshakeSize]
	// C0 first: a peer speaking something else (HTTP, RTMPE) gets a clear
	// error at once instead of a timeout waiting for 1536 more bytes.
	if _, err := io.ReadFull(rw, c0c1[:1]); err != nil {
		return info, ctxErr(ctx, fmt.Errorf("rtmp: reading C0: %w", err))
	}
	if c0c1[0] != rtmpVersion {
		return info, fmt.Errorf("rtmp: C0 is %d, want 3 (RTMPE is not supported): %w", c0c1[0], ErrHandshakeVersion)
	}
	if _, err := io.ReadFull(rw, c0c1[1:]); err != nil {
		return info, ctxErr(ctx, fmt.Errorf("rtmp: reading C1: %w", unexpectedEOF(err)))
	}
	s0s1s2, info, err := s.serverResponse(c0c1, cfg)
	if err != nil {
		return info, err
	}
	if _, err := rw.Write(s0s1s2); err != nil {
		return info, ctxErr(ctx, fmt.Errorf("rtmp: writing S0+S1+S2: %w", err))
	}
	c2 := c0c1[1:] // C1 is no longer needed: reuse its buffer
	if _, err := io.ReadFull(rw, c2); err != nil {
		return info, ctxErr(ctx, fmt.Errorf("rtmp: reading C2: %w", unexpectedEOF(err)))
	}
	s1 := s0s1s2[1 : 1+HandshakeSize]
	info.C2EchoesS1 = bytes.Equal(c2[8:], s1[8:])
	// An echo of S1 cannot also carry a signature (but with probability
	// 2^-256): check one only when C2 is something else.
	if info.Complex && !info.C2EchoesS1 {
		info.C2Signed = hmac.Equal(c2[HandshakeSize-digestLen:], s.mac.signature(c2, flashPlayerKey, s.s1Digest))
	}
	return info, nil
}

// serverResponse checks C0 and C1 and builds S0+S1+S2 in s.out, keeping
// the S1 digest in s.s1Digest. cfg.Rand must be set.
func (s *handshakeState) serverResponse(c0c1 []byte, cfg *HandshakeConfig) ([]byte, HandshakeInfo, error) {
	var info HandshakeInfo
	if c0c1[0] != rtmpVersion {
		return nil, info, fmt.Errorf("rtmp: C0 is %d, want 3 (RTMPE is not supported): %w", c0c1[0], ErrHandshakeVersion)
	}
	c1 := c0c1[1:]
	info.PeerTime = binary.BigEndian.Uint32(c1)
	copy(info.PeerVersion[:], c1[4:8])
	out := s.out[:]
	out[0] = rtmpVersion
	s1, s2 := out[1:1+HandshakeSize], out[1+HandshakeSize:]
	binary.BigEndian.PutUint32(s1, cfg.timeField())
	layout, c1Digest := s.mac.findDigest(c1, flashPlayerC1)
	if layout == LayoutNone {
		// Simple: S1 version 0 so that ffmpeg does not validate it, S2
		// echoes C1.
		clear(s1[4:8])
		if _, err := io.ReadFull(cfg.Rand, s1[8:]); err != nil {
			return nil, info, fmt.Errorf("rtmp: handshake random: %w", err)
		}
		copy(s2, c1)
		return out, info, nil
	}
	info.Complex, info.PeerLayout = true, layout
	copy(s1[4:8], cfg.ServerVersion[:])
	// S1's random part and S2's are adjacent in out: one read fills both.
	if _, err := io.ReadFull(cfg.Rand, out[1+8:1+2*HandshakeSize-digestLen]); err != nil {
		return nil, info, fmt.Errorf("rtmp: handshake random: %w", err)
	}
	s.s1Digest = s.mac.imprint(s1, layout, mediaServerS1)
	copy(s2[HandshakeSize-digestLen:], s.mac.signature(s2, mediaServerKey, c1Digest))
	return out, info, nil
}

// ClientHandshake runs the client side of the handshake on rw (§5.2).
//
// By default it sends an ffmpeg-style digest C1 (digest-first layout,
// version 9.0.124.2); with cfg.Simple a simple C1 (version 0). When S1's
// first version byte is 3 or more and C1 had a digest, S1's digest and S2's
// signature are verified (ErrHandshakeDigest, ErrHandshakeSignature) and C2
// is signed; otherwise the handshake quietly falls back to simple and C2
// echoes S1.
func ClientHandshake(ctx context.Context, rw io.ReadWriter, cfg HandshakeConfig) (HandshakeInfo, error) {
	cfg.defaults()
	done, err := withDeadline(ctx, rw, &cfg)
	if err != nil {
		return HandshakeInfo{}, err
	}
	defer done()
	s := getHandshakeState(&cfg)
	defer handshakePool.Put(s)
	return s.client(ctx, rw, &cfg)
}

// client runs ClientHandshake on s; cfg has its defaults and Rand.
func (s *handshakeState) client(ctx context.Context, rw io.ReadWriter, cfg *HandshakeConfig) (HandshakeInfo, error) {
	var info HandshakeInfo
	c0c1 := s.out[:1+HandshakeSize]
	c0c1[0] = rtmpVersion
	c1 := c0c1[1:]
	var c1Digest []byte
	if err := fillC1(c1, cfg); err != nil {
		return info, err
	}
	if !cfg.Simple {
		c1Digest = s.mac.imprint(c1, LayoutDigestFirst, flashPlayerC1)
	}
	if _, err := rw.Write(c0c1); err != nil {
		return info, ctxErr(ctx, fmt.Errorf("rtmp: writing C0+C1: %w", err))
	}
	s0s1s2 := s.in[:]
	if _, err := io.ReadFull(rw, s0s1s2); err != nil {
		return info, ctxErr(ctx, fmt.Errorf("rtmp: reading S0+S1+S2: %w", unexpectedEOF(err)))
	}
	c2, info, err := s.clientResponse(s0s1s2, c1Digest, cfg)
	if err != nil {
		return info, err
	}
	if _, err := rw.Write(c2); err != nil {
		return info, ctxErr(ctx, fmt.Errorf("rtmp: writing C2: %w", err))
	}
	return info, nil
}

// fillC1 writes time, version and random bytes into c1.
func fillC1(c1 []byte, cfg *HandshakeConfig) error {
	binary.BigEndian.PutUint32(c1, cfg.timeField())
	if cfg.Simple {
		clear(c1[4:8])
	} else {
		copy(c1[4:8], cfg.ClientVersion[:])
	}
	if _, err := io.ReadFull(cfg.Rand, c1[8:]); err != nil {
		return fmt.Errorf("rtmp: handshake random: %w", err)
	}
	return nil
}

// clientResponse checks S0, S1, S2 and builds C2 in the second half of
// s.out (the first holds C0+C1, and c1Digest may point there). cfg.Rand
// must be set.
func (s *handshakeState) clientResponse(s0s1s2, c1Digest []byte, cfg *HandshakeConfig) ([]byte, HandshakeInfo, error) {
	var info HandshakeInfo
	if s0s1s2[0] != rtmpVersion {
		return nil, info, fmt.Errorf("rtmp: S0 is %d, want 3: %w", s0s1s2[0], ErrHandshakeVersion)
	}
	s1, s2 := s0s1s2[1:1+HandshakeSize], s0s1s2[1+HandshakeSize:]
	info.PeerTime = binary.BigEndian.Uint32(s1)
	copy(info.PeerVersion[:], s1[4:8])
	c2 := s.out[1+HandshakeSize:]
	if c1Digest == nil || s1[4] < 3 {
		// Simple (or a server that answers a digest C1 simply, as
		// librtmp's "S1[4]==0" rule and ffmpeg allow): echo S1.
		copy(c2, s1)
		return c2, info, nil
	}
	layout, s1Digest := s.mac.findDigest(s1, mediaServerS1)
	if layout == LayoutNone {
		return nil, info, ErrHandshakeDigest
	}
	if !hmac.Equal(s2[HandshakeSize-digestLen:], s.mac.signature(s2, mediaServerKey, c1Digest)) {
		return nil, info, ErrHandshakeSignature
	}
	info.Complex, info.PeerLayout = true, layout
	if _, err := io.ReadFull(cfg.Rand, c2[:HandshakeSize-digestLen]); err != nil {
		return nil, info, fmt.Errorf("rtmp: handshake random: %w", err)
	}
	copy(c2[HandshakeSize-digestLen:], s.mac.signature(c2, flashPlayerKey, s1Digest))
	return c2, info, nil
}
