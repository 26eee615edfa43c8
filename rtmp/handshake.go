package rtmp

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
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

// computeDigest is HMAC-SHA256(key, b without the 32 bytes at pos).
func computeDigest(b []byte, pos int, key []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(b[:pos])
	h.Write(b[pos+digestLen:])
	return h.Sum(nil)
}

// findDigest looks for a valid digest in a C1 or S1, key-first first and
// then digest-first, as ffmpeg, nginx-rtmp and SRS do.
func findDigest(b []byte, key []byte) (DigestLayout, []byte) {
	for _, l := range []DigestLayout{LayoutKeyFirst, LayoutDigestFirst} {
		pos := digestPos(b, l)
		if d := computeDigest(b, pos, key); hmac.Equal(d, b[pos:pos+digestLen]) {
			return l, b[pos : pos+digestLen]
		}
	}
	return LayoutNone, nil
}

// imprintDigest writes the digest of b (layout l, key) into b.
func imprintDigest(b []byte, l DigestLayout, key []byte) []byte {
	pos := digestPos(b, l)
	copy(b[pos:], computeDigest(b, pos, key))
	return b[pos : pos+digestLen]
}

// signature returns the last 32 bytes a signed C2/S2 must carry:
// HMAC(HMAC(fullKey, peerDigest), b[:1504]).
func signature(b, fullKey, peerDigest []byte) []byte {
	k := hmac.New(sha256.New, fullKey)
	k.Write(peerDigest)
	h := hmac.New(sha256.New, k.Sum(nil))
	h.Write(b[:HandshakeSize-digestLen])
	return h.Sum(nil)
}

// HandshakeConfig configures ServerHandshake and ClientHandshake. The zero
// value works.
type HandshakeConfig struct {
	// Rand fills the random parts of C1/S1/C2/S2. Default crypto/rand.
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

func (c *HandshakeConfig) defaults() {
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
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
// (key-first layout tried first, then digest-first), the answer is a
// digest handshake: S1 signed with the Media Server key in the same layout,
// S2 signed from the C1 digest. Otherwise the answer is simple: S1 with a
// zero version (ffmpeg would otherwise try to validate it and fail) and S2
// echoing C1. C2 is read but never checked: ffmpeg publishing echoes S1,
// Flash signs it, and strict checks have broken real clients.
func ServerHandshake(ctx context.Context, rw io.ReadWriter, cfg HandshakeConfig) (HandshakeInfo, error) {
	cfg.defaults()
	done, err := withDeadline(ctx, rw, &cfg)
	if err != nil {
		return HandshakeInfo{}, err
	}
	defer done()
	var info HandshakeInfo
	c0c1 := make([]byte, 1+HandshakeSize)
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
	s0s1s2, info, err := serverResponse(c0c1, &cfg)
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
	info.C2EchoesS1 = hmac.Equal(c2[8:], s1[8:])
	if info.Complex {
		_, s1Digest := findDigest(s1, mediaServerS1)
		info.C2Signed = hmac.Equal(c2[HandshakeSize-digestLen:], signature(c2, flashPlayerKey, s1Digest))
	}
	return info, nil
}

// serverResponse checks C0 and C1 and builds S0+S1+S2.
func serverResponse(c0c1 []byte, cfg *HandshakeConfig) ([]byte, HandshakeInfo, error) {
	var info HandshakeInfo
	if c0c1[0] != rtmpVersion {
		return nil, info, fmt.Errorf("rtmp: C0 is %d, want 3 (RTMPE is not supported): %w", c0c1[0], ErrHandshakeVersion)
	}
	c1 := c0c1[1:]
	info.PeerTime = binary.BigEndian.Uint32(c1)
	copy(info.PeerVersion[:], c1[4:8])
	out := make([]byte, 1+2*HandshakeSize)
	out[0] = rtmpVersion
	s1, s2 := out[1:1+HandshakeSize], out[1+HandshakeSize:]
	binary.BigEndian.PutUint32(s1, cfg.timeField())
	if _, err := io.ReadFull(cfg.Rand, s1[8:]); err != nil {
		return nil, info, fmt.Errorf("rtmp: handshake random: %w", err)
	}
	layout, c1Digest := findDigest(c1, flashPlayerC1)
	if layout == LayoutNone {
		// Simple: S1 version 0 so that ffmpeg does not validate it, S2
		// echoes C1.
		copy(s2, c1)
		return out, info, nil
	}
	info.Complex, info.PeerLayout = true, layout
	copy(s1[4:8], cfg.ServerVersion[:])
	imprintDigest(s1, layout, mediaServerS1)
	if _, err := io.ReadFull(cfg.Rand, s2[:HandshakeSize-digestLen]); err != nil {
		return nil, info, fmt.Errorf("rtmp: handshake random: %w", err)
	}
	copy(s2[HandshakeSize-digestLen:], signature(s2, mediaServerKey, c1Digest))
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
	var info HandshakeInfo
	c0c1 := make([]byte, 1+HandshakeSize)
	c0c1[0] = rtmpVersion
	c1 := c0c1[1:]
	var c1Digest []byte
	if err := fillC1(c1, &cfg); err != nil {
		return info, err
	}
	if !cfg.Simple {
		c1Digest = imprintDigest(c1, LayoutDigestFirst, flashPlayerC1)
	}
	if _, err := rw.Write(c0c1); err != nil {
		return info, ctxErr(ctx, fmt.Errorf("rtmp: writing C0+C1: %w", err))
	}
	s0s1s2 := make([]byte, 1+2*HandshakeSize)
	if _, err := io.ReadFull(rw, s0s1s2); err != nil {
		return info, ctxErr(ctx, fmt.Errorf("rtmp: reading S0+S1+S2: %w", unexpectedEOF(err)))
	}
	c2, info, err := clientResponse(s0s1s2, c1Digest, &cfg)
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
	if !cfg.Simple {
		copy(c1[4:8], cfg.ClientVersion[:])
	}
	if _, err := io.ReadFull(cfg.Rand, c1[8:]); err != nil {
		return fmt.Errorf("rtmp: handshake random: %w", err)
	}
	return nil
}

// clientResponse checks S0, S1, S2 and builds C2.
func clientResponse(s0s1s2, c1Digest []byte, cfg *HandshakeConfig) ([]byte, HandshakeInfo, error) {
	var info HandshakeInfo
	if s0s1s2[0] != rtmpVersion {
		return nil, info, fmt.Errorf("rtmp: S0 is %d, want 3: %w", s0s1s2[0], ErrHandshakeVersion)
	}
	s1, s2 := s0s1s2[1:1+HandshakeSize], s0s1s2[1+HandshakeSize:]
	info.PeerTime = binary.BigEndian.Uint32(s1)
	copy(info.PeerVersion[:], s1[4:8])
	c2 := make([]byte, HandshakeSize)
	if c1Digest == nil || s1[4] < 3 {
		// Simple (or a server that answers a digest C1 simply, as
		// librtmp's "S1[4]==0" rule and ffmpeg allow): echo S1.
		copy(c2, s1)
		return c2, info, nil
	}
	layout, s1Digest := findDigest(s1, mediaServerS1)
	if layout == LayoutNone {
		return nil, info, ErrHandshakeDigest
	}
	if !hmac.Equal(s2[HandshakeSize-digestLen:], signature(s2, mediaServerKey, c1Digest)) {
		return nil, info, ErrHandshakeSignature
	}
	info.Complex, info.PeerLayout = true, layout
	if _, err := io.ReadFull(cfg.Rand, c2[:HandshakeSize-digestLen]); err != nil {
		return nil, info, fmt.Errorf("rtmp: handshake random: %w", err)
	}
	copy(c2[HandshakeSize-digestLen:], signature(c2, flashPlayerKey, s1Digest))
	return c2, info, nil
}
