package stun

import (
	"bytes"
	"crypto/sha256"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

var updateFuzzCorpus = flag.Bool("update-fuzz-corpus", false,
	"rewrite testdata/fuzz/FuzzDecode and FuzzVerify from the RFC 5769 vectors and Chromium captures")

// FuzzDecode decodes arbitrary input, calls every getter and re-encodes what
// it decoded: nothing may panic, and the re-encoded message must decode to
// the same attributes.
func FuzzDecode(f *testing.F) {
	for _, s := range seedMessages(f) {
		f.Add(s.raw)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var m Message
		if err := m.Decode(data); err != nil {
			return
		}
		callGetters(&m)

		var b Builder
		b.Start(nil, m.Type(), m.TransactionID())
		for typ, v := range m.All() {
			b.Add(typ, v)
		}
		out, err := b.Finish()
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		var m2 Message
		if err := m2.Decode(out); err != nil {
			t.Fatalf("decode re-encoded: %v", err)
		}
		if m2.Type() != m.Type() || m2.TransactionID() != m.TransactionID() || m2.NumAttributes() != m.NumAttributes() {
			t.Fatalf("re-encoded %s, was %s", &m2, &m)
		}
		for i := range m.NumAttributes() {
			a, a2 := m.Attribute(i), m2.Attribute(i)
			if a.Type != a2.Type || !bytes.Equal(a.Value, a2.Value) {
				t.Fatalf("attribute %d: %v %x, was %v %x", i, a2.Type, a2.Value, a.Type, a.Value)
			}
		}
	})
}

// callGetters exercises every typed getter of m.
func callGetters(m *Message) {
	_ = m.String()
	_ = m.AppendUnknown(nil, AttrRequestedTransport)
	_, _ = m.MappedAddress()
	_, _ = m.XORMappedAddress()
	_, _ = m.AlternateServer()
	_, _ = m.XORAddress(AttrXORPeerAddress)
	_, _ = m.Username()
	_, _ = m.Realm()
	_, _ = m.Nonce()
	_, _ = m.Software()
	_, _ = m.AlternateDomain()
	_, _ = m.Userhash()
	_, _, _ = m.ErrorCode()
	_, _ = m.UnknownAttributes(nil)
	_, _ = m.PasswordAlgorithm()
	_, _ = m.PasswordAlgorithms(nil)
	_, _ = m.Priority()
	_ = m.UseCandidate()
	_, _ = m.ICEControlling()
	_, _ = m.ICEControlled()
	_, _, _ = m.GoogNetworkInfo()
	_, _ = m.GoogMiscInfo(nil)
	_ = m.VerifyFingerprint()
}

// FuzzVerify checks integrity and fingerprint of arbitrary input with
// arbitrary short-term and long-term keys: nothing may panic, verification
// must not modify the input, and a message that passes must still pass after
// being re-signed by Builder from its own attributes.
func FuzzVerify(f *testing.F) {
	for _, s := range seedMessages(f) {
		f.Add(s.raw, s.pwd)
	}
	f.Fuzz(func(t *testing.T, data []byte, pwd string) {
		var m Message
		if err := m.Decode(data); err != nil {
			return
		}
		orig := append([]byte(nil), data...)
		short := NewShortTermIntegrity(pwd)
		long := NewIntegrity(LongTermKey(PasswordSHA256, rfc5769LongTermUser, rfc5769LongTermRealm, pwd))
		errShort := short.Verify(&m)
		_ = long.Verify(&m)
		_ = short.VerifySHA1(&m)
		_ = long.VerifySHA256(&m)
		_ = short.VerifyGoogMessageIntegrity32(&m)
		errFP := m.VerifyFingerprint()
		if !bytes.Equal(orig, data) {
			t.Fatal("verification modified the message")
		}
		if errShort != nil || m.mi == 0 || m.mi256 != 0 {
			return
		}
		// Re-sign: the same attributes with the same key verify again.
		var b Builder
		b.Start(nil, m.Type(), m.TransactionID())
		for typ, v := range m.All() {
			switch typ {
			case AttrMessageIntegrity:
				b.AddMessageIntegrity(short)
			case AttrFingerprint:
				b.AddFingerprint()
			default:
				b.Add(typ, v)
			}
		}
		out, err := b.Finish()
		if err != nil {
			t.Fatalf("re-sign: %v", err)
		}
		var m2 Message
		if err := m2.Decode(out); err != nil {
			t.Fatal(err)
		}
		if err := short.Verify(&m2); err != nil {
			t.Fatalf("re-signed message: %v", err)
		}
		if errFP == nil {
			if err := m2.VerifyFingerprint(); err != nil {
				t.Fatalf("re-signed fingerprint: %v", err)
			}
		}
	})
}

// seed is one corpus entry: a message and the password that verifies it.
type seed struct {
	name string
	raw  []byte
	pwd  string
}

// seedMessages are the RFC 5769 vectors, the Chromium captures and a few
// built messages covering every attribute.
func seedMessages(t testing.TB) []seed {
	seeds := []seed{
		{"rfc5769_request", unhex(t, rfc5769Request), rfc5769Password},
		{"rfc5769_response_ipv4", unhex(t, rfc5769ResponseIPv4), rfc5769Password},
		{"rfc5769_response_ipv6", unhex(t, rfc5769ResponseIPv6), rfc5769Password},
		{"rfc5769_long_term", unhex(t, rfc5769LongTerm), rfc5769LongTermPassword},
		{"rfc8489_b1_sha256", unhex(t, rfc8489B1), rfc5769LongTermPassword},
	}
	for _, c := range append(loadChromiumCaptures(t), loadCaptures(t, "goog_ping_requests")...) {
		seeds = append(seeds, seed{c.name[:len(c.name)-len(".bin")], c.raw, c.pwd})
	}
	var b Builder
	b.Start(nil, BindingError, TransactionID{7, 7, 7})
	b.AddErrorCode(CodeUnauthorized, "")
	b.AddRealm("example.org")
	b.AddNonce("obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA")
	b.AddPasswordAlgorithms(PasswordMD5, PasswordSHA256)
	b.AddUnknownAttributes([]AttrType{0x0042})
	b.AddAlternateServer(mustAddrPort("[2001:db8::9]:3478"))
	b.AddMappedAddress(mustAddrPort("198.51.100.1:1"))
	b.AddAlternateDomain("stun.example.org")
	b.AddSoftware("streamwire")
	b.AddMessageIntegritySHA256(NewShortTermIntegrity("seedpwd"))
	b.AddFingerprint()
	raw, _ := b.Finish()
	seeds = append(seeds, seed{"built_error_sha256", raw, "seedpwd"})

	hash := sha256.Sum256([]byte("user:realm"))
	b.Start(nil, GoogPingRequest, TransactionID{8})
	b.AddUserhash(hash)
	b.AddPasswordAlgorithm(PasswordSHA256)
	b.AddICEControlled(42)
	b.AddGoogMiscInfo(GoogPingVersion)
	b.AddMessageIntegrity(NewShortTermIntegrity("seedpwd"))
	b.AddMessageIntegritySHA256(NewShortTermIntegrity("seedpwd"))
	b.AddFingerprint()
	raw, _ = b.Finish()
	seeds = append(seeds, seed{"built_googping_both_integrity", raw, "seedpwd"})
	return seeds
}

// TestFuzzCorpus checks that the committed seed corpora exist, and rewrites
// them with -update-fuzz-corpus.
func TestFuzzCorpus(t *testing.T) {
	seeds := seedMessages(t)
	for _, target := range []string{"FuzzDecode", "FuzzVerify"} {
		dir := filepath.Join("testdata", "fuzz", target)
		if *updateFuzzCorpus {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, s := range seeds {
				body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s.raw)
				if target == "FuzzVerify" {
					body += fmt.Sprintf("string(%q)\n", s.pwd)
				}
				if err := os.WriteFile(filepath.Join(dir, s.name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		if len(files) < len(seeds) {
			t.Errorf("%s: %d corpus files, want at least %d (run go test -run TestFuzzCorpus -update-fuzz-corpus)", dir, len(files), len(seeds))
		}
	}
}

func mustAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
