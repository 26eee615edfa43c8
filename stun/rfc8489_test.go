package stun

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// RFC 8489 Appendix B.1 as corrected by erratum 6268: the
// published vector lacked PASSWORD-ALGORITHM and its MESSAGE-INTEGRITY-SHA256
// did not match; the erratum adds PASSWORD-ALGORITHM SHA-256 (length 0x90)
// and gives the HMAC below, keyed with SHA-256("マトリックス:example.org:TheMatrIX").
const rfc8489B1 = `
00 01 00 90 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e
00 1e 00 20 4a 3c f3 8f ef 69 92 bd a9 52 c6 78 04 17 da 0f 24 81 94 15 56 9e 60 b2 05 c4 6e 41 40 7f 17 04
00 15 00 29 6f 62 4d 61 74 4a 6f 73 32 41 41 41 43 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41 00 00 00
00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00
00 1d 00 04 00 02 00 00
00 1c 00 20 b5 c7 bf 00 5b 6c 52 a2 1c 51 c5 e8 92 f8 19 24 13 62 96 cb 92 7c 43 14 93 09 27 8c c6 51 8e 65`

func TestRFC8489B1(t *testing.T) {
	raw := unhex(t, rfc8489B1)
	m := decodeOK(t, raw)
	key := LongTermKey(PasswordSHA256, rfc5769LongTermUser, rfc5769LongTermRealm, rfc5769LongTermPassword)
	integ := NewIntegrity(key)
	if err := integ.Verify(m); err != nil {
		t.Errorf("MESSAGE-INTEGRITY-SHA256: %v", err)
	}
	if err := NewLongTermIntegrity(rfc5769LongTermUser, rfc5769LongTermRealm, rfc5769LongTermPassword).Verify(m); err != ErrIntegrity {
		t.Errorf("MD5 key: %v, want ErrIntegrity", err)
	}
	want := UserhashOf(rfc5769LongTermUser, rfc5769LongTermRealm)
	if uh, err := m.Userhash(); err != nil || !bytes.Equal(uh, want[:]) {
		t.Errorf("USERHASH %x, %v; want %s", uh, err, hex.EncodeToString(want[:]))
	}
	if alg, err := m.PasswordAlgorithm(); err != nil || alg != PasswordSHA256 {
		t.Errorf("PASSWORD-ALGORITHM %v, %v", alg, err)
	}
	if nonce, _ := m.Nonce(); string(nonce) != "obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA" {
		t.Errorf("NONCE %q", nonce)
	}

	var b Builder
	b.Start(nil, BindingRequest, m.TransactionID())
	b.AddUserhash(want)
	b.AddNonce("obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA")
	b.AddRealm(rfc5769LongTermRealm)
	b.AddPasswordAlgorithm(PasswordSHA256)
	b.AddMessageIntegritySHA256(integ)
	out, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, raw) {
		t.Errorf("built\n%x\nwant\n%x", out, raw)
	}
}
