package stun

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// chromiumCapture is a Binding request recorded from Chromium by
// interop/stun_chromium_test.go (-update-stun-captures).
type chromiumCapture struct {
	name         string
	raw          []byte
	pwd          string
	username     string
	useCandidate bool
}

// loadChromiumCaptures reads every testdata/chromium*_binding_requests.json
// and the captures it lists.
func loadChromiumCaptures(t testing.TB) []chromiumCapture {
	return loadCaptures(t, "binding_requests")
}

// loadCaptures reads every testdata/chromium*_<kind>.json and the captures it
// lists.
func loadCaptures(t testing.TB, kind string) []chromiumCapture {
	t.Helper()
	notes, err := filepath.Glob(filepath.Join("testdata", "chromium*_"+kind+".json"))
	if err != nil || len(notes) == 0 {
		t.Fatalf("no Chromium captures in testdata (%v)", err)
	}
	var out []chromiumCapture
	for _, n := range notes {
		j, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		var note struct {
			Username string `json:"username"`
			IcePwd   string `json:"ice_pwd"`
			Files    []struct {
				Name         string `json:"name"`
				UseCandidate bool   `json:"use_candidate"`
			} `json:"files"`
		}
		if err := json.Unmarshal(j, &note); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		for _, f := range note.Files {
			raw, err := os.ReadFile(filepath.Join("testdata", f.Name))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, chromiumCapture{f.Name, raw, note.IcePwd, note.Username, f.UseCandidate})
		}
	}
	return out
}

func TestChromiumCaptures(t *testing.T) {
	for _, c := range loadChromiumCaptures(t) {
		t.Run(c.name, func(t *testing.T) {
			m := decodeOK(t, c.raw)
			if m.Type() != BindingRequest {
				t.Fatalf("type %v", m.Type())
			}
			integ := NewShortTermIntegrity(c.pwd)
			if err := integ.Verify(m); err != nil {
				t.Errorf("integrity: %v", err)
			}
			if err := m.VerifyFingerprint(); err != nil {
				t.Errorf("fingerprint: %v", err)
			}
			user, err := m.Username()
			if err != nil || string(user) != c.username {
				t.Errorf("USERNAME %q, %v", user, err)
			}
			if _, _, err := m.GoogNetworkInfo(); err != nil {
				t.Errorf("GOOG-NETWORK-INFO: %v", err)
			}
			if _, err := m.ICEControlling(); err != nil {
				t.Errorf("ICE-CONTROLLING: %v", err)
			}
			if _, err := m.Priority(); err != nil {
				t.Errorf("PRIORITY: %v", err)
			}
			if m.UseCandidate() != c.useCandidate {
				t.Errorf("USE-CANDIDATE %v, want %v", m.UseCandidate(), c.useCandidate)
			}

			// Re-encode from the decoded attributes: Chromium pads with
			// zeros, so the bytes must come out identical.
			var b Builder
			b.Start(nil, m.Type(), m.TransactionID())
			for typ, v := range m.All() {
				switch typ {
				case AttrMessageIntegrity:
					b.AddMessageIntegrity(integ)
				case AttrFingerprint:
					b.AddFingerprint()
				default:
					b.Add(typ, v)
				}
			}
			out, err := b.Finish()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, c.raw) {
				t.Errorf("re-encoded\n%x\nwant\n%x", out, c.raw)
			}

			// Any flipped bit is caught by FINGERPRINT or the HMAC.
			for i := range c.raw {
				bad := append([]byte(nil), c.raw...)
				bad[i] ^= 0x04
				var m2 Message
				if m2.Decode(bad) != nil {
					continue
				}
				if integ.Verify(&m2) == nil && m2.VerifyFingerprint() == nil {
					t.Fatalf("flipping a bit of byte %d went unnoticed", i)
				}
			}
		})
	}
}

// Chromium sends GOOG-PING (method 0x080) with nothing but
// GOOG-MESSAGE-INTEGRITY-32 once a server announced support in a Binding
// response (see interop TestSTUNChromiumGoogPing).
func TestChromiumGoogPingCaptures(t *testing.T) {
	for _, c := range loadCaptures(t, "goog_ping_requests") {
		t.Run(c.name, func(t *testing.T) {
			m := decodeOK(t, c.raw)
			if m.Type() != GoogPingRequest || m.Type() != NewType(MethodGoogPing, ClassRequest) {
				t.Fatalf("type %v", m.Type())
			}
			integ := NewShortTermIntegrity(c.pwd)
			if err := integ.VerifyGoogMessageIntegrity32(m); err != nil {
				t.Errorf("GOOG-MESSAGE-INTEGRITY-32: %v", err)
			}
			if err := NewShortTermIntegrity("x" + c.pwd).VerifyGoogMessageIntegrity32(m); err != ErrIntegrity {
				t.Errorf("wrong password: %v", err)
			}
			if err := m.VerifyFingerprint(); err != ErrAttributeNotFound {
				t.Errorf("GOOG-PING carries no FINGERPRINT, got %v", err)
			}
			var b Builder
			b.Start(nil, GoogPingRequest, m.TransactionID())
			b.AddGoogMessageIntegrity32(integ)
			out, err := b.Finish()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, c.raw) {
				t.Errorf("re-encoded\n%x\nwant\n%x", out, c.raw)
			}
		})
	}
}
