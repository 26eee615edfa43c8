package stun

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"
)

// The four test vectors of RFC 5769 §2, transcribed from the RFC's hex dumps.

// unhex decodes a hex dump, ignoring white space.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const (
	rfc5769Password = "VOkJxbRl1RmTxUk/WvJxBt"

	// RFC 5769 §2.1: request with USERNAME "evtj:h6vY" padded with spaces.
	rfc5769Request = `
00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
00 24 00 04 6e 00 01 ff
80 29 00 08 93 2f f9 b1 51 26 3b 36
00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
80 28 00 04 e5 7a 3b cf`

	// RFC 5769 §2.2: IPv4 response, XOR-MAPPED-ADDRESS 192.0.2.1:32853.
	rfc5769ResponseIPv4 = `
01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
00 20 00 08 00 01 a1 47 e1 12 a6 43
00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
80 28 00 04 c0 7d 4c 96`

	// RFC 5769 §2.3: IPv6 response, XOR-MAPPED-ADDRESS
	// [2001:db8:1234:5678:11:2233:4455:6677]:32853.
	rfc5769ResponseIPv6 = `
01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
80 28 00 04 c8 fb 0b 4c`

	// RFC 5769 §2.4: request with long-term authentication, no FINGERPRINT.
	rfc5769LongTerm = `
00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e
00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00
00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41
00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00
00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66`

	rfc5769LongTermUser     = "\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9" // マトリックス
	rfc5769LongTermPassword = "TheMatrIX"                            // after SASLprep
	rfc5769LongTermRealm    = "example.org"
	rfc5769LongTermNonce    = "f//499k954d6OL34oL9FSTvy64sA"
)

var rfc5769ID = TransactionID{0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae}

func decodeOK(t *testing.T, raw []byte) *Message {
	t.Helper()
	var m Message
	if err := m.Decode(raw); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return &m
}

func TestRFC5769Request(t *testing.T) {
	raw := unhex(t, rfc5769Request)
	m := decodeOK(t, raw)
	if m.Type() != BindingRequest || m.TransactionID() != rfc5769ID {
		t.Fatalf("type %v id %v", m.Type(), m.TransactionID())
	}
	if err := NewShortTermIntegrity(rfc5769Password).Verify(m); err != nil {
		t.Errorf("integrity: %v", err)
	}
	if err := m.VerifyFingerprint(); err != nil {
		t.Errorf("fingerprint: %v", err)
	}
	if err := NewShortTermIntegrity("wrong").Verify(m); err != ErrIntegrity {
		t.Errorf("wrong password: %v, want ErrIntegrity", err)
	}
	sw, _ := m.Software()
	user, _ := m.Username()
	prio, _ := m.Priority()
	tb, _ := m.ICEControlled()
	if string(sw) != "STUN test client" || string(user) != "evtj:h6vY" || prio != 0x6e0001ff || tb != 0x932ff9b151263b36 {
		t.Errorf("attributes: %q %q %#x %#x", sw, user, prio, tb)
	}
	if u := m.AppendUnknown(nil); len(u) != 0 {
		t.Errorf("unknown attributes %v", u)
	}

	// Build the same bytes: the vector pads USERNAME with spaces.
	var b Builder
	b.Start(nil, BindingRequest, rfc5769ID)
	b.SetPadding(' ')
	b.AddSoftware("STUN test client")
	b.AddPriority(0x6e0001ff)
	b.AddICEControlled(0x932ff9b151263b36)
	b.AddUsername("evtj:h6vY")
	b.AddMessageIntegrity(NewShortTermIntegrity(rfc5769Password))
	b.AddFingerprint()
	out, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, raw) {
		t.Errorf("built\n%x\nwant\n%x", out, raw)
	}
}

func TestRFC5769Responses(t *testing.T) {
	for _, tc := range []struct {
		name string
		dump string
		addr netip.AddrPort
	}{
		{"IPv4", rfc5769ResponseIPv4, netip.MustParseAddrPort("192.0.2.1:32853")},
		{"IPv6", rfc5769ResponseIPv6, netip.MustParseAddrPort("[2001:db8:1234:5678:11:2233:4455:6677]:32853")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := unhex(t, tc.dump)
			m := decodeOK(t, raw)
			if m.Type() != BindingSuccess || m.TransactionID() != rfc5769ID {
				t.Fatalf("type %v id %v", m.Type(), m.TransactionID())
			}
			if err := NewShortTermIntegrity(rfc5769Password).Verify(m); err != nil {
				t.Errorf("integrity: %v", err)
			}
			if err := m.VerifyFingerprint(); err != nil {
				t.Errorf("fingerprint: %v", err)
			}
			got, err := m.XORMappedAddress()
			if err != nil || got != tc.addr {
				t.Errorf("XOR-MAPPED-ADDRESS %v, %v; want %v", got, err, tc.addr)
			}
			sw, _ := m.Software()
			if string(sw) != "test vector" {
				t.Errorf("SOFTWARE %q", sw)
			}

			var b Builder
			b.Start(make([]byte, 0, 128), BindingSuccess, rfc5769ID)
			b.SetPadding(' ')
			b.AddSoftware("test vector")
			b.AddXORMappedAddress(tc.addr)
			b.AddMessageIntegrity(NewShortTermIntegrity(rfc5769Password))
			b.AddFingerprint()
			out, err := b.Finish()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, raw) {
				t.Errorf("built\n%x\nwant\n%x", out, raw)
			}
		})
	}
}

func TestRFC5769LongTerm(t *testing.T) {
	raw := unhex(t, rfc5769LongTerm)
	m := decodeOK(t, raw)
	integ := NewLongTermIntegrity(rfc5769LongTermUser, rfc5769LongTermRealm, rfc5769LongTermPassword)
	if err := integ.Verify(m); err != nil {
		t.Errorf("integrity: %v", err)
	}
	if err := m.VerifyFingerprint(); err != ErrAttributeNotFound {
		t.Errorf("fingerprint: %v, want ErrAttributeNotFound", err)
	}
	user, _ := m.Username()
	realm, _ := m.Realm()
	nonce, _ := m.Nonce()
	if string(user) != rfc5769LongTermUser || string(realm) != rfc5769LongTermRealm || string(nonce) != rfc5769LongTermNonce {
		t.Errorf("attributes %q %q %q", user, realm, nonce)
	}

	var b Builder
	b.Start(nil, BindingRequest, m.TransactionID())
	b.AddUsername(rfc5769LongTermUser)
	b.AddNonce(rfc5769LongTermNonce)
	b.AddRealm(rfc5769LongTermRealm)
	b.AddMessageIntegrity(integ)
	out, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, raw) {
		t.Errorf("built\n%x\nwant\n%x", out, raw)
	}
}
