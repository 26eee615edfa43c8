package stun

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
)

func TestMessageTypeEncoding(t *testing.T) {
	for _, tc := range []struct {
		m    Method
		c    Class
		want MessageType
	}{
		{MethodBinding, ClassRequest, BindingRequest},
		{MethodBinding, ClassIndication, BindingIndication},
		{MethodBinding, ClassSuccess, BindingSuccess},
		{MethodBinding, ClassError, BindingError},
		{MethodGoogPing, ClassRequest, GoogPingRequest},
		{MethodGoogPing, ClassSuccess, GoogPingSuccess},
		{MethodGoogPing, ClassError, GoogPingError},
		{0x003, ClassRequest, 0x0003},            // TURN Allocate
		{0x003, ClassError, 0x0113},              // Allocate error
		{0x008, ClassIndication, 0x0018},         // CreatePermission-range method in an indication
		{0xfff, ClassError, MessageType(0x3fff)}, // every bit
	} {
		if got := NewType(tc.m, tc.c); got != tc.want {
			t.Errorf("NewType(%v, %v) = %#04x, want %#04x", tc.m, tc.c, uint16(got), uint16(tc.want))
		}
		if tc.want.Method() != tc.m || tc.want.Class() != tc.c {
			t.Errorf("%#04x splits into %v %v", uint16(tc.want), tc.want.Method(), tc.want.Class())
		}
	}
	if s := GoogPingSuccess.String(); s != "GOOG-PING success response" {
		t.Errorf("String = %q", s)
	}
}

// buildTest builds a message with the given attributes and no integrity.
func buildTest(t *testing.T, typ MessageType, add func(b *Builder)) []byte {
	t.Helper()
	var b Builder
	b.Start(nil, typ, TransactionID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	add(&b)
	out, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDecodeErrors(t *testing.T) {
	good := buildTest(t, BindingRequest, func(b *Builder) { b.AddUsername("abc") })
	mutate := func(f func(b []byte) []byte) []byte {
		c := append([]byte(nil), good...)
		return f(c)
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"short header", good[:19], ErrTruncated},
		{"truncated body", good[:len(good)-4], ErrTruncated},
		{"trailing bytes", append(append([]byte(nil), good...), 0, 0, 0, 0), ErrBadHeader},
		{"top bits", mutate(func(b []byte) []byte { b[0] |= 0x80; return b }), ErrBadHeader},
		{"no cookie (RFC 3489)", mutate(func(b []byte) []byte { b[4] = 0; return b }), ErrBadHeader},
		{"length not multiple of 4", mutate(func(b []byte) []byte { b[3]++; return b }), ErrBadHeader},
		{"attribute overruns", mutate(func(b []byte) []byte { b[23] = 9; return b }), ErrBadAttribute},
	} {
		var m Message
		if err := m.Decode(tc.in); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if m.NumAttributes() != 0 || m.Bytes() != nil {
			t.Errorf("%s: message not empty after error", tc.name)
		}
	}
}

func TestDecodeTooManyAttributes(t *testing.T) {
	fill := func(n int) []byte {
		return buildTest(t, BindingRequest, func(b *Builder) {
			for range n {
				b.AddUseCandidate()
			}
		})
	}
	var m Message
	if err := m.Decode(fill(MaxAttributes)); err != nil || m.NumAttributes() != MaxAttributes {
		t.Fatalf("%d attributes: %v (%d recorded)", MaxAttributes, err, m.NumAttributes())
	}
	if err := m.Decode(fill(MaxAttributes + 1)); !errors.Is(err, ErrTooManyAttributes) {
		t.Fatalf("%d attributes: %v", MaxAttributes+1, err)
	}
}

func TestAttributesAfterIntegrityIgnored(t *testing.T) {
	integ := NewShortTermIntegrity("pass")
	var b Builder
	b.Start(nil, BindingRequest, TransactionID{9})
	b.AddUsername("u:v")
	b.AddMessageIntegrity(integ)
	raw, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	// Splice attributes after MESSAGE-INTEGRITY, as an attacker could: they
	// are not covered by the HMAC.
	raw = append(raw, 0x00, 0x24, 0x00, 0x04, 1, 2, 3, 4) // PRIORITY
	raw = append(raw, 0x00, 0x25, 0x00, 0x00)             // USE-CANDIDATE
	raw = append(raw, 0x7f, 0xff, 0x00, 0x00)             // unknown, required
	binary.BigEndian.PutUint16(raw[2:], uint16(len(raw)-HeaderSize))
	var m Message
	if err := m.Decode(raw); err != nil {
		t.Fatal(err)
	}
	if err := integ.Verify(&m); err != nil {
		t.Errorf("verify: %v", err)
	}
	if _, err := m.Priority(); err != ErrAttributeNotFound {
		t.Errorf("PRIORITY after integrity: %v", err)
	}
	if m.UseCandidate() {
		t.Error("USE-CANDIDATE after integrity was reported")
	}
	if u := m.AppendUnknown(nil); len(u) != 0 {
		t.Errorf("unknown after integrity reported: %v", u)
	}
	if m.NumAttributes() != 2 {
		t.Errorf("%d attributes recorded, want 2", m.NumAttributes())
	}
}

func TestBuilderOrderAndLimits(t *testing.T) {
	integ := NewShortTermIntegrity("x")
	var b Builder
	b.Start(nil, BindingRequest, TransactionID{})
	b.AddMessageIntegrity(integ)
	b.AddUsername("late")
	if _, err := b.Finish(); !errors.Is(err, ErrAttributeOrder) {
		t.Errorf("attribute after MESSAGE-INTEGRITY: %v", err)
	}
	b.Start(nil, BindingRequest, TransactionID{})
	b.AddMessageIntegrity(integ)
	b.AddMessageIntegritySHA256(integ)
	b.AddFingerprint()
	if _, err := b.Finish(); err != nil {
		t.Errorf("MI, MI-SHA256, FINGERPRINT: %v", err)
	}
	b.Start(nil, BindingRequest, TransactionID{})
	b.AddFingerprint()
	b.AddFingerprint()
	if _, err := b.Finish(); !errors.Is(err, ErrAttributeOrder) {
		t.Errorf("two FINGERPRINTs: %v", err)
	}
	long := make([]byte, MaxUsernameBytes+1)
	for i := range long {
		long[i] = 'a'
	}
	b.Start(nil, BindingRequest, TransactionID{})
	b.AddUsername(string(long))
	if _, err := b.Finish(); !errors.Is(err, ErrAttributeTooLong) {
		t.Errorf("long USERNAME: %v", err)
	}
	b.Start(nil, BindingRequest, TransactionID{})
	b.AddSoftware(string(long[:128]))
	if _, err := b.Finish(); !errors.Is(err, ErrAttributeTooLong) {
		t.Errorf("128-character SOFTWARE: %v", err)
	}
	b.Start(nil, BindingRequest, TransactionID{})
	b.AddRealm(string(long[:127]))
	if _, err := b.Finish(); err != nil {
		t.Errorf("127-character REALM: %v", err)
	}
	var zero Builder
	zero.AddUsername("x")
	if _, err := zero.Finish(); !errors.Is(err, ErrBadHeader) {
		t.Errorf("Builder without Start: %v", err)
	}
}

func TestAppendUnknown(t *testing.T) {
	raw := buildTest(t, BindingRequest, func(b *Builder) {
		b.AddUsername("a:b")
		b.Add(0x0123, []byte{1})
		b.Add(0x0123, []byte{2})
		b.Add(AttrRequestedTransport, []byte{17, 0, 0, 0})
		b.Add(0xC123, []byte{3}) // optional: never reported
	})
	var m Message
	if err := m.Decode(raw); err != nil {
		t.Fatal(err)
	}
	got := m.AppendUnknown(nil)
	if len(got) != 2 || got[0] != 0x0123 || got[1] != AttrRequestedTransport {
		t.Errorf("AppendUnknown = %v", got)
	}
	got = m.AppendUnknown(got[:0], AttrRequestedTransport)
	if len(got) != 1 || got[0] != 0x0123 {
		t.Errorf("AppendUnknown with TURN known = %v", got)
	}
}

func TestAttributeRoundTrip(t *testing.T) {
	v4 := netip.MustParseAddrPort("203.0.113.7:50000")
	v6 := netip.MustParseAddrPort("[2001:db8::1]:3478")
	mapped := netip.AddrPortFrom(netip.MustParseAddr("::ffff:198.51.100.2"), 9)
	hash := UserhashOf("user", "realm")
	raw := buildTest(t, BindingError, func(b *Builder) {
		b.AddXORMappedAddress(v6)
		b.AddMappedAddress(mapped)
		b.AddAlternateServer(v4)
		b.AddXORAddress(AttrXORPeerAddress, v4)
		b.AddErrorCode(CodeUnknownAttribute, "")
		b.AddUnknownAttributes([]AttrType{0x0123, 0x7fff, 0x0042})
		b.AddUserhash(hash)
		b.AddRealm("example.org")
		b.AddNonce("nonce")
		b.AddPasswordAlgorithms(PasswordMD5, PasswordSHA256)
		b.AddPasswordAlgorithm(PasswordSHA256)
		b.AddAlternateDomain("stun.example.org")
		b.AddGoogNetworkInfo(7, 999)
		b.AddICEControlling(1 << 63)
		b.AddPriority(12345)
		b.AddUseCandidate()
	})
	var m Message
	if err := m.Decode(raw); err != nil {
		t.Fatal(err)
	}
	check := func(name string, ok bool) {
		t.Helper()
		if !ok {
			t.Errorf("%s mismatch", name)
		}
	}
	a, err := m.XORMappedAddress()
	check("XOR-MAPPED-ADDRESS", err == nil && a == v6)
	a, err = m.MappedAddress()
	check("MAPPED-ADDRESS (unmapped v4)", err == nil && a == netip.MustParseAddrPort("198.51.100.2:9"))
	a, err = m.AlternateServer()
	check("ALTERNATE-SERVER", err == nil && a == v4)
	a, err = m.XORAddress(AttrXORPeerAddress)
	check("XOR-PEER-ADDRESS", err == nil && a == v4)
	code, reason, err := m.ErrorCode()
	check("ERROR-CODE", err == nil && code == 420 && string(reason) == "Unknown Attribute")
	ua, err := m.UnknownAttributes(nil)
	check("UNKNOWN-ATTRIBUTES", err == nil && len(ua) == 3 && ua[1] == 0x7fff)
	uh, err := m.Userhash()
	check("USERHASH", err == nil && string(uh) == string(hash[:]))
	algs, err := m.PasswordAlgorithms(nil)
	check("PASSWORD-ALGORITHMS", err == nil && len(algs) == 2 && algs[1] == PasswordSHA256)
	alg, err := m.PasswordAlgorithm()
	check("PASSWORD-ALGORITHM", err == nil && alg == PasswordSHA256)
	dom, err := m.AlternateDomain()
	check("ALTERNATE-DOMAIN", err == nil && string(dom) == "stun.example.org")
	id, cost, err := m.GoogNetworkInfo()
	check("GOOG-NETWORK-INFO", err == nil && id == 7 && cost == 999)
	tb, err := m.ICEControlling()
	check("ICE-CONTROLLING", err == nil && tb == 1<<63)
	p, err := m.Priority()
	check("PRIORITY", err == nil && p == 12345)
	check("USE-CANDIDATE", m.UseCandidate())
	_, err = m.ICEControlled()
	check("ICE-CONTROLLED absent", err == ErrAttributeNotFound)
	n := 0
	for range m.All() {
		n++
	}
	check("All", n == m.NumAttributes() && n == 16)
}

func TestIntegritySHA256Truncated(t *testing.T) {
	key := LongTermKey(PasswordSHA256, "user", "realm", "pass")
	integ := NewIntegrity(key)
	for _, n := range []int{16, 20, 24, 28, 32} {
		// Build by hand what a sender truncating to n bytes sends
		// (RFC 8489 §14.6): the HMAC covers a header whose length counts
		// the n-byte attribute.
		var b Builder
		b.Start(nil, BindingRequest, TransactionID{5})
		b.AddUsername("user")
		raw, _ := b.Finish()
		binary.BigEndian.PutUint16(raw[2:], uint16(len(raw)-HeaderSize+4+n))
		mac := hmac.New(sha256.New, key)
		mac.Write(raw)
		raw = binary.BigEndian.AppendUint16(raw, uint16(AttrMessageIntegritySHA256))
		raw = binary.BigEndian.AppendUint16(raw, uint16(n))
		raw = append(raw, mac.Sum(nil)[:n]...)
		var m Message
		if err := m.Decode(raw); err != nil {
			t.Fatal(err)
		}
		if err := integ.Verify(&m); err != nil {
			t.Errorf("%d-byte MESSAGE-INTEGRITY-SHA256: %v", n, err)
		}
		raw[len(raw)-1] ^= 1
		if err := integ.Verify(&m); err != ErrIntegrity {
			t.Errorf("%d-byte corrupted: %v", n, err)
		}
	}
	// 12 bytes is below the minimum.
	raw := buildTest(t, BindingRequest, func(b *Builder) { b.Add(AttrMessageIntegritySHA256, make([]byte, 12)) })
	var m Message
	if err := m.Decode(raw); err != nil {
		t.Fatal(err)
	}
	if err := integ.Verify(&m); !errors.Is(err, ErrBadAttribute) {
		t.Errorf("12-byte value: %v", err)
	}
}

func TestGoogPingIntegrity32(t *testing.T) {
	integ := NewShortTermIntegrity("streamwireIceLitePwd0123")
	var b Builder
	b.Start(nil, GoogPingRequest, TransactionID{3, 1, 4})
	b.AddUsername("swLt:M7YN")
	b.AddGoogMessageIntegrity32(integ)
	b.AddFingerprint()
	raw, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	var m Message
	if err := m.Decode(raw); err != nil {
		t.Fatal(err)
	}
	if m.Type().Method() != MethodGoogPing || m.Type().Class() != ClassRequest {
		t.Fatalf("type %v", m.Type())
	}
	if err := integ.VerifyGoogMessageIntegrity32(&m); err != nil {
		t.Errorf("GOOG-MESSAGE-INTEGRITY-32: %v", err)
	}
	if err := integ.Verify(&m); err != ErrAttributeNotFound {
		t.Errorf("Verify without MESSAGE-INTEGRITY: %v", err)
	}
	if err := m.VerifyFingerprint(); err != nil {
		t.Errorf("fingerprint: %v", err)
	}
	// The 4 bytes are the head of the MESSAGE-INTEGRITY HMAC over the same
	// header length (both attributes are followed by nothing but FINGERPRINT
	// and the length is adjusted to the attribute's end).
	raw[len(raw)-9] ^= 1
	if err := integ.VerifyGoogMessageIntegrity32(&m); err != ErrIntegrity {
		t.Errorf("corrupted: %v", err)
	}
	b.Start(nil, GoogPingRequest, TransactionID{})
	b.AddGoogMessageIntegrity32(integ)
	b.AddUsername("late")
	if _, err := b.Finish(); !errors.Is(err, ErrAttributeOrder) {
		t.Errorf("attribute after GOOG-MESSAGE-INTEGRITY-32: %v", err)
	}
}

func TestFingerprintWithIgnoredTrailer(t *testing.T) {
	raw := buildTest(t, BindingRequest, func(b *Builder) {
		b.AddUsername("a:b")
		b.AddFingerprint()
	})
	// Append an attribute after FINGERPRINT: it is ignored, and the
	// fingerprint still verifies against the length the sender used.
	raw = append(raw, 0x80, 0x22, 0x00, 0x01, 'x', 0, 0, 0)
	binary.BigEndian.PutUint16(raw[2:], uint16(len(raw)-HeaderSize))
	var m Message
	if err := m.Decode(raw); err != nil {
		t.Fatal(err)
	}
	if err := m.VerifyFingerprint(); err != nil {
		t.Errorf("fingerprint: %v", err)
	}
	if m.Has(AttrSoftware) || m.NumAttributes() != 2 {
		t.Errorf("attribute after FINGERPRINT kept: %s", &m)
	}
	raw[HeaderSize+5] ^= 1 // corrupt USERNAME
	if err := m.VerifyFingerprint(); err != ErrFingerprint {
		t.Errorf("corrupted: %v", err)
	}
}

func TestIsMessageAndMessageLength(t *testing.T) {
	req := unhex(t, rfc5769Request)
	if !IsMessage(req) {
		t.Fatal("RFC 5769 request is not a message")
	}
	// Two messages back to back on a stream (RFC 8489 §6.2.2).
	stream := append(append([]byte(nil), req...), unhex(t, rfc5769ResponseIPv4)...)
	n, err := MessageLength(stream)
	if err != nil || n != len(req) {
		t.Fatalf("MessageLength = %d, %v; want %d", n, err, len(req))
	}
	if n2, err := MessageLength(stream[n:]); err != nil || n+n2 != len(stream) {
		t.Fatalf("second MessageLength = %d, %v", n2, err)
	}
	for _, notSTUN := range [][]byte{
		{0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},          // DTLS
		{0x80, 0x60, 0, 1, 0x21, 0x12, 0xa4, 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, // RTP
		req[:19],
	} {
		if IsMessage(notSTUN) {
			t.Errorf("IsMessage(%x) = true", notSTUN)
		}
	}
	if _, err := MessageLength(req[:10]); err != ErrTruncated {
		t.Errorf("short: %v", err)
	}
}

func TestZeroMessage(t *testing.T) {
	var m Message
	integ := NewShortTermIntegrity("x")
	if err := integ.Verify(&m); err != ErrAttributeNotFound {
		t.Errorf("Verify: %v", err)
	}
	if err := integ.VerifyGoogMessageIntegrity32(&m); err != ErrAttributeNotFound {
		t.Errorf("VerifyGoogMessageIntegrity32: %v", err)
	}
	if err := m.VerifyFingerprint(); err != ErrAttributeNotFound {
		t.Errorf("VerifyFingerprint: %v", err)
	}
	callGetters(&m)
	if m.NumAttributes() != 0 || m.TransactionID() != (TransactionID{}) {
		t.Error("zero Message not empty")
	}
}
