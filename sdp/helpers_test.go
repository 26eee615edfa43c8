package sdp

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streamwire/streamwire/dtlsparams"
)

// testFingerprint is a made-up sha-256 certificate fingerprint.
var testFingerprint = mustFingerprint("sha-256 0F:1E:2D:3C:4B:5A:69:78:87:96:A5:B4:C3:D2:E1:F0:0F:1E:2D:3C:4B:5A:69:78:87:96:A5:B4:C3:D2:E1:F0")

// mustFingerprint parses an a=fingerprint value of a test table.
func mustFingerprint(s string) dtlsparams.Fingerprint {
	f, err := dtlsparams.ParseFingerprint(s)
	if err != nil {
		panic(err)
	}
	return f
}

// testConfig is a server that sends and receives with the default codecs, accepts
// data channels, is ICE-lite with one host candidate and draws its identifiers from
// a seeded generator, so that its answers are reproducible.
func testConfig() *Config {
	return &Config{
		DataChannel:     true,
		ICEUfrag:        "sWufrag1",
		ICEPwd:          "sWpassword0123456789abcd",
		ICELite:         true,
		Candidates:      []string{"candidate:1 1 udp 2130706431 192.0.2.10 8443 typ host"},
		EndOfCandidates: true,
		Fingerprints:    []dtlsparams.Fingerprint{testFingerprint},
		Rand:            rand.NewChaCha8([32]byte{'s', 'w'}),
	}
}

func readOffer(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "offers", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// summary renders what matters of a negotiated section on one line, so tests can
// state expectations compactly: mid, kind, direction, codec/PT, RTX PT, extension
// IDs, local setup; or "mid kind rejected".
func summary(s *Section) string {
	if s.Rejected {
		return fmt.Sprintf("%s %s rejected", s.Mid, s.Kind)
	}
	if s.Kind == KindApplication {
		return fmt.Sprintf("%s application sctp=%d max=%d setup=%s", s.Mid, s.SCTPPort, s.MaxMessageSize, s.LocalSetup)
	}
	var ids []string
	for _, e := range s.Extensions {
		ids = append(ids, fmt.Sprint(e.ID))
	}
	out := fmt.Sprintf("%s %s %s %s/%d", s.Mid, s.Kind, s.Direction, s.Codec.Name, s.Codec.PayloadType)
	if s.RTX != 0 {
		out += fmt.Sprintf(" rtx=%d", s.RTX)
	}
	if s.RED != 0 {
		out += fmt.Sprintf(" red=%d", s.RED)
	}
	if s.ULPFEC != 0 {
		out += fmt.Sprintf(" ulpfec=%d", s.ULPFEC)
	}
	return out + fmt.Sprintf(" ext=%s setup=%s", strings.Join(ids, ","), s.LocalSetup)
}

func summaries(sess *Session) []string {
	out := make([]string, len(sess.Sections))
	for i := range sess.Sections {
		out[i] = summary(&sess.Sections[i])
	}
	return out
}
